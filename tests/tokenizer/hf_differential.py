#!/usr/bin/python3
"""Differential check against Hugging Face tokenizers on random Unicode (manual, needs node + the
npm reference: `source ../shared/tools/setup-ref.sh`).

  hf_differential.py MAUM_BINARY TOKENIZER_DIR [N_LINES] [SEED]

Generates N random lines (all planes, combining-mark runs, controls, whitespace variants, special
tokens typed in), tokenizes them with shared/tools/tok.js (HF) and `maum tokenize --vocab`, and
prints the mismatches (exit 1 if any)."""
import json, os, random, subprocess, sys, tempfile, unicodedata

maum, vocab = sys.argv[1], sys.argv[2]
n_lines = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 11)
shared = os.environ.get("MAUM_SHARED", os.path.join(os.path.dirname(__file__), "../../../shared"))

MARKS = [(0x300, 0x36F), (0x1AB0, 0x1AFF), (0x1DC0, 0x1DFF), (0x20D0, 0x20FF), (0xFE20, 0xFE2F),
         (0x1D165, 0x1D1AD), (0x591, 0x5C7), (0x610, 0x65F)]
ODD = [0x9, 0xB, 0xC, 0x1C, 0x1F, 0xA0, 0x1680, 0x2000, 0x200B, 0x200D, 0x202F, 0x205F, 0x3000, 0xFEFF,
       0xFFFD, 0x0, 0x7F, 0x9F, 0xAD, 0x130, 0x131, 0x3A3, 0x1E9E, 0xDF, 0xFB01]
WORDS = ["[SEP]", "[CLS]", "[MASK]", "[UNK]", "[PAD]", "İstanbul", "hello", "안녕하세요",
         "<s>", "</s>", "<mask>", "  <mask>", "<pad>", "<unk>", "'s", "'ll", "2024", "\u0120", "\u3000"]


def random_char():
    r = rng.random()
    if r < 0.3: c = rng.randint(0x20, 0x7E)
    elif r < 0.45: c = rng.randint(0xA0, 0x2FF)
    elif r < 0.6: c = rng.randint(*rng.choice(MARKS))
    elif r < 0.7: c = rng.randint(0xAC00, 0xD7A3)
    elif r < 0.75: c = rng.choice(ODD)
    elif r < 0.8: c = rng.randint(0x1E00, 0x1FFF)
    else: c = rng.randint(0, 0x10FFFF)
    if 0xD800 <= c <= 0xDFFF or c in (0x0A, 0x0D, 0x85, 0x2028, 0x2029):
        c = 0x20
    return chr(c)


lines = []
while len(lines) < n_lines:
    parts = [rng.choice(WORDS) if rng.random() < 0.05 else " " if rng.random() < 0.12 else random_char()
             for _ in range(rng.randint(1, 40))]
    lines.append("".join(parts))
with tempfile.TemporaryDirectory() as tmp:
    texts, hf_out = os.path.join(tmp, "texts.txt"), os.path.join(tmp, "hf.jsonl")
    open(texts, "w", encoding="utf-8").write("".join(l + "\n" for l in lines))
    subprocess.run(["node", os.path.join(shared, "tools/tok.js"), vocab, texts, hf_out, "1000000"], check=True)
    gold = [json.loads(l) for l in open(hf_out, encoding="utf-8")]
ours = subprocess.run([maum, "tokenize", "--vocab", vocab], input="".join(g["text"] + "\n" for g in gold).encode(),
                      capture_output=True, check=True).stdout.decode().splitlines()
bad = 0
for g, o in zip(gold, ours):
    o = json.loads(o)
    if o["ids"] != g["ids"] or o["offsets"] != g["offsets"] or o["type_ids"] != g["type_ids"]:
        bad += 1
        if bad <= 5:
            print("text", [hex(ord(c)) + ":" + unicodedata.category(c) for c in g["text"]])
            print("  hf  ", g["ids"], g["offsets"])
            print("  maum", o["ids"], o["offsets"])
print(f"{len(gold) - bad}/{len(gold)} identical")
sys.exit(1 if bad or len(ours) != len(gold) else 0)
