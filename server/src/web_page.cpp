// GET /: type a sentence, see the emotion bars, the dominant emotion and the per-sentence
// breakdown. It calls /v1/models, /analyze_emotion and /v1/classify (split by sentences). With a
// conversation id (a server with --db), each sentence is posted as a turn of that conversation
// (/v1/conversations/{id}/turns) and the conversation's emotion flow is shown: its timeline SVG,
// the summary and the label of every turn (GET /v1/conversations/{id} and .../timeline.svg).
// Test hooks: #type=TEXT types TEXT into the box and analyses it; #conversation=ID fills the
// conversation box (and shows its flow); both may be given (#conversation=ID&type=TEXT). When the
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
#conversation { font-size: 1rem; width: 14rem; }
#flow-svg svg { width: 100%; height: auto; }
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
<div class="row">
  <label for="conversation">대화 · Conversation</label>
  <input id="conversation" autocomplete="off" placeholder="id, e.g. chat-1">
  <small>each sentence becomes a turn of it (maum serve --db)</small>
</div>
<div id="error"></div>
<p>Dominant emotion: <span id="dominant">–</span> <small id="policy"></small></p>
<div id="bars"></div>
<h2 style="font-size:1.1rem">Sentences</h2>
<table><thead><tr><th>Sentence</th><th>Emotion</th><th>p</th></tr></thead><tbody id="sentences"></tbody></table>
<section id="flow" hidden>
<h2 style="font-size:1.1rem">Emotion flow of <span id="flow-id"></span></h2>
<p id="flow-summary"></p>
<div id="flow-svg"></div>
<ol id="flow-turns" start="0"></ol>
</section>
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
const conversationPath = (id) => "/v1/conversations/" + encodeURIComponent(id);
async function getJson(path) {
  const r = await fetch(path);
  const j = await r.json();
  if (!r.ok) throw new Error(j.error ? j.error.code + ": " + j.error.message : "HTTP " + r.status);
  return j;
}
// The conversation's flow: the summary, the server's timeline SVG and each turn's label.
async function showFlow(id) {
  const [conversation, svg] = await Promise.all([
    getJson(conversationPath(id)),
    fetch(conversationPath(id) + "/timeline.svg").then((r) => r.text())]);
  const s = conversation.summary;
  const run = s.dominant_over_time[s.dominant_over_time.length - 1];
  let line = s.turns + " turns · now " + run.label + " since turn " + run.first_turn;
  if (s.valence) line += " · valence mean " + s.valence.mean.toFixed(3) + ", trend " +
    (s.valence.slope >= 0 ? "+" : "") + s.valence.slope.toFixed(3) + " per turn";
  line += " · turning points: " + s.turning_points.length;
  $("flow-id").textContent = id;
  $("flow-summary").textContent = line;
  $("flow-summary").dataset.turns = String(s.turns);
  // The SVG is the server's own (labels escaped there); parsed as XML, no script runs.
  const doc = new DOMParser().parseFromString(svg, "image/svg+xml");
  $("flow-svg").replaceChildren(document.importNode(doc.documentElement, true));
  const list = $("flow-turns");
  list.replaceChildren();
  for (const t of conversation.turns)
    list.append(el("li", { class: "turn", "data-label": t.label },
                   (t.speaker ? t.speaker + ": " : "") + t.label + " " + t.labels[t.dominant].toFixed(3)));
  $("flow").hidden = false;
}
async function analyze() {
  const text = $("text").value;
  const model = $("model").value || null;
  const conversation = $("conversation").value.trim();
  document.body.dataset.state = "busy";
  $("error").textContent = "";
  try {
    const started = performance.now();
    // With a conversation, the sentence is stored as its next turn; the bars show that turn.
    const first = conversation
      ? post(conversationPath(conversation) + "/turns", { text, model }).then((t) => ({
          emotions: t.analysis.labels, dominant: t.analysis.dominant, label: t.analysis.label,
          flags: t.analysis.flags }))
      : post("/analyze_emotion", { text, model });
    const [whole, split] = await Promise.all([
      first, post("/v1/classify", { texts: [text], split: "sentences", model })]);
    showBars(whole);
    showSentences(split.results[0]);
    if (conversation) await showFlow(conversation);
    $("time").textContent = (whole.processing_time_ms !== undefined ? whole.processing_time_ms
                             : (performance.now() - started).toFixed(1)) + " ms";
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
// Test hooks: #conversation=ID fills the conversation box and shows its flow; #type=TEXT types
// TEXT (one input event per character) and presses Analyze.
async function typeFromHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  const conversation = params.get("conversation");
  const text = params.get("type");
  if (conversation !== null) $("conversation").value = conversation;
  if (text === null) {
    if (conversation) {
      try {
        await showFlow(conversation);
        document.body.dataset.state = "done";
      } catch (e) {
        $("error").textContent = String(e.message || e);
        document.body.dataset.state = "error";
      }
    }
    return;
  }
  const box = $("text");
  box.focus();
  for (const ch of text) {
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
