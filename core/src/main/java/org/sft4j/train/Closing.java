package org.sft4j.train;

import java.io.IOException;
import java.util.List;

/** Closes several resources, last opened first, all of them even when one fails. */
final class Closing {

    private Closing() {}

    static void all(List<? extends AutoCloseable> resources) throws IOException {
        Exception first = null;
        for (int i = resources.size() - 1; i >= 0; i--) {
            try {
                resources.get(i).close();
            } catch (Exception e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first instanceof IOException io) {
            throw io;
        }
        if (first instanceof RuntimeException re) {
            throw re;
        }
        if (first != null) {
            throw new IOException(first);
        }
    }
}
