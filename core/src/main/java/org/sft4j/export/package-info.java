/** After the pipeline: the job written out for another tool (LLaMA-Factory files). */
package org.sft4j.export;
