package org.sft4j.magics;

import org.dflib.jjava.jupyter.kernel.BaseKernel;
import org.sft4j.base.UserError;
import org.sft4j.config.SftConfig;
import org.sft4j.export.LlamaFactoryExport;
import org.sft4j.hub.HubClient;

import java.nio.file.Path;
import java.util.List;

/**
 * {@code %sft.export llamafactory [--out DIR] [--key value ...]}: the session's job as LLaMA-Factory files
 * (dataset, dataset_info.json, training YAML, DeepSpeed ZeRO-3 config) for clusters that run it.
 */
final class ExportMagic {

    private ExportMagic() {}

    static Object run(BaseKernel k, List<String> args, String body) throws Exception {
        Flags flags = Flags.parse(args);
        String out = flags.take("out", null);
        if (flags.positional().isEmpty() || !flags.positional().get(0).equals("llamafactory")) {
            throw new UserError("usage: %sft.export llamafactory [--out DIR] [--key value ...]");
        }
        SftConfig cfg = Session.resolve(new Flags(flags.options(), List.of()), body);
        Path dir = Path.of(out != null ? out : (cfg.train().outputDir() != null ? cfg.train().outputDir() : ".")
                + "/llamafactory");
        long n = LlamaFactoryExport.write(cfg, dir, HubClient.fromEnvironment());
        k.display(Outputs.list("Exported " + n + " examples for LLaMA-Factory to " + dir + "; on the cluster run "
                        + "FORCE_TORCHRUN=1 llamafactory-cli train " + dir.resolve("train.yaml"),
                List.of("sft4j_export.jsonl", "dataset_info.json", "train.yaml", "ds_z3_config.json")));
        return null;
    }
}
