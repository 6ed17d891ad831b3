/** Shared helpers of every stage: Python-compatible string functions, atomic JSON files, the version. Imports no stage. */
package org.sft4j.base;
