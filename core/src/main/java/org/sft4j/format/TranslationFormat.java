package org.sft4j.format;

import org.sft4j.format.Example;
import org.sft4j.format.Message;
import org.sft4j.read.DataException;
import org.sft4j.read.Row;

import java.util.ArrayList;
import java.util.List;

/**
 * Translation pairs become instruction examples: the user turn is the instruction template filled with
 * the language names and the source text, the assistant turn is the target. Language codes come from
 * the config or from columns of each row (TowerBlocks-style {@code lp: en-de}); with {@code bidirectional}
 * every pair also yields the reverse direction.
 *
 * @param sourceColumn column of the source text
 * @param targetColumn column of the target text
 * @param langPairColumn column like {@code en-de}, or null
 * @param srcLang fixed source code when no column gives it
 * @param tgtLang fixed target code
 * @param template instruction with {src_lang}, {tgt_lang} and {source}
 * @param bidirectional also emit target-to-source
 */
public record TranslationFormat(String sourceColumn, String targetColumn, String langPairColumn, String srcLang,
                                String tgtLang, String template, boolean bidirectional) implements ExampleFormat {

    @Override
    public String name() {
        return "translation";
    }

    @Override
    public List<Example> convert(Row row, String id) {
        String src = Fields.text(row, sourceColumn);
        String tgt = Fields.text(row, targetColumn);
        String sl = srcLang;
        String tl = tgtLang;
        if (langPairColumn != null && Fields.has(row, langPairColumn)) {
            String lp = Fields.text(row, langPairColumn);
            String[] parts = lp.split("[-_>]");
            if (parts.length != 2) {
                throw new DataException(row.location(), "column '" + langPairColumn + "' must look like en-de, found '" + lp + "'");
            }
            sl = parts[0];
            tl = parts[1];
        }
        if (sl == null || tl == null) {
            throw new DataException(row.location(), "translation data needs src_lang and tgt_lang (or a language-pair column)");
        }
        List<Example> out = new ArrayList<>();
        out.add(example(id, src, tgt, sl, tl, row.location()));
        if (bidirectional) {
            out.add(example(id + ":rev", tgt, src, tl, sl, row.location()));
        }
        return out;
    }

    private Example example(String id, String source, String target, String sl, String tl, String where) {
        String instruction = template.replace("{src_lang}", LanguageNames.of(sl)).replace("{tgt_lang}", LanguageNames.of(tl))
                .replace("{source}", source);
        return new Example(id, List.of(Message.user(instruction), Message.assistant(target)), where, source);
    }
}
