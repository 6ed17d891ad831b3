package org.sft4j.nd;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A product recorded for backward without being computed (what a checkpointed layer's recompute uses for its down
 * projection) gives the gradients of the computed product, bit for bit, and dispatches no matrix product forward.
 */
class GraphOnlyLinearTest {

    /** y = h + x W^T + b, backward with a fixed gradient: the gradients of x, W, b and h, in that order (null: none). */
    private static List<float[]> gradients(boolean graphOnly, int dtype, boolean bias, boolean frozenWeight) {
        try (NDManager m = Engines.newManager(Device.cpu())) {
            Engines.seedTorch(7);
            NDArray x = m.randomNormal(new Shape(12, 16));
            NDArray w = m.randomNormal(new Shape(24, 16));
            NDArray b = bias ? m.randomNormal(new Shape(24)) : null;
            NDArray h = m.randomNormal(new Shape(12, 24));
            NDArray g = m.randomNormal(new Shape(12, 24));
            boolean was = Tensors.gradMode(true);
            try {
                List<NDArray> leaves = new ArrayList<>(List.of(x, w, h));
                if (b != null) {
                    leaves.add(b);
                }
                for (NDArray leaf : leaves) {
                    leaf.setRequiresGradient(leaf != w || !frozenWeight);
                }
                NDArray product = graphOnly ? NativeOps.linearGraphOnly(x, w, b, dtype, NativeOps.KEEP)
                        : NativeOps.linear(x, w, b, dtype, NativeOps.KEEP);
                NDArray y = h.add(product);   // the residual add, whose backward reads no values
                Tensors.backward(y, g, false);
                List<float[]> out = new ArrayList<>();
                for (NDArray a : new NDArray[] {x, w, b, h}) {
                    NDArray grad = a == null ? null : Tensors.gradOrNull(a);
                    out.add(grad == null ? null : Tensors.toFloats(grad));
                }
                return out;
            } finally {
                Tensors.gradMode(was);
            }
        }
    }

    @Test
    void givesTheComputedProductsGradientsBitForBit() {
        assumeTrue(NativeOps.available(), "needs the native extension");
        for (int dtype : new int[] {NativeOps.FLOAT32, NativeOps.BFLOAT16}) {   // bf16: fp32 originals cast, as mixed precision
            for (boolean bias : new boolean[] {false, true}) {
                for (boolean frozen : new boolean[] {false, true}) {
                    String what = "dtype " + dtype + ", bias " + bias + ", frozen weight " + frozen;
                    List<float[]> computed = gradients(false, dtype, bias, frozen);
                    List<float[]> graphOnly = gradients(true, dtype, bias, frozen);
                    String[] names = {"x", "W", "b", "h"};
                    for (int i = 0; i < names.length; i++) {
                        if (computed.get(i) == null) {
                            assertNull(graphOnly.get(i), what + ": no gradient of " + names[i]);
                        } else {
                            assertArrayEquals(computed.get(i), graphOnly.get(i), 0f, what + ": gradient of " + names[i]);
                        }
                    }
                    assertTrue(computed.get(0) != null && (computed.get(1) == null) == frozen, what);
                }
            }
        }
    }

    @Test
    void dispatchesNoMatrixProductForward() {
        assumeTrue(NativeOps.available(), "needs the native extension");
        try (NDManager m = Engines.newManager(Device.cpu())) {
            NDArray x = m.randomNormal(new Shape(64, 32));
            NDArray w = m.randomNormal(new Shape(48, 32));
            boolean was = Tensors.gradMode(true);
            try {
                x.setRequiresGradient(true);
                Profiler.begin(false);
                NativeOps.linearGraphOnly(x, w, null, NativeOps.FLOAT32, NativeOps.KEEP);
                String graphOnly = Profiler.end(null, 100);
                Profiler.begin(false);
                NativeOps.linear(x, w, null, NativeOps.FLOAT32, NativeOps.KEEP);
                String computed = Profiler.end(null, 100);
                assertTrue(computed.contains("aten::mm") || computed.contains("aten::addmm"), computed);
                assertFalse(graphOnly.contains("aten::mm") || graphOnly.contains("aten::addmm")
                        || graphOnly.contains("aten::linear"), graphOnly);
            } finally {
                Tensors.gradMode(was);
            }
        }
    }
}
