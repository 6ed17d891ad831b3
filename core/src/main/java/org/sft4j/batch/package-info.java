/** Stage 6, batch: tokenized examples grouped into padded or packed micro-batches, reproducibly per (seed, epoch). */
package org.sft4j.batch;
