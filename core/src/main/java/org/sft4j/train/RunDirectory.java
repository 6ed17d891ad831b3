package org.sft4j.train;

import org.sft4j.base.UserError;
import org.sft4j.model.io.AtomicDirectory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A training run's {@code output_dir}, claimed before any work. A folder that already holds another run's outputs is
 * refused and left untouched, since a second run would mix with the first (its checkpoints reported as this run's
 * model, {@code resume_from_checkpoint: auto} picking them up, {@code eval} scoring them), unless the config
 * resumes ({@code resume_from_checkpoint}) or says {@code overwrite_output_dir: true}, which removes them and starts
 * over. Only a run's own outputs count and are removed: the tokenized data (reused when nothing changed) and any
 * other file stay.
 */
final class RunDirectory {

    private static final Logger LOG = LoggerFactory.getLogger(RunDirectory.class);

    /** What a run writes into output_dir: checkpoints (and their staging folders), metrics, manifest, chart, scores. */
    private static final Pattern RUN_OUTPUT = Pattern.compile(
            "checkpoint-\\d+|\\.checkpoint-\\d+\\..+|metrics\\.jsonl|run\\.json|loss\\.png|eval"
                    + "|launch\\.yaml(\\.\\d+-\\d+)?(\\.tmp)?");   // launch.yaml.PID-N.tmp: TempFiles' name

    private RunDirectory() {}

    /**
     * Makes {@code outputDir} ready for a run: refuses it when another run's outputs are there (unless resuming or
     * overwriting), removes them when overwriting, and removes staging folders that interrupted checkpoint writes
     * left behind.
     */
    static void claim(Path outputDir, boolean resumes, boolean overwrite) throws IOException {
        List<Path> previous = previousRun(outputDir);
        if (!previous.isEmpty() && !resumes) {
            if (!overwrite) {
                throw new UserError("output_dir " + outputDir + " already holds a run (" + names(previous) + "); "
                        + "set resume_from_checkpoint: auto to continue it, overwrite_output_dir: true to replace it, "
                        + "or choose another output_dir");
            }
            for (Path p : previous) {
                AtomicDirectory.deleteTree(p);
            }
            LOG.debug("overwrite_output_dir: removed {}", names(previous));
        }
        Files.createDirectories(outputDir);
        for (Path p : AtomicDirectory.removeAbandoned(outputDir)) {
            LOG.debug("removed {}, left by an interrupted checkpoint write", p);
        }
    }

    /** The outputs of an earlier run in {@code outputDir}, in name order. */
    static List<Path> previousRun(Path outputDir) throws IOException {
        if (!Files.isDirectory(outputDir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(outputDir)) {
            return s.filter(p -> RUN_OUTPUT.matcher(p.getFileName().toString()).matches()).sorted().toList();
        }
    }

    private static String names(List<Path> paths) {
        List<String> n = paths.stream().map(p -> p.getFileName().toString()).toList();
        return n.size() <= 4 ? String.join(", ", n) : String.join(", ", n.subList(0, 4)) + ", ...";
    }
}
