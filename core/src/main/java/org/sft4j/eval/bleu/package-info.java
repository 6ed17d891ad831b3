/** Stage 9, metrics: BLEU and chrF computed exactly as sacrebleu 2.x does (tokenizers, smoothing, signatures). */
package org.sft4j.eval.bleu;
