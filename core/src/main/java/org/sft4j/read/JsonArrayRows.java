package org.sft4j.read;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.sft4j.read.DataException;

import java.io.IOException;
import java.io.InputStream;

/** A JSON file holding an array of objects (Alpaca's layout), streamed element by element. */
final class JsonArrayRows extends RowStream {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final JsonParser parser;
    private final String file;

    JsonArrayRows(InputStream in, String file) throws IOException {
        this.file = file;
        this.parser = JSON.getFactory().createParser(in);
        try {
            JsonToken first = parser.nextToken();
            if (first != JsonToken.START_ARRAY) {
                throw new DataException(file + ":" + parser.currentTokenLocation().getLineNr(),
                        "expected a JSON array of examples (or use .jsonl for one object per line)");
            }
        } catch (JsonParseException e) {
            throw error(e);
        }
    }

    private DataException error(JsonParseException e) {
        return new DataException(file + ":" + e.getLocation().getLineNr(), "not valid JSON (column "
                + e.getLocation().getColumnNr() + ", byte offset " + e.getLocation().getByteOffset() + "): "
                + e.getOriginalMessage());
    }

    @Override
    protected Row read() {
        try {
            JsonToken t = parser.nextToken();
            if (t == JsonToken.END_ARRAY || t == null) {
                return null;
            }
            String where = file + ":" + parser.currentTokenLocation().getLineNr();
            JsonNode n = JSON.readTree(parser);
            if (!n.isObject()) {
                throw new DataException(where, "expected a JSON object, found " + n.getNodeType().toString().toLowerCase());
            }
            return new Row(n, where);
        } catch (JsonParseException e) {
            throw error(e);
        } catch (IOException e) {
            throw new DataException(file, e.getMessage(), e);
        }
    }

    @Override
    public void close() throws IOException {
        parser.close();
    }
}
