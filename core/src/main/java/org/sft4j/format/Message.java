package org.sft4j.format;

import org.sft4j.base.UserError;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One turn of a conversation.
 *
 * @param role {@code system}, {@code user}, {@code assistant} (or {@code tool})
 * @param content the text
 */
public record Message(String role, String content) {

    public Message {
        if (role == null || role.isBlank()) {
            throw new UserError("a message needs a role");
        }
        if (content == null) {
            content = "";
        }
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

    /** The dict a Jinja chat template receives. */
    public Map<String, Object> toTemplateValue() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("role", role);
        m.put("content", content);
        return m;
    }
}
