package org.sft4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code sft4j <command>}: the command line over the same core as the notebook magics. */
@Command(name = "sft4j", mixinStandardHelpOptions = true, versionProvider = Main.VersionProvider.class,
        description = "Supervised fine-tuning of LLMs, in Java.",
        subcommands = {DataCommand.class, TrainCommand.class, EvalCommand.class, GenerateCommand.class,
            TemplateCommand.class, BleuCommand.class, InitModelCommand.class, ExportCommand.class})
public final class Main {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs a command line and returns its exit code (used by tests). */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            // bad input is a one-line message, not a stack trace
            cmd.getErr().println("sft4j " + cmd.getCommandName() + ": " + ex.getMessage());
            if (System.getenv("SFT4J_DEBUG") != null) {
                ex.printStackTrace(cmd.getErr());
            }
            return 1;
        });
        return cl.execute(args);
    }

    static final class VersionProvider implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"sft4j " + org.sft4j.Version.VERSION};
        }
    }
}
