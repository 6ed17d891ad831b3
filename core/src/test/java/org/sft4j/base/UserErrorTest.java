package org.sft4j.base;

import com.fasterxml.jackson.core.JsonParseException;
import org.junit.jupiter.api.Test;
import org.sft4j.read.DataException;

import java.io.IOException;
import java.io.UncheckedIOException;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** An error shown to the user (CLI line, notebook cell) reads as their problem: no Java class names, no library wording. */
class UserErrorTest {

    @Test
    void theMessageAloneWithoutClassNames() {
        assertEquals("rows.jsonl:42: not valid JSON", UserError.describe(new DataException("rows.jsonl:42", "not valid JSON")));
        assertEquals("config.json:2:1: not valid JSON: it ends before the JSON is complete",
                UserError.describe(new IOException("config.json:2:1: not valid JSON: it ends before the JSON is complete",
                        new JsonParseException(null, "Unexpected end-of-input at [Source: REDACTED]"))));
    }

    @Test
    void anUncheckedWrapperShowsWhatItWraps() {
        assertEquals("model: no config.json", UserError.describe(new UncheckedIOException(new IOException("model: no config.json"))));
    }

    @Test
    void ourCausesAddWhatTheyKnow() {
        assertEquals("cannot load the adapter\n  caused by: adapter/adapter_config.json: peft_type 'IA3' is not LORA",
                UserError.describe(new IllegalStateException("cannot load the adapter",
                        new IOException("adapter/adapter_config.json: peft_type 'IA3' is not LORA"))));
    }
}
