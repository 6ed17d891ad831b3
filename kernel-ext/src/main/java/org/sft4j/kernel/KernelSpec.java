package org.sft4j.kernel;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes or removes {@code kernels/<name>/kernel.json} where Jupyter looks for kernelspecs: the user's data
 * dir ({@code --user}, the default: {@code $JUPYTER_DATA_DIR} or {@code ~/.local/share/jupyter}) or
 * {@code PREFIX/share/jupyter} ({@code --prefix}). The spec runs this installation's Java and jars by
 * absolute path, so no Python installer is needed.
 *
 * @param dataDir the jupyter data directory the spec goes under
 * @param name the kernel name ({@code --kernel NAME} in nbconvert)
 * @param javaOpts extra JVM options for the kernel process
 */
record KernelSpec(Path dataDir, String name, List<String> javaOpts) {

    static final String DEFAULT_NAME = "sft4j";

    static KernelSpec parse(String[] args) {
        Path dataDir = userDataDir();
        String name = DEFAULT_NAME;
        List<String> opts = new ArrayList<>(List.of("-Xmx4g"));
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--user" -> dataDir = userDataDir();
                case "--prefix" -> dataDir = Path.of(value(args, ++i, "--prefix")).resolve("share/jupyter");
                case "--name" -> name = value(args, ++i, "--name");
                case "--java-opts" -> opts = List.of(value(args, ++i, "--java-opts").trim().split("\\s+"));
                default -> throw new IllegalArgumentException("unknown option " + args[i]
                        + "; use --user, --prefix DIR, --name NAME, --java-opts \"...\"");
            }
        }
        if (!name.matches("[A-Za-z0-9._-]+")) {
            throw new IllegalArgumentException("kernel name '" + name + "' may hold only letters, digits, '.', '_' and '-'");
        }
        return new KernelSpec(dataDir, name, opts);
    }

    private static String value(String[] args, int i, String opt) {
        if (i >= args.length) {
            throw new IllegalArgumentException(opt + " needs a value");
        }
        return args[i];
    }

    static Path userDataDir() {
        String env = System.getenv("JUPYTER_DATA_DIR");
        // Jupyter expands ~ from $HOME; Java's user.home comes from the password database instead
        String home = System.getenv("HOME") != null ? System.getenv("HOME") : System.getProperty("user.home");
        return env != null ? Path.of(env) : Path.of(home, ".local/share/jupyter");
    }

    Path dir() {
        return dataDir.resolve("kernels").resolve(name);
    }

    Path install() throws IOException {
        Path dir = Files.createDirectories(dir());
        List<String> argv = new ArrayList<>();
        argv.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        argv.addAll(javaOpts);
        argv.add("-Djava.awt.headless=true");
        argv.add("-cp");
        argv.add(classpath());
        argv.add(KernelMain.class.getName());
        argv.add("run");
        argv.add("{connection_file}");
        Map<String, Object> spec = new LinkedHashMap<>();
        spec.put("argv", argv);
        spec.put("display_name", "Java (sft4j)");
        spec.put("language", "java");
        spec.put("interrupt_mode", "message");
        Map<String, String> env = new java.util.LinkedHashMap<>(Map.of("DJL_OFFLINE", "true", "OPT_OUT_TRACKING", "true",
                "RUST_FLAVOR", "cpu", "THP_MEM_ALLOC_ENABLE", "1"));
        if (System.getenv("SFT4J_ROOT") != null) {
            env.put("SFT4J_ROOT", System.getenv("SFT4J_ROOT"));   // where the native extension is looked for
        }
        spec.put("env", env);
        Gson gson = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();
        Path tmp = dir.resolve("kernel.json.tmp");
        Files.writeString(tmp, gson.toJson(spec));
        Files.move(tmp, dir.resolve("kernel.json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return dir;
    }

    String uninstall() throws IOException {
        Path dir = dir();
        if (!Files.exists(dir.resolve("kernel.json"))) {
            return "no kernelspec '" + name + "' under " + dataDir.resolve("kernels");
        }
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.delete(f);
            }
        }
        Files.delete(dir);
        return "removed kernelspec " + dir;
    }

    /** This installation's jars, absolute: the kernel jar (or classes dir) and its lib/ folder. */
    static String classpath() {
        try {
            Path self = Path.of(KernelMain.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path lib = self.getParent().resolve("lib");
            return self + java.io.File.pathSeparator + lib + "/*";
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
