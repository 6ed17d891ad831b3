/** Hugging Face Hub access: URIs, the download cache, resolving a model or dataset name to local files. Imports no stage. */
package org.sft4j.hub;
