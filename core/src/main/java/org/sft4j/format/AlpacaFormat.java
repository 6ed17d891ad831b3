package org.sft4j.format;

import com.fasterxml.jackson.databind.JsonNode;
import org.sft4j.format.Example;
import org.sft4j.format.Message;
import org.sft4j.read.DataException;
import org.sft4j.read.Row;

import java.util.ArrayList;
import java.util.List;

/**
 * LLaMA-Factory's {@code alpaca} formatting: the user turn is {@code prompt} plus, when present, a newline
 * and {@code query}; the assistant turn is {@code response}; {@code system} and {@code history} (a list of
 * [user, assistant] pairs) are optional. With column mapping this also covers prompt/response data
 * (TowerBlocks) and fairseq2's src/tgt.
 *
 * @param name the name in reports
 * @param prompt column of the instruction (alpaca: instruction)
 * @param query column of the input appended to the instruction, or null
 * @param response column of the answer (alpaca: output)
 * @param system column of a system prompt, or null
 * @param history column of earlier turns, or null
 */
public record AlpacaFormat(String name, String prompt, String query, String response, String system, String history)
        implements ExampleFormat {

    public static AlpacaFormat alpaca() {
        return new AlpacaFormat("alpaca", "instruction", "input", "output", "system", "history");
    }

    public static AlpacaFormat promptResponse() {
        return new AlpacaFormat("prompt_response", "prompt", null, "response", "system", "history");
    }

    public static AlpacaFormat srcTgt() {
        return new AlpacaFormat("src_tgt", "src", null, "tgt", null, null);
    }

    @Override
    public List<Example> convert(Row row, String id) {
        List<Message> msgs = new ArrayList<>();
        String sys = Fields.optionalText(row, system);
        if (!sys.isEmpty()) {
            msgs.add(Message.system(sys));
        }
        if (history != null && Fields.has(row, history)) {
            JsonNode h = row.value().get(history);
            if (!h.isNull() && !h.isArray()) {
                throw new DataException(row.location(), "column '" + history + "' must be a list of [user, assistant] pairs");
            }
            for (JsonNode pair : h) {
                if (!pair.isArray() || pair.size() != 2) {
                    throw new DataException(row.location(), "each '" + history + "' entry must be a [user, assistant] pair");
                }
                msgs.add(Message.user(pair.get(0).asText()));
                msgs.add(Message.assistant(pair.get(1).asText()));
            }
        }
        String instruction = Fields.text(row, prompt);
        String input = Fields.optionalText(row, query);
        String user = input.isEmpty() ? instruction : instruction + "\n" + input;
        msgs.add(Message.user(user));
        msgs.add(Message.assistant(Fields.text(row, response)));
        return List.of(new Example(id, msgs, row.location(), user));
    }
}
