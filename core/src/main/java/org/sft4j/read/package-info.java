/** Stage 1, read: data files (JSON, JSONL, CSV, Parquet, parallel text, gzip) as rows that know their file and line. */
package org.sft4j.read;
