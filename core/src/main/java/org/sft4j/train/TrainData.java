package org.sft4j.train;

import org.sft4j.data.TokenizedSet;

import java.util.List;

/**
 * What a run trains on: the tokenized splits the data step wrote, and how batches are cut from them.
 *
 * @param train the training split
 * @param val the validation split (empty: no validation)
 * @param maxNumTokens a token budget per micro-batch (per packed row with packing), or null for a row count
 * @param packing several examples per row, attention kept within each
 */
public record TrainData(TokenizedSet train, TokenizedSet val, Integer maxNumTokens, boolean packing) {

    public TrainData {
        val = val == null ? new TokenizedSet(List.of()) : val;
    }

    /** A training split alone: no validation, batches of examples. */
    public static TrainData of(TokenizedSet train) {
        return new TrainData(train, null, null, false);
    }

    /** A copy with a validation split. */
    public TrainData withValidation(TokenizedSet validation) {
        return new TrainData(train, validation, maxNumTokens, packing);
    }
}
