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
 * A tokenized split in memory, as the trainer batches it. Read from the Parquet file the data step wrote,
 * so a training run never depends on the notebook's memory.
 */
public record TokenizedSet(List<EncodedExample> examples) {

    public int size() {
        return examples.size();
    }

    public EncodedExample get(int i) {
        return examples.get(i);
    }

    public long tokens() {
        return examples.stream().mapToLong(EncodedExample::length).sum();
    }

    public long supervisedTokens() {
        return examples.stream().mapToLong(EncodedExample::supervised).sum();
    }

    public static TokenizedSet read(Path file) throws IOException {
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
