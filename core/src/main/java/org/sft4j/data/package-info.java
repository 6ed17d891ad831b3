/** Stage 5, data: the data job end to end (read, format, template, tokenize) into a tokenized Parquet set with its report and manifest. */
package org.sft4j.data;
