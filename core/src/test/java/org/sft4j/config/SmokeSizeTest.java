package org.sft4j.config;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** SftConfig.smoke(): the notebooks' job at a size the test suite runs in seconds, with no test code in the notebook. */
class SmokeSizeTest {

    private static final String QUICKSTART = String.join("\n", "max_samples: 20000", "val_size: 200", "max_steps: 500",
            "save_steps: 250", "validate_every_n_steps: 50", "warmup_steps: 30", "eval_max_samples: 100",
            "max_new_tokens: 64", "output_dir: runs/quickstart", "learning_rate: 3.0e-3");

    @Test
    void capsTheSizesAndMovesTheOutput() {
        SftConfig s = SftConfig.parse(QUICKSTART, "cell").smoke();
        assertEquals(600, s.data().maxSamples());
        assertEquals(40.0, s.data().valSize());
        assertEquals(12, s.train().maxSteps());
        assertEquals(6, s.train().saveSteps());
        assertEquals(6, s.train().validateEveryNSteps());
        assertEquals(2, s.train().warmupSteps());
        assertEquals(12, s.eval().evalMaxSamples());
        assertEquals(48, s.eval().maxNewTokens());
        assertEquals("runs/quickstart-smoke", s.train().outputDir());
        assertEquals(3.0e-3, s.train().learningRate(), "what is not a size is the job's own");
    }

    @Test
    void onceIsEnoughAndSmallJobsStaySmall() {
        SftConfig once = SftConfig.parse(QUICKSTART, "cell").smoke();
        SftConfig twice = once.smoke();
        assertEquals(once.values(), twice.values());
        SftConfig small = SftConfig.parse("max_steps: 4\nval_size: 0.1\nmax_samples: 50", "cell").smoke();
        assertEquals(4, small.train().maxSteps());
        assertEquals(0.1, small.data().valSize());
        assertEquals(50, small.data().maxSamples());
    }
}
