"""S000's emotion service on maum: MAUM_MODEL=ko7.safetensors uvicorn emotion_service:app"""
import os
import time
from fastapi import FastAPI
from pydantic import BaseModel
import maum

model = maum.Model(os.environ["MAUM_MODEL"])
app = FastAPI()

class EmotionRequest(BaseModel):
    text: str
    user_id: str | None = None

@app.post("/analyze_emotion")
def analyze_emotion(req: EmotionRequest):
    t0 = time.perf_counter()
    return {**model.analyze(req.text), "processing_time_ms": round((time.perf_counter() - t0) * 1e3, 2)}
