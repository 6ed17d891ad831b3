package org.sft4j.format;

import java.util.Locale;

/** Language codes to the English names used in translation instructions ({@code de -> German}). */
public final class LanguageNames {

    private LanguageNames() {}

    /** The English name of an ISO 639 code ({@code en}, {@code de}, {@code zh}, {@code pt-br}...); unknown codes stay as given. */
    public static String of(String code) {
        if (code == null || code.isBlank()) {
            return code;
        }
        Locale l = Locale.forLanguageTag(code.replace('_', '-'));
        String name = l.getDisplayLanguage(Locale.ENGLISH);
        if (name.isEmpty() || name.equalsIgnoreCase(code)) {
            return code;
        }
        return name;
    }
}
