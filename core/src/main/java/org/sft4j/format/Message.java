package org.sft4j.format;

import org.sft4j.base.UserError;

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

    static final String THINK_START = "<think>";
    static final String THINK_END = "</think>";

    public Message {
        if (role == null || role.isBlank()) {
            throw new UserError("a message needs a role");
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
     * The reasoning of this turn as a chat template reads it: {@code reasoning_content}, else the text before
     * {@code </think>} in the content (Qwen3's rule); empty when there is none.
     */
    public String reasoning() {
        if (reasoningContent != null) {
            return reasoningContent;
        }
        int end = content.indexOf(THINK_END);
        if (end < 0) {
            return "";
        }
        String before = content.substring(0, end);
        int open = before.lastIndexOf(THINK_START);
        return open < 0 ? before : before.substring(open + THINK_START.length());
    }

    /** Whether this turn carries reasoning (an empty think block does not count). */
    public boolean hasReasoning() {
        return !reasoning().isBlank();
    }

    /** This turn without its reasoning: no {@code reasoning_content}, and the content after its last {@code </think>}. */
    public Message withoutReasoning() {
        int end = content.lastIndexOf(THINK_END);
        String answer = end < 0 ? content : content.substring(end + THINK_END.length()).replaceFirst("^\\n+", "");
        return new Message(role, answer, null);
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
