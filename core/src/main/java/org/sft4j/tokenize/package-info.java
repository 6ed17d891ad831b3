/** Stage 4, tokenize: rendered conversations to token ids and labels (-100 where no loss is taken), length policy. */
package org.sft4j.tokenize;
