"""maum.Model: pipeline-shaped output against the PyTorch reference, classify() against
`maum classify`, analyze(), errors."""
import json
import os
import subprocess

import numpy as np
import pytest

import maum
from conftest import assert_s000


def test_call_is_shaped_like_transformers_pipeline(model, golden, hf_config):
    labels = hf_config["labels"]
    first, second = golden[0], golden[1]

    def best(line):
        p = line["probs"]
        j = max(range(len(p)), key=lambda i: p[i])
        return labels[j], p[j]

    # pipeline(text) -> [{"label", "score"}]; pipeline([a, b]) -> [{...}, {...}]
    single = model(first["text"])
    assert isinstance(single, list) and len(single) == 1 and set(single[0]) == {"label", "score"}
    assert single[0]["label"] == best(first)[0]
    assert single[0]["score"] == pytest.approx(best(first)[1], abs=1e-5)
    assert isinstance(single[0]["score"], float)
    pair = model([first["text"], second["text"]])
    assert [d["label"] for d in pair] == [best(first)[0], best(second)[0]]

    # top_k=None: every label, by descending score; a list of lists for a list input
    everything = model(first["text"], top_k=None)
    assert [d["label"] for d in everything] == sorted(labels, key=lambda l: -first["probs"][labels.index(l)])
    for d in everything:
        assert d["score"] == pytest.approx(first["probs"][labels.index(d["label"])], abs=1e-5)
    nested = model([first["text"], second["text"]], top_k=None)
    assert len(nested) == 2 and all(isinstance(r, list) and len(r) == len(labels) for r in nested)
    # (a text's logits may differ in the last bit between batch compositions)
    assert [d["label"] for d in nested[0]] == [d["label"] for d in everything]
    assert [d["score"] for d in nested[0]] == pytest.approx([d["score"] for d in everything], abs=1e-6)

    # an explicit top_k returns lists even for k = 1
    assert model(first["text"], top_k=2) == everything[:2]
    assert model([first["text"]], top_k=1) == [everything[:1]]
    assert model(first["text"], top_k=100) == everything
    assert model([]) == []


def test_classify_matches_the_cli(model, model_path, cli, golden):
    texts = [line["text"] for line in golden]
    probs, logits = model.classify(texts)
    assert probs.dtype == np.float32 and probs.shape == (len(texts), len(model.labels))
    assert logits.shape == probs.shape
    out = subprocess.run([cli, "classify", "--model", model_path], input="\n".join(texts) + "\n",
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert len(out) == len(texts)
    for i, line in enumerate(out):
        row = json.loads(line)
        assert row["text"] == texts[i]
        np.testing.assert_allclose(probs[i], [row["labels"][l] for l in model.labels], rtol=0, atol=1e-6)
        # The CLI batches lines as they arrive on its pipe, the module all texts at once: the batch
        # compositions (and each thread's share of them) can differ, and the portable table's fp32
        # layers (Eigen) may round by a few ulps differently per composition (batch_tolerance in
        # tests/engine/model_test.cpp; the x86 tables are bit-identical).
        np.testing.assert_allclose(logits[i], row["logits"], rtol=0, atol=2e-5)
    # the logits are the reference's
    np.testing.assert_allclose(logits, [line["logits"] for line in golden], rtol=0, atol=1e-4)


def test_analyze_is_the_s000_dictionary(model, golden, hf_config):
    line = golden[3]
    result = model.analyze(line["text"])
    assert set(result) == {"emotions", "dominant", "entropy", "confidence"}
    assert_s000(result, line["logits"], hf_config)


def test_errors_are_maum_exceptions(model_path, tmp_path):
    with pytest.raises(maum.IoError) as missing:
        maum.Model(str(tmp_path / "missing.safetensors"))
    assert issubclass(maum.IoError, maum.Error) and "missing.safetensors" in str(missing.value)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    with pytest.raises(maum.FormatError) as bad:
        maum.Model(str(junk))
    assert "junk.safetensors" in str(bad.value)
    with pytest.raises(maum.InvalidArgument):
        maum.Model(model_path, threads=-1)
    with pytest.raises(maum.Error):
        maum.Tokenizer(str(tmp_path))


def test_bf16_precision_matches_the_cli(model_path, cli, golden):
    bf16 = maum.Model(model_path, threads=2, precision="bf16")
    assert bf16.info["precision"] == "bf16" and bf16.info["weight_type"] == "f32"
    texts = [line["text"] for line in golden]
    _, logits = bf16.classify(texts)
    out = subprocess.run([cli, "classify", "--precision", "bf16", "--model", model_path],
                         input="\n".join(texts) + "\n", capture_output=True, text=True,
                         check=True).stdout.splitlines()
    np.testing.assert_allclose(logits, [json.loads(line)["logits"] for line in out], rtol=0, atol=1e-6)
    # bf16 rounding moves the logits a little, never far (tests/engine/kernels/bf16_accuracy_test)
    difference = np.abs(logits - np.array([line["logits"] for line in golden]))
    assert 1e-4 < difference.max() < 0.05
    with pytest.raises(maum.InvalidArgument):
        maum.Model(model_path, precision="fp16")


def test_info_counts_seven_bit_layers(cli, shared, tmp_path):
    """A --reduce-range conversion has 7-bit weights in every encoder linear layer (4 per layer; the
    head stays fp32); an ordinary int8 one in none."""
    source = os.path.join(shared, "models/ko-emotion7-small")
    with open(os.path.join(source, "config.json"), encoding="utf-8") as f:
        encoder_linears = 4 * json.load(f)["num_hidden_layers"]
    for flags, seven_bit in ((["--reduce-range"], encoder_linears), ([], 0)):
        path = tmp_path / f"m{seven_bit}.safetensors"
        subprocess.run([cli, "convert", source, str(path), "--quantize", "int8", *flags],
                       capture_output=True, check=True)
        info = maum.Model(str(path)).info
        assert info["weight_type"] == "int8"
        assert info["int8_linear_layers"] == encoder_linears
        assert info["seven_bit_linear_layers"] == seven_bit
