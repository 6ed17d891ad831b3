package org.sft4j.base;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The few Python {@code str} behaviours sacrebleu's numbers depend on, reproduced exactly: which
 * characters {@code split()}/{@code strip()} treat as whitespace (Java's {@code Character.isWhitespace}
 * differs: it rejects U+00A0 and U+202F, Python accepts them), code-point iteration, and
 * {@code f"{x:.2f}"} rounding (correctly rounded, half-even on the exact binary value).
 */
public final class PyStrings {

    private PyStrings() {}

    /** Python's {@code str.isspace()} for one code point. */
    public static boolean isSpace(int c) {
        return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680
                || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f
                || c == 0x3000;
    }

    /** {@code s.split()}: runs of whitespace separate tokens, empty tokens dropped. */
    public static List<String> split(String s) {
        List<String> out = new ArrayList<>();
        int n = s.length();
        int i = 0;
        while (i < n) {
            while (i < n && isSpace(s.codePointAt(i))) {
                i += Character.charCount(s.codePointAt(i));
            }
            int start = i;
            while (i < n && !isSpace(s.codePointAt(i))) {
                i += Character.charCount(s.codePointAt(i));
            }
            if (i > start) {
                out.add(s.substring(start, i));
            }
        }
        return out;
    }

    /** {@code ' '.join(s.split())}. */
    public static String normalizeSpaces(String s) {
        return String.join(" ", split(s));
    }

    /** {@code s.rstrip()}. */
    public static String rstrip(String s) {
        int end = s.length();
        while (end > 0) {
            int c = s.codePointBefore(end);
            if (!isSpace(c)) {
                break;
            }
            end -= Character.charCount(c);
        }
        return s.substring(0, end);
    }

    /** {@code s.strip()}. */
    public static String strip(String s) {
        String r = rstrip(s);
        int start = 0;
        while (start < r.length()) {
            int c = r.codePointAt(start);
            if (!isSpace(c)) {
                break;
            }
            start += Character.charCount(c);
        }
        return r.substring(start);
    }

    /** {@code s.lower()} (full Unicode lowercase mapping, locale independent). */
    public static String lower(String s) {
        return s.toLowerCase(Locale.ROOT);
    }

    /** {@code f"{x:.{digits}f}"}. */
    public static String fixed(double x, int digits) {
        if (Double.isNaN(x) || Double.isInfinite(x)) {
            return Double.isNaN(x) ? "nan" : x > 0 ? "inf" : "-inf";
        }
        return new BigDecimal(x).setScale(digits, RoundingMode.HALF_EVEN).toPlainString();
    }

    /** The code points of s. */
    public static int[] codePoints(String s) {
        return s.codePoints().toArray();
    }
}
