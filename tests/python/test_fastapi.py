"""python/examples/emotion_service.py (FastAPI, under 20 lines) serves S000's /analyze_emotion with
maum; checked through FastAPI's test client against the PyTorch reference's logits."""
import importlib.util
import math
import os

import numpy as np
import pytest
from fastapi.testclient import TestClient

EXAMPLE = os.path.join(os.path.dirname(__file__), "../../python/examples/emotion_service.py")


def test_example_is_short():
    with open(EXAMPLE, encoding="utf-8") as f:
        assert len(f.read().splitlines()) < 20


def test_analyze_emotion(model_path, golden, hf_config, monkeypatch):
    monkeypatch.setenv("MAUM_MODEL", model_path)
    spec = importlib.util.spec_from_file_location("emotion_service", EXAMPLE)
    service = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(service)
    client = TestClient(service.app)
    for line in golden[:5]:
        r = client.post("/analyze_emotion", json={"text": line["text"], "user_id": "u1"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) == {"emotions", "dominant", "entropy", "confidence", "processing_time_ms"}
        z = np.array(line["logits"], dtype=np.float64) / hf_config["temperature"]
        p = np.exp(z - z.max())
        p /= p.sum()
        assert list(body["emotions"]) == hf_config["labels"]
        np.testing.assert_allclose(list(body["emotions"].values()), p, atol=1e-5)
        assert body["dominant"] == hf_config["labels"][int(p.argmax())]
        assert body["confidence"] == pytest.approx(p.max(), abs=1e-5)
        assert body["entropy"] == pytest.approx(-sum(x * math.log(x) for x in p), abs=1e-5)
    assert client.post("/analyze_emotion", json={"user_id": "u1"}).status_code == 422
