package org.sft4j.data;

import org.apache.parquet.conf.ParquetConfiguration;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.api.WriteSupport;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.LocalOutputFile;
import org.apache.parquet.io.OutputFile;
import org.apache.parquet.io.api.RecordConsumer;
import org.apache.parquet.schema.MessageType;
import org.sft4j.base.TempFiles;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.function.BiConsumer;

/**
 * A Parquet file of one schema written under a temporary name and renamed on {@link #commit()};
 * {@link #close()} without commit removes it, so a failed run leaves no file that looks finished.
 *
 * @param <T> the row type, turned into a record by {@code writeRecord} between start and end of message
 */
final class AtomicParquetWriter<T> implements AutoCloseable {

    private final Path target;
    private final Path tmp;
    private final ParquetWriter<T> writer;
    private long rows;
    private boolean committed;

    AtomicParquetWriter(Path target, MessageType schema, CompressionCodecName codec,
                        BiConsumer<RecordConsumer, T> writeRecord) throws IOException {
        this.target = target;
        this.tmp = TempFiles.beside(target);
        this.writer = new Builder<>(new LocalOutputFile(tmp), schema, writeRecord).withConf(new PlainParquetConfiguration())
                .withCompressionCodec(codec).build();
    }

    void write(T row) throws IOException {
        writer.write(row);
        rows++;
    }

    long rows() {
        return rows;
    }

    /** Finishes the file and moves it to its final name. */
    void commit() throws IOException {
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

    private static final class Builder<T> extends ParquetWriter.Builder<T, Builder<T>> {
        private final MessageType schema;
        private final BiConsumer<RecordConsumer, T> writeRecord;

        Builder(OutputFile f, MessageType schema, BiConsumer<RecordConsumer, T> writeRecord) {
            super(f);
            this.schema = schema;
            this.writeRecord = writeRecord;
        }

        @Override
        protected Builder<T> self() {
            return this;
        }

        @Override
        protected WriteSupport<T> getWriteSupport(ParquetConfiguration conf) {
            return new WriteSupport<>() {
                private RecordConsumer rc;

                @Override
                public WriteContext init(ParquetConfiguration c) {
                    return new WriteContext(schema, new HashMap<>());
                }

                @Override
                public WriteContext init(org.apache.hadoop.conf.Configuration c) {
                    return init((ParquetConfiguration) null);
                }

                @Override
                public void prepareForWrite(RecordConsumer r) {
                    rc = r;
                }

                @Override
                public void write(T row) {
                    rc.startMessage();
                    writeRecord.accept(rc, row);
                    rc.endMessage();
                }
            };
        }

        @Override
        protected WriteSupport<T> getWriteSupport(org.apache.hadoop.conf.Configuration conf) {
            return getWriteSupport((ParquetConfiguration) null);
        }
    }
}
