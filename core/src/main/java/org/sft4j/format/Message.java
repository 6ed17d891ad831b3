package org.sft4j.format;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One turn of a conversation.
 *
 * @param role {@code system}, {@code user}, {@code assistant} (or {@code tool})
 * @param content the text
 * @param reasoningContent an assistant turn's reasoning kept apart from its answer (the {@code reasoning_content}
 *     field of Qwen3 / DeepSeek-R1 style data), or null; reasoning may also sit inline in {@code content} as a
 *     {@code <think>...</think>} block, which is how the chat templates read it then
 */
public record Message(String role, String content, String reasoningContent) {

    public Message {
        if (role == null || role.isBlank()) {
            throw new IllegalArgumentException("a message needs a role");
        }
        if (content == null) {
            content = "";
        }
    }

    public Message(String role, String content) {
        this(role, content, null);
    }

    public static Message system(String s) {
        return new Message("system", s);
    }

    public static Message user(String s) {
        return new Message("user", s);
    }

    public static Message assistant(String s) {
        return new Message("assistant", s);
    }

    /**
     * The dict a Jinja chat template receives: {@code role} and {@code content}, and {@code reasoning_content} only
     * when the data has it (templates test {@code message.reasoning_content is string}).
     */
    public Map<String, Object> toTemplateValue() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("role", role);
        m.put("content", content);
        if (reasoningContent != null) {
            m.put("reasoning_content", reasoningContent);
        }
        return m;
    }
}
