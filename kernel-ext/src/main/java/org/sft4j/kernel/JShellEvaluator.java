package org.sft4j.kernel;

import jdk.jshell.Diag;
import jdk.jshell.EvalException;
import jdk.jshell.JShell;
import jdk.jshell.Snippet;
import jdk.jshell.SnippetEvent;
import jdk.jshell.SourceCodeAnalysis;
import jdk.jshell.UnresolvedReferenceException;
import jdk.jshell.VarSnippet;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Java cells through JShell: a cell is cut into complete snippets and evaluated one by one; the value of
 * a final expression is returned as the object itself (for rich display). Compile errors and exceptions
 * of user code become {@link CellError}s with line numbers.
 */
final class JShellEvaluator implements AutoCloseable {

    private final CapturingExecutionControl control = new CapturingExecutionControl();
    private final JShell shell;

    JShellEvaluator(String classpath, List<String> startup) {
        this.shell = JShell.builder().executionEngine(new CapturingExecutionControl.Provider(control), Map.of()).build();
        if (classpath != null && !classpath.isBlank()) {
            for (String entry : classpath.split(java.io.File.pathSeparator)) {
                shell.addToClasspath(entry);
            }
        }
        for (String s : startup) {
            eval(s);
        }
    }

    /** Evaluates a cell; returns the last expression's value or null. */
    Object eval(String code) {
        SourceCodeAnalysis sca = shell.sourceCodeAnalysis();
        String remaining = code;
        Object last = null;
        int lineOffset = 0;
        while (!remaining.isBlank()) {
            SourceCodeAnalysis.CompletionInfo info = sca.analyzeCompletion(remaining);
            if (info.completeness() == SourceCodeAnalysis.Completeness.EMPTY) {
                break;
            }
            if (!info.completeness().isComplete()) {
                throw new CellError("CompileError", "incomplete code at line " + (lineOffset + 1) + ": " + firstLine(remaining),
                        null);
            }
            String snippet = info.source();
            String consumed = remaining.substring(0, remaining.length() - info.remaining().length());
            control.clearLastValue();
            last = run(snippet, lineOffset);
            lineOffset += consumed.chars().filter(c -> c == '\n').count();
            remaining = info.remaining();
        }
        return last;
    }

    private Object run(String snippet, int lineOffset) {
        List<VarSnippet> vars = shell.variables().filter(v -> shell.status(v) == Snippet.Status.VALID).toList();
        Map<String, Object> before = control.saveVars(() -> vars.forEach(this::askValue));
        List<SnippetEvent> events = shell.eval(snippet);
        List<VarSnippet> recompiled = events.stream()
                .filter(e -> e.causeSnippet() != null && e.snippet() instanceof VarSnippet && e.status() == Snippet.Status.VALID)
                .map(e -> (VarSnippet) e.snippet()).toList();
        if (!recompiled.isEmpty()) {
            control.restoreVars(before, () -> recompiled.forEach(this::askValue));
        }
        Object value = null;
        for (SnippetEvent e : events) {
            if (e.causeSnippet() != null) {
                continue;   // side effects on other snippets (recompiled dependents)
            }
            Snippet s = e.snippet();
            if (e.status() == Snippet.Status.REJECTED) {
                throw compileError(s, lineOffset);
            }
            if (e.exception() != null) {
                throw userException(e.exception());
            }
            if (s.subKind() == Snippet.SubKind.TEMP_VAR_EXPRESSION_SUBKIND || s.kind() == Snippet.Kind.EXPRESSION) {
                value = control.lastValue();
            } else {
                value = null;
            }
        }
        return value;
    }

    private void askValue(VarSnippet v) {
        try {
            shell.varValue(v);
        } catch (IllegalArgumentException | IllegalStateException e) {
            // not (or no longer) a live variable
        }
    }

    private CellError compileError(Snippet s, int lineOffset) {
        StringBuilder sb = new StringBuilder();
        String src = s.source();
        for (Diag d : shell.diagnostics(s).toList()) {
            if (!d.isError()) {
                continue;
            }
            int pos = (int) Math.max(0, Math.min(src.length(), d.getStartPosition()));
            int line = lineOffset + (int) src.substring(0, pos).chars().filter(c -> c == '\n').count() + 1;
            int lineStart = src.lastIndexOf('\n', Math.max(0, pos - 1)) + 1;
            int lineEnd = src.indexOf('\n', pos);
            String text = src.substring(lineStart, lineEnd < 0 ? src.length() : lineEnd);
            sb.append(sb.length() > 0 ? "\n" : "").append("line ").append(line).append(": ")
                    .append(d.getMessage(Locale.ENGLISH)).append("\n    ").append(text.strip());
        }
        return new CellError("CompileError", sb.length() == 0 ? "the snippet was rejected: " + firstLine(src) : sb.toString(), null);
    }

    private static CellError userException(Exception e) {
        if (e instanceof EvalException ee) {
            return new CellError(ee.getExceptionClassName(), ee.getExceptionClassName() + ": " + ee.getMessage(),
                    userFrames(ee.getStackTrace()));
        }
        if (e instanceof UnresolvedReferenceException ure) {
            return new CellError("UnresolvedReference", "unresolved reference in " + ure.getSnippet().source(), null);
        }
        return new CellError(e.getClass().getSimpleName(), String.valueOf(e.getMessage()), e.getStackTrace());
    }

    /** The frames of user code, without JShell's and reflection's. */
    private static StackTraceElement[] userFrames(StackTraceElement[] all) {
        List<StackTraceElement> keep = new ArrayList<>();
        for (StackTraceElement f : all) {
            if (f.getClassName().startsWith("jdk.internal.reflect") || f.getClassName().startsWith("java.lang.reflect")) {
                break;
            }
            keep.add(f);
        }
        return keep.toArray(new StackTraceElement[0]);
    }

    private static String firstLine(String s) {
        String t = s.strip();
        int nl = t.indexOf('\n');
        return nl < 0 ? t : t.substring(0, nl) + " ...";
    }

    /** Completion candidates at {@code cursor}: the replacements and the [start, cursor) they replace. */
    List<String> complete(String code, int cursor, int[] anchor) {
        List<String> out = new ArrayList<>();
        for (SourceCodeAnalysis.Suggestion s : shell.sourceCodeAnalysis().completionSuggestions(code, cursor, anchor)) {
            if (!out.contains(s.continuation())) {
                out.add(s.continuation());
            }
        }
        return out;
    }

    /**
     * Signature and javadoc of what is at the cursor, or null. JShell documents a method only when an
     * opening parenthesis follows it, so the identifier under the cursor is also tried as a call.
     */
    String inspect(String code, int cursor) {
        int end = Math.min(cursor, code.length());
        while (end < code.length() && Character.isJavaIdentifierPart(code.charAt(end))) {
            end++;
        }
        String head = code.substring(0, end);
        for (String candidate : new String[] {head + "(", head}) {
            StringBuilder sb = new StringBuilder();
            for (SourceCodeAnalysis.Documentation d : shell.sourceCodeAnalysis().documentation(candidate, candidate.length(), true)) {
                sb.append(d.signature());
                if (d.javadoc() != null) {
                    sb.append("\n").append(d.javadoc());
                }
                sb.append("\n\n");
            }
            if (sb.length() > 0) {
                return sb.toString().strip();
            }
        }
        return null;
    }

    /** {@code complete}, {@code incomplete} or {@code invalid} for is_complete_request. */
    String completeness(String code) {
        SourceCodeAnalysis.Completeness c = shell.sourceCodeAnalysis().analyzeCompletion(code).completeness();
        return switch (c) {
            case COMPLETE, COMPLETE_WITH_SEMI, EMPTY -> "complete";
            case DEFINITELY_INCOMPLETE, CONSIDERED_INCOMPLETE -> "incomplete";
            default -> "invalid";
        };
    }

    void stop() {
        shell.stop();
    }

    @Override
    public void close() {
        shell.close();
    }
}
