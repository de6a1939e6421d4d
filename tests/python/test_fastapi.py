"""python/examples/emotion_service.py (FastAPI, under 20 lines) serves S000's /analyze_emotion with
maum; checked through FastAPI's test client against the PyTorch reference's logits."""
import importlib.util
import os

from fastapi.testclient import TestClient

from conftest import assert_s000

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
        del body["processing_time_ms"]
        assert_s000(body, line["logits"], hf_config)
    assert client.post("/analyze_emotion", json={"user_id": "u1"}).status_code == 422
