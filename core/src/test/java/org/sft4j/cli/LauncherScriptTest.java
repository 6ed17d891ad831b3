package org.sft4j.cli;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** bin/sft4j's own commands print their help and run nothing (no apt-get, no build, no notebook). */
class LauncherScriptTest {

    @ParameterizedTest
    @CsvSource({"quickstart --help, usage: sft4j quickstart", "test --help, usage: sft4j test",
        "test -h, usage: sft4j test", "setup --help, usage: sft4j setup", "help quickstart, usage: sft4j quickstart"})
    void helpRunsNothing(String args, String usage, @TempDir Path tmp) throws Exception {
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        Path ran = tmp.resolve("ran");
        // every program the launcher could start leaves a mark instead
        for (String tool : new String[] {"mvn", "java", "dpkg", "apt-get", "sudo", "jupyter", "python3"}) {
            Path f = Files.writeString(bin.resolve(tool), "#!/bin/sh\necho " + tool + " >> " + ran + "\n");
            Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        Files.createSymbolicLink(bin.resolve("dirname"), Path.of("/usr/bin/dirname"));
        ProcessBuilder pb = new ProcessBuilder("/bin/bash", launcher().toString()).redirectErrorStream(true);
        pb.command().addAll(java.util.List.of(args.split(" ")));
        pb.environment().put("PATH", bin.toString());
        Process p = pb.start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.startsWith(usage), out);
        assertFalse(Files.exists(ran), () -> "it ran: " + read(ran));
    }

    static Path launcher() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("bin/sft4j"))) {
                return p.resolve("bin/sft4j");
            }
        }
        throw new IllegalStateException("no bin/sft4j above " + Path.of("").toAbsolutePath());
    }

    private static String read(Path f) {
        try {
            return Files.readString(f);
        } catch (java.io.IOException e) {
            return e.toString();
        }
    }
}
