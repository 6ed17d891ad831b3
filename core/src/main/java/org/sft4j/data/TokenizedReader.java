package org.sft4j.data;

import org.apache.parquet.ParquetReadOptions;
import org.apache.parquet.column.page.PageReadStore;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.convert.GroupRecordConverter;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.io.ColumnIOFactory;
import org.apache.parquet.io.LocalInputFile;
import org.apache.parquet.io.RecordReader;
import org.apache.parquet.schema.MessageType;
import org.sft4j.tokenize.EncodedExample;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a tokenized split back from its Parquet file. Kept apart from {@link TokenizedSet} so that code holding
 * examples in memory (benchmarks, GPU workers) loads no Parquet classes.
 */
final class TokenizedReader {

    private TokenizedReader() {}

    static TokenizedSet read(Path file) throws IOException {
        try {
            return readOrFail(file);
        } catch (RuntimeException e) {   // Parquet's decoding errors name neither the file nor a remedy
            throw new IOException(file + ": the tokenized data cannot be read (damaged or cut short); delete it and run "
                    + "the data step again", e);
        }
    }

    private static TokenizedSet readOrFail(Path file) throws IOException {
        List<EncodedExample> out = new ArrayList<>();
        try (ParquetFileReader r = ParquetFileReader.open(new LocalInputFile(file),
                ParquetReadOptions.builder(new PlainParquetConfiguration()).build())) {
            MessageType schema = r.getFooter().getFileMetaData().getSchema();
            PageReadStore pages;
            while ((pages = r.readNextRowGroup()) != null) {
                RecordReader<Group> rr = new ColumnIOFactory().getColumnIO(schema).getRecordReader(pages,
                        new GroupRecordConverter(schema));
                for (long i = 0; i < pages.getRowCount(); i++) {
                    Group g = rr.read();
                    out.add(new EncodedExample(g.getString("id", 0), ints(g, "input_ids"), ints(g, "labels"), false));
                }
            }
        }
        return new TokenizedSet(out);
    }

    private static int[] ints(Group g, String field) {
        int n = g.getFieldRepetitionCount(field);
        int[] a = new int[n];
        for (int i = 0; i < n; i++) {
            a[i] = g.getInteger(field, i);
        }
        return a;
    }
}
