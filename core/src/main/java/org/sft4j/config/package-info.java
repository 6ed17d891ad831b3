/** The job description: one config in LLaMA-Factory's key names (model, data, training, evaluation), read from YAML, JSON or flags. Imports no stage. */
package org.sft4j.config;
