package org.sft4j.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Values no one can mean are refused when the config is read, naming the file (or flag) and the key. */
class NonsenseValuesTest {

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', value = {
        "learning_rate: -1e-3 | learning_rate must be a positive number, got -0.001",
        "learning_rate: 0 | learning_rate must be a positive number, got 0.0",
        "per_device_train_batch_size: 0 | per_device_train_batch_size must be at least 1, got 0",
        "per_device_eval_batch_size: -2 | per_device_eval_batch_size must be at least 1, got -2",
        "gradient_accumulation_steps: 0 | gradient_accumulation_steps must be at least 1, got 0",
        "max_steps: 0 | max_steps must be at least 1 (or -1, or left out, to train by num_train_epochs), got 0",
        "max_steps: -5 | max_steps must be at least 1 (or -1, or left out, to train by num_train_epochs), got -5",
        "num_train_epochs: 0 | num_train_epochs must be a positive number, got 0.0",
        "num_train_epochs: -1 | num_train_epochs must be a positive number, got -1.0",
        "warmup_ratio: 1 | warmup_ratio must be in [0, 1), got 1.0",
        "warmup_ratio: -0.1 | warmup_ratio must be in [0, 1), got -0.1",
        "warmup_steps: -1 | warmup_steps must be at least 0, got -1",
        "weight_decay: -0.01 | weight_decay must be a number >= 0, got -0.01",
        "adam_beta1: 1 | adam_beta1 must be in [0, 1), got 1.0",
        "adam_beta2: -0.5 | adam_beta2 must be in [0, 1), got -0.5",
        "adam_epsilon: -1e-8 | adam_epsilon must be a number >= 0, got -1.0E-8",
        "max_grad_norm: -1 | max_grad_norm must be a number >= 0, got -1.0",
        "logging_steps: 0 | logging_steps must be at least 1, got 0",
        "save_steps: 0 | save_steps must be at least 1, got 0",
        "save_total_limit: 0 | keep_last_n_checkpoints must be at least 1, got 0",
        "eval_steps: -1 | validate_every_n_steps must be at least 0, got -1",
        "lora_rank: 0 | lora_rank must be at least 1, got 0",
        "lora_alpha: 0 | lora_alpha must be a positive number, got 0.0",
        "lora_dropout: 1 | lora_dropout must be in [0, 1), got 1.0",
        "cutoff_len: 0 | cutoff_len must be at least 1, got 0",
        "cutoff_len: -512 | cutoff_len must be at least 1, got -512",
        "max_samples: 0 | max_samples must be at least 1, got 0",
        "val_size: -0.1 | val_size must be a fraction in [0, 1) or a whole number of examples, got -0.1",
        "val_size: 2.5 | val_size must be a fraction in [0, 1) or a whole number of examples, got 2.5",
        "max_new_tokens: 0 | max_new_tokens must be at least 1, got 0",
        "top_p: 0 | top_p must be in (0, 1], got 0.0",
        "nproc_per_node: 0 | nproc_per_node must be at least 1, got 0",
        "master_port: 70000 | master_port must be a TCP port (1 to 65535), got 70000",
        "save_dtype: float8 | save_dtype must be one of auto, float32, bfloat16, float16, fp32, bf16, fp16, got 'float8'",
        "bleu_tokenize: spacy | bleu_tokenize must be one of 13a, intl, zh, char, none, got 'spacy'",
    })
    void refusedNamingFileAndKey(String yaml, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SftConfig.parse(yaml, "job.yaml"));
        assertEquals("job.yaml: " + message, e.getMessage());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "learning_rate: fast | learning_rate must be a number, got 'fast'",
        "max_steps: 2.5 | max_steps must be a whole number, got 2.5",
        "packing: maybe | packing must be true or false, got 'maybe'",
        "cutoff_len: [1, 2] | cutoff_len must be a whole number, got [1, 2]",
    })
    void aValueOfTheWrongTypeIsNamedWithoutJavaTypes(String yaml, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SftConfig.parse(yaml, "job.yaml"));
        assertEquals("job.yaml: " + message, e.getMessage());
    }

    @Test
    void aFlagIsNamedAsTheFlag() {
        SftConfig file = SftConfig.parse("learning_rate: 1e-4", "job.yaml");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> file.withFlags(Map.of("gradient-accumulation-steps", "0")));
        assertEquals("--gradient_accumulation_steps: gradient_accumulation_steps must be at least 1, got 0", e.getMessage());
    }

    @ParameterizedTest
    @CsvSource({"NaN, NaN", "Infinity, Infinity", "-Infinity, -Infinity"})
    void aLearningRateThatIsNotFiniteIsRefused(String flag, String shown) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SftConfig.defaults().withFlags(Map.of("learning_rate", flag)));
        assertEquals("--learning_rate: learning_rate must be a positive number, got " + shown, e.getMessage());
    }

    @Test
    void everyProblemIsListedAtOnce() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SftConfig.parse("learning_rate: 0\nlora_rank: -8\n", "job.yaml"));
        assertEquals("job.yaml: learning_rate must be a positive number, got 0.0\n"
                + "job.yaml: lora_rank must be at least 1, got -8", e.getMessage());
    }

    @Test
    void sensibleEdgesStillLoad() {
        SftConfig c = SftConfig.parse(String.join("\n", "max_steps: -1", "max_grad_norm: 0", "warmup_ratio: 0",
                "val_size: 200", "weight_decay: 0", "min_seq_len: 0", "save_dtype: bf16"), "job.yaml");
        assertEquals(-1, c.train().maxSteps());
        assertEquals(200.0, c.data().valSize());
        assertEquals(1.0, SftConfig.parse("max_steps: 10\nnum_train_epochs: 1", "j").train().numTrainEpochs());
    }
}
