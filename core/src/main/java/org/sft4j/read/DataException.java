package org.sft4j.read;

import org.sft4j.base.UserError;

/** Bad input data: the message starts with where it is (file:line, or file row N) and says what is wrong. */
public class DataException extends UserError {

    private final String location;

    public DataException(String location, String message) {
        super(location + ": " + message);
        this.location = location;
    }

    public DataException(String location, String message, Throwable cause) {
        super(location + ": " + message, cause);
        this.location = location;
    }

    public String location() {
        return location;
    }
}
