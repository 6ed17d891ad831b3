package org.sft4j.cli;

import org.sft4j.base.JsonFiles;
import com.fasterxml.jackson.databind.JsonNode;
import org.sft4j.format.Message;
import org.sft4j.template.ChatTemplate;
import org.sft4j.template.NamedTemplates;
import org.sft4j.template.TokenizerConfig;
import org.sft4j.tokenize.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "template", description = "Render a conversation with a model's chat template (the data pipeline's code path).")
final class TemplateCommand implements Callable<Integer> {

    @Option(names = "--model-dir", required = true, description = "Directory with tokenizer_config.json (and tokenizer.json for --ids).")
    Path modelDir;

    @Option(names = "--messages", required = true, description = "A JSON file: [{\"role\": ..., \"content\": ...}, ...]")
    Path messages;

    @Option(names = "--template", description = "A named template instead of the model's own: ${COMPLETION-CANDIDATES}",
            completionCandidates = Names.class)
    String template;

    @Option(names = "--add-generation-prompt")
    boolean addGenerationPrompt;

    @Option(names = "--ids", description = "Print token ids as a JSON array.")
    boolean ids;

    static final class Names extends ArrayList<String> {
        Names() {
            super(NamedTemplates.names());
        }
    }

    @Override
    public Integer call() throws Exception {
        JsonNode arr = JsonFiles.read(messages);
        if (!arr.isArray()) {
            throw new IllegalArgumentException(messages + ": expected a JSON array of {role, content} messages");
        }
        List<Message> msgs = new ArrayList<>();
        int k = 0;
        for (JsonNode m : arr) {
            if (!m.hasNonNull("role") || !m.has("content")) {
                throw new IllegalArgumentException(messages + ": message " + k + " needs 'role' and 'content'");
            }
            msgs.add(new Message(m.get("role").asText(), m.get("content").asText()));
            k++;
        }
        ChatTemplate t = NamedTemplates.resolve(template, TokenizerConfig.read(modelDir), Clock.systemDefaultZone());
        String text = t.render(msgs, addGenerationPrompt);
        if (ids) {
            try (Tokenizer tok = Tokenizer.load(modelDir)) {
                System.out.println(Arrays.toString(tok.ids(text)).replace(" ", ""));
            }
        } else {
            System.out.print(text);
        }
        return 0;
    }
}
