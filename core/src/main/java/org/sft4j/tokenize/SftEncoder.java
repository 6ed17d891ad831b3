package org.sft4j.tokenize;

import org.sft4j.config.EnableThinking;
import org.sft4j.format.Example;
import org.sft4j.format.Message;
import org.sft4j.jinja.Template;
import org.sft4j.jinja.TemplateException;
import org.sft4j.read.DataException;
import org.sft4j.template.ChatTemplate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Renders an example with the chat template and marks the characters that training supervises, then
 * turns text and marks into ids and labels.
 *
 * <p>How assistant turns are found, for any template: for each assistant message i, the template
 * renders the conversation before it with {@code add_generation_prompt} (the prompt) and the
 * conversation up to and including it (prompt + answer). The answer's span is what the second adds to
 * the first, so the template's own end-of-turn tokens ({@code <|im_end|>}, {@code <|eot_id|>},
 * {@code </s>}) are supervised and the model learns to stop. A template whose prompt render is not a
 * prefix of its answer render fails with a clear message unless it marks answers with
 * {@code {% generation %}}.
 *
 * <p>Templates that rewrite a turn once later turns follow (Qwen3 drops the reasoning, and the think block, of
 * answers before the last user message) cannot have that turn supervised inside the whole conversation: there
 * it is not the text the model produces. Such a turn becomes its own sequence, the conversation up to it as the
 * template renders it when that turn is the last (exactly what inference shows the model), as LLaMA-Factory's
 * renderer splits multi-turn conversations per turn. Turns the template leaves alone stay in the one sequence.
 *
 * <p>Thinking ({@code enable_thinking}, LLaMA-Factory's meaning): {@code true} renders as the template does, so
 * the think block of an answer, reasoning or the empty block Qwen3 gives an answer without it, is supervised;
 * {@code false} removes reasoning from every answer and renders with {@code enable_thinking=False}, so the empty
 * block is part of the prompt and masked; {@code auto} chooses per supervised turn, true when it carries reasoning.
 */
public final class SftEncoder {

    /** The rendered text and the [start, end) character spans to supervise. */
    public record Rendered(String text, List<int[]> spans) {}

    private static final String ENABLE_THINKING = "enable_thinking";

    private final ChatTemplate template;
    private final boolean trainOnPrompt;
    private final boolean maskHistory;
    private final EnableThinking thinking;
    private final int bosId;
    private final String bosToken;

    /**
     * @param bosToken the BOS string the tokenizer would add ({@code add_bos_token}); null when it adds none
     * @param bosId its id, used when the rendered text does not start with it already (no doubled BOS)
     */
    public SftEncoder(ChatTemplate template, boolean trainOnPrompt, boolean maskHistory, String bosToken, int bosId) {
        this(template, trainOnPrompt, maskHistory, thinkingOf(template), bosToken, bosId);
    }

    private SftEncoder(ChatTemplate template, boolean trainOnPrompt, boolean maskHistory, EnableThinking thinking,
                       String bosToken, int bosId) {
        this.template = template;
        this.trainOnPrompt = trainOnPrompt;
        this.maskHistory = maskHistory;
        this.thinking = thinking;
        this.bosToken = bosToken;
        this.bosId = bosId;
    }

    /**
     * An encoder for {@code template} as it is, its thinking mode read from its {@code enable_thinking} kwarg (false
     * removes reasoning; true or none renders as the template does).
     */
    public static SftEncoder of(ChatTemplate template, Tokenizer tok, org.sft4j.template.TokenizerConfig cfg,
                                boolean trainOnPrompt, boolean maskHistory) {
        String bos = bosToken(tok, cfg);
        return new SftEncoder(template, trainOnPrompt, maskHistory, thinkingOf(template), bos,
                bos == null ? -1 : tok.tokenId(bos).getAsInt());
    }

    /** An encoder for a config's {@code enable_thinking}; the template's kwarg is set to agree with it. */
    public static SftEncoder of(ChatTemplate template, Tokenizer tok, org.sft4j.template.TokenizerConfig cfg,
                                boolean trainOnPrompt, boolean maskHistory, EnableThinking thinking) {
        String bos = bosToken(tok, cfg);
        return new SftEncoder(withThinking(template, thinking.templateKwarg()), trainOnPrompt, maskHistory, thinking, bos,
                bos == null ? -1 : tok.tokenId(bos).getAsInt());
    }

    /** The BOS the tokenizer adds ({@code add_bos_token}), when it is a token it knows; else null. */
    private static String bosToken(Tokenizer tok, org.sft4j.template.TokenizerConfig cfg) {
        String bos = cfg.addBosToken() ? cfg.bosToken() : null;
        OptionalInt id = bos == null ? OptionalInt.empty() : tok.tokenId(bos);
        return id.isPresent() ? bos : null;
    }

    private static EnableThinking thinkingOf(ChatTemplate template) {
        return Boolean.FALSE.equals(template.templateKwargs().get(ENABLE_THINKING)) ? EnableThinking.FALSE : EnableThinking.TRUE;
    }

    /** {@code template} with its {@code enable_thinking} kwarg set to {@code value}, or removed when empty. */
    private static ChatTemplate withThinking(ChatTemplate template, Optional<Boolean> value) {
        Map<String, Object> kwargs = new LinkedHashMap<>(template.templateKwargs());
        kwargs.remove(ENABLE_THINKING);
        value.ifPresent(v -> kwargs.put(ENABLE_THINKING, v));
        return template.withTemplateKwargs(kwargs);
    }

    public ChatTemplate template() {
        return template;
    }

    /** Whether reasoning is taken out of the answers before rendering ({@code enable_thinking: false}). */
    public boolean removesReasoning() {
        return thinking == EnableThinking.FALSE;
    }

    /**
     * Renders {@code ex} and locates its assistant spans: one sequence, or more when the template rewrites earlier
     * turns (one per rewritten turn, then the whole conversation).
     *
     * @throws DropException when the example has no usable answer (the pipeline counts it)
     */
    public List<Rendered> render(Example ex) {
        List<Message> msgs = thinking == EnableThinking.FALSE ? withoutReasoning(ex.messages()) : ex.messages();
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
            Template.Rendered full = templateFor(msgs.get(last)).renderWithSpans(msgs, false);
            if (!full.generationSpans().isEmpty()) {
                List<int[]> spans = maskHistory ? List.of(full.generationSpans().get(full.generationSpans().size() - 1))
                        : full.generationSpans();
                return List.of(new Rendered(full.text(), spans));
            }
            if (trainOnPrompt) {
                return List.of(new Rendered(full.text(), List.of()));   // every token is supervised anyway
            }
            List<Rendered> out = new ArrayList<>();
            List<int[]> spans = new ArrayList<>();
            for (int i : maskHistory ? List.of(last) : assistant) {
                ChatTemplate t = templateFor(msgs.get(i));
                String prompt = t.render(msgs.subList(0, i), true);
                String withAnswer = i == last ? full.text() : t.render(msgs.subList(0, i + 1), false);
                if (!withAnswer.startsWith(prompt)) {
                    throw new DataException(ex.origin(), "the chat template '" + template.name() + "' does not render "
                            + "the conversation as growing prefixes, so the answer of turn " + i + " cannot be located; use "
                            + "a template with {% generation %} blocks or a named template");
                }
                int[] span = {prompt.length(), withAnswer.length()};
                if (full.text().startsWith(withAnswer)) {
                    spans.add(span);
                } else {
                    out.add(new Rendered(withAnswer, List.of(span)));   // rewritten once later turns follow
                }
            }
            out.add(new Rendered(full.text(), spans));
            return out;
        } catch (TemplateException e) {
            throw new DropException(DropReason.TEMPLATE_ERROR, "chat template '" + template.name() + "': " + e.getMessage());
        }
    }

    /** The template for rendering up to {@code answer}: under {@code auto}, thinking on exactly when it has reasoning. */
    private ChatTemplate templateFor(Message answer) {
        return thinking == EnableThinking.AUTO ? withThinking(template, Optional.of(answer.hasReasoning())) : template;
    }

    private static List<Message> withoutReasoning(List<Message> msgs) {
        List<Message> out = new ArrayList<>(msgs.size());
        for (Message m : msgs) {
            out.add(m.role().equals("assistant") ? m.withoutReasoning() : m);
        }
        return out;
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
