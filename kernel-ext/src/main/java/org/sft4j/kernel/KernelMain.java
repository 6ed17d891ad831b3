package org.sft4j.kernel;

import org.dflib.jjava.jupyter.channels.JupyterConnection;
import org.dflib.jjava.jupyter.kernel.KernelConnectionProperties;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * {@code sft4j kernel run CONNECTION_FILE} starts the kernel (what kernel.json runs);
 * {@code sft4j kernel install [--user | --prefix DIR] [--name NAME]} and {@code uninstall} manage the kernelspec.
 */
public final class KernelMain {

    private KernelMain() {}

    public static void main(String[] args) throws Exception {
        String cmd = args.length == 0 ? "help" : args[0];
        String[] rest = Arrays.copyOfRange(args, Math.min(1, args.length), args.length);
        switch (cmd) {
            case "run" -> run(rest);
            case "install" -> System.out.println("installed kernelspec " + KernelSpec.parse(rest).install());
            case "uninstall" -> System.out.println(KernelSpec.parse(rest).uninstall());
            default -> {
                System.err.println("usage: sft4j kernel install [--user | --prefix DIR] [--name NAME] [--java-opts \"...\"]\n"
                        + "       sft4j kernel uninstall [--user | --prefix DIR] [--name NAME]\n"
                        + "       sft4j kernel run CONNECTION_FILE");
                System.exit(cmd.equals("help") ? 0 : 2);
            }
        }
    }

    private static void run(String[] args) throws Exception {
        if (args.length != 1) {
            throw new IllegalArgumentException("kernel run needs the connection file Jupyter passes");
        }
        KernelConnectionProperties props = KernelConnectionProperties.parse(Files.readString(Path.of(args[0])));
        SftKernel kernel = new SftKernel(System.getProperty("java.class.path"));
        kernel.onStartup();
        JupyterConnection conn = new JupyterConnection(props);
        kernel.becomeHandlerForConnection(conn);
        conn.connect();
        conn.waitUntilClose();
    }
}
