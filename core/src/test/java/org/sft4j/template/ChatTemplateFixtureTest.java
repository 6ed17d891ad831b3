package org.sft4j.template;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.sft4j.format.Message;
import org.sft4j.testing.Shared;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Every render of shared/fixtures/chat_templates.json, text compared exactly. */
class ChatTemplateFixtureTest {

    /** The fixtures were generated on 2026-11-22; Llama-3.2's template prints strftime_now("%d %b %Y"). */
    static final Clock FIXTURE_DAY = Clock.fixed(Instant.parse("2026-11-22T12:00:00Z"), ZoneOffset.UTC);

    static List<Message> messages(JsonNode arr) {
        List<Message> m = new ArrayList<>();
        arr.forEach(x -> m.add(new Message(x.get("role").asText(), x.get("content").asText())));
        return m;
    }

    @TestFactory
    Stream<DynamicTest> everyFixtureRenderMatches() throws Exception {
        JsonNode all = new ObjectMapper().readTree(Shared.fixtures("chat_templates.json").toFile());
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode f : all) {
            String model = f.get("model").asText();
            String name = model + " conversation " + f.get("conversation").asInt() + " agp=" + f.get("add_generation_prompt");
            tests.add(DynamicTest.dynamicTest(name, () -> {
                ChatTemplate t = ChatTemplate.fromConfig(TokenizerConfig.read(Shared.tokenizer(model)), FIXTURE_DAY);
                String text = t.render(messages(f.get("messages")), f.get("add_generation_prompt").asBoolean());
                assertEquals(f.get("text").asText(), text);
            }));
        }
        assertEquals(36, tests.size());
        return tests.stream();
    }
}
