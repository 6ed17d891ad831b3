package org.sft4j.magics;

import org.dflib.jjava.jupyter.kernel.BaseKernel;
import org.dflib.jjava.jupyter.kernel.display.DisplayData;
import org.sft4j.config.SftConfig;

import java.util.ArrayList;
import java.util.List;

/** {@code %sft.help}: the magics, their own flags, and every config key they accept as {@code --key value}. */
final class HelpMagic {

    static final List<String[]> MAGICS = List.of(
            new String[] {"%sft.help", "", "this help"},
            new String[] {"%sft.config / %%sft.config", "[--key value ...] or a YAML body",
                "show or change the session's config (what the other magics start from)"},
            new String[] {"%sft.data / %%sft.data", "[CONFIG.yaml] [--key value ...] [--show N]",
                "read, template, tokenize, mask; shows examples, length histogram, masking preview, report"},
            new String[] {"%sft.train / %%sft.train", "[CONFIG.yaml] [--key value ...]",
                "fine-tune with a live loss chart; interrupt the kernel to stop with a checkpoint"},
            new String[] {"%sft.eval / %%sft.eval", "[CONFIG.yaml] [--key value ...] [--samples N]",
                "generate on the test split per checkpoint; BLEU/chrF table, BLEU chart, samples"},
            new String[] {"%sft.export", "llamafactory [--out DIR] [--key value ...]",
                "the job as LLaMA-Factory files (dataset, dataset_info.json, YAML, DeepSpeed ZeRO-3) for a cluster"});

    private HelpMagic() {}

    static Object run(BaseKernel k, List<String> args, String body) {
        List<List<String>> rows = new ArrayList<>();
        for (String[] m : MAGICS) {
            rows.add(List.of(m[0], m[1], m[2]));
        }
        List<String> header = List.of("magic", "flags", "what it does");
        StringBuilder html = new StringBuilder(Html.table("sft4j magics", header, rows));
        html.append("<p><b>Config keys</b> (YAML keys, or flags <code>--key value</code>): <code>")
                .append(Html.escape(String.join(", ", SftConfig.knownKeys()))).append("</code></p>");
        DisplayData d = Renderers.html(html.toString(), Html.text(header, rows) + "\nconfig keys: "
                + String.join(", ", SftConfig.knownKeys()));
        k.display(d);
        return null;
    }
}
