// GET /: type a sentence, see the emotion bars, the dominant emotion and the per-sentence
// breakdown. It calls /v1/models, /analyze_emotion and /v1/classify (split by sentences).
// Test hook: opening the page with #type=TEXT types TEXT into the box and analyses it; when the
// results are shown, <body data-state="done"> (or "error").
#include "web_page.h"

namespace maum::server {

const char* const kWebPage = R"html(<!doctype html>
<html lang="ko">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>maum · 마음 emotion analysis</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
h1 { font-size: 1.4rem; }
textarea { width: 100%; min-height: 5rem; font-size: 1rem; box-sizing: border-box; }
.row { display: flex; gap: .5rem; margin: .5rem 0 1rem; align-items: center; }
button { font-size: 1rem; padding: .3rem 1rem; }
.bar { display: grid; grid-template-columns: 8rem 1fr 4rem; gap: .5rem; align-items: center; margin: .2rem 0; }
.track { background: #eee; height: .9rem; border-radius: .2rem; overflow: hidden; }
.fill { background: #4a7bd0; height: 100%; }
.bar.dominant .fill { background: #d0684a; }
#dominant { font-weight: bold; font-size: 1.2rem; }
#error { color: #b00; }
table { border-collapse: collapse; width: 100%; margin-top: .5rem; }
td, th { border-bottom: 1px solid #ddd; padding: .25rem; text-align: left; }
small { color: #666; }
</style>
</head>
<body data-state="idle">
<h1>maum · 마음</h1>
<textarea id="text" placeholder="문장을 입력하세요 · Type a sentence"></textarea>
<div class="row">
  <button id="analyze" type="button">분석 · Analyze</button>
  <select id="model" aria-label="model"></select>
  <small id="time"></small>
</div>
<div id="error"></div>
<p>Dominant emotion: <span id="dominant">–</span> <small id="policy"></small></p>
<div id="bars"></div>
<h2 style="font-size:1.1rem">Sentences</h2>
<table><thead><tr><th>Sentence</th><th>Emotion</th><th>p</th></tr></thead><tbody id="sentences"></tbody></table>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}
async function post(path, body) {
  const r = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" },
                                body: JSON.stringify(body) });
  const j = await r.json();
  if (!r.ok) throw new Error(j.error ? j.error.code + ": " + j.error.message : "HTTP " + r.status);
  return j;
}
function showBars(result) {
  const bars = $("bars");
  bars.replaceChildren();
  for (const [label, p] of Object.entries(result.emotions)) {
    const row = el("div", { class: "bar" + (label === result.dominant ? " dominant" : ""),
                            "data-label": label, "data-p": String(p) });
    row.append(el("span", {}, label));
    const track = el("div", { class: "track" });
    const fill = el("div", { class: "fill" });
    fill.style.width = (100 * p).toFixed(1) + "%";
    track.append(fill);
    row.append(track, el("span", {}, (100 * p).toFixed(1) + "%"));
    bars.append(row);
  }
  $("dominant").textContent = result.dominant;
  $("policy").textContent = result.label && result.label !== result.dominant
    ? "(reported: " + result.label + ")" : (result.flags && result.flags.length ? "(" + result.flags.join(", ") + ")" : "");
}
function showSentences(result) {
  const body = $("sentences");
  body.replaceChildren();
  for (const s of result.sentences) {
    const tr = el("tr", { class: "sentence", "data-label": s.analysis.label });
    tr.append(el("td", {}, s.text), el("td", {}, s.analysis.label),
              el("td", {}, s.analysis.confidence.toFixed(3)));
    body.append(tr);
  }
}
async function analyze() {
  const text = $("text").value;
  const model = $("model").value || null;
  document.body.dataset.state = "busy";
  $("error").textContent = "";
  try {
    const [whole, split] = await Promise.all([
      post("/analyze_emotion", { text, model }),
      post("/v1/classify", { texts: [text], split: "sentences", model })]);
    showBars(whole);
    showSentences(split.results[0]);
    $("time").textContent = whole.processing_time_ms + " ms";
    document.body.dataset.state = "done";
  } catch (e) {
    $("error").textContent = String(e.message || e);
    document.body.dataset.state = "error";
  }
}
async function loadModels() {
  try {
    const r = await fetch("/v1/models");
    const j = await r.json();
    for (const m of j.models) $("model").append(el("option", { value: m.name }, m.name));
  } catch (e) { $("error").textContent = "cannot list models: " + e; }
}
$("analyze").addEventListener("click", analyze);
$("text").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) analyze();
});
// Test hook: #type=TEXT types TEXT (one input event per character) and presses Analyze.
async function typeFromHash() {
  const m = /^#type=(.*)$/.exec(location.hash);
  if (!m) return;
  const box = $("text");
  box.focus();
  for (const ch of decodeURIComponent(m[1])) {
    box.value += ch;
    box.dispatchEvent(new InputEvent("input", { data: ch, inputType: "insertText", bubbles: true }));
  }
  $("analyze").click();
}
loadModels().then(typeFromHash);
</script>
</body>
</html>
)html";

}  // namespace maum::server
