package org.sft4j.eval;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sft4j.config.SftConfig;
import org.sft4j.data.DataPipeline;
import org.sft4j.data.TokenizedSet;
import org.sft4j.format.Example;
import org.sft4j.hub.HubClient;
import org.sft4j.testing.Shared;
import org.sft4j.tokenize.EncodedExample;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Without a test_dataset, eval scores exactly the examples the data step held out (val_size), not the training set. */
class TestSplitTest {

    @Test
    void aWholeNumberValSizeIsTheTestSplit(@TempDir Path tmp) throws Exception {
        HubClient noHub = new HubClient("http://127.0.0.1:9", null, tmp.resolve("hub"), true);
        SftConfig cfg = SftConfig.of(Map.of("model_name_or_path", Shared.tokenizer("smollm2-135m-instruct").toString(),
                "dataset", Shared.data("multi30k").resolve("val.{en,de}.gz").toString(), "template", "chatml",
                "val_size", 8, "tokenized_path", tmp.resolve("d").toString()));
        Set<String> held = TokenizedSet.read(DataPipeline.prepare(cfg, noHub, null).val()).examples().stream()
                .map(EncodedExample::id).collect(Collectors.toSet());
        Set<String> tested = Evaluator.testExamples(cfg, noHub).stream().map(Example::id).collect(Collectors.toSet());
        assertEquals(8, tested.size());
        assertEquals(held, tested);
    }
}
