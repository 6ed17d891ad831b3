package org.sft4j.read;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.sft4j.read.DataException;

import java.io.IOException;
import java.io.InputStream;

/** JSON Lines: one object per line; blank lines are skipped. */
final class JsonlRows extends RowStream {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Utf8Lines lines;
    private final String file;

    JsonlRows(InputStream in, String file) {
        this.lines = new Utf8Lines(in, file);
        this.file = file;
    }

    @Override
    public boolean canSkipErrors() {
        return true;
    }

    @Override
    protected Row read() {
        while (true) {
            String line = lines.next();
            if (line == null) {
                return null;
            }
            if (line.isBlank()) {
                continue;
            }
            String where = file + ":" + lines.lineNo();
            JsonNode n;
            try {
                n = JSON.readTree(line);
            } catch (JsonProcessingException e) {
                throw new DataException(where, "not valid JSON: " + e.getOriginalMessage());
            }
            if (!n.isObject()) {
                throw new DataException(where, "expected a JSON object, found " + n.getNodeType().toString().toLowerCase());
            }
            return new Row(n, where);
        }
    }

    @Override
    public void close() throws IOException {
        lines.close();
    }
}
