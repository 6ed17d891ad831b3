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

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes rows of text columns to Parquet, e.g. the prompt/response file of the TowerBlocks recipe
 * (LLaMA-Factory reads it with {@code columns: {prompt: prompt, response: response}}).
 */
public final class TextParquetWriter implements AutoCloseable {

    private final List<String> columns;
    private final Path target;
    private final Path tmp;
    private final ParquetWriter<Map<String, String>> writer;
    private boolean committed;

    public TextParquetWriter(Path target, List<String> columns) throws IOException {
        this.columns = List.copyOf(columns);
        this.target = target;
        this.tmp = target.resolveSibling(target.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        StringBuilder s = new StringBuilder("message rows {");
        for (String c : columns) {
            s.append(" optional binary ").append(c).append(" (STRING);");
        }
        MessageType schema = MessageTypeParser.parseMessageType(s.append(" }").toString());
        this.writer = new Builder(new LocalOutputFile(tmp), schema, this.columns).withConf(new PlainParquetConfiguration())
                .withCompressionCodec(CompressionCodecName.ZSTD).build();
    }

    public void write(Map<String, String> row) throws IOException {
        writer.write(row);
    }

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

    private static final class Builder extends ParquetWriter.Builder<Map<String, String>, Builder> {
        private final MessageType schema;
        private final List<String> columns;

        Builder(OutputFile f, MessageType schema, List<String> columns) {
            super(f);
            this.schema = schema;
            this.columns = columns;
        }

        @Override
        protected Builder self() {
            return this;
        }

        @Override
        protected WriteSupport<Map<String, String>> getWriteSupport(ParquetConfiguration conf) {
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
                public void write(Map<String, String> row) {
                    rc.startMessage();
                    for (int i = 0; i < columns.size(); i++) {
                        String v = row.get(columns.get(i));
                        if (v != null) {
                            rc.startField(columns.get(i), i);
                            rc.addBinary(Binary.fromString(v));
                            rc.endField(columns.get(i), i);
                        }
                    }
                    rc.endMessage();
                }
            };
        }

        @Override
        protected WriteSupport<Map<String, String>> getWriteSupport(org.apache.hadoop.conf.Configuration conf) {
            return getWriteSupport((ParquetConfiguration) null);
        }
    }
}
