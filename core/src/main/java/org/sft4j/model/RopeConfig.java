package org.sft4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import org.sft4j.base.UserError;

/**
 * Rotary position embedding parameters, from transformers 5's {@code rope_parameters} or the older
 * {@code rope_theta} + {@code rope_scaling} keys.
 *
 * @param theta the base of the frequencies
 * @param type {@code default}, {@code linear} or {@code llama3}
 * @param factor scaling factor (linear, llama3)
 * @param lowFreqFactor llama3 only
 * @param highFreqFactor llama3 only
 * @param originalMaxPositions llama3 only: the context length the base model was trained with
 */
public record RopeConfig(double theta, String type, double factor, double lowFreqFactor, double highFreqFactor,
                         int originalMaxPositions) {

    static RopeConfig fromJson(JsonNode cfg, int headDim) {
        JsonNode p = cfg.path("rope_parameters");
        if (!p.isObject()) {
            p = cfg.path("rope_scaling");
        }
        double theta = p.path("rope_theta").isNumber() ? p.get("rope_theta").asDouble()
                : cfg.path("rope_theta").asDouble(10000.0);
        String type = p.isObject() ? p.path("rope_type").asText(p.path("type").asText("default")) : "default";
        switch (type) {
            case "default", "linear", "llama3" -> { }
            default -> throw new UserError("unsupported rope type '" + type
                    + "'; supported: default, linear, llama3");
        }
        return new RopeConfig(theta, type, p.path("factor").asDouble(1.0), p.path("low_freq_factor").asDouble(1.0),
                p.path("high_freq_factor").asDouble(4.0), p.path("original_max_position_embeddings").asInt(8192));
    }

    /**
     * The inverse frequencies {@code 1 / theta^(2i/d)}, adjusted for the scaling type, in fp32 as
     * transformers computes them.
     */
    public float[] inverseFrequencies(int headDim) {
        int half = headDim / 2;
        float[] inv = new float[half];
        for (int i = 0; i < half; i++) {
            float exponent = (float) (2 * i) / headDim;
            inv[i] = (float) (1.0 / Math.pow(theta, exponent));
        }
        if (type.equals("linear")) {
            for (int i = 0; i < half; i++) {
                inv[i] = (float) (inv[i] / factor);
            }
        } else if (type.equals("llama3")) {
            // transformers' _compute_llama3_parameters: long wavelengths scaled down, short kept, smooth in between
            double lowWavelen = originalMaxPositions / lowFreqFactor;
            double highWavelen = originalMaxPositions / highFreqFactor;
            for (int i = 0; i < half; i++) {
                float f = inv[i];
                double wavelen = 2 * Math.PI / f;
                float scaled = wavelen > lowWavelen ? (float) (f / factor) : f;
                boolean medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
                if (medium) {
                    double smooth = (originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                    scaled = (float) ((1 - smooth) * scaled / factor + smooth * scaled);
                }
                inv[i] = scaled;
            }
        }
        return inv;
    }
}
