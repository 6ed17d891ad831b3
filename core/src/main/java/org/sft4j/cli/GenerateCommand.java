package org.sft4j.cli;

import ai.djl.Device;
import org.sft4j.base.JsonFiles;
import org.sft4j.base.UserError;
import org.sft4j.config.ModelArgs;
import org.sft4j.eval.GenerationLimits;
import org.sft4j.model.Decoder;
import org.sft4j.model.GenerationOptions;
import org.sft4j.model.Generator;
import org.sft4j.model.ModelFiles;
import org.sft4j.nd.Engines;
import org.sft4j.tokenize.Tokenizer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;

@Command(name = "generate", description = "Continue a prompt with a model (the same generation code as eval).")
final class GenerateCommand implements Callable<Integer> {

    @Option(names = "--model-dir", required = true, description = "A Hugging Face model directory.")
    Path modelDir;

    @Option(names = "--adapter", description = "A PEFT LoRA adapter directory to apply.")
    Path adapter;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Prompt prompt;

    static final class Prompt {
        @Option(names = "--prompt", description = "Prompt text (tokenized as is, no template).")
        String text;

        @Option(names = "--prompt-ids", split = ",", description = "Prompt token ids, comma-separated.")
        int[] ids;
    }

    @Option(names = "--max-new-tokens", defaultValue = "64")
    int maxNewTokens;

    @Option(names = "--greedy", description = "Greedy decoding (the default unless --temperature is given).")
    boolean greedy;

    @Option(names = "--temperature")
    Double temperature;

    @Option(names = "--top-p", defaultValue = "1.0")
    double topP;

    @Option(names = "--seed", defaultValue = "0")
    long seed;

    @Option(names = "--ids", description = "Print the new token ids as a JSON array instead of text.")
    boolean printIds;

    @Option(names = "--device", defaultValue = "cpu")
    String device;

    @Option(names = "--no-cache", hidden = true, description = "Recompute the whole sequence each step (to measure the cache).")
    boolean noCache;

    @Override
    public Integer call() throws Exception {
        if (!ModelArgs.isDevice(device)) {
            throw new UserError("--device: '" + device + "' is not a device: use auto, cpu, gpu or gpu:N");
        }
        if (maxNewTokens < 1) {
            throw new UserError("--max-new-tokens must be at least 1, got " + maxNewTokens);
        }
        boolean sample = temperature != null && !greedy;
        Tokenizer tok = prompt.text != null || !printIds ? Tokenizer.load(modelDir) : null;
        try (Decoder model = Decoder.load(modelDir, Engines.device(device))) {
            if (adapter != null) {
                ModelFiles.loadAdapter(model, adapter);
            }
            int[] ids = prompt.ids != null ? prompt.ids : tok.ids(prompt.text);
            if (ids.length == 0) {
                throw new UserError("the prompt is empty: give --prompt text or --prompt-ids");
            }
            Optional<String> outside = GenerationLimits.idOutsideVocabulary(ids, model.config(), modelDir.toString());
            if (outside.isPresent()) {
                throw new UserError((prompt.ids != null ? "--prompt-ids: " : "--prompt: ") + outside.get()
                        + (prompt.ids != null ? "" : ": the tokenizer and the model do not belong together"));
            }
            GenerationLimits.pastPositions(ids.length, maxNewTokens, model.config())
                    .ifPresent(w -> System.err.println("warning: " + w));
            int[] eos = model.config().eosTokenIds();
            Path gen = modelDir.resolve("generation_config.json");
            if (Files.exists(gen)) {
                eos = org.sft4j.model.TokenIds.of(JsonFiles.read(gen).path("eos_token_id"));
            }
            GenerationOptions opt = new GenerationOptions(maxNewTokens, !sample, sample ? temperature : 1.0, topP, seed, eos,
                    eos.length > 0 ? eos[0] : 0, !noCache);
            int[] out = new Generator(model).generate(List.of(ids), opt, null).get(0).tokens();
            System.out.println(printIds ? Arrays.toString(out).replace(" ", "") : tok.decode(out, true));
        } finally {
            if (tok != null) {
                tok.close();
            }
        }
        return 0;
    }

}
