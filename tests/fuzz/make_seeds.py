#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (standard library only, nothing committed):

  OUT/torch/    '\\0' + a torch.save-style data.pkl, '\\1' + a whole torch zip (fuzz_torch)
  OUT/model/    tiny maum model files (bert, roberta, distilbert), f32 and int8, and a bare
                safetensors file (fuzz_model)
  OUT/analysis/ mode byte + the analysis/examples JSON files (fuzz_analysis_json)

The pickles are written by Python's own pickler the way torch.save writes them (protocol 2,
persistent ids for storages, torch._utils._rebuild_tensor_v2), with stand-in modules so that torch
itself is not needed.
Usage: make_seeds.py SOURCE_DIR OUT
"""
import collections
import io
import json
import os
import pickle
import struct
import sys
import types
import zipfile

src, out = sys.argv[1], sys.argv[2]


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


# --- torch-style checkpoints --------------------------------------------------------------
torch = types.ModuleType("torch")
utils = types.ModuleType("torch._utils")
for name in ("FloatStorage", "HalfStorage", "LongStorage", "ByteStorage"):
    cls = type(name, (), {})
    cls.__module__ = "torch"
    setattr(torch, name, cls)


def _rebuild_tensor_v2(*args):
    pass


def _rebuild_parameter(*args):
    pass


for fn in (_rebuild_tensor_v2, _rebuild_parameter):
    fn.__module__ = "torch._utils"
    setattr(utils, fn.__name__, fn)
sys.modules["torch"] = torch
sys.modules["torch._utils"] = utils


class Storage:
    def __init__(self, kind, key, numel):
        self.kind, self.key, self.numel = kind, key, numel


class Tensor:
    def __init__(self, storage, offset, size, stride, parameter=False):
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())
        self.parameter = parameter

    def __reduce__(self):
        if self.parameter:
            inner = Tensor(*self.args[:4])
            return (_rebuild_parameter, (inner, False, collections.OrderedDict()))
        return (_rebuild_tensor_v2, self.args)


class Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", obj.kind, obj.key, "cpu", obj.numel)
        return None


def checkpoint(tensors, storages):
    buf = io.BytesIO()
    Pickler(buf, protocol=2).dump(collections.OrderedDict(tensors))
    pkl = buf.getvalue()
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/byteorder", "little")
        for key, data in storages.items():
            z.writestr("archive/data/" + key, data)
        z.writestr("archive/version", "3\n")
    return pkl, zbuf.getvalue()


f32 = lambda *v: struct.pack("<%df" % len(v), *v)
s0 = Storage(torch.FloatStorage, "0", 6)
s1 = Storage(torch.HalfStorage, "1", 4)
cases = {
    "plain": ([("w", Tensor(s0, 0, [2, 3], [3, 1])), ("b", Tensor(s1, 0, [4], [1]))],
              {"0": f32(0, 1, 2, 3, 4, 5), "1": b"\x00\x3c" * 4}),
    "strided": ([("t", Tensor(s0, 1, [2, 2], [1, 3])), ("p", Tensor(s0, 0, [3], [2], parameter=True))],
                {"0": f32(0, 1, 2, 3, 4, 5)}),
    "shared": ([("a", Tensor(s0, 0, [6], [1])), ("b", Tensor(s0, 2, [2, 2], [2, 1]))],
               {"0": f32(0, 1, 2, 3, 4, 5)}),
    "broadcast": ([("ids", Tensor(Storage(torch.LongStorage, "0", 3), 0, [1, 3], [0, 1]))],
                  {"0": struct.pack("<3q", 0, 1, 2)}),
}
for name, (tensors, storages) in cases.items():
    pkl, z = checkpoint(tensors, storages)
    write(f"{out}/torch/{name}-pkl", b"\0" + pkl)
    write(f"{out}/torch/{name}-zip", b"\1" + z)

# --- maum model files ---------------------------------------------------------------------


def safetensors(tensors, metadata):
    """tensors: list of (name, dtype, shape, bytes), written by decreasing element size."""
    size = {"F32": 4, "I8": 1}
    header, data = {"__metadata__": metadata}, b""
    for name, dtype, shape, raw in sorted(tensors, key=lambda t: -size[t[1]]):
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - (8 + len(text)) % 8) % 8)
    return struct.pack("<Q", len(text)) + text.encode() + data


def model(quantized, family="bert"):
    V, E, H, I, P, T, L, N = 8, 4, 4, 8, 6, 2, 1, 3
    if family == "distilbert":
        T = 0  # no token type embeddings (format version 2)
    vals = lambda n, k=0: f32(*[((i * 7 + k) % 11 - 5) / 10 for i in range(n)])
    t = []
    q = []

    def linear(name, n, k, quant):
        if quant:
            t.append((name + ".weight", "I8", [n, k], bytes((i * 5) % 255 - 127 & 0xFF for i in range(n * k))))
            t.append((name + ".weight_scale", "F32", [n], vals(n, 1)))
            q.append(name + ".weight")
        else:
            t.append((name + ".weight", "F32", [n, k], vals(n * k, 2)))
        t.append((name + ".bias", "F32", [n], vals(n, 3)))

    def ln(name, n):
        t.append((name + ".weight", "F32", [n], f32(*[1.0] * n)))
        t.append((name + ".bias", "F32", [n], vals(n, 4)))

    if quantized:
        t.append(("emb.word", "I8", [V, E], bytes((i * 3) % 255 - 127 & 0xFF for i in range(V * E))))
        t.append(("emb.word_scale", "F32", [V], vals(V, 5)))
        q.append("emb.word")
    else:
        t.append(("emb.word", "F32", [V, E], vals(V * E)))
    t.append(("emb.position", "F32", [P, E], vals(P * E, 6)))
    if T:
        t.append(("emb.token_type", "F32", [T, E], vals(T * E, 7)))
    ln("emb.ln", E)
    for i in range(L):
        p = f"layer.{i}."
        linear(p + "attn.qkv", 3 * H, H, quantized)
        linear(p + "attn.out", H, H, quantized)
        ln(p + "attn.ln", H)
        linear(p + "ffn.up", I, H, quantized)
        linear(p + "ffn.down", H, I, quantized)
        ln(p + "ffn.ln", H)
    linear("head.dense", H, H, False)
    linear("head.out", N, H, False)
    vocab = {w: i for i, w in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "##c"])}
    tok = {"added_tokens": [{"id": i, "content": w, "special": True, "single_word": False, "lstrip": False,
                             "rstrip": False, "normalized": False} for w, i in vocab.items() if w.startswith("[")],
           "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                          "strip_accents": None, "lowercase": False},
           "pre_tokenizer": {"type": "BertPreTokenizer"},
           "post_processor": {"type": "TemplateProcessing",
                              "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                                         {"Sequence": {"id": "A", "type_id": 0}},
                                         {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
                              "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                                       {"Sequence": {"id": "A", "type_id": 0}},
                                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                                       {"Sequence": {"id": "B", "type_id": 1}},
                                       {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
                              "special_tokens": {w: {"id": w, "ids": [vocab[w]], "tokens": [w]}
                                                 for w in ("[CLS]", "[SEP]")}},
           "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
           "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                     "max_input_chars_per_word": 100, "vocab": vocab}}
    cfg = {"model_type": family, "vocab_size": V, "embedding_size": E, "hidden_size": H, "num_layers": L,
           "num_heads": 2, "intermediate_size": I, "hidden_act": "gelu", "layer_norm_eps": 1e-12,
           "max_position_embeddings": P, "type_vocab_size": T, "pad_token_id": 1 if family == "roberta" else 0,
           "head": "distilbert" if family == "distilbert" else "bert_pooler",
           "labels": ["x", "y", "z"], "problem_type": "single_label_classification", "temperature": 1.0}
    meta = {"maum.format_version": "1" if family == "bert" else "2", "maum.config": json.dumps(cfg), "maum.tokenizer": json.dumps(tok)}
    if quantized:
        meta["maum.quantization"] = json.dumps({"scheme": "int8_symmetric_per_channel", "rounding": "nearest_even",
                                                "tensors": q})
    return safetensors(t, meta)


write(f"{out}/model/tiny-f32", model(False))
write(f"{out}/model/tiny-int8", model(True))
write(f"{out}/model/tiny-roberta", model(False, "roberta"))
write(f"{out}/model/tiny-distilbert-int8", model(True, "distilbert"))
write(f"{out}/model/bare", safetensors([("x", "F32", [2], f32(1, 2))], {"k": "v"}))

# --- analysis JSON ------------------------------------------------------------------------
ex = os.path.join(src, "analysis", "examples")
for mode, name in ((0, "seed_policy.json"), (1, "ko7_to_ko6.json"), (2, "text_audio_fusion.json")):
    with open(os.path.join(ex, name), "rb") as f:
        write(f"{out}/analysis/{name}", bytes([mode]) + f.read())
write(f"{out}/analysis/policy-thresholds",
      b'\0{"temperature": 2, "thresholds": {"anger": 0.4}, "min_confidence": 0.2, "fallback_label": "neutral"}')
