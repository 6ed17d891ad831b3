package org.sft4j.read;

import java.io.Closeable;
import java.util.Iterator;
import java.util.NoSuchElementException;

/** Rows read lazily from one file; {@link #next()} throws {@code DataException} for a malformed record. */
public abstract class RowStream implements Iterator<Row>, Closeable {

    private Row pending;
    private boolean done;

    /** The next row, or null at the end. */
    protected abstract Row read();

    /** True when reading can go on after a malformed record (line-based formats), so it may be skipped. */
    public boolean canSkipErrors() {
        return false;
    }

    @Override
    public final boolean hasNext() {
        if (pending == null && !done) {
            pending = read();
            done = pending == null;
        }
        return pending != null;
    }

    @Override
    public final Row next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        Row r = pending;
        pending = null;
        return r;
    }
}
