package org.sft4j.read;

import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import org.sft4j.read.DataException;

import java.io.IOException;
import java.io.InputStream;
import java.util.Map;

/** CSV (or TSV) with a header row; every value is a string. */
final class CsvRows extends RowStream {

    private final MappingIterator<Map<String, String>> it;
    private final String file;

    CsvRows(InputStream in, String file, char separator) throws IOException {
        this.file = file;
        CsvMapper mapper = new CsvMapper();
        CsvSchema schema = CsvSchema.emptySchema().withHeader().withColumnSeparator(separator);
        this.it = mapper.readerFor(Map.class).with(schema).readValues(in);
    }

    @Override
    public boolean canSkipErrors() {
        return true;
    }

    @Override
    protected Row read() {
        try {
            if (!it.hasNextValue()) {
                return null;
            }
            Map<String, String> m = it.nextValue();
            ObjectNode n = JsonNodeFactory.instance.objectNode();
            m.forEach(n::put);
            return new Row(n, file + ":" + it.getCurrentLocation().getLineNr());
        } catch (IOException | RuntimeException e) {
            throw new DataException(file + ":" + it.getCurrentLocation().getLineNr(), "malformed CSV: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() throws IOException {
        it.close();
    }
}
