/** Stage 7, LoRA adapters: configuration, the adapter computation and PEFT's file layout. */
package org.sft4j.model.lora;
