/** Stage 10, report: tables and charts of data, training and evaluation results for notebooks and files. */
package org.sft4j.report;
