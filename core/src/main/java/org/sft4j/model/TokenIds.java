package org.sft4j.model;

import com.fasterxml.jackson.databind.JsonNode;

/** Reads token ids that Hugging Face files give either as a number or as a list of numbers. */
public final class TokenIds {

    private TokenIds() {}

    public static int[] of(JsonNode n) {
        if (n == null || n.isMissingNode() || n.isNull()) {
            return new int[0];
        }
        if (n.isNumber()) {
            return new int[] {n.asInt()};
        }
        int[] ids = new int[n.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = n.get(i).asInt();
        }
        return ids;
    }
}
