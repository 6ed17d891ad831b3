package org.sft4j.format;

import org.sft4j.format.Message;

import java.util.List;

/**
 * One training example as a conversation.
 *
 * @param id stable identifier ({@code <dataset>#<row>}, or the row's own id field)
 * @param messages system/user/assistant turns; training supervises the assistant turns
 * @param origin where it was read, {@code file:line}, for error messages and the report
 * @param source the text to show as "source" in evaluation (the raw source sentence for translation)
 */
public record Example(String id, List<Message> messages, String origin, String source) {

    public Example {
        messages = List.copyOf(messages);
    }

    /** The last assistant turn's text: the reference in evaluation, empty when there is none. */
    public String reference() {
        for (int i = messages.size() - 1; i >= 0; i--) {
            if (messages.get(i).role().equals("assistant")) {
                return messages.get(i).content();
            }
        }
        return "";
    }

    /** The conversation before the last assistant turn: the prompt in evaluation. */
    public List<Message> prompt() {
        for (int i = messages.size() - 1; i >= 0; i--) {
            if (messages.get(i).role().equals("assistant")) {
                return messages.subList(0, i);
            }
        }
        return messages;
    }
}
