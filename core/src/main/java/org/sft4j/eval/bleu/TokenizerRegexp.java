package org.sft4j.eval.bleu;

import org.sft4j.base.PyStrings;

import java.util.regex.Pattern;

/** sacrebleu's {@code tokenizer_re.TokenizerRegexp}: the mteval punctuation rules shared by 13a and zh. */
final class TokenizerRegexp {

    private static final Pattern[] PATTERNS = {
        Pattern.compile("([\\{-\\~\\[-\\` -\\&\\(-\\+\\:-\\@\\/])"),
        Pattern.compile("([^0-9])([\\.,])"),
        Pattern.compile("([\\.,])([^0-9])"),
        Pattern.compile("([0-9])(-)"),
    };
    private static final String[] REPLACEMENTS = {" $1 ", "$1 $2 ", " $1 $2", "$1 $2 "};

    String tokenize(String line) {
        for (int i = 0; i < PATTERNS.length; i++) {
            line = PATTERNS[i].matcher(line).replaceAll(REPLACEMENTS[i]);
        }
        return PyStrings.normalizeSpaces(line);
    }
}
