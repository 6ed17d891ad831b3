/**
 * Tensor plumbing over DJL's PyTorch engine, and the only package that touches the engine's own classes: how a model
 * computes ({@link org.sft4j.nd.Compute}, portable or native at a {@link org.sft4j.nd.Precision}), the engine and
 * devices, the optional native extension, process groups, and DJL's memory rules ({@link org.sft4j.nd.StepScope}).
 * Imports no stage.
 */
package org.sft4j.nd;
