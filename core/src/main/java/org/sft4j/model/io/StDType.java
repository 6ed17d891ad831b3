package org.sft4j.model.io;

import org.sft4j.base.UserError;

/** The element types of the safetensors format that sft4j reads and writes. */
public enum StDType {
    F32(4), F16(2), BF16(2), F64(8), I64(8), I32(4), I16(2), I8(1), U8(1), BOOL(1);

    private final int bytes;

    StDType(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    /** Parses the header's dtype string, naming the file and tensor when it is unknown. */
    public static StDType parse(String s, String where) {
        try {
            return valueOf(s);
        } catch (IllegalArgumentException e) {
            throw new UserError(where + ": unsupported safetensors dtype '" + s + "'");
        }
    }

    /** The stored type of a weight type (fp32, fp16, bf16). */
    public static StDType of(ai.djl.ndarray.types.DataType weightType) {
        return switch (weightType) {
            case FLOAT32 -> F32;
            case FLOAT16 -> F16;
            case BFLOAT16 -> BF16;
            default -> throw new IllegalArgumentException("no safetensors type for weights of " + weightType);
        };
    }

    /** True for the floating point types a model can be computed in after conversion. */
    public boolean isFloat() {
        return this == F32 || this == F16 || this == BF16 || this == F64;
    }
}
