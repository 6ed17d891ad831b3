package org.sft4j.tokenize;

/** Why an example did not make it into the tokenized dataset; every drop is counted in the report. */
public enum DropReason {
    EMPTY_RESPONSE("empty response"),
    NO_ASSISTANT_TURN("no assistant turn"),
    OVERLONG("longer than cutoff_len"),
    TOO_SHORT("shorter than min_seq_len"),
    NO_SUPERVISED_TOKENS("no supervised tokens left"),
    TEMPLATE_ERROR("the chat template raised an error"),
    MALFORMED_ROW("malformed row (on_error: skip)");

    private final String text;

    DropReason(String text) {
        this.text = text;
    }

    public String text() {
        return text;
    }
}
