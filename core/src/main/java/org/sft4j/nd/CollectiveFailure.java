package org.sft4j.nd;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * A collective failed: the connection to another rank broke (it died, or its host went away) or timed out. Like an
 * I/O failure it is said in one line; which rank is to blame, the ranks' watchdog finds out.
 */
public final class CollectiveFailure extends UncheckedIOException {

    CollectiveFailure(int rank, String what, RuntimeException cause) {
        super("rank " + rank + ": " + what + " with the other ranks failed", new IOException(cause.getMessage(), cause));
    }
}
