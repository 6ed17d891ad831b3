package org.sft4j.magics;

import java.util.List;

/** Small HTML builders for cell output; every text is escaped. */
public final class Html {

    private Html() {}

    public static String escape(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '&' -> sb.append("&amp;");
                case '"' -> sb.append("&quot;");
                default -> sb.append(c);
            }
        }
        return sb.toString();
    }

    /** Above this many characters a cell's text makes the table one that wraps inside the page's width. */
    static final int LONG_CELL = 40;

    /**
     * A table with a header row; cells are escaped; numbers right-aligned. A table with long text (model outputs,
     * rendered examples) takes the page's width in equal columns and wraps its text, even runs without spaces, so
     * its last column stays on screen.
     */
    public static String table(String caption, List<String> header, List<List<String>> rows) {
        boolean wrap = rows.stream().flatMap(List::stream).anyMatch(c -> c.length() > LONG_CELL);
        StringBuilder sb = new StringBuilder("<table class=\"sft4j\" style=\"border-collapse:collapse"
                + (wrap ? ";width:100%;table-layout:fixed" : "") + "\">");
        if (caption != null) {
            sb.append("<caption style=\"text-align:left;font-weight:bold\">").append(escape(caption)).append("</caption>");
        }
        sb.append("<thead><tr>");
        for (String h : header) {
            sb.append("<th style=\"text-align:left;padding:2px 8px;border-bottom:1px solid #999\">").append(escape(h)).append("</th>");
        }
        sb.append("</tr></thead><tbody>");
        for (List<String> r : rows) {
            sb.append("<tr>");
            for (String c : r) {
                boolean num = c.matches("-?[0-9.,eE+%]+|NaN|nan");
                sb.append("<td style=\"padding:2px 8px;vertical-align:top;white-space:pre-wrap;overflow-wrap:anywhere;text-align:")
                        .append(num ? "right" : "left").append("\">").append(escape(c)).append("</td>");
            }
            sb.append("</tr>");
        }
        return sb.append("</tbody></table>").toString();
    }

    /** A plain-text rendering of the same table, for text/plain fallbacks. */
    public static String text(List<String> header, List<List<String>> rows) {
        int[] w = new int[header.size()];
        for (int i = 0; i < w.length; i++) {
            w[i] = header.get(i).length();
            for (List<String> r : rows) {
                w[i] = Math.max(w[i], Math.min(60, r.get(i).length()));
            }
        }
        StringBuilder sb = new StringBuilder();
        line(sb, header, w);
        for (List<String> r : rows) {
            line(sb, r, w);
        }
        return sb.toString();
    }

    private static void line(StringBuilder sb, List<String> cells, int[] w) {
        for (int i = 0; i < cells.size(); i++) {
            String c = cells.get(i).replace('\n', ' ');
            if (c.length() > 60) {
                c = c.substring(0, 57) + "...";
            }
            sb.append(String.format("%-" + w[i] + "s", c)).append(i + 1 < cells.size() ? "  " : "\n");
        }
    }
}
