/**
 * sft4j: supervised fine-tuning of decoder-only language models. {@link org.sft4j.Sft} is the whole job on one page
 * (data, train, eval); the packages below it read as the pipeline, each importing only earlier stages and the
 * shared packages ({@code base}, {@code config}, {@code jinja}, {@code nd}, {@code hub}):
 * <pre>
 *   read -> format -> template -> tokenize -> data -> batch -> model -> train -> eval -> report (-> export, cli)
 * </pre>
 */
package org.sft4j;
