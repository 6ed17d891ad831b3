package org.sft4j;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import org.junit.jupiter.api.Test;

import java.util.List;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * DJL's engine is {@code nd}'s business: the PyTorch engine's own classes (JniUtils, PtNDArray), the native
 * extension (whether it is loaded included: a Compute answers that once, when a model is loaded) and DJL's
 * NDScope (a StepScope holds the memory rules). Model, loss, optimizer and loop code see DJL's engine-neutral API.
 */
class EngineBoundaryTest {

    private static final JavaClasses CORE = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("org.sft4j");

    private static List<String> violations(ArchRule rule) {
        return rule.evaluate(CORE).getFailureReport().getDetails();
    }

    @Test
    void onlyNdUsesThePyTorchEngineClasses() {
        assertEquals(List.of(), violations(noClasses().that().resideOutsideOfPackage("org.sft4j.nd..")
                .should().dependOnClassesThat().resideInAPackage("ai.djl.pytorch..")));
    }

    @Test
    void onlyNdUsesTheNativeExtension() {
        assertEquals(List.of(), violations(noClasses().that().resideOutsideOfPackage("org.sft4j.nd..")
                .should().dependOnClassesThat().haveFullyQualifiedName("org.sft4j.nd.NativeOps")));
    }

    @Test
    void onlyNdOpensNdScopes() {
        assertEquals(List.of(), violations(noClasses().that().resideOutsideOfPackage("org.sft4j.nd..")
                .should().dependOnClassesThat().haveFullyQualifiedName("ai.djl.ndarray.NDScope")));
    }
}
