package org.sft4j.train;

import org.sft4j.nd.CollectiveFailure;

import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;

/**
 * What the ranks of a multi-process run agree on besides their gradients: whether to stop (asked of any rank, agreed
 * in the same collective as the loss), and where a rank's failure is reported (its watchdog).
 */
final class RankAgreement {

    private final BooleanSupplier stopRequested;
    private boolean stopAgreed;
    private Watchdog watchdog;

    RankAgreement(BooleanSupplier stopRequested) {
        this.stopRequested = stopRequested;
    }

    /** This rank's loss summed over the ranks by {@code sum}, which also tells every rank whether one must stop. */
    double sumLoss(double local, UnaryOperator<double[]> sum) {
        double[] agreed = sum.apply(new double[] {local, stopRequested.getAsBoolean() ? 1 : 0});   // one collective
        stopAgreed = agreed[1] > 0;
        return agreed[0];
    }

    boolean stopAgreed() {
        return stopAgreed;
    }

    /** The watchdog the rank's failures are reported to (a multi-process run). */
    void watch(Watchdog w) {
        this.watchdog = w;
    }

    /** A collective's failure waits for the watchdog's verdict on who failed; any other is reported to the others. */
    void failed(RuntimeException e) {
        if (watchdog != null) {
            if (e instanceof CollectiveFailure) {
                Watchdog.awaitVerdict(watchdog, e);
            } else {
                watchdog.reportFailure(String.valueOf(e.getMessage()));
            }
        }
    }
}
