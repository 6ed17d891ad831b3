/** Stage 7, model files: safetensors reading and writing, dtypes, directories that appear complete or not at all. */
package org.sft4j.model.io;
