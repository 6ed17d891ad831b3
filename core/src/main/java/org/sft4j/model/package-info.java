/** Stage 7, model: the decoder (weights by Hugging Face names), its forward pass, LoRA, generation, checkpoint files. */
package org.sft4j.model;
