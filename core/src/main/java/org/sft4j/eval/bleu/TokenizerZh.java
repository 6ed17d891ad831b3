package org.sft4j.eval.bleu;

import org.sft4j.base.PyStrings;
/**
 * sacrebleu's {@code zh} tokenizer: spaces around every CJK character, then the 13a rules.
 *
 * <p>The ranges are sacrebleu's, compared the way Python compares them. Two of sacrebleu's entries are
 * written {@code u'\u20000'} and {@code u'\u2f800'}: in Python these are two-character strings
 * ({@code '\u2000' + '0'}), so string comparison makes the effective ranges U+2001..U+2A6D and
 * U+2F81..U+2FA1. Reproduced on purpose, since the scores must be equal.
 */
public final class TokenizerZh implements BleuTokenizer {

    /** Inclusive code point ranges, after resolving Python's comparison of the multi-character bounds. */
    private static final int[][] RANGES = {
        {0x3400, 0x4db5}, {0x4e00, 0x9fa5}, {0x9fa6, 0x9fbb}, {0xf900, 0xfa2d}, {0xfa30, 0xfa6a},
        {0xfa70, 0xfad9}, {0x2001, 0x2a6d}, {0x2f81, 0x2fa1}, {0xff00, 0xffef}, {0x2e80, 0x2eff},
        {0x3000, 0x303f}, {0x31c0, 0x31ef}, {0x2f00, 0x2fdf}, {0x2ff0, 0x2fff}, {0x3100, 0x312f},
        {0x31a0, 0x31bf}, {0xfe10, 0xfe1f}, {0xfe30, 0xfe4f}, {0x2600, 0x26ff}, {0x2700, 0x27bf},
        {0x3200, 0x32ff}, {0x3300, 0x33ff},
    };

    private final TokenizerRegexp post = new TokenizerRegexp();

    static boolean isChinese(int c) {
        for (int[] r : RANGES) {
            if (c >= r[0] && c <= r[1]) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String tokenize(String line) {
        line = PyStrings.strip(line);
        StringBuilder sb = new StringBuilder(line.length() * 2);
        line.codePoints().forEach(c -> {
            if (isChinese(c)) {
                sb.append(' ').appendCodePoint(c).append(' ');
            } else {
                sb.appendCodePoint(c);
            }
        });
        return post.tokenize(sb.toString());
    }

    @Override
    public String signature() {
        return "zh";
    }
}
