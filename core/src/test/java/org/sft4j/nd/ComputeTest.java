package org.sft4j.nd;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import org.sft4j.base.UserError;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Choosing a compute strategy, and the memory rules of a step. */
class ComputeTest {

    @Test
    void withoutTheExtensionASixteenBitPrecisionTrainsInFp32AfterOneWarning() {
        assumeFalse(NativeOps.available(), "the native extension is loaded here");
        PrintStream err = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
        Compute c;
        try {
            c = Compute.forPrecision(Precision.BF16_MIXED);
        } finally {
            System.setErr(err);
        }
        assertSame(Compute.portable(), c);
        assertEquals(Precision.FP32, c.precision());
        List<String> lines = buf.toString(StandardCharsets.UTF_8).lines().toList();
        assertEquals(1, lines.size(), lines.toString());
        assertTrue(lines.get(0).contains("bf16-mixed needs sft4j's native extension") && lines.get(0).contains("training in fp32"),
                lines.get(0));
        assertSame(Compute.portable(), Compute.forPrecision(Precision.FP32));
    }

    @Test
    void withoutTheExtensionOnlyThePortablePathIsOfferedAndTheKernelsAreRefusedWithTheWayToBuildThem() {
        assumeFalse(NativeOps.available(), "the native extension is loaded here");
        assertEquals(List.of(Compute.portable()), Compute.offered());
        for (Precision p : Precision.values()) {
            UserError e = assertThrows(UserError.class, () -> Compute.fused(p));
            assertTrue(e.getMessage().contains("native/build.sh"), e.getMessage());
        }
    }

    @Test
    void withTheExtensionEveryPrecisionIsGrantedAndThePortablePathStaysPortable() {
        assumeTrue(NativeOps.available(), "needs the native extension");
        assertEquals(1 + Precision.values().length, Compute.offered().size());
        for (Precision p : Precision.values()) {
            Compute c = Compute.forPrecision(p);
            assertEquals(p, c.precision());
            assertTrue(c.describe().startsWith("native, " + p), c.describe());
        }
        assertEquals("portable DJL operations, fp32", Compute.portable().describe(), "chosen, not overridden by the extension");
    }

    @Test
    void precisionNamesAreLightningsAndUnknownOnesListTheKnown() {
        assertEquals(Precision.FP32, Precision.of("fp32"));
        assertEquals(Precision.BF16_MIXED, Precision.of("bf16-mixed"));
        assertEquals(Precision.FP16_MIXED, Precision.of("FP16-Mixed"));
        assertEquals(Precision.BF16_TRUE, Precision.of("bf16-true"));
        assertEquals(Precision.FP32, Precision.of("32-true"), "Lightning's own spelling");
        assertEquals(Precision.FP16_MIXED, Precision.of("16-mixed"), "Lightning's own spelling");
        UserError e = assertThrows(UserError.class, () -> Precision.of("bf8"));
        assertEquals("precision 'bf8' is not one of [fp32, bf16-mixed, fp16-mixed, bf16-true]", e.getMessage());
        assertTrue(Precision.FP16_MIXED.needsLossScaling());
        assertFalse(Precision.BF16_MIXED.needsLossScaling());
    }

    @Test
    void aStepFreesWhatItMadeExceptWhatItKeeps() {
        try (NDManager model = Engines.newManager(Device.cpu())) {
            NDArray weight = model.create(new float[] {1, 2, 3});
            int before = model.getManagedArrays().size();
            NDArray kept;
            NDArray dropped;
            NDArray partial;
            NDArray handedBack;
            try (StepScope step = StepScope.open(model)) {
                dropped = step.manager().create(new float[] {4, 5, 6}).add(weight);
                NDArray gradientLike = weight.mul(weight);   // attached to the weight's manager: only the scope frees it
                kept = step.keep(dropped.add(gradientLike));
                try (StepScope part = step.part()) {
                    partial = part.manager().create(new float[] {1, 1, 1});
                    handedBack = part.keep(partial.add(dropped));
                }
                assertTrue(partial.isReleased(), "a part's arrays are freed when the part ends");
                assertFalse(handedBack.isReleased(), "what a part keeps lives on in its step");
            }
            assertTrue(handedBack.isReleased(), "and is freed with the step");
            assertTrue(dropped.isReleased(), "the step's own array is freed");
            assertFalse(kept.isReleased(), "a kept array outlives the step");
            assertEquals(before + 1, model.getManagedArrays().size(), "only the kept array remains");
            assertEquals(List.of(6f, 11f, 18f), List.of(box(kept.toFloatArray())));
        }
    }

    private static Float[] box(float[] v) {
        Float[] out = new Float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i];
        }
        return out;
    }

    /**
     * A clipping coefficient folded into the update ({@code AdamWStep.gradCoef}, the fused kernel's grad_scale) moves
     * the weights as the gradients scaled first do, on every compute offered here, fp32 and bf16 weights alike.
     */
    @Test
    void aCoefficientFoldedIntoTheUpdateEqualsGradientsScaledFirst() {
        double coef = 0.37123;
        for (Compute c : Compute.offered()) {
            for (ai.djl.ndarray.types.DataType type : c == Compute.portable()
                    ? List.of(ai.djl.ndarray.types.DataType.FLOAT32)
                    : List.of(ai.djl.ndarray.types.DataType.FLOAT32, ai.djl.ndarray.types.DataType.BFLOAT16)) {
                try (NDManager m = Engines.newManager(Device.cpu())) {
                    m.getEngine().setRandomSeed(7);
                    NDArray w0 = m.randomNormal(0, 1, new ai.djl.ndarray.types.Shape(1003), ai.djl.ndarray.types.DataType.FLOAT32);
                    NDArray g0 = m.randomNormal(0, 1e-2f, new ai.djl.ndarray.types.Shape(1003), ai.djl.ndarray.types.DataType.FLOAT32);
                    float[][] out = new float[2][];
                    for (int folded = 0; folded < 2; folded++) {
                        NDArray w = DataTypes.cast(w0.duplicate(), type);
                        NDArray mt = c.moment(w);
                        NDArray vt = c.moment(w);
                        for (int step = 1; step <= 3; step++) {
                            NDArray g = DataTypes.cast(g0.mul(step), type);
                            if (folded == 0) {
                                g.muli(coef);
                            }
                            c.adamW(List.of(w), List.of(g), List.of(mt), List.of(vt), List.of(), new AdamWStep(step, 1e-2,
                                    0.9, 0.999, 0.01, 1e-8, Bf16Update.NEAREST, 0, folded == 1 ? coef : 1));
                        }
                        out[folded] = DataTypes.cast(w, ai.djl.ndarray.types.DataType.FLOAT32).toFloatArray();
                    }
                    float[] before = w0.toFloatArray();
                    double worst = 0;
                    double moved = 0;
                    for (int i = 0; i < before.length; i++) {
                        worst = Math.max(worst, Math.abs(out[1][i] - out[0][i]));
                        moved = Math.max(moved, Math.abs(out[0][i] - before[i]));
                    }
                    double ulps = type == ai.djl.ndarray.types.DataType.BFLOAT16 ? 3.2e-2 : 4.8e-7;   // one rounding step at |w| < 8
                    assertTrue(moved > 1e-3, c.describe() + " " + type + ": the weights move");
                    assertTrue(worst <= ulps, c.describe() + " " + type + ": folded differs by " + worst);
                }
            }
        }
    }
}
