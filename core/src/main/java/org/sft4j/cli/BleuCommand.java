package org.sft4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.sft4j.base.UserError;
import org.sft4j.eval.bleu.Bleu;
import org.sft4j.eval.bleu.BleuScore;
import org.sft4j.eval.bleu.Chrf;
import org.sft4j.eval.bleu.ChrfScore;
import org.sft4j.read.TextLines;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "bleu", description = "Score hypotheses against references exactly as sacrebleu 2.x does.")
final class BleuCommand implements Callable<Integer> {

    @Option(names = "--hyp", required = true, description = "Hypotheses, one per line.")
    Path hyp;

    @Option(names = "--ref", required = true, description = "References, one per line (repeat for several).")
    List<Path> refs;

    @Option(names = "--tokenize", defaultValue = "13a", description = "13a, intl, zh, char or none.")
    String tokenize;

    @Option(names = "--lowercase")
    boolean lowercase;

    @Option(names = "--metrics", split = ",", defaultValue = "bleu", description = "bleu, chrf, chrf++")
    List<String> metrics;

    @Option(names = "--json", description = "Print JSON (score, counts, totals, bp, sys_len, ref_len, signature).")
    boolean json;

    @Override
    public Integer call() throws Exception {
        List<String> hyps = TextLines.read(hyp);
        List<List<String>> refStreams = new ArrayList<>();
        for (Path r : refs) {
            List<String> lines = TextLines.read(r);
            if (lines.size() != hyps.size()) {
                throw new UserError(hyp + " has " + hyps.size() + " lines but " + r + " has " + lines.size());
            }
            refStreams.add(lines);
        }
        if (hyps.isEmpty()) {
            throw new UserError(hyp + " is empty");
        }
        ObjectMapper om = json ? new ObjectMapper() : null;   // Jackson's start-up only when JSON is asked for
        for (String m : metrics) {
            switch (m) {
                case "bleu" -> {
                    BleuScore s = Bleu.builder().tokenize(tokenize).lowercase(lowercase).build().corpusScore(hyps, refStreams);
                    if (json) {
                        ObjectNode n = om.createObjectNode();
                        n.put("name", "BLEU");
                        n.put("score", s.score());
                        n.set("counts", om.valueToTree(s.counts()));
                        n.set("totals", om.valueToTree(s.totals()));
                        n.set("precisions", om.valueToTree(s.precisions()));
                        n.put("bp", s.bp());
                        n.put("sys_len", s.sysLen());
                        n.put("ref_len", s.refLen());
                        n.put("signature", s.signature());
                        n.put("verbose_score", s.verbose());
                        System.out.println(om.writerWithDefaultPrettyPrinter().writeValueAsString(n));
                    } else {
                        System.out.println(s.format());
                    }
                }
                case "chrf", "chrf++" -> {
                    Chrf c = (m.equals("chrf") ? Chrf.chrf() : Chrf.chrfPlusPlus()).lowercase(lowercase);
                    ChrfScore s = c.corpusScore(hyps, refStreams);
                    if (json) {
                        ObjectNode n = om.createObjectNode();
                        n.put("name", s.name());
                        n.put("score", s.score());
                        n.put("signature", s.signature());
                        System.out.println(om.writerWithDefaultPrettyPrinter().writeValueAsString(n));
                    } else {
                        System.out.println(s.format());
                    }
                }
                default -> throw new UserError("unknown metric '" + m + "'; use bleu, chrf or chrf++");
            }
        }
        return 0;
    }
}
