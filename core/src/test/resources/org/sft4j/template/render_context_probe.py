# Where RenderContextTest's expected values come from: transformers 5.17.0 (jinja2 3.1.6, tokenizers 0.23.2) on CPU,
#   python3 -m venv /tmp/venv && /tmp/venv/bin/pip install transformers==5.17.0 jinja2
#   /tmp/venv/bin/python render_context_probe.py SHARED_DIR
# It prints, for each case, what a probe template sees in apply_chat_template's render context.
import json, os, shutil, sys, tempfile
from transformers import AutoTokenizer

T = os.path.join(sys.argv[1], 'data', 'tokenizers')
NAMES = ["messages", "tools", "documents", "add_generation_prompt", "bos_token", "eos_token", "unk_token",
         "sep_token", "pad_token", "cls_token", "mask_token", "additional_special_tokens", "extra_special_tokens",
         "enable_thinking", "continue_final_message", "return_assistant_tokens_mask", "tokenize", "chat_template", "foo"]
GLOBALS = ["raise_exception", "strftime_now", "namespace", "range", "dict", "lipsum", "cycler", "joiner"]
PROBE = "".join("{{ '%s=' }}{%% if %s is defined %%}{%% if %s is none %%}None{%% else %%}{{ %s | tojson }}{%% endif %%}"
                "{%% else %%}undefined{%% endif %%}{{ '\\n' }}" % (n, n, n, n) for n in NAMES)
PROBE += "".join("{{ '%s=' }}{{ 'callable' if %s is callable else ('undefined' if %s is not defined else 'other') }}"
                 "{{ '\\n' }}" % (f, f, f) for f in GLOBALS)
MSGS = [{"role": "user", "content": "hi"}]
out = {}
for name in ["qwen3-hybrid", "smollm2-135m-instruct", "mistral-7b-instruct-v0.2"]:
    tok = AutoTokenizer.from_pretrained(os.path.join(T, name))
    out[name] = tok.apply_chat_template(MSGS, chat_template=PROBE, tokenize=False)
    out[name + " kwargs"] = tok.apply_chat_template(MSGS, chat_template=PROBE, tokenize=False, add_generation_prompt=True,
                                                   enable_thinking=False, foo="bar", bos_token="<B>")

# tokenizer_config variants of qwen3-hybrid: model-specific *_token keys, a dict extra_special_tokens, absent keys
SHORT = "{{ 'bos=' ~ (bos_token if bos_token is defined else 'undefined') ~ ' eos=' ~ (eos_token if eos_token is defined else 'undefined') ~ ' unk=' ~ (unk_token if unk_token is defined else 'undefined') ~ ' pad=' ~ (pad_token if pad_token is defined else 'undefined') ~ ' image=' ~ (image_token if image_token is defined else 'undefined') ~ ' boi=' ~ (boi_token if boi_token is defined else 'undefined') }}"
def variant(edit, files={}):
    d = tempfile.mkdtemp()
    src = os.path.join(T, 'qwen3-hybrid')
    for f in ('vocab.json', 'merges.txt'):
        shutil.copy(os.path.join(src, f), d)
    c = json.load(open(os.path.join(src, 'tokenizer_config.json')))
    edit(c)
    json.dump(c, open(os.path.join(d, 'tokenizer_config.json'), 'w'))
    for f, text in files.items():
        os.makedirs(os.path.dirname(os.path.join(d, f)), exist_ok=True)
        open(os.path.join(d, f), 'w').write(text)
    return AutoTokenizer.from_pretrained(d)
def drop(c):
    for k in ("unk_token", "bos_token", "eos_token", "pad_token"):
        c.pop(k)
out["model-specific"] = variant(lambda c: c.update(image_token="<|image_pad|>", extra_special_tokens={"boi_token": "<|vision_start|>"})).apply_chat_template(MSGS, chat_template=SHORT, tokenize=False)
out["absent keys"] = variant(drop).apply_chat_template(MSGS, chat_template=SHORT, tokenize=False)
out["jinja file vs config"] = variant(lambda c: c.update(chat_template="CONFIG"), {"chat_template.jinja": "JINJA"}).apply_chat_template(MSGS, tokenize=False)
print(json.dumps(out, indent=1, ensure_ascii=False))
