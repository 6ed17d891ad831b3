package org.sft4j.format;

import org.sft4j.format.Example;
import org.sft4j.read.Row;

import java.util.List;

/** Turns one row of a dataset file into one or more examples (translation can give both directions). */
public interface ExampleFormat {

    /** The name shown in the report ({@code alpaca}, {@code sharegpt}, ...). */
    String name();

    List<Example> convert(Row row, String id);
}
