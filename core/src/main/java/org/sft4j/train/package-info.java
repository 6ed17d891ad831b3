/** Stage 8, train: setup (data, model, precision, process group, resume), the step loop, optimizer, checkpoints, launching workers. */
package org.sft4j.train;
