package org.sft4j.base;

/** The sft4j version, stamped into signatures, manifests and checkpoints. */
public final class Version {

    public static final String VERSION = "0.1.0";

    private Version() {}
}
