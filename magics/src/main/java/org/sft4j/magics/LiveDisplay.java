package org.sft4j.magics;

import org.dflib.jjava.jupyter.kernel.BaseKernel;
import org.dflib.jjava.jupyter.kernel.display.DisplayData;

import java.util.UUID;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * One output that is updated in place ({@code display_data} with a {@code display_id}, then
 * {@code update_display_data}), at most every {@code minIntervalMs} so a fast loop does not flood the
 * notebook; {@link #finish} always sends the last frame.
 */
public final class LiveDisplay {

    /** Where frames go: the kernel's display stream, or a recorder in tests. */
    public interface Sink {
        void display(DisplayData d);

        void update(String id, DisplayData d);
    }

    private final Sink sink;
    private final String id = UUID.randomUUID().toString();
    private final long minIntervalMs;
    private final LongSupplier clock;
    private long lastSent;
    private boolean shown;

    public LiveDisplay(BaseKernel kernel, long minIntervalMs) {
        this(new Sink() {
            @Override
            public void display(DisplayData d) {
                kernel.display(d);
            }

            @Override
            public void update(String displayId, DisplayData d) {
                kernel.getIO().display.updateDisplay(displayId, d);
            }
        }, minIntervalMs, System::currentTimeMillis);
    }

    public LiveDisplay(Sink sink, long minIntervalMs, LongSupplier clockMs) {
        this.sink = sink;
        this.minIntervalMs = minIntervalMs;
        this.clock = clockMs;
    }

    public String id() {
        return id;
    }

    /** Shows or updates the output if enough time has passed since the last frame (the frame is built only then). */
    public void update(Supplier<DisplayData> frame) {
        long now = clock.getAsLong();
        if (shown && now - lastSent < minIntervalMs) {
            return;
        }
        send(frame.get());
        lastSent = now;
    }

    /** Sends the final frame unconditionally. */
    public void finish(DisplayData frame) {
        send(frame);
    }

    private void send(DisplayData d) {
        if (!shown) {
            d.setDisplayId(id);
            sink.display(d);
            shown = true;
        } else {
            sink.update(id, d);
        }
    }
}
