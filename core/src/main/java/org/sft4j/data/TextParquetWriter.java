package org.sft4j.data;

import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.io.api.RecordConsumer;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.MessageTypeParser;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Writes rows of text columns to Parquet, e.g. the prompt/response file of the TowerBlocks recipe
 * (LLaMA-Factory reads it with {@code columns: {prompt: prompt, response: response}}). The file appears
 * under its name only on {@link #commit()}.
 */
public final class TextParquetWriter implements AutoCloseable {

    private final AtomicParquetWriter<Map<String, String>> file;

    public TextParquetWriter(Path target, List<String> columns) throws IOException {
        List<String> cols = List.copyOf(columns);
        StringBuilder s = new StringBuilder("message rows {");
        for (String c : cols) {
            s.append(" optional binary ").append(c).append(" (STRING);");
        }
        MessageType schema = MessageTypeParser.parseMessageType(s.append(" }").toString());
        this.file = new AtomicParquetWriter<>(target, schema, CompressionCodecName.ZSTD, (rc, row) -> write(rc, cols, row));
    }

    private static void write(RecordConsumer rc, List<String> columns, Map<String, String> row) {
        for (int i = 0; i < columns.size(); i++) {
            String v = row.get(columns.get(i));
            if (v != null) {
                rc.startField(columns.get(i), i);
                rc.addBinary(Binary.fromString(v));
                rc.endField(columns.get(i), i);
            }
        }
    }

    public void write(Map<String, String> row) throws IOException {
        file.write(row);
    }

    public void commit() throws IOException {
        file.commit();
    }

    @Override
    public void close() throws IOException {
        file.close();
    }
}
