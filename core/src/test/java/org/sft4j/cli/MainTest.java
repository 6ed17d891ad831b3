package org.sft4j.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad input on the command line: exit code 1 and one line that names what is wrong. */
class MainTest {

    private static String[] run(String... args) {
        PrintStream err = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            int code = Main.run(args);
            return new String[] {String.valueOf(code), buf.toString(StandardCharsets.UTF_8).strip()};
        } finally {
            System.setErr(err);
        }
    }

    @Test
    void aMissingFileIsNamed(@TempDir Path tmp) throws Exception {
        Path ref = Files.writeString(tmp.resolve("ref.de"), "ein Haus\n");
        Path missing = tmp.resolve("hyp.de");
        String[] r = run("bleu", "--hyp", missing.toString(), "--ref", ref.toString());
        assertEquals("1", r[0]);
        assertEquals("sft4j bleu: no such file: " + missing, r[1]);
    }

    @Test
    void linesThatDoNotPairUpNameBothFiles(@TempDir Path tmp) throws Exception {
        Path ref = Files.writeString(tmp.resolve("ref.de"), "ein Haus\nzwei\n");
        Path hyp = Files.writeString(tmp.resolve("hyp.de"), "ein Haus\n");
        String[] r = run("bleu", "--hyp", hyp.toString(), "--ref", ref.toString());
        assertEquals("1", r[0]);
        assertTrue(r[1].contains(hyp.toString()) && r[1].contains(ref.toString()) && r[1].contains("1 lines")
                && r[1].contains("2"), r[1]);
    }
}
