package org.sft4j.read;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One record of a dataset file as a JSON object, whatever the file type.
 *
 * @param value the record's fields
 * @param location where it came from, {@code file:line} or {@code file row N}, for error messages
 */
public record Row(JsonNode value, String location) {}
