/** Stage 3, template: a model's chat template (its Jinja text, or a named one) and the render of a conversation. */
package org.sft4j.template;
