package org.sft4j.eval.bleu;

/** sacrebleu's {@code char} tokenizer: every code point is a token. */
public final class TokenizerChar implements BleuTokenizer {

    @Override
    public String tokenize(String line) {
        StringBuilder sb = new StringBuilder(line.length() * 2);
        line.codePoints().forEach(c -> {
            if (sb.length() > 0) {
                sb.append(' ');
            }
            sb.appendCodePoint(c);
        });
        return sb.toString();
    }

    @Override
    public String signature() {
        return "char";
    }
}
