package org.sft4j.format;

import com.fasterxml.jackson.databind.JsonNode;
import org.sft4j.read.DataException;
import org.sft4j.read.Row;

import java.util.ArrayList;
import java.util.List;

/** Column access with errors that name the row and the columns that do exist. */
final class Fields {

    private Fields() {}

    /** A required text column. */
    static String text(Row row, String column) {
        JsonNode v = row.value().get(column);
        if (v == null) {
            throw new DataException(row.location(), "missing column '" + column + "'; the row has " + columns(row));
        }
        if (v.isNull()) {
            return "";
        }
        if (!v.isValueNode()) {
            throw new DataException(row.location(), "column '" + column + "' must be text, found " + v.getNodeType().toString().toLowerCase());
        }
        return v.asText();
    }

    /** An optional text column: empty when absent or null. */
    static String optionalText(Row row, String column) {
        if (column == null) {
            return "";
        }
        JsonNode v = row.value().get(column);
        return v == null || v.isNull() ? "" : v.asText();
    }

    static List<String> columns(Row row) {
        List<String> c = new ArrayList<>();
        row.value().fieldNames().forEachRemaining(c::add);
        return c;
    }

    static boolean has(Row row, String column) {
        return row.value().has(column);
    }
}
