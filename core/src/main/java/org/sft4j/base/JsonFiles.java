package org.sft4j.base;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * JSON files: read with errors that name the file, line and column in the user's words (never Jackson's
 * "Source: REDACTED"), and written complete or not at all (under a temporary name, then renamed).
 */
public final class JsonFiles {

    private static final ObjectMapper JSON = new ObjectMapper();

    private JsonFiles() {}

    /** Reads a JSON file; a broken or empty one is an IOException naming the file and where it breaks. */
    public static JsonNode read(Path file) throws IOException {
        JsonNode n;
        try {
            n = JSON.readTree(file.toFile());
        } catch (JsonProcessingException e) {
            throw new IOException(describe(file.toString(), e), e);
        }
        if (n == null || n.isMissingNode()) {
            throw new IOException(file + ": the file is empty; expected JSON");
        }
        return n;
    }

    /** "FILE:LINE:COLUMN: not valid JSON: what" for a parse error of {@code where}. */
    public static String describe(String where, JsonProcessingException e) {
        JsonLocation l = e.getLocation();
        String at = l == null || l.getLineNr() < 1 ? where : where + ":" + l.getLineNr() + ":" + l.getColumnNr();
        String what = e.getOriginalMessage().replaceAll(" \\(code \\d+\\)", "");
        if (what.startsWith("Unexpected end-of-input")) {
            what = "it ends before the JSON is complete (is the file cut short?)";
        }
        return at + ": not valid JSON: " + what;
    }

    /** Writes pretty JSON under a temporary name, then renames it over {@code file}. */
    public static void writeAtomically(Path file, Object value) throws IOException {
        TempFiles.write(file, tmp -> JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), value));
    }
}
