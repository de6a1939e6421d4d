"""Shared fixtures: the converted model (ctest fixture test_model_ko7 writes it), ../shared, the
maum CLI and golden lines. Every path comes from the environment ctest sets (tests/python/CMakeLists.txt)."""
import json
import os

import math

import numpy as np
import pytest


def _env_path(name):
    value = os.environ.get(name)
    if not value or not os.path.exists(value):
        pytest.fail(f"{name}={value!r} does not exist (run through ctest, or set it)")
    return value


@pytest.fixture(scope="session")
def shared():
    return _env_path("MAUM_SHARED")


@pytest.fixture(scope="session")
def model_path():
    return _env_path("MAUM_TEST_MODEL")


@pytest.fixture(scope="session")
def cli():
    return _env_path("MAUM_CLI")


@pytest.fixture(scope="session")
def model(model_path):
    import maum
    return maum.Model(model_path, threads=2)


def read_jsonl(path, limit=None):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            out.append(json.loads(line))
            if limit is not None and len(out) >= limit:
                break
    return out


@pytest.fixture(scope="session")
def golden(shared):
    """First 40 PyTorch reference lines of ko-emotion7-small on the ko7 test set (probs at T=1)."""
    return read_jsonl(os.path.join(shared, "golden/model/ko-emotion7-small/corpus_ko7_test.jsonl"), 40)


@pytest.fixture(scope="session")
def hf_config(shared):
    base = os.path.join(shared, "models/ko-emotion7-small")
    with open(os.path.join(base, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    with open(os.path.join(base, "calibration.json"), encoding="utf-8") as f:
        calibration = json.load(f)
    labels = [config["id2label"][str(i)] for i in range(len(config["id2label"]))]
    return {"labels": labels, "temperature": calibration["temperature"]}


def assert_s000(result, logits, hf_config):
    """result is S000's dictionary for a text whose reference logits are `logits`: softmax at the
    model's calibrated temperature, argmax, its probability, entropy in nats."""
    z = np.array(logits, dtype=np.float64) / hf_config["temperature"]
    p = np.exp(z - z.max())
    p /= p.sum()
    assert list(result["emotions"]) == hf_config["labels"]
    np.testing.assert_allclose(list(result["emotions"].values()), p, atol=1e-5)
    assert result["dominant"] == hf_config["labels"][int(p.argmax())]
    assert result["confidence"] == pytest.approx(p.max(), abs=1e-5)
    assert result["entropy"] == pytest.approx(-sum(x * math.log(x) for x in p if x > 0), abs=1e-5)
