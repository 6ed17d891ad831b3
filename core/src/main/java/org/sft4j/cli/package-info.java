/** The command line ({@code sft4j data|train|eval|...}): each command parses its options and calls a stage. */
package org.sft4j.cli;
