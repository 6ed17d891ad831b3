package org.sft4j.eval.bleu;

import org.sft4j.base.UserError;

import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/** A sacrebleu tokenizer: turns a line into space-separated tokens, and names itself in the signature. */
public interface BleuTokenizer {

    String tokenize(String line);

    String signature();

    /** The tokenizers sacrebleu ships that need no external model. */
    Map<String, Supplier<BleuTokenizer>> BUILT_IN = Map.of(
            "13a", Tokenizer13a::new,
            "intl", TokenizerIntl::new,
            "zh", TokenizerZh::new,
            "char", TokenizerChar::new,
            "none", () -> new BleuTokenizer() {
                @Override
                public String tokenize(String line) {
                    return line;
                }

                @Override
                public String signature() {
                    return "none";
                }
            });

    static BleuTokenizer of(String name) {
        Supplier<BleuTokenizer> s = BUILT_IN.get(name);
        if (s == null) {
            throw new UserError("unknown BLEU tokenizer '" + name + "'; choose from "
                    + List.of("13a", "intl", "zh", "char", "none"));
        }
        return s.get();
    }
}
