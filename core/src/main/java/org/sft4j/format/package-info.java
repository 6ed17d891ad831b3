/** Stage 2, format: rows to {@link org.sft4j.format.Example}s (role/content messages) from Alpaca, ShareGPT, OpenAI and translation layouts. */
package org.sft4j.format;
