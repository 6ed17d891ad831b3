package org.sft4j.eval.bleu;

/** sacrebleu's default {@code 13a} tokenizer, equivalent to mteval-v13a.pl (used by WMT). */
public final class Tokenizer13a implements BleuTokenizer {

    private final TokenizerRegexp post = new TokenizerRegexp();

    @Override
    public String tokenize(String line) {
        line = line.replace("<skipped>", "");
        line = line.replace("-\n", "");
        line = line.replace("\n", " ");
        if (line.indexOf('&') >= 0) {
            line = line.replace("&quot;", "\"");
            line = line.replace("&amp;", "&");
            line = line.replace("&lt;", "<");
            line = line.replace("&gt;", ">");
        }
        return post.tokenize(" " + line + " ");
    }

    @Override
    public String signature() {
        return "13a";
    }
}
