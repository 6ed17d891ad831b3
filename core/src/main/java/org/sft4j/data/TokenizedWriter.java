package org.sft4j.data;

import org.apache.parquet.conf.ParquetConfiguration;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.api.WriteSupport;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.LocalOutputFile;
import org.apache.parquet.io.OutputFile;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.io.api.RecordConsumer;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.MessageTypeParser;
import org.sft4j.tokenize.EncodedExample;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;

/**
 * Writes tokenized examples to Parquet ({@code id, length, supervised, input_ids, labels}), readable by
 * pandas/pyarrow as lists of int32. The file is written under a temporary name and renamed on
 * {@link #commit()}; {@link #close()} without commit removes it.
 */
public final class TokenizedWriter implements AutoCloseable {

    static final MessageType SCHEMA = MessageTypeParser.parseMessageType(
            "message tokenized { required binary id (STRING); required int32 length; required int32 supervised; "
                    + "repeated int32 input_ids; repeated int32 labels; }");

    private final Path target;
    private final Path tmp;
    private final ParquetWriter<EncodedExample> writer;
    private long rows;
    private boolean committed;

    public TokenizedWriter(Path target) throws IOException {
        this.target = target;
        this.tmp = target.resolveSibling(target.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        this.writer = new Builder(new LocalOutputFile(tmp)).withConf(new PlainParquetConfiguration())
                .withCompressionCodec(CompressionCodecName.SNAPPY).build();
    }

    public void write(EncodedExample e) throws IOException {
        writer.write(e);
        rows++;
    }

    public long rows() {
        return rows;
    }

    /** Finishes the file and moves it to its final name. */
    public void commit() throws IOException {
        writer.close();
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        committed = true;
    }

    @Override
    public void close() throws IOException {
        if (!committed) {
            try {
                writer.close();
            } finally {
                Files.deleteIfExists(tmp);
            }
        }
    }

    private static final class Builder extends ParquetWriter.Builder<EncodedExample, Builder> {
        Builder(OutputFile f) {
            super(f);
        }

        @Override
        protected Builder self() {
            return this;
        }

        @Override
        protected WriteSupport<EncodedExample> getWriteSupport(ParquetConfiguration conf) {
            return new Support();
        }

        @Override
        protected WriteSupport<EncodedExample> getWriteSupport(org.apache.hadoop.conf.Configuration conf) {
            return new Support();
        }
    }

    private static final class Support extends WriteSupport<EncodedExample> {
        private RecordConsumer rc;

        @Override
        public WriteContext init(ParquetConfiguration conf) {
            return new WriteContext(SCHEMA, new HashMap<>());
        }

        @Override
        public WriteContext init(org.apache.hadoop.conf.Configuration conf) {
            return init((ParquetConfiguration) null);
        }

        @Override
        public void prepareForWrite(RecordConsumer recordConsumer) {
            this.rc = recordConsumer;
        }

        @Override
        public void write(EncodedExample e) {
            rc.startMessage();
            rc.startField("id", 0);
            rc.addBinary(Binary.fromString(e.id()));
            rc.endField("id", 0);
            rc.startField("length", 1);
            rc.addInteger(e.length());
            rc.endField("length", 1);
            rc.startField("supervised", 2);
            rc.addInteger(e.supervised());
            rc.endField("supervised", 2);
            ints("input_ids", 3, e.inputIds());
            ints("labels", 4, e.labels());
            rc.endMessage();
        }

        private void ints(String name, int index, int[] values) {
            if (values.length == 0) {
                return;
            }
            rc.startField(name, index);
            for (int v : values) {
                rc.addInteger(v);
            }
            rc.endField(name, index);
        }
    }
}
