package org.sft4j.tokenize;

import org.sft4j.format.Example;
import org.sft4j.format.Message;
import org.sft4j.jinja.Template;
import org.sft4j.jinja.TemplateException;
import org.sft4j.read.DataException;
import org.sft4j.template.ChatTemplate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;

/**
 * Renders an example with the chat template and marks the characters that training supervises, then
 * turns text and marks into ids and labels.
 *
 * <p>How assistant turns are found, for any template: for each assistant message i, the template
 * renders the conversation before it with {@code add_generation_prompt} (the prompt) and the
 * conversation up to and including it (prompt + answer). The answer's span is what the second adds to
 * the first, so the template's own end-of-turn tokens ({@code <|im_end|>}, {@code <|eot_id|>},
 * {@code </s>}) are supervised and the model learns to stop. Templates that do not render conversations
 * as prefixes of one another fail with a clear message unless they mark answers with
 * {@code {% generation %}}.
 */
public final class SftEncoder {

    /** The rendered text and the [start, end) character spans to supervise. */
    public record Rendered(String text, List<int[]> spans) {}

    private final ChatTemplate template;
    private final boolean trainOnPrompt;
    private final boolean maskHistory;
    private final int bosId;
    private final String bosToken;

    /**
     * @param bosToken the BOS string the tokenizer would add ({@code add_bos_token}); null when it adds none
     * @param bosId its id, used when the rendered text does not start with it already (no doubled BOS)
     */
    public SftEncoder(ChatTemplate template, boolean trainOnPrompt, boolean maskHistory, String bosToken, int bosId) {
        this.template = template;
        this.trainOnPrompt = trainOnPrompt;
        this.maskHistory = maskHistory;
        this.bosToken = bosToken;
        this.bosId = bosId;
    }

    public static SftEncoder of(ChatTemplate template, Tokenizer tok, org.sft4j.template.TokenizerConfig cfg,
                                boolean trainOnPrompt, boolean maskHistory) {
        String bos = cfg.addBosToken() ? cfg.bosToken() : null;
        OptionalInt id = bos == null ? OptionalInt.empty() : tok.tokenId(bos);
        return new SftEncoder(template, trainOnPrompt, maskHistory, id.isPresent() ? bos : null, id.orElse(-1));
    }

    public ChatTemplate template() {
        return template;
    }

    /**
     * Renders {@code ex} and locates its assistant spans.
     *
     * @throws DropException when the example has no usable answer (the pipeline counts it)
     */
    public Rendered render(Example ex) {
        List<Message> msgs = ex.messages();
        List<Integer> assistant = new ArrayList<>();
        for (int i = 0; i < msgs.size(); i++) {
            if (msgs.get(i).role().equals("assistant")) {
                assistant.add(i);
            }
        }
        if (assistant.isEmpty()) {
            throw new DropException(DropReason.NO_ASSISTANT_TURN);
        }
        int last = assistant.get(assistant.size() - 1);
        if (msgs.get(last).content().isBlank()) {
            throw new DropException(DropReason.EMPTY_RESPONSE);
        }
        try {
            Template.Rendered full = template.renderWithSpans(msgs, false);
            if (!full.generationSpans().isEmpty()) {
                List<int[]> spans = maskHistory ? List.of(full.generationSpans().get(full.generationSpans().size() - 1))
                        : full.generationSpans();
                return new Rendered(full.text(), spans);
            }
            List<int[]> spans = new ArrayList<>();
            for (int i : maskHistory ? List.of(last) : assistant) {
                String prompt = template.render(msgs.subList(0, i), true);
                String withAnswer = i == msgs.size() - 1 ? full.text() : template.render(msgs.subList(0, i + 1), false);
                if (!withAnswer.startsWith(prompt) || !full.text().startsWith(withAnswer)) {
                    throw new DataException(ex.origin(), "the chat template '" + template.name() + "' does not render "
                            + "the conversation as growing prefixes, so the answer of turn " + i + " cannot be located; use "
                            + "a template with {% generation %} blocks or a named template");
                }
                spans.add(new int[] {prompt.length(), withAnswer.length()});
            }
            return new Rendered(full.text(), spans);
        } catch (TemplateException e) {
            throw new DropException(DropReason.TEMPLATE_ERROR, "chat template '" + template.name() + "': " + e.getMessage());
        }
    }

    /** The ids of a generation prompt: the conversation so far with {@code add_generation_prompt}, BOS as in training. */
    public int[] promptIds(List<Message> prompt, Tokenizer tok) {
        String text = template.render(prompt, true);
        int[] ids = tok.ids(text);
        if (bosToken == null || text.startsWith(bosToken)) {
            return ids;
        }
        int[] out = new int[ids.length + 1];
        out[0] = bosId;
        System.arraycopy(ids, 0, out, 1, ids.length);
        return out;
    }

    /** Ids and labels from the rendered text and its tokenization. */
    public EncodedExample encode(String id, Rendered r, Tokenizer.Encoded enc) {
        int n = enc.length();
        boolean addBos = bosToken != null && !r.text().startsWith(bosToken);
        int off = addBos ? 1 : 0;
        int[] ids = new int[n + off];
        int[] labels = new int[n + off];
        Arrays.fill(labels, EncodedExample.IGNORE);
        if (addBos) {
            ids[0] = bosId;
        }
        for (int t = 0; t < n; t++) {
            ids[t + off] = enc.ids()[t];
            if (trainOnPrompt || inSpan(enc.starts()[t], r.spans())) {
                labels[t + off] = enc.ids()[t];
            }
        }
        return new EncodedExample(id, ids, labels, false);
    }

    private static boolean inSpan(int start, List<int[]> spans) {
        for (int[] s : spans) {
            if (start >= s[0] && start < s[1]) {
                return true;
            }
        }
        return false;
    }

    /** An example that is dropped for a counted reason, not an error of the run. */
    public static final class DropException extends RuntimeException {
        private final DropReason reason;

        public DropException(DropReason reason) {
            this(reason, reason.text());
        }

        public DropException(DropReason reason, String message) {
            super(message, null, false, false);
            this.reason = reason;
        }

        public DropReason reason() {
            return reason;
        }
    }
}
