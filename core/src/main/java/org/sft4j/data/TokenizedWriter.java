package org.sft4j.data;

import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.io.api.RecordConsumer;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.MessageTypeParser;
import org.sft4j.tokenize.EncodedExample;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Writes tokenized examples to Parquet ({@code id, length, supervised, input_ids, labels}), readable by
 * pandas/pyarrow as lists of int32. The file is written under a temporary name and renamed on
 * {@link #commit()}; {@link #close()} without commit removes it.
 */
public final class TokenizedWriter implements AutoCloseable {

    static final MessageType SCHEMA = MessageTypeParser.parseMessageType(
            "message tokenized { required binary id (STRING); required int32 length; required int32 supervised; "
                    + "repeated int32 input_ids; repeated int32 labels; }");

    private final AtomicParquetWriter<EncodedExample> file;

    public TokenizedWriter(Path target) throws IOException {
        this.file = new AtomicParquetWriter<>(target, SCHEMA, CompressionCodecName.SNAPPY, TokenizedWriter::write);
    }

    private static void write(RecordConsumer rc, EncodedExample e) {
        rc.startField("id", 0);
        rc.addBinary(Binary.fromString(e.id()));
        rc.endField("id", 0);
        rc.startField("length", 1);
        rc.addInteger(e.length());
        rc.endField("length", 1);
        rc.startField("supervised", 2);
        rc.addInteger(e.supervised());
        rc.endField("supervised", 2);
        ints(rc, "input_ids", 3, e.inputIds());
        ints(rc, "labels", 4, e.labels());
    }

    private static void ints(RecordConsumer rc, String name, int index, int[] values) {
        if (values.length == 0) {
            return;
        }
        rc.startField(name, index);
        for (int v : values) {
            rc.addInteger(v);
        }
        rc.endField(name, index);
    }

    public void write(EncodedExample e) throws IOException {
        file.write(e);
    }

    public long rows() {
        return file.rows();
    }

    /** Finishes the file and moves it to its final name. */
    public void commit() throws IOException {
        file.commit();
    }

    @Override
    public void close() throws IOException {
        file.close();
    }
}
