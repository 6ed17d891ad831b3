package org.sft4j.kernel;

/**
 * An error in the user's cell (compile error, exception thrown by user code): shown in the cell as its
 * message and the user's own stack frames, not the kernel's.
 */
final class CellError extends RuntimeException {

    private final String errorName;

    CellError(String errorName, String message, StackTraceElement[] userStack) {
        super(message, null, false, true);
        this.errorName = errorName;
        setStackTrace(userStack == null ? new StackTraceElement[0] : userStack);
    }

    String errorName() {
        return errorName;
    }
}
