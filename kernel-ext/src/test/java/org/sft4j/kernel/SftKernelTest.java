package org.sft4j.kernel;

import org.dflib.jjava.jupyter.kernel.display.DisplayData;
import org.dflib.jjava.jupyter.kernel.display.mime.MIMEType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.sft4j.base.UserError;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The kernel without Jupyter: cells, values, rich display, errors, magics, interrupt. */
class SftKernelTest {

    static SftKernel kernel;

    @BeforeAll
    static void start() {
        kernel = new SftKernel(System.getProperty("java.class.path"));
        kernel.onStartup();
    }

    @AfterAll
    static void stop() {
        kernel.onShutdown(false);
    }

    private static String text(DisplayData d) {
        return String.valueOf(d.getData(MIMEType.TEXT_PLAIN));
    }

    @Test
    void evaluatesJavaAndKeepsStateBetweenCells() {
        assertEquals("3", text(kernel.eval("1 + 2")));
        assertNull(kernel.eval("int answer = 41;"), "a declaration has no result");
        assertEquals("42", text(kernel.eval("answer + 1")));
        assertEquals("ab", text(kernel.eval("String s = \"a\";\ns + \"b\"")), "several snippets: the last value");
    }

    @Test
    void variablesKeepTheirValuesWhenALaterImportRecompilesThem() {
        kernel.eval("java.nio.file.Path kept = java.nio.file.Path.of(\"x\");\nint count = 7;");
        // on-demand imports make JShell recompile earlier declarations that name a simple type
        kernel.eval("import ai.djl.Device;\nimport org.sft4j.model.*;\nimport org.sft4j.train.*;");
        assertEquals("x", text(kernel.eval("kept.toString()")));
        assertEquals("7", text(kernel.eval("count")));
    }

    @Test
    void aTablesawTableIsShownAsHtml() {
        DisplayData d = kernel.eval("Table.create(\"demo\", IntColumn.create(\"x\", 1, 2), StringColumn.create(\"y\", \"<a>\", \"b\"))");
        String html = String.valueOf(d.getData(MIMEType.TEXT_HTML));
        assertTrue(html.startsWith("<table") && html.contains("&lt;a&gt;"), html);
        assertTrue(text(d).contains("demo"), "text/plain fallback");
    }

    @Test
    void aChartIsShownAsPng() {
        DisplayData d = kernel.eval("org.sft4j.report.Charts.lossChart(List.of(1, 2), List.of(3.0, 2.0), List.of(), List.of())");
        String png = String.valueOf(d.getData(MIMEType.IMAGE_PNG));
        byte[] bytes = java.util.Base64.getDecoder().decode(png);
        assertEquals((byte) 0x89, bytes[0]);
        assertEquals('P', bytes[1], "a PNG signature");
    }

    @Test
    void compileErrorsAndExceptionsAreCellErrorsAndTheKernelGoesOn() {
        CellError compile = assertThrows(CellError.class, () -> kernel.eval("int ok = 1;\nint bad = \"text\";"));
        assertTrue(compile.getMessage().contains("line 2") && compile.getMessage().contains("incompatible types"), compile.getMessage());
        CellError thrown = assertThrows(CellError.class, () -> kernel.eval("throw new IllegalStateException(\"boom\");"));
        assertEquals("java.lang.IllegalStateException", thrown.errorName());
        assertTrue(thrown.getMessage().contains("boom"));
        assertEquals("2", text(kernel.eval("1 + 1")), "still alive");
    }

    @Test
    void magicsAreRegisteredAndUnknownOnesNameTheKnown() {
        assertTrue(kernel.getMagicsRegistry().getLineMagicNames().containsAll(java.util.List.of("sft.help", "sft.data", "sft.train", "sft.eval")));
        assertNull(kernel.eval("%sft.help"), "the help displays itself");
        UserError e = assertThrows(UserError.class, () -> kernel.eval("%sft.trian --max_steps 3"));
        assertTrue(e.getMessage().contains("%sft.trian") && e.getMessage().contains("%sft.train") && e.getMessage().contains("%%sft.data"),
                e.getMessage());
        UserError flag = assertThrows(UserError.class, () -> kernel.eval("%sft.config --learning_rat 1e-4"));
        assertTrue(flag.getMessage().contains("did you mean 'learning_rate'"), flag.getMessage());
    }

    @Test
    void completionKnowsDottedMagicNames() {
        var r = kernel.complete("%sft.tr", 7);
        assertEquals(java.util.List.of("sft.train"), r.getReplacements());
        assertEquals(1, r.getSourceStart());
    }

    @Test
    void interruptStopsARunningCell() throws Exception {
        CompletableFuture<Throwable> f = CompletableFuture.supplyAsync(() -> {
            try {
                kernel.eval("while (true) { Thread.onSpinWait(); }");
                return null;
            } catch (Throwable t) {
                return t;
            }
        });
        Thread.sleep(1500);
        kernel.interrupt();
        f.get(20, TimeUnit.SECONDS);
        assertEquals("5", text(kernel.eval("2 + 3")), "the kernel runs cells after the interrupt");
    }
}
