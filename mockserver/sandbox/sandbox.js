"use strict";
// The sandbox page: a live journal, one exchange in detail, the controls and a playground, all from the
// mock's own admin API. No framework, no build step.
// With --admin-token the page's requests carry the token in an HttpOnly cookie: no script here ever sees it.
const $ = (selector) => document.querySelector(selector);
const rows = [];
let selected = null;

async function api(path, options = {}) {
  const answer = await fetch(path, { ...options, headers: options.headers || {} });
  const text = await answer.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  return { status: answer.status, data };
}

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "class") node.className = value; else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
  return node;
}

// ------------------------------------------------------------------ live journal

const FILTERS = {
  test: (row) => row.test_id || "", dialect: (row) => row.dialect || "", path: (row) => row.path,
  model: (row) => row.model || "", status: (row) => String(row.status ?? ""), fault: (row) => row.faults.join(" "),
  decided: (row) => decider(row),
};

// What answered: a script, a rule, a cassette, the generator; or what refused the request before any of them.
function decider(row) {
  if (row.decided_by) return row.decided_by;
  return row.status >= 400 && row.error_code ? "refused" : "generator";
}

function visible(row) {
  return Object.entries(FILTERS).every(([name, read]) => {
    const wanted = $(`#filter-${name}`).value.trim().toLowerCase();
    return !wanted || read(row).toLowerCase().includes(wanted);
  });
}

// A response that did not end whole (cut, truncated, reset...) is a failure whatever its status said.
function broken(row) {
  return Boolean(row.ended) && !["complete", "in_progress"].includes(row.ended);
}

function cell(text, attributes = {}) {
  // Every cell carries its whole text as a title: a narrow column shows it on hover.
  return element("td", { title: String(text ?? ""), ...attributes }, text ?? "");
}

function rowElement(row, fresh) {
  const time = new Date(row.time * 1000).toLocaleTimeString([], { hour12: false });
  const statusClass = broken(row) ? "status-broken" : `status-${String(row.status ?? 0)[0]}`;
  const tr = element("tr", { class: `row${fresh ? " new" : ""}${selected === row.id ? " selected" : ""}`,
                              "data-id": row.id },
    cell(`#${row.id}`, { class: "number" }), cell(time), cell(row.method), cell(row.path), cell(row.model || ""),
    cell(row.status ?? "—", { class: statusClass }), cell(decider(row)), cell(row.faults.join(", ")),
    cell(row.duration_ms?.toFixed(1) ?? ""), cell(row.ended || "", broken(row) ? { class: "status-broken" } : {}));
  tr.addEventListener("click", () => show(row.id));
  return tr;
}

function render() {
  const body = $("#journal tbody");
  body.replaceChildren(...rows.filter(visible).map((row) => rowElement(row, false)));
}

function add(row) {
  if (row.admin || rows.some((known) => known.id === row.id)) return;
  rows.unshift(row);
  if (rows.length > 2000) rows.pop();
  if (visible(row)) $("#journal tbody").prepend(rowElement(row, true));
  refreshSide();
}

async function connect() {
  const first = await api("/_mock/requests?limit=200");
  // Oldest first, each put on top: the newest ends on top, as the live rows that follow.
  if (first.status === 200) first.data.data.forEach(add);
  const source = new EventSource("/_mock/events");
  source.onopen = () => { $("#feed-state").textContent = "live"; $("#feed-state").className = "pill live"; };
  source.onerror = () => { $("#feed-state").textContent = "reconnecting…"; $("#feed-state").className = "pill down"; };
  source.onmessage = (event) => add(JSON.parse(event.data));
  source.addEventListener("dropped", (event) => { $("#feed-state").textContent = `live (${event.data} dropped)`; });
}

// ------------------------------------------------------------------ one exchange

let detail = null;

async function show(id) {
  selected = id;
  document.querySelectorAll("tr.row").forEach((tr) => tr.classList.toggle("selected", Number(tr.dataset.id) === id));
  const answer = await api(`/_mock/requests/${id}`);
  if (answer.status !== 200) { $("#detail-summary").textContent = answer.data?.error?.message || "gone"; return; }
  detail = answer.data;
  const usage = detail.tokens_in != null ? { prompt_tokens: detail.tokens_in, completion_tokens: detail.tokens_out }
    : responseJson()?.usage;
  $("#detail-summary").textContent = `#${detail.id} ${detail.method} ${detail.path} → ${detail.status ?? "—"} · ` +
    `${decidedPhrase(detail)}${detail.faults.length ? " · faults: " + detail.faults.join(", ") : ""}` +
    `${usage ? ` · tokens ${usage.prompt_tokens ?? usage.input_tokens} in, ${usage.completion_tokens ?? usage.output_tokens} out` : ""}` +
    ` · ${detail.duration_ms?.toFixed(1)} ms · ${detail.ended}`;
  $("#tab-request").textContent = JSON.stringify(detail.body, null, 2);
  $("#tab-response").textContent = prettyResponse();
  $("#tab-headers").textContent = Object.entries(detail.headers).map(([name, value]) => `${name}: ${value}`).join("\n");
  renderConversation();
  renderTimeline();
  renderWhy();
}

function decidedPhrase(row) {
  const who = decider(row);
  if (["validation", "key policy", "refused"].includes(who)) return `refused by ${who === "refused" ? "the mock" : who}`;
  return `decided by ${who === "generator" ? "the generator" : who}`;
}

// The error a response carries, in any provider's envelope (OpenAI's {error: {...}}, Anthropic's {type: "error"}).
function errorOf(parsed) {
  const error = parsed?.error;
  if (!error) return null;
  return typeof error === "string" ? error : `${error.type || error.code || "error"}: ${error.message || ""}`;
}

function responseJson() {
  if (!detail || detail.frames.length) return null;
  try { return JSON.parse(detail.response); } catch { return null; }
}

function prettyResponse() {
  const parsed = responseJson();
  return parsed ? JSON.stringify(parsed, null, 2) : detail.response + (detail.response_cut ? "\n… (cut at 64 KiB)" : "");
}

function text(content) {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((part) => part.text ?? part.refusal ?? `[${part.type}]`).join("");
  return content == null ? "" : JSON.stringify(content);
}

function anthropic() {
  return detail?.dialect === "anthropic";
}

// One Anthropic message (content as a string or blocks) as the page's turns: its text and thinking, its tool_use
// blocks as tool calls, each tool_result as a tool turn.
function anthropicTurns(message) {
  if (typeof message.content === "string") return [message];
  const blocks = message.content || [];
  const said = blocks.filter((block) => block.type === "text").map((block) => block.text).join("");
  const thought = blocks.filter((block) => block.type === "thinking").map((block) => block.thinking).join("");
  const turn = { role: message.role, content: said, thinking: thought,
    tool_calls: blocks.filter((block) => ["tool_use", "server_tool_use"].includes(block.type))
      .map((block) => ({ function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) } })) };
  const results = blocks.filter((block) => block.type === "tool_result").map((block) =>
    ({ role: "tool", content: text(block.content) || (block.is_error ? "(error)" : "") }));
  return [...results, ...(said || thought || turn.tool_calls.length ? [turn] : [])];
}

// Gemini's contents (roles user and model; text, thought, functionCall and functionResponse parts) as turns.
function geminiTurns(content) {
  const parts = content.parts || [];
  const said = parts.filter((part) => part.text != null && !part.thought).map((part) => part.text).join("");
  const thought = parts.filter((part) => part.thought).map((part) => part.text).join("");
  const calls = parts.map((part) => part.functionCall || part.function_call).filter(Boolean)
    .map((call) => ({ function: { name: call.name, arguments: JSON.stringify(call.args ?? {}) } }));
  const results = parts.map((part) => part.functionResponse || part.function_response).filter(Boolean)
    .map((result) => ({ role: "tool", content: JSON.stringify(result.response ?? {}) }));
  const role = content.role === "model" ? "assistant" : "user";
  return [...results, ...(said || thought || calls.length ? [{ role, content: said, thinking: thought,
                                                               tool_calls: calls }] : [])];
}

// Ollama's answer (a chat message, or generate's response) as the assistant's turn.
function ollamaTurn(parsed) {
  if (parsed.message) return { ...parsed.message, tool_calls: (parsed.message.tool_calls || []).map((call) =>
    ({ function: { name: call.function.name, arguments: JSON.stringify(call.function.arguments ?? {}) } })) };
  return { role: "assistant", content: parsed.response || "", thinking: parsed.thinking || "" };
}

function conversation(body) {
  if (Array.isArray(body?.events)) {  // a Realtime session: the items the client created
    return body.events.filter((event) => event?.type === "conversation.item.create" && event.item)
      .map((event) => event.item.type === "function_call_output" ? { role: "tool", content: event.item.output }
        : { role: event.item.role || "user", content: text(event.item.content) });
  }
  if (Array.isArray(body?.contents)) {
    const instruction = body.systemInstruction ?? body.system_instruction;
    const system = instruction == null ? [] : [{ role: "system", content: typeof instruction === "string"
      ? instruction : geminiTurns(instruction)[0]?.content ?? "" }];
    return [...system, ...body.contents.flatMap(geminiTurns)];
  }
  if (typeof body?.prompt === "string") {
    return [...(body.system ? [{ role: "system", content: body.system }] : []), { role: "user", content: body.prompt }];
  }
  if (anthropic() && Array.isArray(body?.messages)) {
    const system = body.system == null ? [] : [{ role: "system", content: text(body.system) }];
    return [...system, ...body.messages.flatMap(anthropicTurns)];
  }
  if (Array.isArray(body?.messages)) return body.messages;
  const messages = [];
  if (typeof body?.instructions === "string") messages.push({ role: "system", content: body.instructions });
  const input = typeof body?.input === "string" ? [{ role: "user", content: body.input }] : body?.input || [];
  for (const item of input) {
    if (item.type === "function_call") messages.push({ role: "assistant", tool_calls: [{ function: item }] });
    else if (item.type === "function_call_output") messages.push({ role: "tool", content: item.output });
    else messages.push({ role: item.role || "user", content: item.content });
  }
  return messages;
}

function answerTurn() {
  // The assistant's turn: from the JSON body, or rebuilt from the stream's deltas.
  const parsed = responseJson();
  if (parsed?.choices) return parsed.choices[0]?.message;
  if (parsed?.type === "message") return anthropicTurns(parsed).at(-1) || null;
  if (anthropic() && detail.frames.length) return anthropicStreamTurn();
  const chunks = Array.isArray(parsed) ? parsed : null;  // Gemini's stream as one JSON array
  if (parsed?.candidates || chunks || (detail.dialect === "gemini" && detail.frames.length)) {
    const events = parsed?.candidates ? [parsed] : chunks || detail.frames.map((frame) => {
      try { return JSON.parse(frame.data.split("data: ").pop()); } catch { return {}; } });
    const parts = events.flatMap((event) => event.candidates?.[0]?.content?.parts || []);
    return geminiTurns({ role: "model", parts: mergedParts(parts) }).at(-1) || null;
  }
  if (Array.isArray(detail.body?.events)) {  // a Realtime session: what its responses said
    let content = ""; const calls = [];
    for (const frame of detail.frames) {
      let event; try { event = JSON.parse(frame.data); } catch { continue; }
      if (["response.output_text.delta", "response.output_audio_transcript.delta"].includes(event.type)) {
        content += event.delta;
      }
      if (event.type === "response.function_call_arguments.done") {
        calls.push({ function: { name: event.name, arguments: event.arguments } });
      }
    }
    return { role: "assistant", content, tool_calls: calls };
  }
  if (detail.dialect === "ollama") {
    const lines = parsed ? [parsed] : detail.frames.map((frame) => {
      try { return JSON.parse(frame.data); } catch { return {}; } });
    const turns = lines.filter((line) => line.message || line.response !== undefined).map(ollamaTurn);
    return turns.length ? turns.reduce((whole, piece) => ({ role: "assistant",
      content: (whole.content || "") + (piece.content || ""), thinking: (whole.thinking || "") + (piece.thinking || ""),
      tool_calls: [...(whole.tool_calls || []), ...(piece.tool_calls || [])] })) : null;
  }
  if (parsed?.output) return { role: "assistant", content: parsed.output.filter((item) => item.type === "message")
    .flatMap((item) => item.content.map((part) => part.text || "")).join(""),
    tool_calls: parsed.output.filter((item) => item.type === "function_call").map((item) => ({ function: item })) };
  if (!detail.frames.length) return null;
  let content = ""; const calls = {};
  for (const frame of detail.frames) {
    const payload = frame.data.split("data: ").pop();
    let event; try { event = JSON.parse(payload); } catch { continue; }
    if (event.type === "response.output_text.delta") content += event.delta;
    for (const choice of event.choices || []) {
      content += choice.delta?.content || "";
      for (const call of choice.delta?.tool_calls || []) {
        const slot = calls[call.index] ||= { function: { name: "", arguments: "" } };
        slot.function.name += call.function?.name || ""; slot.function.arguments += call.function?.arguments || "";
      }
    }
  }
  return { role: "assistant", content, tool_calls: Object.values(calls) };
}

// A stream's parts joined: consecutive text pieces (thought or answer) into one part each.
function mergedParts(parts) {
  const merged = [];
  for (const part of parts) {
    const last = merged.at(-1);
    if (part.text != null && last?.text != null && !!last.thought === !!part.thought) last.text += part.text;
    else merged.push({ ...part });
  }
  return merged;
}

function anthropicStreamTurn() {
  // Anthropic's events rebuilt: each block from its content_block_start and its deltas.
  const blocks = [];
  for (const frame of detail.frames) {
    let event; try { event = JSON.parse(frame.data.split("data: ").pop()); } catch { continue; }
    if (event.type === "content_block_start") blocks[event.index] = { ...event.content_block, partial: "" };
    if (event.type !== "content_block_delta" || !blocks[event.index]) continue;
    const block = blocks[event.index], delta = event.delta;
    if (delta.type === "text_delta") block.text = (block.text || "") + delta.text;
    if (delta.type === "thinking_delta") block.thinking = (block.thinking || "") + delta.thinking;
    if (delta.type === "input_json_delta") block.partial += delta.partial_json;
  }
  for (const block of blocks.filter(Boolean)) {
    if (block.partial) { try { block.input = JSON.parse(block.partial); } catch { block.input = block.partial; } }
  }
  return anthropicTurns({ role: "assistant", content: blocks.filter(Boolean) }).at(-1) || null;
}

function bubbles(message) {
  const out = [];
  const role = message.role || "user";
  if (message.thinking) {
    out.push(element("div", { class: "bubble thinking" }, element("span", { class: "role" }, "thinking"),
      message.thinking));
  }
  const said = text(message.content);
  if (said) out.push(element("div", { class: `bubble ${role}` }, element("span", { class: "role" }, role), said));
  for (const call of message.tool_calls || []) {
    const fn = call.function || call;
    out.push(element("div", { class: "bubble tool-call" }, element("span", { class: "role" }, "tool call"),
      `${fn.name}(${fn.arguments})`));
  }
  return out;
}

function renderConversation() {
  const pane = $("#tab-conversation");
  const messages = conversation(detail.body).map((message) =>
    message.role === "tool" ? { ...message, role: "tool" } : message);
  const turn = answerTurn();
  const failed = errorOf(responseJson());
  const broke = broken(detail) ? element("div", { class: "bubble error" }, element("span", { class: "role" },
    "stream"), `ended: ${detail.ended} — the client saw a partial answer and an error`) : null;
  pane.replaceChildren(...messages.flatMap(bubbles), ...(turn && !failed ? bubbles(turn) : []),
    ...(failed ? [element("div", { class: "bubble error" }, element("span", { class: "role" },
      `error ${detail.status}`), failed)] : []), ...(broke ? [broke] : []));
  if (!pane.children.length) pane.append(element("div", { class: "muted" }, "No conversation in this request."));
}

function renderTimeline() {
  const pane = $("#tab-timeline");
  if (!detail.frames.length) {
    pane.replaceChildren(element("div", { class: "muted" }, "Not a stream: the body left in one piece."),
      ...detail.marks.map(markElement));
    return;
  }
  const line = element("div", { class: "timeline" });
  detail.frames.forEach((frame, index) => {
    for (const mark of detail.marks.filter((mark) => mark.chunk === index)) line.append(markElement(mark));
    line.append(element("div", { class: "frame", title: frame.data },
      element("span", { class: "at" }, `${frame.ms.toFixed(1)} ms`),
      element("span", { class: "what" }, frameSummary(frame.data))));
  });
  for (const mark of detail.marks.filter((mark) => mark.chunk >= detail.frames.length)) line.append(markElement(mark));
  pane.replaceChildren(element("div", { class: "muted" }, `${detail.frames.length} frames`), line);
}

function frameSummary(data) {
  // What a frame carries: a chat chunk's delta (and finish reason), a Responses event's type and delta.
  const payload = data.split("data: ").pop();
  let event; try { event = JSON.parse(payload); } catch { return data; }
  if (Array.isArray(event.choices)) {
    if (!event.choices.length) return event.usage ? `usage ${JSON.stringify(event.usage)}` : "{}";
    const choice = event.choices[0];
    return JSON.stringify(choice.delta) + (choice.finish_reason ? `  finish_reason: ${choice.finish_reason}` : "");
  }
  if (event.type) return `${event.type}${event.delta !== undefined ? " " + JSON.stringify(event.delta) : ""}`;
  if (Array.isArray(event.candidates)) {  // a Gemini chunk: its parts, and how the candidate finished
    const candidate = event.candidates[0] || {};
    return JSON.stringify(candidate.content?.parts ?? []) +
      (candidate.finishReason ? `  finishReason: ${candidate.finishReason}` : "");
  }
  if (event.message || event.response !== undefined) {  // an Ollama line
    const piece = event.message ? { ...event.message } : { response: event.response };
    return JSON.stringify(piece) + (event.done ? `  done_reason: ${event.done_reason}` : "");
  }
  return payload;
}

function markElement(mark) {
  return element("div", { class: "fault-mark", "data-fault": mark.fault },
    element("span", { class: "at" }, `${mark.ms.toFixed(1)} ms`), `⚡ ${mark.fault} before chunk ${mark.chunk}`);
}

async function renderWhy() {
  const pane = $("#tab-why");
  pane.replaceChildren(element("div", { class: "muted" }, "…"));
  const answer = await api(`/_mock/requests/${detail.id}/why`);
  if (answer.status !== 200) return;
  const { decided_by: decided, nearest } = answer.data;
  const refused = ["validation", "key policy"].includes(decided);
  const head = element("p", {}, refused ? `Refused by ${decided}, before any script or fixture rule was consulted.`
    : decided ? `Answered by ${decided}.` : "Answered by the generator: no script or fixture rule matched.");
  const items = nearest.map((item) => element("div", { class: "why-item" }, element("b", {}, item.source), " ",
    item.failed.length ? element("span", { class: "failed" }, "failed: " + item.failed.join(", ")) : "matches",
    item.remaining !== undefined ? ` · remaining ${item.remaining ?? "∞"}` : ""));
  pane.replaceChildren(head, ...(items.length ? items : [element("div", { class: "muted" }, "No scripts or rules are loaded.")]));
}

// A value as one shell word: single quotes, with any single quote in it closed, escaped and reopened, so a
// journaled path, test id or body can never run a command when the snippet is pasted.
function shellWord(value) {
  return `'${String(value).replaceAll("'", "'\\''")}'`;
}

function copyAsCurl() {
  if (!detail) return;
  const url = `${location.origin}${detail.path}${detail.query ? "?" + detail.query : ""}`;
  // The key from the environment: double quotes, so the shell expands it.
  const keys = {
    anthropic: [`  -H "x-api-key: $ANTHROPIC_API_KEY"`, `  -H 'anthropic-version: 2023-06-01'`],
    gemini: [`  -H "x-goog-api-key: $GEMINI_API_KEY"`],
    ollama: [],  // Ollama takes no key
  };
  const key = keys[detail.dialect] ?? [`  -H "Authorization: Bearer $OPENAI_API_KEY"`];
  const lines = [`curl${detail.stream ? " -N" : ""} -X ${shellWord(detail.method)} ${shellWord(url)}`,
    ...key, `  -H 'Content-Type: application/json'`];
  for (const name of ["x-mock-test-id", "x-mock-fault", "x-mock-reply", "x-mock-tool-call", "x-mock-tool-args"]) {
    const value = detail.headers?.[name] ?? (name === "x-mock-test-id" ? detail.test_id : undefined);
    if (value) lines.push(`  -H ${shellWord(`${name}: ${value}`)}`);
  }
  if (detail.body != null) lines.push(`  -d ${shellWord(JSON.stringify(detail.body))}`);
  showSnippet(lines.join(" \\\n"));
}

function makeRule() {
  if (!detail) return;
  const messages = conversation(detail.body);
  const lastUser = [...messages].reverse().find((message) => message.role === "user");
  const turn = answerTurn() || {};
  const match = [];
  if (detail.model) match.push(`      model: ${JSON.stringify(detail.model)}`);
  if (lastUser) match.push(`      message_contains: ${JSON.stringify(text(lastUser.content).slice(0, 80))}`);
  const answer = turn.tool_calls?.length
    ? ["    tool_calls:", ...turn.tool_calls.map((call) => `      - {name: ${call.function.name}, arguments: ${call.function.arguments || "{}"}}`)]
    : [`    reply: ${JSON.stringify(text(turn.content))}`];
  showSnippet(["rules:", "  - match:", ...match, ...answer].join("\n"));
}

function showSnippet(value) {
  const snippet = $("#snippet");
  snippet.textContent = value;
  snippet.classList.remove("hidden");
  navigator.clipboard?.writeText(value).catch(() => {});
}

// ------------------------------------------------------------------ controls

function faultBehavior(spec) {
  const [name, ...parts] = spec.split(";").map((part) => part.trim()).filter(Boolean);
  const behavior = { fault: name };
  for (const part of parts) {
    const [key, value] = part.split("=");
    behavior[key.trim()] = /^-?\d+(\.\d+)?$/.test(value ?? "") ? Number(value) : (value ?? "").trim();
  }
  return behavior;
}

async function script(behavior, testId) {
  const headers = { "Content-Type": "application/json", ...(testId ? { "X-Mock-Test-Id": testId } : {}) };
  const answer = await api("/_mock/script", { method: "POST", headers, body: JSON.stringify({ behaviors: [behavior] }) });
  $("#control-result").textContent = answer.status === 200 ? `armed: script #${answer.data.behaviors[0].id}`
    : answer.data?.error?.message || `HTTP ${answer.status}`;
  $("#control-result").className = answer.status === 200 ? "muted" : "error-box";
  refreshSide();
}

$("#fault-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const behavior = { ...faultBehavior($("#fault-spec").value), times: Number($("#fault-times").value) || 1 };
  const share = Number($("#fault-share").value);
  if (share > 0 && share < 1) behavior.share = share;
  const match = {};
  if ($("#fault-model").value.trim()) match.model = $("#fault-model").value.trim();
  if ($("#fault-path").value.trim()) match.path = $("#fault-path").value.trim();
  if (Object.keys(match).length) behavior.match = match;
  script(behavior, $("#fault-test").value.trim());
});

$("#reply-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const times = Number($("#reply-times").value) || 1;
  const name = $("#tool-name").value.trim();
  let behavior;
  if (name) {
    let args;
    try { args = $("#tool-args").value.trim() ? JSON.parse($("#tool-args").value) : undefined; }
    catch { $("#control-result").textContent = "the arguments are not JSON"; $("#control-result").className = "error-box"; return; }
    behavior = { tool_call: args === undefined ? { name } : { name, arguments: args }, times };
  } else {
    behavior = { reply: $("#reply-text").value, times };
  }
  script(behavior, "");
});

$("#reset").addEventListener("click", async () => {
  await api("/_mock/reset", { method: "POST" });
  rows.length = 0; render(); refreshSide();
  $("#control-result").textContent = "reset"; $("#control-result").className = "muted";
});

function showClock(clock) {
  if (!clock) return;
  $("#clock-now").textContent = `${clock.iso}${clock.frozen ? " · frozen" : ""}` +
    (clock.offset ? ` · ${clock.offset} s ahead` : "");
}

$("#clock-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const answer = await api("/_mock/clock", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ advance: Number($("#clock-seconds").value) }) });
  if (answer.status !== 200) {
    $("#control-result").textContent = answer.data?.error?.message || `HTTP ${answer.status}`;
    $("#control-result").className = "error-box";
    return;
  }
  showClock(answer.data); refreshSide();
  $("#control-result").textContent = `clock advanced to ${answer.data.iso}`; $("#control-result").className = "muted";
});

let sidePending = null;
function refreshSide() {
  if (sidePending) return;
  sidePending = setTimeout(async () => {
    sidePending = null;
    const [scripts, buckets, clock] = await Promise.all([api("/_mock/script"), api("/_mock/ratelimits"),
      api("/_mock/clock")]);
    showClock(clock.data);
    $("#scripts").replaceChildren(...(scripts.data?.behaviors || []).map((entry) => element("li", {},
      `#${entry.id} ${JSON.stringify(entry.behavior)} · remaining ${entry.remaining}` +
      (entry.test_id ? ` · test ${entry.test_id}` : ""))));
    if (!scripts.data?.behaviors?.length) $("#scripts").append(element("li", { class: "muted" }, "none"));
    const limits = buckets.data || {};
    $("#buckets").replaceChildren(limits.rpm || limits.tpm ? "" : element("div", { class: "muted" }, "no --rpm / --tpm"),
      ...(limits.buckets || []).map((bucket) => element("div", { class: "bucket" },
        `${bucket.key} ${bucket.bucket}: ${bucket.remaining}/${bucket.limit}, full in ${bucket.full_in_seconds} s`)));
  }, 250);
}

async function facts() {
  const config = await api("/_mock/config");
  if (config.status !== 200) return;
  const settings = config.data;
  $("#server-facts").textContent = `dialect ${settings.dialect} · seed ${settings.seed} · validation ${settings.validation}`;
  $("#chaos").replaceChildren(element("div", { class: "bucket" }, `seed ${settings.seed}`),
    ...(settings.fault.length ? settings.fault.map((fault) => element("div", { class: "bucket" }, `chaos ${fault}`))
      : [element("div", { class: "muted" }, "no --fault chaos")]));
}

// ------------------------------------------------------------------ playground

$("#playground").addEventListener("submit", async (event) => {
  event.preventDefault();
  const output = $("#play-output"); const status = $("#play-status");
  output.textContent = ""; status.replaceChildren();
  let body;
  try { body = $("#play-method").value === "GET" ? undefined : JSON.stringify(JSON.parse($("#play-body").value)); }
  catch (error) { status.replaceChildren(element("div", { class: "error-box" }, `not JSON: ${error.message}`)); return; }
  const answer = await fetch($("#play-path").value, { method: $("#play-method").value, body,
    headers: { "Content-Type": "application/json", Authorization: "Bearer sk-mock" } });
  status.append(element("div", { class: "muted" }, `HTTP ${answer.status} ${answer.headers.get("content-type") || ""}`));
  if (!answer.ok) {
    const data = await answer.json().catch(() => null);
    const error = data?.error || {};
    status.append(element("div", { class: "error-box", id: "play-error" },
      element("div", {}, error.message || "error"),
      element("div", {}, "param: ", element("span", { class: "param" }, String(error.param ?? "—")),
        ` · code: ${error.code ?? "—"} · type: ${error.type ?? "—"}`)));
    return;
  }
  if ((answer.headers.get("content-type") || "").startsWith("text/event-stream")) {
    const reader = answer.body.getReader(); const decoder = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      output.textContent += decoder.decode(value, { stream: true });
      output.scrollTop = output.scrollHeight;
    }
  } else {
    output.textContent = JSON.stringify(await answer.json().catch(() => null), null, 2);
  }
});

// ------------------------------------------------------------------ start

document.querySelectorAll(".tabs button[data-tab]").forEach((button) => button.addEventListener("click", () => {
  document.querySelectorAll(".tabs button[data-tab]").forEach((other) => other.classList.toggle("active", other === button));
  document.querySelectorAll(".tab").forEach((tab) => tab.classList.toggle("hidden", tab.id !== `tab-${button.dataset.tab}`));
}));
document.querySelectorAll(".filters input").forEach((input) => input.addEventListener("input", render));
$("#copy-curl").addEventListener("click", copyAsCurl);
$("#make-rule").addEventListener("click", makeRule);
facts(); refreshSide(); connect();
