package org.sft4j.data;

import org.sft4j.base.UserError;
import org.sft4j.config.DataArgs;
import org.sft4j.format.Example;
import org.sft4j.format.ExampleFormat;
import org.sft4j.hub.HubClient;
import org.sft4j.hub.HubUri;
import org.sft4j.hub.Sources;
import org.sft4j.read.DataException;
import org.sft4j.read.DataFiles;
import org.sft4j.read.Row;
import org.sft4j.read.RowStream;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * Streams the examples of a list of datasets, file by file, row by row: memory stays flat whatever the
 * size. With {@code on_error: skip} malformed rows are counted and listed instead of stopping the run.
 */
public final class ExampleReader implements Iterator<Example>, Closeable {

    /** A row that could not be read or converted, kept for the report. */
    public record Skipped(String location, String reason) {}

    private final Deque<DatasetSpec> datasets;
    private final DataArgs args;
    private final HubClient hub;
    private final List<Skipped> skipped = new ArrayList<>();
    private final Deque<Path> files = new ArrayDeque<>();
    private final Deque<Example> pending = new ArrayDeque<>();
    private DatasetSpec current;
    private RowStream rows;
    private ExampleFormat format;
    private int rowsRead;
    private int rowsInDataset;
    private String formatsSeen = "";

    public ExampleReader(List<DatasetSpec> datasets, DataArgs args, HubClient hub) {
        this.datasets = new ArrayDeque<>(datasets);
        this.args = args;
        this.hub = hub;
    }

    /** Reads the datasets named in {@code args.dataset} (or the eval set). */
    public static ExampleReader open(List<String> names, DataArgs args, HubClient hub) throws IOException {
        List<DatasetSpec> specs = new ArrayList<>();
        for (String n : names) {
            specs.add(DatasetSpec.resolve(n, args));
        }
        if (specs.isEmpty()) {
            throw new UserError("no dataset given: set 'dataset' to a file, folder, hub URI or dataset_info.json name");
        }
        return new ExampleReader(specs, args, hub);
    }

    public List<Skipped> skipped() {
        return skipped;
    }

    /** Rows read so far (skipped ones included). */
    public int rowsRead() {
        return rowsRead;
    }

    /** The formats used, for the report. */
    public String formats() {
        return formatsSeen;
    }

    @Override
    public boolean hasNext() {
        try {
            while (pending.isEmpty()) {
                if (!advance()) {
                    return false;
                }
            }
            return true;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public Example next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        return pending.poll();
    }

    /** Reads one more row into {@code pending}; false at the very end. */
    private boolean advance() throws IOException {
        if (rows == null || (args.maxSamples() != null && rowsInDataset >= args.maxSamples())) {
            return openNext();
        }
        Row row;
        try {
            if (!rows.hasNext()) {
                return openNext();
            }
            row = rows.next();
        } catch (DataException e) {
            rowsRead++;
            if (args.onError().equals("skip") && rows.canSkipErrors()) {
                skipped.add(new Skipped(e.location(), e.getMessage()));
                return true;
            }
            throw e;
        }
        rowsRead++;
        rowsInDataset++;
        try {
            if (format == null) {
                format = current.format(row, args);
                if (!formatsSeen.contains(format.name())) {
                    formatsSeen = formatsSeen.isEmpty() ? format.name() : formatsSeen + "," + format.name();
                }
            }
            pending.addAll(format.convert(row, current.name() + "#" + rowsInDataset));
        } catch (DataException e) {
            if (!args.onError().equals("skip")) {
                throw e;
            }
            skipped.add(new Skipped(e.location(), e.getMessage()));
        }
        return true;
    }

    private boolean openNext() throws IOException {
        if (rows != null) {
            rows.close();
            rows = null;
        }
        boolean datasetDone = args.maxSamples() != null && rowsInDataset >= args.maxSamples();
        if (datasetDone) {
            files.clear();
        }
        while (files.isEmpty()) {
            if (datasets.isEmpty()) {
                return false;
            }
            current = datasets.poll();
            format = null;
            rowsInDataset = 0;
            if (current.parallelTarget() != null) {
                rows = DataFiles.openParallel(Path.of(current.location()), Path.of(current.parallelTarget()));
                return true;
            }
            Path p = HubUri.isHub(current.location()) ? Sources.dataset(current.location(), hub) : Path.of(current.location());
            files.addAll(DataFiles.expand(p));
        }
        rows = DataFiles.open(files.poll());
        return true;
    }

    @Override
    public void close() throws IOException {
        if (rows != null) {
            rows.close();
        }
    }
}
