#!/usr/bin/env python3
"""ONNX Runtime anchors from Python, for machines with the onnxruntime wheel but no node (the Xeon of
docs/PERF.md "Measurements with AMX"): twins of ../shared/tools/bench_ort.js and corpus_ort.js with
the same session options, inputs, warm-ups and figures.
  ort_python.py latency MODEL.onnx THREADS BATCH SEQ ITERS      -> {"median_ms": ...}
  ort_python.py corpus MODEL.onnx TOKENIZER.json TEXTS.txt THREADS [BATCH=32] [MAXLEN=128]
                                                                  -> {"texts_per_s": ...}"""
import json
import sys
import time

import numpy as np
import onnxruntime as ort


def session(model, threads, sequential):
    o = ort.SessionOptions()
    o.intra_op_num_threads = threads
    o.inter_op_num_threads = 1
    o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if sequential:
        o.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(model, o, providers=["CPUExecutionProvider"])


def latency(model, threads, batch, seq, iters):
    s = session(model, threads, True)
    n = batch * seq
    ids = np.array([100 + (i * 7919) % 20000 for i in range(n)], dtype=np.int64).reshape(batch, seq)
    feeds = {"input_ids": ids, "token_type_ids": np.zeros_like(ids), "attention_mask": np.ones_like(ids)}
    for _ in range(3):
        s.run(None, feeds)
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        s.run(None, feeds)
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return {"engine": "onnxruntime " + ort.__version__, "threads": threads, "batch": batch, "seq": seq,
            "median_ms": times[len(times) // 2], "min_ms": times[0]}


def corpus(model, tokenizer_file, text_file, threads, batch=32, max_length=128):
    from tokenizers import Tokenizer
    texts = [t for t in open(text_file, encoding="utf-8").read().split("\n") if t]
    s = session(model, threads, False)
    tok = Tokenizer.from_file(tokenizer_file)
    t0 = time.perf_counter()
    items = []
    for e in tok.encode_batch(texts):
        every = e.ids[:sum(e.attention_mask)]  # a tokenizer.json may pad to the batch's longest
        ids = every[:max_length]
        if len(every) > max_length:
            ids[max_length - 1] = every[-1]
        items.append(ids)
    items.sort(key=len)
    checksum = 0.0
    for k in range(0, len(items), batch):
        rows = items[k:k + batch]
        length = len(rows[-1])
        ids = np.zeros((len(rows), length), np.int64)
        mask = np.zeros_like(ids)
        for r, row in enumerate(rows):
            ids[r, :len(row)] = row
            mask[r, :len(row)] = 1
        out = s.run(None, {"input_ids": ids, "token_type_ids": np.zeros_like(ids), "attention_mask": mask})
        checksum += float(out[0].flat[0])
    seconds = time.perf_counter() - t0
    return {"engine": "onnxruntime+tokenizers " + ort.__version__, "threads": threads, "batch": batch,
            "texts": len(texts), "seconds": seconds, "texts_per_s": len(texts) / seconds, "checksum": checksum}


if __name__ == "__main__":
    if len(sys.argv) >= 7 and sys.argv[1] == "latency":
        print(json.dumps(latency(sys.argv[2], *map(int, sys.argv[3:7]))))
    elif len(sys.argv) >= 6 and sys.argv[1] == "corpus":
        print(json.dumps(corpus(sys.argv[2], sys.argv[3], sys.argv[4], *map(int, sys.argv[5:8]))))
    else:
        sys.exit(__doc__)
