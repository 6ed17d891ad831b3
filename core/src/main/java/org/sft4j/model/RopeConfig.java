package org.sft4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import org.sft4j.base.UserError;

import java.util.ArrayList;
import java.util.List;

/**
 * Rotary position embedding parameters of one layer type, from transformers 5's {@code rope_parameters} (one object,
 * or one per layer type) or the older {@code rope_theta} + {@code rope_scaling} keys.
 *
 * @param theta the base of the frequencies
 * @param type {@code default}, {@code linear}, {@code llama3} or {@code longrope}
 * @param factor scaling factor (linear, llama3; longrope's context extension)
 * @param lowFreqFactor llama3 only
 * @param highFreqFactor llama3 only
 * @param originalMaxPositions llama3 and longrope: the context length the base model was trained with
 * @param rotaryDim how many leading dimensions of a head rotate ({@code partial_rotary_factor × head_dim}, Phi-3)
 * @param shortFactor longrope: per-frequency divisors up to {@code originalMaxPositions}
 * @param longFactor longrope: per-frequency divisors beyond it
 * @param attentionFactor cos and sin are multiplied by it (longrope's {@code attention_factor}; 1 otherwise)
 */
public record RopeConfig(double theta, String type, double factor, double lowFreqFactor, double highFreqFactor,
                         int originalMaxPositions, int rotaryDim, List<Double> shortFactor, List<Double> longFactor,
                         double attentionFactor) {

    /**
     * Reads one RoPE parameter object {@code p} (missing: defaults) of config {@code cfg} (the file merged with its
     * family's defaults), with {@code defaultTheta} as the base where {@code p} names none.
     */
    static RopeConfig fromJson(JsonNode p, JsonNode cfg, double defaultTheta, int headDim) {
        double theta = p.path("rope_theta").isNumber() ? p.get("rope_theta").asDouble() : defaultTheta;
        String type = p.isObject() ? p.path("rope_type").asText(p.path("type").asText("default")) : "default";
        if (type.equals("su")) {
            type = "longrope";   // Phi-3's first configs, renamed by transformers
        }
        switch (type) {
            case "default", "linear", "llama3", "longrope" -> { }
            default -> throw new UserError("unsupported rope type '" + type
                    + "'; supported: default, linear, llama3, longrope");
        }
        double partial = p.path("partial_rotary_factor").isNumber() ? p.get("partial_rotary_factor").asDouble()
                : cfg.path("partial_rotary_factor").asDouble(1.0);
        int rotaryDim = (int) (headDim * partial);
        if (rotaryDim <= 0 || rotaryDim > headDim || rotaryDim % 2 != 0) {
            throw new UserError("partial_rotary_factor " + partial + " of head_dim " + headDim
                    + " gives " + rotaryDim + " rotary dimensions; it must be even and at most head_dim");
        }
        int maxPositions = cfg.path("max_position_embeddings").asInt(2048);
        // transformers: a top-level original_max_position_embeddings (Phi-3) wins for longrope
        int original = type.equals("longrope") && cfg.path("original_max_position_embeddings").isNumber()
                ? cfg.get("original_max_position_embeddings").asInt()
                : p.path("original_max_position_embeddings").asInt(maxPositions);
        double factor = p.path("factor").asDouble(type.equals("longrope") ? (double) maxPositions / original : 1.0);
        List<Double> shortFactor = List.of();
        List<Double> longFactor = List.of();
        double attentionFactor = 1.0;
        if (type.equals("longrope")) {
            shortFactor = factors(p, "short_factor", rotaryDim);
            longFactor = factors(p, "long_factor", rotaryDim);
            // transformers' _compute_longrope_parameters: the LongRoPE paper's default when none is given
            attentionFactor = p.path("attention_factor").isNumber() ? p.get("attention_factor").asDouble()
                    : factor <= 1.0 ? 1.0 : Math.sqrt(1 + Math.log(factor) / Math.log(original));
        }
        return new RopeConfig(theta, type, factor, p.path("low_freq_factor").asDouble(1.0),
                p.path("high_freq_factor").asDouble(4.0), original, rotaryDim, shortFactor, longFactor, attentionFactor);
    }

    private static List<Double> factors(JsonNode p, String key, int rotaryDim) {
        JsonNode a = p.path(key);
        if (!a.isArray() || a.size() != rotaryDim / 2) {
            throw new UserError("rope_scaling (longrope) needs '" + key + "' as a list of " + rotaryDim / 2
                    + " numbers (one per rotary frequency), got " + (a.isMissingNode() ? "none" : a.toString()));
        }
        List<Double> out = new ArrayList<>();
        a.forEach(x -> out.add(x.asDouble()));
        return List.copyOf(out);
    }

    /** Whether positions up to {@code maxPosition} switch longrope to its long factors (as transformers does per call). */
    public boolean usesLongFactors(long maxPosition) {
        return type.equals("longrope") && maxPosition + 1 > originalMaxPositions;
    }

    /**
     * The inverse frequencies {@code 1 / theta^(2i/d)} over the rotary dimensions d, adjusted for the scaling type,
     * in fp32 as transformers computes them; {@code longContext} picks longrope's long factors.
     */
    public float[] inverseFrequencies(boolean longContext) {
        int half = rotaryDim / 2;
        float[] inv = new float[half];
        for (int i = 0; i < half; i++) {
            float exponent = (float) (2 * i) / rotaryDim;
            inv[i] = (float) (1.0 / Math.pow(theta, exponent));
        }
        if (type.equals("linear")) {
            for (int i = 0; i < half; i++) {
                inv[i] = (float) (inv[i] / factor);
            }
        } else if (type.equals("longrope")) {
            List<Double> ext = longContext ? longFactor : shortFactor;
            for (int i = 0; i < half; i++) {
                float base = (float) Math.pow(theta, (float) (2 * i) / rotaryDim);
                inv[i] = 1f / (ext.get(i).floatValue() * base);
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
