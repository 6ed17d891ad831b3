package org.sft4j.testing;

/** Relative error ‖a − b‖ / ‖b‖, the measure the fixtures' tolerances are stated in. */
public final class Numerics {

    private Numerics() {}

    public static double relError(float[] actual, float[] expected) {
        if (actual.length != expected.length) {
            throw new AssertionError("length " + actual.length + " != expected " + expected.length);
        }
        double diff = 0;
        double ref = 0;
        for (int i = 0; i < actual.length; i++) {
            double d = (double) actual[i] - expected[i];
            diff += d * d;
            ref += (double) expected[i] * expected[i];
        }
        return Math.sqrt(diff) / Math.sqrt(ref);
    }

    public static double relError(double actual, double expected) {
        return Math.abs(actual - expected) / Math.abs(expected);
    }
}
