"""One Model and one Tokenizer used from 8 Python threads at once give what one thread gives."""
import threading

import numpy as np

import maum


def test_eight_threads_agree_with_one(model, golden, shared):
    texts = [line["text"] for line in golden] * 2
    probs, logits = model.classify(texts)
    pipeline = model(texts, top_k=None)
    analyses = [model.analyze(t) for t in texts[:8]]
    tok = model.tokenizer
    ids = [e.ids for e in tok.encode_batch(texts)]

    errors, results = [], [None] * 8
    start = threading.Barrier(8)

    def work(i):
        try:
            start.wait()
            for _ in range(3):
                p, l = model.classify(texts)
                results[i] = (p, l, model(texts, top_k=None), model.analyze(texts[i]),
                              [tok.encode(t).ids for t in texts])
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i, (p, l, pipe, analysis, tok_ids) in enumerate(results):
        np.testing.assert_array_equal(p, probs)
        np.testing.assert_array_equal(l, logits)
        assert pipe == pipeline
        assert analysis == analyses[i]
        assert tok_ids == ids
