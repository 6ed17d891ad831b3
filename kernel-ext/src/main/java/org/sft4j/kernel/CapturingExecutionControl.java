package org.sft4j.kernel;

import jdk.jshell.execution.DirectExecutionControl;
import jdk.jshell.spi.ExecutionControl;
import jdk.jshell.spi.ExecutionControlProvider;
import jdk.jshell.spi.ExecutionEnv;

import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.HashMap;
import java.util.Map;

/**
 * Runs JShell snippets in this JVM and keeps the object the last snippet produced, so a cell that ends
 * in a {@code Table} or a chart is displayed as one (JShell itself only hands back a string). Each
 * snippet runs on its own thread, which {@link #stop()} ends when the user interrupts the kernel.
 */
final class CapturingExecutionControl extends DirectExecutionControl {

    private volatile Thread running;
    private volatile Object lastValue;
    /** While set, {@link #varValue} reads (or restores) variables' objects instead of rendering them. */
    private Map<String, Object> saved;
    private boolean restoring;

    Object lastValue() {
        return lastValue;
    }

    void clearLastValue() {
        lastValue = null;
    }

    @Override
    protected String invoke(Method doitMethod) throws Exception {
        Object[] result = new Object[1];
        Throwable[] failure = new Throwable[1];
        Thread t = new Thread(() -> {
            try {
                result[0] = doitMethod.invoke(null);
            } catch (InvocationTargetException e) {
                failure[0] = e.getCause();
            } catch (Throwable e) {
                failure[0] = e;
            }
        }, "jshell-cell");
        t.setContextClassLoader(Thread.currentThread().getContextClassLoader());
        running = t;
        t.start();
        t.join();
        running = null;
        if (failure[0] instanceof ThreadDeath) {
            throw new ExecutionControl.StoppedException();
        }
        if (failure[0] != null) {
            throw new InvocationTargetException(failure[0]);
        }
        lastValue = result[0];
        return valueString(result[0]);
    }

    /**
     * Runs {@code query}, which asks JShell for variables' values, and returns name to object instead of
     * the rendered strings: the objects that {@link #restoreVars} can put back.
     */
    Map<String, Object> saveVars(Runnable query) {
        saved = new HashMap<>();
        try {
            query.run();
            return saved;
        } finally {
            saved = null;
        }
    }

    /**
     * Runs {@code query} and puts the saved objects back into the variables it asks for. JShell recompiles
     * a variable's wrapper class when a later import or declaration might change what its type means;
     * in-process it cannot redefine the class, so it loads a new one and the value silently becomes null.
     */
    void restoreVars(Map<String, Object> values, Runnable query) {
        saved = values;
        restoring = true;
        try {
            query.run();
        } finally {
            saved = null;
            restoring = false;
        }
    }

    @Override
    public String varValue(String className, String varName) throws ExecutionControl.RunException,
            ExecutionControl.EngineTerminationException, ExecutionControl.InternalException {
        if (saved == null) {
            return super.varValue(className, varName);
        }
        try {
            Field field = findClass(className).getDeclaredField(varName);
            field.setAccessible(true);
            if (!restoring) {
                saved.put(varName, field.get(null));
            } else if (saved.get(varName) != null) {
                field.set(null, saved.get(varName));
            }
        } catch (ReflectiveOperationException | IllegalArgumentException e) {
            // a variable whose type itself changed keeps JShell's fresh value
        }
        return "";
    }

    @Override
    @SuppressWarnings({"deprecation", "removal"})
    public void stop() {
        Thread t = running;
        if (t == null) {
            return;
        }
        try {
            t.stop();       // JDK 17: ends user code wherever it is, as jshell's own local engine does
        } catch (UnsupportedOperationException e) {
            t.interrupt();  // newer JDKs: the best that is left
        }
    }

    /** Hands JShell this control; one instance per kernel. */
    static final class Provider implements ExecutionControlProvider {
        private final CapturingExecutionControl control;

        Provider(CapturingExecutionControl control) {
            this.control = control;
        }

        @Override
        public String name() {
            return "sft4j-capturing";
        }

        @Override
        public ExecutionControl generate(ExecutionEnv env, Map<String, String> parameters) {
            return control;
        }
    }
}
