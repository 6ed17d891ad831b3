package org.sft4j.read;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.sft4j.read.DataException;

import java.io.IOException;

/**
 * Two line-aligned text files (Multi30K's {@code train.en} / {@code train.de}) as rows
 * {@code {"source": ..., "target": ...}}; a length mismatch is an error naming both files and counts.
 */
final class ParallelTextRows extends RowStream {

    private final Utf8Lines src;
    private final Utf8Lines tgt;
    private final String srcFile;
    private final String tgtFile;

    ParallelTextRows(Utf8Lines src, Utf8Lines tgt, String srcFile, String tgtFile) {
        this.src = src;
        this.tgt = tgt;
        this.srcFile = srcFile;
        this.tgtFile = tgtFile;
    }

    @Override
    public boolean canSkipErrors() {
        return true;
    }

    @Override
    protected Row read() {
        String s = src.next();
        String t = tgt.next();
        if (s == null && t == null) {
            return null;
        }
        if (s == null || t == null) {
            String longer = s == null ? tgtFile : srcFile;
            int lines = s == null ? tgt.lineNo() : src.lineNo();
            throw new DataException(longer + ":" + lines, "the parallel files have different line counts: "
                    + srcFile + " has " + src.lineNo() + " lines, " + tgtFile + " has " + tgt.lineNo() + " or more");
        }
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("source", s);
        n.put("target", t);
        return new Row(n, srcFile + ":" + src.lineNo());
    }

    @Override
    public void close() throws IOException {
        src.close();
        tgt.close();
    }
}
