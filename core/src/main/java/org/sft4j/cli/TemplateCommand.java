package org.sft4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.sft4j.base.JsonFiles;
import org.sft4j.base.UserError;
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
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "template", description = "Render a conversation with a model's chat template (the data pipeline's code path).")
final class TemplateCommand implements Callable<Integer> {

    @Option(names = "--model-dir", required = true, description = "Directory with tokenizer_config.json (and tokenizer.json for --ids).")
    Path modelDir;

    @Option(names = "--messages", required = true, description = "A JSON file: [{\"role\": ..., \"content\": ...}, ...]; "
            + "an assistant message may carry \"reasoning_content\".")
    Path messages;

    @Option(names = "--template", description = "A named template instead of the model's own: ${COMPLETION-CANDIDATES}",
            completionCandidates = Names.class)
    String template;

    @Option(names = "--add-generation-prompt")
    boolean addGenerationPrompt;

    @Option(names = "--enable-thinking", arity = "1", paramLabel = "true|false",
            description = "Pass enable_thinking to the template (Qwen3's switch); left out, the template's default.")
    Boolean enableThinking;

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
            throw new UserError(messages + ": expected a JSON array of {role, content} messages");
        }
        List<Message> msgs = new ArrayList<>();
        int k = 0;
        for (JsonNode m : arr) {
            if (!m.hasNonNull("role") || !m.has("content")) {
                throw new UserError(messages + ": message " + k + " needs 'role' and 'content'");
            }
            JsonNode reasoning = m.get("reasoning_content");
            msgs.add(new Message(m.get("role").asText(), m.get("content").asText(),
                    reasoning == null || reasoning.isNull() ? null : reasoning.asText()));
            k++;
        }
        ChatTemplate t = NamedTemplates.resolve(template, TokenizerConfig.read(modelDir), Clock.systemDefaultZone())
                .withTemplateKwargs(enableThinking == null ? Map.of() : Map.of("enable_thinking", enableThinking));
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
