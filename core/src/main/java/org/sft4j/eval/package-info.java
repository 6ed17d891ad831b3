/** Stage 9, eval: generation on the test split for the base model and each checkpoint, loss and scores. */
package org.sft4j.eval;
