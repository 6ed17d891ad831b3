package org.sft4j.magics;

import org.sft4j.data.DataPipeline;
import org.sft4j.tokenize.EncodedExample;
import org.sft4j.tokenize.Tokenizer;

import java.util.List;

/**
 * Token-level view of what training supervises: supervised tokens on green, masked ones grey, special
 * tokens boxed and bold, the tokens of a reasoning model's think block ({@code <think>...</think>}) underlined in
 * purple, so it shows whether the block is trained (green) or prompt (grey) under {@code enable_thinking};
 * whitespace visible ({@code ·} for spaces, {@code ↵} for newlines). Hovering a token shows its id and label.
 */
public final class MaskingPreview {

    private MaskingPreview() {}

    public static String html(List<DataPipeline.Preview> examples, Tokenizer tok, int maxExamples, int maxTokens) {
        StringBuilder sb = new StringBuilder("<div class=\"sft4j-mask\" style=\"font-family:monospace;font-size:12px;line-height:1.9\">");
        sb.append("<div><b>Masking preview</b> &mdash; <span style=\"background:#c8f7c5\">supervised</span> "
                + "<span style=\"background:#e6e6e6;color:#777\">masked (-100)</span> "
                + "<span style=\"border:1px solid #333;font-weight:bold\">special</span> "
                + "<span style=\"" + THINK_STYLE + "\">think block</span></div>");
        for (int e = 0; e < Math.min(maxExamples, examples.size()); e++) {
            DataPipeline.Preview p = examples.get(e);
            sb.append("<div style=\"margin:6px 0;padding:4px;border-top:1px solid #ddd\"><div style=\"color:#555\">")
                    .append(Html.escape(p.id())).append(" &middot; ").append(p.inputIds().length).append(" tokens</div>");
            int n = Math.min(maxTokens, p.inputIds().length);
            boolean[] think = thinkBlock(p.inputIds(), tok);
            for (int t = 0; t < n; t++) {
                int id = p.inputIds()[t];
                boolean supervised = t > 0 && p.labels()[t] != EncodedExample.IGNORE;
                boolean special = tok.isSpecial(id);
                String text = visible(tok.tokenText(id));
                sb.append("<span title=\"id ").append(id).append(", label ").append(t == 0 ? "-" : p.labels()[t]).append("\" style=\"")
                        .append(supervised ? "background:#c8f7c5;" : "background:#e6e6e6;color:#777;")
                        .append(special ? "border:1px solid #333;font-weight:bold;" : "")
                        .append(think[t] ? THINK_STYLE : "")
                        .append("margin-right:1px;padding:0 1px\">").append(Html.escape(text)).append("</span>");
                if (tok.tokenText(id).endsWith("\n")) {
                    sb.append("<br>");
                }
            }
            if (n < p.inputIds().length) {
                sb.append(" &hellip; (").append(p.inputIds().length - n).append(" more)");
            }
            sb.append("</div>");
        }
        return sb.append("</div>").toString();
    }

    /** Plain-text fallback: supervised tokens in [brackets]. */
    public static String text(List<DataPipeline.Preview> examples, Tokenizer tok, int maxExamples) {
        StringBuilder sb = new StringBuilder("Masking preview ([supervised], rest masked)\n");
        for (int e = 0; e < Math.min(maxExamples, examples.size()); e++) {
            DataPipeline.Preview p = examples.get(e);
            for (int t = 0; t < p.inputIds().length; t++) {
                String s = visible(tok.tokenText(p.inputIds()[t]));
                sb.append(t > 0 && p.labels()[t] != EncodedExample.IGNORE ? "[" + s + "]" : s);
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    private static final String THINK_STYLE = "border-bottom:2px solid #8e44ad;";

    /** Which tokens lie in a think block, from {@code <think>} to {@code </think>} inclusive. */
    static boolean[] thinkBlock(int[] ids, Tokenizer tok) {
        boolean[] in = new boolean[ids.length];
        boolean open = false;
        for (int t = 0; t < ids.length; t++) {
            String s = tok.tokenText(ids[t]);
            open |= s.equals("<think>");
            in[t] = open;
            open &= !s.equals("</think>");
        }
        return in;
    }

    private static String visible(String s) {
        return s.replace(' ', '\u00b7').replace("\n", "\u21b5").replace("\t", "\u21e5");
    }
}
