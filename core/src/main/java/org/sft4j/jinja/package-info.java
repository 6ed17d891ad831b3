/** A Jinja2 interpreter, as much of it as Hugging Face chat templates use, with Python's value semantics. Imports no stage. */
package org.sft4j.jinja;
