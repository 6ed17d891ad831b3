package org.sft4j.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.sft4j.config.SftConfig;
import org.sft4j.read.DataException;
import org.sft4j.testing.Shared;
import org.sft4j.tokenize.EncodedExample;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** val_size: a whole number is exact (LLaMA-Factory's meaning), a fraction stays a fraction. */
class ValSplitTest {

    private static final String MULTI30K_VAL = Shared.data("multi30k").resolve("val.{en,de}.gz").toString();

    private static DataPipeline.Prepared prepare(Path tmp, Object valSize, boolean bidirectional) throws Exception {
        SftConfig cfg = DataPipelineTest.config(tmp.resolve("d" + valSize + bidirectional), Map.of("dataset", MULTI30K_VAL,
                "template", "chatml", "val_size", valSize, "bidirectional", bidirectional));
        return DataPipeline.prepare(cfg, DataPipelineTest.NO_HUB, null);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 8, 200, 1013})
    void aWholeNumberHoldsOutExactlyThatMany(int n, @TempDir Path tmp) throws Exception {
        DataPipeline.Prepared p = prepare(tmp, n, false);
        assertEquals(n, p.report().val);
        assertEquals(1014 - n, p.report().train);
        assertEquals(n, TokenizedSet.read(p.val()).size());
        Set<String> val = ids(p.val());
        assertTrue(ids(p.train()).stream().noneMatch(val::contains), "no example is in both splits");
    }

    @Test
    void theHeldOutExamplesAreTheSameEveryRun(@TempDir Path tmp) throws Exception {
        Set<String> first = ids(prepare(tmp.resolve("a"), 8, false).val());
        Set<String> again = ids(prepare(tmp.resolve("b"), 8, false).val());
        assertEquals(first, again);
        assertTrue(ids(prepare(tmp.resolve("c"), 200, false).val()).containsAll(first), "a larger count extends the smaller");
    }

    @Test
    void aFractionStaysAFraction(@TempDir Path tmp) throws Exception {
        long val = prepare(tmp, 0.25, false).report().val;
        assertTrue(val > 200 && val < 310, "about a quarter of 1014: " + val);
    }

    @Test
    void bothDirectionsOfAPairStayInOneSplit(@TempDir Path tmp) throws Exception {
        DataPipeline.Prepared p = prepare(tmp, 8, true);
        assertEquals(8, p.report().val);
        Map<String, Long> perPair = TokenizedSet.read(p.val()).examples().stream()
                .collect(Collectors.groupingBy(e -> e.id().replace(":rev", ""), Collectors.counting()));
        assertEquals(4, perPair.size(), perPair.toString());
        assertTrue(perPair.values().stream().allMatch(c -> c == 2), perPair.toString());
    }

    @Test
    void holdingOutEverythingIsExplained(@TempDir Path tmp) {
        DataException e = assertThrows(DataException.class, () -> prepare(tmp, 5000, false));
        assertTrue(e.getMessage().endsWith("val_size 5000 holds out all 1014 kept examples: nothing is left to train on "
                + "(lower val_size)"), e.getMessage());
    }

    private static Set<String> ids(Path parquet) throws Exception {
        Set<String> ids = new HashSet<>();
        for (EncodedExample e : TokenizedSet.read(parquet).examples()) {
            ids.add(e.id());
        }
        return ids;
    }
}
