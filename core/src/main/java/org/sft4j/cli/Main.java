package org.sft4j.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine;

import java.util.LinkedHashMap;
import java.util.Map;

/** {@code sft4j <command>}: the command line over the same core as the notebook magics. */
@Command(name = "sft4j", mixinStandardHelpOptions = true, versionProvider = Main.VersionProvider.class,
        scope = CommandLine.ScopeType.INHERIT, // every subcommand has --help and --version too
        description = "Supervised fine-tuning of LLMs, in Java.")
public final class Main {

    /** The commands that read a CONFIG.yaml and take any config key as a flag. */
    private static final java.util.Set<String> TAKE_CONFIG = java.util.Set.of("data", "train", "eval", "export");

    /** The subcommands by name, in the order help lists them. */
    static final Map<String, Class<?>> COMMANDS = new LinkedHashMap<>();

    static {
        for (Class<?> c : new Class<?>[] {DataCommand.class, TrainCommand.class, EvalCommand.class, GenerateCommand.class,
            TemplateCommand.class, BleuCommand.class, InitModelCommand.class, ExportCommand.class}) {
            COMMANDS.put(c.getAnnotation(Command.class).name(), c);
        }
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs a command line and returns its exit code (used by tests). */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.addSubcommand("help", new CommandLine.HelpCommand());
        // a named command is the only one picocli builds: introspecting all of them (and loading the model
        // and data classes they reference) costs more than a whole `sft4j bleu` run
        int named = args.length > 1 && args[0].equals("help") ? 1 : 0;
        Class<?> only = args.length > named ? COMMANDS.get(args[named]) : null;
        for (Map.Entry<String, Class<?>> e : COMMANDS.entrySet()) {
            if (only == null || only == e.getValue()) {
                cl.addSubcommand(e.getKey(), e.getValue());
            }
        }
        for (CommandLine sub : cl.getSubcommands().values()) {
            if (TAKE_CONFIG.contains(sub.getCommandName())) {
                sub.getCommandSpec().usageMessage().footer(ConfigOptions.KEYS_FOOTER + ConfigOptions.keyList());
            }
        }
        // config keys are not declared options: `--learning_rate 1e-4` reaches ConfigOptions as two arguments
        cl.setUnmatchedOptionsArePositionalParams(true);
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> Failures.report(ex, cmd.getCommandName(), cmd.getErr()));
        return cl.execute(args);
    }

    static final class VersionProvider implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"sft4j " + org.sft4j.base.Version.VERSION};
        }
    }
}
