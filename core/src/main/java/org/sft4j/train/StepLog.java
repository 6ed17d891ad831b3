package org.sft4j.train;

/**
 * One logged optimizer step.
 *
 * @param step optimizer steps done (1-based)
 * @param totalSteps steps the run will do
 * @param epoch fractional epoch
 * @param loss mean loss per supervised token of the step's accumulated batch
 * @param lr learning rate used
 * @param gradNorm global gradient norm before clipping
 * @param tokensPerSecond real (non-padding) tokens per second of this step
 * @param supervisedTokens supervised tokens in the step
 * @param elapsedSeconds since the run (or resume) started
 * @param memoryMb resident memory of the process (or GPU memory where known)
 */
public record StepLog(int step, int totalSteps, double epoch, double loss, double lr, double gradNorm,
                      double tokensPerSecond, long supervisedTokens, double elapsedSeconds, double memoryMb) {}
