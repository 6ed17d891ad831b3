package org.sft4j.format;

import com.fasterxml.jackson.databind.JsonNode;
import org.sft4j.format.Example;
import org.sft4j.format.Message;
import org.sft4j.read.DataException;
import org.sft4j.read.Row;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * LLaMA-Factory's {@code sharegpt} formatting: a list of turns under {@code messages}, each with a role
 * tag and a content tag whose values are mapped to system/user/assistant. OpenAI's {@code messages}
 * layout is the same with role/content/user/assistant tags. A turn's {@code reasoning_content}, when present, is kept
 * for the chat template (Qwen3's renders it as the turn's think block).
 *
 * @param name the name in reports
 * @param messages column holding the turns
 * @param system optional column with a system prompt
 * @param roleTag key of a turn's role ({@code from})
 * @param contentTag key of a turn's text ({@code value})
 * @param roles tag value to role, e.g. {@code human -> user}, {@code gpt -> assistant}
 */
public record SharegptFormat(String name, String messages, String system, String roleTag, String contentTag,
                             Map<String, String> roles) implements ExampleFormat {

    /** A turn's reasoning kept apart from its answer, as Qwen3 / DeepSeek-R1 style data and OpenAI's API carry it. */
    static final String REASONING = "reasoning_content";

    public static SharegptFormat sharegpt() {
        return new SharegptFormat("sharegpt", "conversations", "system", "from", "value",
                Map.of("human", "user", "gpt", "assistant", "system", "system", "user", "user", "assistant", "assistant"));
    }

    public static SharegptFormat openai() {
        return new SharegptFormat("openai", "messages", null, "role", "content",
                Map.of("user", "user", "assistant", "assistant", "system", "system"));
    }

    @Override
    public List<Example> convert(Row row, String id) {
        JsonNode turns = row.value().get(messages);
        if (turns == null) {
            throw new DataException(row.location(), "missing column '" + messages + "'; the row has " + Fields.columns(row));
        }
        if (!turns.isArray()) {
            throw new DataException(row.location(), "column '" + messages + "' must be a list of turns");
        }
        List<Message> msgs = new ArrayList<>();
        String sys = Fields.optionalText(row, system);
        if (!sys.isEmpty()) {
            msgs.add(Message.system(sys));
        }
        int k = 0;
        for (JsonNode t : turns) {
            String tag = t.path(roleTag).asText(null);
            if (tag == null) {
                throw new DataException(row.location(), "turn " + k + " has no '" + roleTag + "'");
            }
            String role = roles.get(tag);
            if (role == null) {
                throw new DataException(row.location(), "turn " + k + " has role '" + tag + "'; known roles: " + roles.keySet());
            }
            JsonNode c = t.get(contentTag);
            if (c == null) {
                throw new DataException(row.location(), "turn " + k + " has no '" + contentTag + "'");
            }
            JsonNode reasoning = t.get(REASONING);
            msgs.add(new Message(role, c.isNull() ? "" : c.asText(),
                    reasoning == null || reasoning.isNull() ? null : reasoning.asText()));
            k++;
        }
        String source = "";
        for (Message m : msgs) {
            if (m.role().equals("user")) {
                source = m.content();
            }
        }
        return List.of(new Example(id, msgs, row.location(), source));
    }
}
