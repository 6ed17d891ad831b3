package org.sft4j.model;

import org.junit.jupiter.api.Test;
import org.sft4j.nd.NativeOps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/** Without the native extension every mode falls back to, or asks for, DJL's portable path. */
class ComputeTest {

    @Test
    void withoutTheExtensionOnlyThePortablePathIsOffered() {
        assumeFalse(NativeOps.available(), "the native extension is loaded here");
        assertEquals(Compute.portable(), Compute.auto());
        assertNull(Compute.forTraining(true, false, false), "bf16 cannot be granted");
        assertNull(Compute.forTraining(false, false, true), "fp16 cannot be granted");
        assertNull(Compute.forTraining(false, true, false), "pure bf16 cannot be granted");
        assertEquals(Compute.portable(), Compute.forTraining(false, false, false));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> new Compute(true, true));
        assertFalse(e.getMessage().isBlank());
        assertEquals(true, e.getMessage().contains("native/build.sh"), e.getMessage());
    }

    @Test
    void everyFusedPrecisionNeedsTheExtensionAndThePortablePathNeedsNoScaling() {
        assumeFalse(NativeOps.available(), "the native extension is loaded here");
        for (Compute.Precision p : Compute.Precision.values()) {
            assertThrows(IllegalStateException.class, () -> new Compute(true, p), p + " needs the extension");
        }
        assertEquals(Compute.portable(), new Compute(false, Compute.Precision.FP32));
        assertFalse(Compute.portable().needsLossScaling());
        assertFalse(Compute.portable().halfProducts());
    }
}
