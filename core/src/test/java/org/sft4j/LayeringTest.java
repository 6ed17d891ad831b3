package org.sft4j;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.EvaluationResult;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The package tree reads as the pipeline: no stage imports a later one, and the shared packages import no stage.
 * Stages in order: read, format, template, tokenize, data, batch, model, train, eval, report, export; then the
 * entry points ({@code org.sft4j} itself and {@code cli}).
 */
class LayeringTest {

    /** Shared by every stage; they import no stage themselves. */
    static final List<String> SHARED = List.of("base", "config", "jinja", "nd", "hub");
    static final List<String> STAGES = List.of("read", "format", "template", "tokenize", "data", "batch", "model", "train",
            "eval", "report", "export");

    private static final JavaClasses CORE = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("org.sft4j");

    private static String[] packages(List<String> names) {
        return names.stream().map(n -> "org.sft4j." + n + "..").toArray(String[]::new);
    }

    private static List<String> later(int stage) {
        List<String> l = new ArrayList<>(STAGES.subList(stage + 1, STAGES.size()));
        l.add("cli");
        return l;
    }

    @Test
    void noStageImportsALaterStage() {
        List<String> violations = new ArrayList<>();
        for (int i = 0; i < STAGES.size(); i++) {
            EvaluationResult r = noClasses().that().resideInAPackage("org.sft4j." + STAGES.get(i) + "..")
                    .should().dependOnClassesThat().resideInAnyPackage(packages(later(i)))
                    .orShould().dependOnClassesThat().resideInAPackage("org.sft4j")
                    .evaluate(CORE);
            violations.addAll(r.getFailureReport().getDetails());
        }
        assertEquals(List.of(), violations);
    }

    @Test
    void sharedPackagesImportNoStage() {
        List<String> stagesAndTop = new ArrayList<>(STAGES);
        stagesAndTop.add("cli");
        EvaluationResult r = noClasses().that().resideInAnyPackage(packages(SHARED))
                .should().dependOnClassesThat().resideInAnyPackage(packages(stagesAndTop))
                .orShould().dependOnClassesThat().resideInAPackage("org.sft4j")
                .evaluate(CORE);
        assertEquals(List.of(), r.getFailureReport().getDetails());
    }

    @Test
    void everyPackageIsPlaced() {
        List<String> placed = new ArrayList<>(SHARED);
        placed.addAll(STAGES);
        placed.add("cli");
        List<String> unplaced = CORE.stream().map(c -> c.getPackageName())
                .filter(p -> !p.equals("org.sft4j"))
                .map(p -> p.substring("org.sft4j.".length()).split("\\.")[0])
                .distinct().filter(p -> !placed.contains(p)).toList();
        assertEquals(List.of(), unplaced, "packages the layering does not know");
    }
}
