package org.sft4j.magics;

import org.dflib.jjava.jupyter.kernel.BaseKernel;
import org.dflib.jjava.jupyter.kernel.display.DisplayData;

import java.util.List;

/** Short notes, warnings and lists shown by the magics. */
final class Outputs {

    private Outputs() {}

    static DisplayData note(String text) {
        return Renderers.html("<div style=\"font-family:sans-serif\">" + Html.escape(text) + "</div>", text);
    }

    static DisplayData list(String title, List<String> items) {
        StringBuilder html = new StringBuilder("<b>").append(Html.escape(title)).append("</b><ul>");
        StringBuilder text = new StringBuilder(title).append('\n');
        for (String i : items) {
            html.append("<li><code>").append(Html.escape(i)).append("</code></li>");
            text.append("  ").append(i).append('\n');
        }
        return Renderers.html(html.append("</ul>").toString(), text.toString());
    }

    static void warnings(BaseKernel k, List<String> warnings) {
        if (!warnings.isEmpty()) {
            k.display(list("Warnings", warnings));
        }
    }

    /** An HTML progress bar with a line of text. */
    static DisplayData progress(int done, int total, String line) {
        String html = "<div style=\"font-family:sans-serif\"><progress value=\"" + done + "\" max=\"" + Math.max(1, total)
                + "\" style=\"width:320px\"></progress> " + Html.escape(line) + "</div>";
        return Renderers.html(html, done + "/" + total + " " + line);
    }
}
