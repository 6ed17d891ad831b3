package org.sft4j.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.sft4j.model.lora.LoraConfig;
import org.sft4j.nd.Compute;
import org.sft4j.nd.NativeOps;
import org.sft4j.nd.Precision;
import org.sft4j.nd.StepScope;
import org.sft4j.nd.Tensors;
import org.sft4j.testing.Expected;
import org.sft4j.testing.Numerics;
import org.sft4j.testing.Shared;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The native kernels at each precision (skipped where the extension is not loaded, as in CI): weights stored as the
 * precision says from the load on, logits within the precision's bound of transformers', LoRA adapters kept fp32.
 */
class NativeComputeTest {

    @ParameterizedTest
    @EnumSource(Precision.class)
    void weightsAreStoredAsThePrecisionSaysAndLogitsMatchTransformers(Precision precision) throws Exception {
        assumeTrue(NativeOps.available(), "needs the native extension");
        try (Expected exp = new Expected(Shared.fixtures("models/llama/expected.safetensors"));
             Decoder model = Decoder.load(Shared.fixtures("models/llama"), Device.cpu(), Compute.fused(precision))) {
            int stored = precision == Precision.BF16_TRUE ? NativeOps.BFLOAT16 : NativeOps.FLOAT32;
            for (Parameter p : model.baseParameters()) {
                assertEquals(stored, NativeOps.dtypeOf(p.array()), p.name());
            }
            model.addLora(new LoraConfig(2, 4, 0, List.of("q_proj")), 1);
            for (Parameter p : model.loraParameters()) {
                assertEquals(NativeOps.FLOAT32, NativeOps.dtypeOf(p.array()), p.name() + ": adapters stay fp32");
            }
            long[][] ids = exp.longs("input_ids");
            try (StepScope step = StepScope.open(model.manager())) {
                NDArray hidden = model.forward(new ModelInputs(ids, Expected.positions(ids), exp.ints("attention_mask"), null),
                        step.manager(), null, false);
                double err = Numerics.relError(Tensors.toFloats(model.logits(hidden)), exp.floats("logits"));
                double bound = switch (precision) {
                    case FP32 -> 1e-4;
                    case BF16_MIXED, FP16_MIXED -> 1e-2;
                    case BF16_TRUE -> 4e-2;
                };
                assertTrue(err < bound, precision + " logits rel. error " + err);
            }
        }
    }
}
