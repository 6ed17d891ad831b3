/** Tensor plumbing over DJL's PyTorch engine: the engine, devices, the optional native extension, process groups, memory rules. Imports no stage. */
package org.sft4j.nd;
