"""maum.Tokenizer against Hugging Face tokenizers' output (../shared/golden/tok)."""
import os

import pytest

import maum
from conftest import read_jsonl


def assert_same(encoding, expected):
    assert encoding.ids == expected["ids"]
    assert encoding.type_ids == expected["type_ids"]
    assert encoding.tokens == expected["tokens"]
    assert [list(o) for o in encoding.offsets] == expected["offsets"]


@pytest.mark.parametrize("vocab,corpus", [("klue-bert-base", "corpus_ko7_test"),
                                          ("klue-bert-base", "adversarial"),
                                          ("en-uncased", "corpus_sst2_dev"),
                                          ("en-uncased", "adversarial")])
def test_vocab_dir_tokenizer_matches_hf(shared, vocab, corpus):
    tok = maum.Tokenizer(os.path.join(shared, "vocab", vocab))
    lines = read_jsonl(os.path.join(shared, "golden/tok", vocab, corpus + ".jsonl"), 300)
    for line in lines:
        assert_same(tok.encode(line["text"]), line)
    batch = tok.encode_batch([line["text"] for line in lines])
    for encoding, line in zip(batch, lines):
        assert_same(encoding, line)


def test_model_tokenizer_matches_hf(shared, model_path):
    tok = maum.Tokenizer.from_model(model_path)
    for line in read_jsonl(os.path.join(shared, "golden/tok/klue-bert-base/corpus_ko7_test.jsonl"), 100):
        assert_same(tok.encode(line["text"]), line)
