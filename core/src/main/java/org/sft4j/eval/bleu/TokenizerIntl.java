package org.sft4j.eval.bleu;

import org.sft4j.base.PyStrings;

import java.util.regex.Pattern;

/**
 * sacrebleu's {@code intl} tokenizer (mteval-v14 international): splits on Unicode punctuation and
 * symbols, except punctuation between digits.
 */
public final class TokenizerIntl implements BleuTokenizer {

    private static final Pattern NON_DIGIT_PUNCT = Pattern.compile("(\\P{N})(\\p{P})");
    private static final Pattern PUNCT_NON_DIGIT = Pattern.compile("(\\p{P})(\\P{N})");
    private static final Pattern SYMBOL = Pattern.compile("(\\p{S})");

    @Override
    public String tokenize(String line) {
        line = NON_DIGIT_PUNCT.matcher(line).replaceAll("$1 $2 ");
        line = PUNCT_NON_DIGIT.matcher(line).replaceAll(" $1 $2");
        line = SYMBOL.matcher(line).replaceAll(" $1 ");
        return PyStrings.normalizeSpaces(line);
    }

    @Override
    public String signature() {
        return "intl";
    }
}
