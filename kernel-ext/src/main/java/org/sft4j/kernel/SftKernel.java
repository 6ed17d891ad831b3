package org.sft4j.kernel;

import com.google.gson.annotations.SerializedName;
import org.dflib.jjava.jupyter.channels.ShellReplyEnvironment;
import org.dflib.jjava.jupyter.kernel.BaseKernel;
import org.dflib.jjava.jupyter.kernel.JupyterIO;
import org.dflib.jjava.jupyter.kernel.LanguageInfo;
import org.dflib.jjava.jupyter.kernel.ReplacementOptions;
import org.dflib.jjava.jupyter.kernel.comm.CommManager;
import org.dflib.jjava.jupyter.kernel.display.DisplayData;
import org.dflib.jjava.jupyter.kernel.display.Renderer;
import org.dflib.jjava.jupyter.kernel.magic.MagicParser;
import org.dflib.jjava.jupyter.kernel.magic.MagicTranspiler;
import org.dflib.jjava.jupyter.kernel.magic.MagicsRegistry;
import org.dflib.jjava.jupyter.kernel.util.StringStyler;
import org.dflib.jjava.jupyter.kernel.util.TextColor;
import org.dflib.jjava.jupyter.messages.Header;
import org.dflib.jjava.jupyter.messages.Message;
import org.dflib.jjava.jupyter.messages.reply.KernelInfoReply;
import org.dflib.jjava.jupyter.messages.request.KernelInfoRequest;
import org.sft4j.base.UserError;
import org.sft4j.magics.Interrupts;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The sft4j Jupyter kernel: Java cells through JShell, {@code %sft.*} magics (installed by the magics
 * jar's JJava {@code Extension}), rich display through JJava's renderer.
 *
 * <p>Magics are executed directly rather than transpiled into JShell code, so what a magic returns is
 * shown (JJava 1.0-a6 discards it). A cell may mix line magics and Java: they run in order and the last
 * one's value is the cell's result. An exception or compile error becomes an error in the cell; the
 * kernel carries on.
 */
public final class SftKernel extends BaseKernel {

    private static final Pattern CELL_MAGIC = Pattern.compile("^\\s*%%([\\w.\\-]+)([^\\n]*)\\n?(.*)$", Pattern.DOTALL);
    private static final Pattern LINE_MAGIC = Pattern.compile("^\\s*%([\\w.\\-]+)(.*)$");
    private static final Pattern MAGIC_PREFIX = Pattern.compile("(?m)^(\\s*)(%{1,2})([\\w.\\-]*)$");

    private final JShellEvaluator jshell;

    public SftKernel(String classpath) {
        super("sft4j", org.sft4j.base.Version.VERSION,
                new LanguageInfo.Builder("java").version(Runtime.version().toString()).mimetype("text/x-java-source")
                        .fileExtension(".jshell").pygments("java").codemirror("java").build(),
                List.of(), null, new JupyterIO(StandardCharsets.UTF_8), new CommManager(), new Renderer(),
                new MagicParser("(?<=(?:^|=))\\s*%", "%%", new MagicTranspiler()), new MagicsRegistry(), true,
                new StringStyler.Builder().addPrimaryStyle(TextColor.BOLD_RESET_FG).addSecondaryStyle(TextColor.BOLD_RED_FG)
                        .addHighlightStyle(TextColor.BOLD_RESET_FG).build());
        this.jshell = new JShellEvaluator(classpath, List.of());
    }

    @Override
    public String getBanner() {
        return "sft4j " + org.sft4j.base.Version.VERSION + " on Java " + Runtime.version() + ". Try %sft.help";
    }

    @Override
    public Object evalRaw(String source) {
        Matcher cell = CELL_MAGIC.matcher(source);
        if (cell.matches()) {
            return runMagic(cell.group(1), split(cell.group(2)), cell.group(3), true);
        }
        Object last = null;
        StringBuilder code = new StringBuilder();
        for (String line : source.split("\n", -1)) {
            Matcher m = LINE_MAGIC.matcher(line);
            if (m.matches()) {
                if (!code.toString().isBlank()) {
                    flush(code);
                }
                code.setLength(0);
                last = runMagic(m.group(1), split(m.group(2)), null, false);
            } else {
                code.append(line).append('\n');
            }
        }
        return code.toString().isBlank() ? last : flush(code);
    }

    private Object flush(StringBuilder code) {
        Object v = jshell.eval(code.toString());
        code.setLength(0);
        return v;
    }

    private Object runMagic(String name, List<String> args, String body, boolean cell) {
        boolean known = cell ? magicsRegistry.getCellMagicNames().contains(name) : magicsRegistry.getLineMagicNames().contains(name);
        if (!known) {
            throw new UserError("unknown magic " + (cell ? "%%" : "%") + name + "; known magics: " + knownMagics());
        }
        try {
            return cell ? magicsRegistry.evalCellMagic(this, name, args, body) : magicsRegistry.evalLineMagic(this, name, args);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            // a magic's checked failures: I/O is the user's to fix (a file), anything else a bug of ours
            throw UserError.isUsers(e) ? new UserError(UserError.describe(e), e) : new IllegalStateException(e);
        }
    }

    private String knownMagics() {
        TreeSet<String> all = new TreeSet<>();
        magicsRegistry.getLineMagicNames().forEach(n -> all.add("%" + n));
        magicsRegistry.getCellMagicNames().forEach(n -> all.add("%%" + n));
        return String.join(", ", all);
    }

    /** Arguments as a shell would split them: spaces separate, double quotes group. */
    static List<String> split(String s) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        boolean any = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length() && s.charAt(i + 1) == '"') {
                cur.append('"');
                i++;
            } else if (c == '"') {
                quoted = !quoted;
                any = true;
            } else if (Character.isWhitespace(c) && !quoted) {
                if (cur.length() > 0 || any) {
                    out.add(cur.toString());
                }
                cur.setLength(0);
                any = false;
            } else {
                cur.append(c);
            }
        }
        if (cur.length() > 0 || any) {
            out.add(cur.toString());
        }
        return out;
    }

    @Override
    public DisplayData inspect(String code, int at, boolean extraDetail) {
        String doc = jshell.inspect(code, at);
        return doc == null ? null : new DisplayData(doc);
    }

    @Override
    public ReplacementOptions complete(String code, int at) {
        Matcher m = MAGIC_PREFIX.matcher(code.substring(0, at));
        if (m.find() && m.end() == at) {
            // %sft.tr<TAB>: dotted magic names, which JJava's own pattern stops at
            boolean cell = m.group(2).equals("%%");
            List<String> names = new ArrayList<>();
            for (String n : new TreeSet<>(cell ? magicsRegistry.getCellMagicNames() : magicsRegistry.getLineMagicNames())) {
                if (n.startsWith(m.group(3))) {
                    names.add(n);
                }
            }
            return new ReplacementOptions(names, m.start(3), at);
        }
        int[] anchor = new int[1];
        List<String> c = jshell.complete(code, at, anchor);
        return c.isEmpty() ? null : new ReplacementOptions(c, anchor[0], at);
    }

    @Override
    public String isComplete(String code) {
        String c = jshell.completeness(code);
        return switch (c) {
            case "complete" -> IS_COMPLETE_YES;
            case "invalid" -> IS_COMPLETE_BAD;
            default -> "";   // incomplete: the indent for the next line
        };
    }

    /** Kernel interrupt: ends running Java code and asks running magics (training) to stop at a safe point. */
    @Override
    public void interrupt() {
        Interrupts.fire();
        jshell.stop();
    }

    /** Errors of the user's making (and I/O failures) are one line; other failures are internal errors with their trace. */
    @Override
    public List<String> formatError(Throwable e) {
        if (e instanceof CellError ce) {
            List<String> lines = new ArrayList<>(errorStyler.secondaryLines(ce.getMessage()));
            for (StackTraceElement f : ce.getStackTrace()) {
                lines.add(errorStyler.secondary("    at " + f));
            }
            return lines;
        }
        if (UserError.isUsers(e) && System.getenv("SFT4J_DEBUG") == null) {
            return new ArrayList<>(errorStyler.secondaryLines(UserError.describe(e)));
        }
        // a magic failed for a reason that is not the user's: ours to fix, so the trace stays
        List<String> lines = new ArrayList<>(errorStyler.secondaryLines(
                "internal error in sft4j (please report it with the trace below)"));
        lines.addAll(super.formatError(e));
        return lines;
    }

    /** jupyter_client validates kernel_info_reply against the spec, which requires {@code status}. */
    @Override
    protected void handleKernelInfoRequest(ShellReplyEnvironment env, Message<KernelInfoRequest> request) {
        env.setBusyDeferIdle();
        env.reply(new StatusKernelInfoReply(Header.PROTOCOL_VERISON, name, version, getLanguageInfo(), getBanner(),
                getHelpLinks()));
    }

    private static final class StatusKernelInfoReply extends KernelInfoReply {
        @SerializedName("status")
        private final String status = "ok";

        StatusKernelInfoReply(String protocolVersion, String name, String version, LanguageInfo lang, String banner,
                              List<org.dflib.jjava.jupyter.kernel.HelpLink> links) {
            super(protocolVersion, name, version, lang, banner, links);
        }
    }

    @Override
    public void onShutdown(boolean isRestarting) {
        super.onShutdown(isRestarting);
        jshell.close();
    }
}
