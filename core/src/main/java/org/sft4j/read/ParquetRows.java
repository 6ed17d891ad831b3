package org.sft4j.read;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.parquet.ParquetReadOptions;
import org.apache.parquet.column.page.PageReadStore;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.convert.GroupRecordConverter;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.io.ColumnIOFactory;
import org.apache.parquet.io.LocalInputFile;
import org.apache.parquet.io.RecordReader;
import org.apache.parquet.schema.GroupType;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType;
import org.apache.parquet.schema.Type;
import org.sft4j.read.DataException;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Parquet through Apache Parquet's own reader (no Hadoop installation): each record becomes a JSON object;
 * strings, numbers, booleans, lists (3-level LIST or repeated fields) and nested groups are mapped.
 */
final class ParquetRows extends RowStream {

    private final ParquetFileReader reader;
    private final MessageType schema;
    private final String file;
    private RecordReader<Group> records;
    private long remaining;
    private long row;

    ParquetRows(Path path) throws IOException {
        this.file = path.toString();
        try {
            this.reader = ParquetFileReader.open(new LocalInputFile(path),
                    ParquetReadOptions.builder(new PlainParquetConfiguration()).build());
        } catch (IOException | RuntimeException e) {
            throw new DataException(file, e.getMessage() != null && e.getMessage().contains("is not a Parquet file")
                    ? "not a Parquet file (it lacks Parquet's footer: another format, or cut short?)"
                    : "not a readable Parquet file: " + plain(e), e);
        }
        this.schema = reader.getFooter().getFileMetaData().getSchema();
    }

    @Override
    protected Row read() {
        try {
            while (remaining == 0) {
                PageReadStore pages = reader.readNextRowGroup();
                if (pages == null) {
                    return null;
                }
                remaining = pages.getRowCount();
                records = new ColumnIOFactory().getColumnIO(schema).getRecordReader(pages, new GroupRecordConverter(schema));
            }
            remaining--;
            row++;
            return new Row(toJson(records.read(), schema), file + " row " + row);
        } catch (IOException | RuntimeException e) {
            throw new DataException(file + " row " + (row + 1), "the file is damaged: the rows from here on cannot be read ("
                    + plain(e) + ")", e);
        }
    }

    /** The deepest message of a Parquet failure, without the reader's object names ({@code LocalInputFile@7fcf1908}). */
    static String plain(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String m = root.getMessage() != null ? root.getMessage() : root.getClass().getSimpleName();
        return m.replaceAll("(org\\.apache\\.parquet\\.io\\.)?LocalInputFile@[0-9a-f]+", "the file")
                .replaceAll(" in file the file", "");
    }

    static ObjectNode toJson(Group g, GroupType type) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        for (int f = 0; f < type.getFieldCount(); f++) {
            Type ft = type.getType(f);
            int n = g.getFieldRepetitionCount(f);
            if (ft.isRepetition(Type.Repetition.REPEATED)) {
                ArrayNode arr = o.putArray(ft.getName());
                for (int i = 0; i < n; i++) {
                    arr.add(value(g, f, i, ft));
                }
            } else if (n == 0) {
                o.putNull(ft.getName());
            } else if (isList(ft)) {
                o.set(ft.getName(), listValue(g.getGroup(f, 0), ft.asGroupType()));
            } else {
                o.set(ft.getName(), value(g, f, 0, ft));
            }
        }
        return o;
    }

    private static boolean isList(Type t) {
        return !t.isPrimitive() && t.getLogicalTypeAnnotation() instanceof LogicalTypeAnnotation.ListLogicalTypeAnnotation;
    }

    /** The standard 3-level LIST: group (LIST) { repeated group list { element } }. */
    private static ArrayNode listValue(Group listGroup, GroupType listType) {
        ArrayNode arr = JsonNodeFactory.instance.arrayNode();
        Type repeated = listType.getType(0);
        int n = listGroup.getFieldRepetitionCount(0);
        for (int i = 0; i < n; i++) {
            if (repeated.isPrimitive()) {
                arr.add(value(listGroup, 0, i, repeated));
            } else {
                Group item = listGroup.getGroup(0, i);
                GroupType it = repeated.asGroupType();
                if (it.getFieldCount() == 1) {
                    arr.add(item.getFieldRepetitionCount(0) == 0 ? JsonNodeFactory.instance.nullNode()
                            : value(item, 0, 0, it.getType(0)));
                } else {
                    arr.add(toJson(item, it));
                }
            }
        }
        return arr;
    }

    private static JsonNode value(Group g, int f, int i, Type t) {
        JsonNodeFactory j = JsonNodeFactory.instance;
        if (!t.isPrimitive()) {
            return isList(t) ? listValue(g.getGroup(f, i), t.asGroupType()) : toJson(g.getGroup(f, i), t.asGroupType());
        }
        PrimitiveType p = t.asPrimitiveType();
        return switch (p.getPrimitiveTypeName()) {
            case BINARY, FIXED_LEN_BYTE_ARRAY -> j.textNode(g.getString(f, i));
            case INT32 -> j.numberNode(g.getInteger(f, i));
            case INT64 -> j.numberNode(g.getLong(f, i));
            case FLOAT -> j.numberNode(g.getFloat(f, i));
            case DOUBLE -> j.numberNode(g.getDouble(f, i));
            case BOOLEAN -> j.booleanNode(g.getBoolean(f, i));
            default -> j.textNode(g.getValueToString(f, i));
        };
    }

    @Override
    public void close() throws IOException {
        reader.close();
    }
}
