"""maum: BERT-family text classification on the maum C++ engine.

    import maum
    model = maum.Model("ko7.safetensors")          # a file written by `maum convert`
    model("오늘 정말 행복해요")                        # [{'label': 'happiness', 'score': 0.93}]
    probs, logits = model.classify(["...", "..."])  # numpy float32 [n, labels]
    model.analyze("...")                            # {'emotions', 'dominant', 'entropy', 'confidence'}
    tok = maum.Tokenizer.from_model("ko7.safetensors")
    tok.encode("...").ids

Calling a Model is transformers' pipeline("text-classification") for the same arguments: scores are
softmax (sigmoid for multi-label models) of the logits at temperature 1, as the pipeline computes
them; classify() and analyze() use the model's calibrated temperature, as `maum classify` does.
Computation releases the GIL; one Model may serve several threads.
"""
from . import _maum
from ._maum import Error, FormatError, InvalidArgument, IoError, num_threads, runtime_info, set_num_threads

__version__ = _maum.__version__
__all__ = ["Model", "Tokenizer", "Encoding", "Error", "IoError", "FormatError", "InvalidArgument",
           "set_num_threads", "num_threads", "runtime_info"]

_LEGACY = object()  # top_k not given: the pipeline's legacy output shapes


class Encoding:
    """One tokenized text, with the attributes of the `tokenizers` package's Encoding."""

    __slots__ = ("ids", "type_ids", "offsets", "tokens", "attention_mask")

    def __init__(self, d):
        self.ids = d["ids"]
        self.type_ids = d["type_ids"]
        self.offsets = d["offsets"]
        self.tokens = d["tokens"]
        self.attention_mask = d["attention_mask"]

    def __len__(self):
        return len(self.ids)

    def __repr__(self):
        return f"Encoding(num_tokens={len(self.ids)}, tokens={self.tokens!r})"


class Tokenizer:
    """maum.Tokenizer(vocab_dir) (tokenizer.json, or vocab.txt + tokenizer_config.json) or
    maum.Tokenizer.from_model(model_file)."""

    def __init__(self, vocab_dir=None, *, _native=None):
        self._t = _native if _native is not None else _maum._Tokenizer(str(vocab_dir))

    @classmethod
    def from_model(cls, path):
        return cls(_native=_maum._Tokenizer.from_model(str(path)))

    def encode(self, text):
        return Encoding(self._t.encode(text))

    def encode_batch(self, texts):
        return [Encoding(d) for d in self._t.encode_batch(list(texts))]

    def decode(self, ids, skip_special_tokens=True):
        return self._t.decode(list(ids), skip_special_tokens)

    def get_vocab_size(self):
        return self._t.vocab_size


class Model:
    """A converted maum model file. threads: the engine's thread count (process-wide; None keeps
    the current setting, which defaults to the number of cores). precision: "fp32" (the file's
    weights as they are) or "bf16" (fp32 models: linear layers in bfloat16, as `maum classify
    --precision bf16`; an int8 model raises InvalidArgument)."""

    def __init__(self, path, threads=None, precision="fp32"):
        self._m = _maum._Model(str(path), threads, precision)

    @property
    def labels(self):
        return self._m.labels

    @property
    def info(self):
        return self._m.info

    @property
    def tokenizer(self):
        return Tokenizer(_native=self._m.tokenizer)

    def classify(self, texts):
        """(probabilities, logits): numpy float32 arrays [len(texts), labels] (a str counts as one
        text). Probabilities are at the model's calibrated temperature, as `maum classify` prints."""
        return self._m.classify(texts)

    def analyze(self, text):
        """S000's /analyze_emotion result: {'emotions': {label: p}, 'dominant', 'entropy' (nats),
        'confidence'}, with the model's temperature and embedded policy."""
        return self._m.analyze(text)

    def __call__(self, texts, top_k=_LEGACY):
        """transformers' pipeline('text-classification') output for the same call."""
        single = isinstance(texts, str)
        batch = [texts] if single else list(texts)
        if not batch:
            return []
        scores = self._m._raw_scores(batch)
        labels = self._m.labels
        legacy = top_k is _LEGACY
        k = 1 if legacy else (len(labels) if top_k is None else min(int(top_k), len(labels)))
        out = []
        for row in scores:
            order = sorted(range(len(labels)), key=lambda j: -row[j])[:k]
            ranked = [{"label": labels[j], "score": row[j].item()} for j in order]
            out.append(ranked[0] if legacy else ranked)
        if single:
            return [out[0]] if legacy else out[0]
        return out
