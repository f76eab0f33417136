// The evalpod dashboard: a hash-routed page over /api/v1, signed in with the session cookie.
// Values from the API are always inserted with textContent: a log line is text, never HTML.
"use strict";

const API = "/api/v1";
const TERMINAL = new Set(["validation_failed", "succeeded", "failed", "killed", "cancelled"]);
const STATUSES = ["pending_validation", "validation_failed", "validated", "executing",
  "succeeded", "failed", "killed", "cancelled"];
// Polls share the key's rate limit (100 requests a minute by default) with its other
// clients: a page costs about 16 a minute, and pauses all polling when told to slow down.
const POLL_MS = 5000;
const ACTIVITY_POLL_MS = 15000;
let quietUntil = 0;      // after a 429: no polling before this (Date.now() ms)
const EXAMPLE = `def evaluate_model(model):
    answer = model.generate(["2 + 2 ="], max_new_tokens=4)[0]
    print("model said:", answer)
    return {"accuracy": 1.0 if "4" in answer else 0.0}
`;

let me = null;           // GET /session: tenant_id, role, csrf_token
let afterSignin = null;  // the route a signed-out visitor asked for, shown once signed in
// When this browser's session cookie expires (ISO time), kept so that a page opened
// signed out goes straight to the sign-in form: probing GET /session there is a 401, which
// the console shows as an error. Not a secret: the HttpOnly cookie is the session.
const SESSION_HINT = "evalpod.session_expires";
let cleanup = [];        // stops the current view's timers and streams
let generation = 0;      // bumped per navigation: a view that awaited checks it is still shown
const stale = (mine) => mine !== generation;
const $view = () => document.getElementById("view");

class ApiError extends Error {
  constructor(status, envelope) {
    super(envelope ? envelope.message : `HTTP ${status}`);
    this.status = status;
    this.envelope = envelope || {};
  }
}

async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && me) headers["X-CSRF-Token"] = me.csrf_token;
  const response = await fetch(API + path, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (response.status === 429) {
    quietUntil = Date.now() + 1000 * Number(response.headers.get("Retry-After") || 10);
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data && data.error);
    if (response.status === 401 && path !== "/session") signedOut();
    throw error;
  }
  return data;
}

// h("a", {href: "#/x", class: "y", onclick: f}, "text", child, ...): an element, text as text.
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// A table in a box that scrolls sideways if the table is wider: the page never does.
const scrolling = (table) => h("div", { class: "table-scroll" }, table);

// Text that may be long (an id): cut to its cell with "…", whole in a tooltip.
const clipped = (text, attrs = {}) => h("span", { class: "clip", title: text, ...attrs }, text);

const statusBadge = (status) => h("span", { class: `status ${status}`, "data-status": status }, status);
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "");

function errorBox(error) {
  const env = error.envelope || {};
  const lines = [h("strong", {}, env.code ? `${env.code}: ` : "", error.message)];
  if (env.hint) lines.push(h("div", {}, env.hint));
  if (env.detail && Object.keys(env.detail).length) {
    lines.push(h("pre", {}, JSON.stringify(env.detail, null, 2)));
  }
  return h("div", { class: "error", role: "alert" }, lines);
}

function every(ms, fn) {
  const id = setInterval(() => { if (!document.hidden && Date.now() >= quietUntil) fn(); }, ms);
  cleanup.push(() => clearInterval(id));
}

// ---------- session ----------

// fn(localStorage), or undefined where the browser disables storage.
function storage(fn) {
  try { return fn(localStorage); } catch { return undefined; }
}

// Whether a session cookie may still be valid: false when none was made here or it has
// expired; true (ask the server) where storage is disabled.
function maybeSignedIn() {
  const hint = storage((s) => s.getItem(SESSION_HINT));
  return hint === undefined || (Date.parse(hint || "") || 0) > Date.now();
}

// Go to a route in place of the current history entry: redirects (to sign in, and back
// after it) leave no entry that Back would return to.
const redirect = (hash) => location.replace(hash);

function signedOut() {
  me = null;
  seenActivity = null;
  storage((s) => s.removeItem(SESSION_HINT));
  document.getElementById("nav").hidden = true;
  document.getElementById("signout").hidden = true;
  const who = document.getElementById("who");
  who.textContent = "";
  who.removeAttribute("title");
  if (!location.hash.startsWith("#/signin")) {
    afterSignin = location.hash.length > 2 ? location.hash : null;
    redirect("#/signin");
  }
}

function signedIn(session) {
  me = session;
  storage((s) => s.setItem(SESSION_HINT, session.expires_at));
  document.getElementById("nav").hidden = false;
  document.getElementById("signout").hidden = false;
  showTenant(session);
  pollActivity();
}

// The header names the tenant (GET /tenant has its name; the session only its id).
async function showTenant(session) {
  const who = document.getElementById("who");
  who.textContent = session.role;
  who.title = `tenant ${session.tenant_id}`;
  try {
    const tenant = await api("/tenant");
    if (me === session) who.textContent = `${tenant.name} · ${session.role}`;
  } catch {
    // the role alone is still right; a 401 has signed the page out
  }
}

// A refused key, said for a person at this form: the API's hint (send an Authorization
// header) is for API clients and stays theirs.
function badKeyBox() {
  return h("div", { class: "error", role: "alert" },
    h("strong", {}, "That API key is not valid (revoked or mistyped)."),
    h("div", {}, "Paste the admin key from the file `evalpod up` printed (admin API key: …), "
      + "or a key `evalpod keys create` gave you."));
}

function viewSignin() {
  const key = h("input", { type: "password", name: "api_key", autocomplete: "off",
    placeholder: "ep_…", required: true, "aria-label": "API key" });
  const message = h("div");
  const form = h("form", { class: "card signin", onsubmit: async (event) => {
    event.preventDefault();
    message.replaceChildren();
    try {
      const session = await api("/session", { method: "POST", body: { api_key: key.value } });
      key.value = "";  // the key is not kept in the page: the HttpOnly cookie carries the session
      signedIn(session);
      const next = afterSignin || "#/evaluations";
      afterSignin = null;
      redirect(next);
    } catch (error) {
      message.replaceChildren(error.status === 401 ? badKeyBox() : errorBox(error));
    }
  } },
  h("h1", {}, "Sign in"),
  h("p", { class: "muted" }, "Your API key is exchanged for a session cookie and not kept in the page."),
  h("label", {}, "API key", key), h("p"), h("button", { type: "submit" }, "Sign in"), message);
  $view().replaceChildren(form);
  key.focus();
}

// ---------- evaluations ----------

function viewEvaluations(params) {
  const status = h("select", { name: "status" }, h("option", { value: "" }, "any status"),
    STATUSES.map((s) => h("option", { value: s, selected: params.get("status") === s }, s)));
  const model = h("input", { name: "model_id", value: params.get("model_id") || "", placeholder: "model id" });
  const tag = h("input", { name: "tag", value: params.get("tag") || "", placeholder: "key or key:value" });
  const form = h("form", { class: "filters", onsubmit: (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    for (const input of [status, model, tag]) if (input.value) query.set(input.name, input.value);
    location.hash = `#/evaluations?${query}`;
  } }, h("label", {}, "Status", status), h("label", {}, "Model", model),
  h("label", {}, "Tag", tag), h("button", { type: "submit" }, "Filter"));
  const body = h("tbody");
  const note = h("div");
  const more = h("button", { type: "button", class: "secondary", hidden: true });
  let cursor = null;
  let shown = 50;

  const query = () => {
    const q = new URLSearchParams();
    for (const name of ["status", "model_id", "tag"]) if (params.get(name)) q.set(name, params.get(name));
    q.set("limit", String(shown));
    return q;
  };
  const refresh = async () => {
    try {
      const page = await api(`/evaluations?${query()}`);
      cursor = page.next_cursor;
      more.hidden = !cursor;
      note.replaceChildren(page.items.length ? "" : h("p", { class: "muted" }, "No evaluations yet."));
      body.replaceChildren(...page.items.map((e) => h("tr", { "data-id": e.evaluation_id },
        h("td", {}, h("a", { href: `#/evaluations/${e.evaluation_id}` }, e.evaluation_id)),
        h("td", {}, statusBadge(e.status)), h("td", {}, clipped(e.model_id)), h("td", {}, e.kind),
        h("td", { class: "tags" }, Object.entries(e.tags || {}).map(([k, v]) => `${k}:${v}`).join(" ")),
        h("td", {}, when(e.created_at)))));
    } catch (error) {
      if (error.status !== 401) note.replaceChildren(errorBox(error));
    }
  };
  more.textContent = "Show more";
  more.addEventListener("click", () => { shown = Math.min(shown + 50, 200); refresh(); });
  $view().replaceChildren(h("h1", {}, "Evaluations"), form,
    scrolling(h("table", { id: "evaluations" }, h("thead", {}, h("tr", {}, ["Id", "Status", "Model", "Kind", "Tags", "Created"]
      .map((t) => h("th", {}, t)))), body)), note, more);
  refresh();
  every(POLL_MS, refresh);  // live status: the list is cheap and small
}

function findingList(findings, onLine) {
  if (!findings || !findings.length) return h("p", { class: "muted" }, "No findings.");
  return h("ul", { class: "findings" }, findings.map((f) => h("li", { "data-line": f.line ?? "" },
    h("span", { class: `status ${f.severity === "error" ? "failed" : ""}` }, f.severity), " ",
    f.line ? (onLine ? h("button", { type: "button", class: "secondary", onclick: () => onLine(f.line) },
      `line ${f.line}${f.column ? `:${f.column}` : ""}`) : h("strong", {}, `line ${f.line}${f.column ? `:${f.column}` : ""}`)) : "",
    " ", h("code", {}, f.rule), " ", f.message, f.hint ? h("div", { class: "muted" }, f.hint) : "")));
}

// Seconds as m:ss or h:mm:ss.
function clock(seconds) {
  const whole = Math.round(seconds);
  const h_ = Math.floor(whole / 3600), m = Math.floor((whole % 3600) / 60), s = whole % 60;
  const pad = (n) => String(n).padStart(2, "0");
  return h_ ? `${h_}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

const amount = (n) => (Number.isInteger(n) ? n.toLocaleString() : n.toFixed(2));

// A share as a whole percentage, rounded to the nearest (2/3 is 67 %), like the CLI's bar.
const percent = (part, whole) => Math.round((100 * part) / whole);

// A metric as a person reads it: an integer as an integer ("12", "1,024"); a float to four
// significant digits ("0.75", "0.1235", "12.35"), with at most two decimals from 1,000 up
// ("32,964.12"), and in exponent form below 0.001 ("1.20e-5"). "" for a missing value.
function metricText(x) {
  if (x === null || x === undefined) return "";
  const n = Number(x);
  if (!Number.isFinite(n)) return String(x);
  if (Number.isInteger(n)) return n.toLocaleString();
  const size = Math.abs(n);
  if (size < 1e-3) return n.toExponential(2);
  if (size < 1000) return n.toLocaleString(undefined, { maximumSignificantDigits: 4 });
  return n.toLocaleString(undefined, { maximumFractionDigits: 2 });
}

// One `log` event's line in the log: evalpod's own (`source` is set by the host) with a
// badge (app.css) no text a job prints can show; the job's as plain text.
function logLine(line) {
  const classes = [line.source === "evalpod" ? "evalpod" : "job", line.phase === "trial" ? "trial" : ""];
  return h("span", { class: classes.join(" ").trim() }, line.text + (line.continues ? "" : "\n"));
}

// A total the page can divide by: a positive finite number, else null (unknown). The
// server sends null for an unknown total; this holds whatever a report says.
const knownTotal = (p) => (Number.isFinite(p.total) && p.total > 0 ? p.total : null);

// One progress report as the page shows it: whether it is final, the meter's value and
// max (value null: indeterminate) and the detail text ("3/10 (30%) · 2.50/s · ETA 0:03").
// Never NaN: a report without a usable total or count is shown as a count alone.
function progressView(p) {
  const done = Number.isFinite(p.done) && p.done >= 0 ? p.done : 0;
  const total = knownTotal(p);
  const final = total !== null && done >= total;
  const parts = [];
  if (total !== null) {
    parts.push(`${amount(done)}/${amount(total)} (${percent(Math.min(done, total), total)}%)`);
  } else {
    parts.push(amount(done));
  }
  if (Number.isFinite(p.rate) && p.rate > 0) parts.push(`${p.rate.toFixed(2)}/s`);
  if (final) parts.push("done");
  else if (Number.isFinite(p.eta_s)) parts.push(`ETA ${clock(p.eta_s)}`);
  return { final, done, value: total === null ? null : Math.min(done, total), max: total, detail: parts.join(" · ") };
}

// At most this many bars on the page; a report for another bar is dropped, with one note.
const MAX_BARS_SHOWN = 16;

// Phases as a summary names them.
const PHASE_NAMES = { trial: "Trial run", run: "Run" };

// The job's progress reports (SSE `progress` events) as one bar per (phase, bar): what is
// done, the rate and the time left, all as the job measured them (bounded by the server).
// A bar that starts again (its count goes down) is the same row, reset. Bars of a phase
// that is over (retire("trial") once the run starts) leave the live area for a collapsed
// "finished" group, so the live area shows only what is still moving.
function progressBars() {
  const live = h("div", { class: "live" });
  const summary = h("summary");
  const finished = h("details", { class: "done-bars", hidden: true }, summary);
  const element = h("section", { id: "progress", class: "progress-list", hidden: true, "aria-label": "Progress" },
    live, finished);
  const rows = new Map();
  const retired = new Set();
  let dropped = null;
  const summarise = () => {
    const counts = new Map();
    for (const row of rows.values()) {
      if (retired.has(row.phase)) counts.set(row.phase, (counts.get(row.phase) || 0) + 1);
    }
    summary.textContent = [...counts].map(([phase, n]) =>
      `${PHASE_NAMES[phase] || phase} finished · ${n} bar${n === 1 ? "" : "s"}`).join("; ");
    finished.hidden = !counts.size;
  };
  const update = (p) => {
    if (p.phase === "run") retire("trial");  // the run starts after the trial has ended
    const key = `${p.phase}:${p.bar}`;
    let row = rows.get(key);
    if (!row) {
      if (rows.size >= MAX_BARS_SHOWN) {
        if (!dropped) {
          dropped = h("p", { class: "muted more-bars" }, `More than ${MAX_BARS_SHOWN} bars: the others are not shown.`);
          live.after(dropped);
        }
        return;
      }
      const meter = h("progress", { max: 1 });
      row = { phase: p.phase, meter, label: h("span", { class: "label" }), detail: h("span", { class: "muted detail" }) };
      row.el = h("div", { class: "progress-row", "data-bar": key }, row.label, meter, row.detail);
      (retired.has(p.phase) ? finished : live).append(row.el);
      rows.set(key, row);
      if (retired.has(p.phase)) summarise();
    }
    element.hidden = false;
    const view = progressView(p);
    row.label.textContent = `${p.phase === "trial" ? "trial · " : ""}${p.description || `bar ${p.bar}`}`;
    row.label.title = row.label.textContent;
    row.meter.dataset.done = String(view.done);
    if (view.max !== null) {
      row.meter.max = view.max;
      row.meter.value = view.value;
    } else {
      row.meter.removeAttribute("value");  // indeterminate: the total is unknown
    }
    row.detail.textContent = view.detail;
    row.el.classList.toggle("final", view.final);
  };
  function retire(phase) {
    if (retired.has(phase)) return;
    retired.add(phase);
    for (const row of rows.values()) if (row.phase === phase) finished.append(row.el);
    summarise();
  }
  return { element, update, retire };
}

// The evaluation's own script with line numbers; lines named by findings or a violation
// are highlighted, and show(line) scrolls to one.
function scriptViewer(id) {
  const element = h("div", { id: "script" }, h("p", { class: "muted" }, "Loading…"));
  let items = [];
  let flagged = [];
  const paint = () => {
    items.forEach((li) => { li.classList.remove("flagged"); li.removeAttribute("title"); });
    for (const [line, why] of flagged) {
      const li = items[line - 1];
      if (!li) continue;
      li.classList.add("flagged");
      li.title = li.title ? `${li.title}\n${why}` : why;
    }
  };
  const load = async () => {
    try {
      const body = await api(`/evaluations/${id}/script`);
      if (body.script === null) {
        element.replaceChildren(h("p", { class: "muted" }, "No script: an lm-eval job."));
        return;
      }
      const lines = body.script.replace(/\n$/, "").split("\n");
      items = lines.map((text, i) => h("li", { id: `L${i + 1}`, "data-line": i + 1 }, h("code", {}, text || " ")));
      element.replaceChildren(h("ol", { class: "script" }, items));
      paint();
    } catch (error) {
      if (error.status !== 401) element.replaceChildren(errorBox(error));
    }
  };
  const flag = (lines) => { flagged = lines; paint(); };
  const show = (line) => {
    const li = items[line - 1];
    if (!li) return;
    li.scrollIntoView({ block: "center" });
    items.forEach((other) => other.classList.remove("target"));
    li.classList.add("target");
  };
  return { element, load, flag, show };
}

function viewEvaluation(id) {
  const mine = generation;
  const header = h("div", { class: "row" });
  const timeline = h("ol", { class: "timeline" });
  const findings = h("div");
  const outcome = h("div");
  const log = h("pre", { class: "log", id: "log" });
  const streamState = h("span", { class: "muted", id: "stream-state" }, "connecting…");
  const message = h("div");
  const bars = progressBars();
  const source = scriptViewer(id);
  let status = null;

  const cancel = h("button", { type: "button", class: "danger", id: "cancel", disabled: true, onclick: async () => {
    cancel.disabled = true;
    try {
      await api(`/evaluations/${id}/cancel`, { method: "POST" });
      await load();
    } catch (error) {
      message.replaceChildren(errorBox(error));
      load();  // finished meanwhile (409): the button goes with the new status
    }
  } }, "Cancel");

  const load = async () => {
    let record;
    try {
      record = await api(`/evaluations/${id}`);
    } catch (error) {
      if (error.status !== 401 && !stale(mine)) $view().replaceChildren(h("h1", {}, id), errorBox(error));
      cleanup.forEach((f) => f()); cleanup = [];
      return;
    }
    status = record.status;
    if (status !== "pending_validation") bars.retire("trial");  // the trial is over
    cancel.disabled = false;
    // Only a live evaluation can be cancelled: a finished one has no Cancel button at all.
    header.replaceChildren(h("span", {}, "Status "), statusBadge(status),
      h("span", { class: "muted" }, `model ${record.model_id} · ${record.kind} · created ${when(record.created_at)}`),
      TERMINAL.has(status) ? "" : cancel);
    timeline.replaceChildren(...record.transitions.map((t) => h("li", {},
      h("span", { class: "muted" }, when(t.at)), " ", t.from_status || "·", " → ", statusBadge(t.to_status),
      " ", h("span", { class: "muted" }, `${t.actor}: ${t.reason}`))));
    findings.replaceChildren(findingList(record.findings, source.show));
    source.flag([...record.findings.filter((f) => f.line).map((f) => [f.line, `${f.rule}: ${f.message}`]),
      ...(record.violation && record.violation.line ? [[record.violation.line, `${record.violation.kind}: ${record.violation.detail}`]] : [])]);
    const parts = [];
    if (record.violation) {
      const v = record.violation;
      parts.push(h("div", { class: "error" }, `Killed (${v.kind}): ${v.detail}`,
        v.line ? [" at ", h("a", { href: `#/evaluations/${id}`, onclick: (event) => { event.preventDefault(); source.show(v.line); } }, `line ${v.line}`)] : ""));
    }
    if (record.error) parts.push(h("div", { class: "error" }, record.error));
    if (record.result) parts.push(h("pre", { id: "result" }, JSON.stringify(record.result, null, 2)));
    if (!parts.length) parts.push(h("p", { class: "muted" }, TERMINAL.has(status) ? "No result." : "Not finished yet."));
    outcome.replaceChildren(...parts);
  };

  // EventSource sends Last-Event-ID itself when it reconnects, so a dropped connection
  // resumes after the last line shown instead of repeating the log.
  const stream = new EventSource(`${API}/evaluations/${id}/logs`, { withCredentials: true });
  cleanup.push(() => stream.close());
  stream.onopen = () => { streamState.textContent = "live"; };
  stream.addEventListener("progress", (event) => bars.update(JSON.parse(event.data)));
  stream.addEventListener("log", (event) => {
    const line = JSON.parse(event.data);
    if (line.phase === "run") bars.retire("trial");
    const stick = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.append(logLine(line));
    if (stick) log.scrollTop = log.scrollHeight;
  });
  stream.addEventListener("end", (event) => {
    stream.close();
    streamState.textContent = `ended: ${event.data}`;
    load();
  });
  stream.onerror = () => {
    if (stream.readyState === EventSource.CLOSED) streamState.textContent = "disconnected";
    else streamState.textContent = "reconnecting…";
  };

  $view().replaceChildren(h("h1", {}, "Evaluation ", h("code", {}, id)), header, message,
    bars.element, h("h2", {}, "Log ", streamState), log, h("h2", {}, "Result"), outcome,
    h("h2", {}, "Findings"), findings, h("h2", {}, "Script"), source.element,
    h("h2", {}, "Timeline"), timeline);
  load();
  source.load();
  every(POLL_MS, async () => {
    if (TERMINAL.has(status)) return;
    const now = await api(`/evaluations/${id}/status`).catch(() => null);
    if (now && now.status !== status) load();
  });
}

// ---------- submit ----------

async function viewSubmit() {
  const model = h("select", { name: "model_id", required: true });
  const timeout = h("input", { type: "number", name: "timeout_s", value: 300, min: 1, max: 86400 });
  // Dataset versions (name@version) for a data script, evaluate_model(model, data): several
  // may be chosen (Ctrl/Cmd-click); only ready versions can be mounted.
  const datasets = h("select", { name: "datasets", multiple: true, size: 4, id: "datasets" });
  const chosen = () => [...datasets.selectedOptions].map((o) => o.value);
  const script = h("textarea", { class: "code", name: "script", spellcheck: "false" });
  script.value = sessionStorage.getItem("evalpod.draft") || EXAMPLE;
  script.addEventListener("input", () => sessionStorage.setItem("evalpod.draft", script.value));
  const findings = h("div", { id: "findings" });
  const message = h("div");
  const body = () => ({ model_id: model.value, script: script.value,
    config: { timeout_s: Number(timeout.value) },
    ...(chosen().length ? { datasets: chosen() } : {}) });
  const goToLine = (line) => {
    const lines = script.value.split("\n");
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    script.focus();
    script.setSelectionRange(start, start + (lines[line - 1] || "").length);
  };
  const check = async () => {
    message.replaceChildren();
    try {
      const verdict = await api("/evaluations/validate?deep=true", { method: "POST", body: body() });
      findings.replaceChildren(
        h("p", { class: verdict.valid ? "ok" : "error", id: "verdict" }, verdict.valid ? "Valid: no blocking findings." : "Not valid."),
        findingList([...verdict.errors, ...(verdict.warnings || [])], goToLine));
    } catch (error) {
      findings.replaceChildren(errorBox(error));
    }
  };
  const form = h("form", { onsubmit: async (event) => {
    event.preventDefault();
    message.replaceChildren();
    try {
      const accepted = await api("/evaluations", { method: "POST", body: body() });
      sessionStorage.removeItem("evalpod.draft");
      location.hash = `#/evaluations/${accepted.evaluation_id}`;
    } catch (error) {
      message.replaceChildren(errorBox(error));
    }
  } },
  h("div", { class: "row" }, h("label", {}, "Model", model), h("label", {}, "Timeout (s)", timeout),
    h("label", {}, "Datasets", datasets)),
  h("label", {}, "Script", script), h("p"),
  h("div", { class: "row" }, h("button", { type: "button", class: "secondary", id: "check", onclick: check }, "Check"),
    h("button", { type: "submit", id: "submit" }, "Submit")), message, findings);
  $view().replaceChildren(h("h1", {}, "Submit a script"), form);
  try {
    const page = await api("/models?limit=200");
    model.replaceChildren(...page.items.map((m) => h("option", { value: m.id }, `${m.name} (${m.stage})`)));
    const mine = await api("/datasets?limit=200");
    const refs = mine.items.flatMap((d) => d.versions.filter((v) => v.status === "ready")
      .map((v) => `${d.name}@${v.version}`));
    datasets.replaceChildren(...refs.map((ref) => h("option", { value: ref }, ref)));
    datasets.disabled = !refs.length;
    datasets.title = refs.length ? "For evaluate_model(model, data): Ctrl/Cmd-click for several"
      : "No ready dataset versions yet (evalpod datasets upload)";
  } catch (error) {
    message.replaceChildren(errorBox(error));
  }
}

// ---------- models ----------

async function viewModels() {
  const body = h("tbody");
  $view().replaceChildren(h("h1", {}, "Models"), scrolling(h("table", {}, h("thead", {}, h("tr", {},
    ["Name", "Stage", "Family", "Parent", "Parameters", "Updated"].map((t) => h("th", {}, t)))), body)));
  const page = await api("/models?limit=200");
  body.replaceChildren(...page.items.map((m) => h("tr", {},
    h("td", {}, h("a", { href: `#/models/${encodeURIComponent(m.id)}` }, clipped(m.name))), h("td", {}, m.stage),
    h("td", {}, m.family || ""), h("td", {}, m.parent_id ? clipped(m.parent_id) : ""), h("td", { class: "num" }, metricText(m.parameters)),
    h("td", {}, when(m.updated_at)))));
}

async function viewModel(id) {
  const mine = generation;
  const m = await api(`/models/${encodeURIComponent(id)}`);
  if (stale(mine)) return;
  const ref = (r) => h("a", { href: `#/models/${encodeURIComponent(r.id)}` }, `${r.name} (${r.stage})`);
  $view().replaceChildren(h("h1", {}, m.name, " ", h("span", { class: "status" }, m.stage)),
    h("p", { class: "muted" }, `${m.family || "unknown family"} · ${m.parameters === null || m.parameters === undefined ? "?" : metricText(m.parameters)} parameters · ${m.dtype || ""}`),
    h("h2", {}, "Lineage"),
    h("p", {}, "Parents: ", m.parents.length ? m.parents.map(ref).flatMap((a, i) => (i ? [" ← ", a] : [a])) : "none"),
    h("p", {}, "Children: ", m.children.length ? m.children.map(ref).flatMap((a, i) => (i ? [", ", a] : [a])) : "none"),
    h("h2", {}, "Stage history"),
    m.stage_history.length ? h("ol", { class: "timeline" }, m.stage_history.map((s) => h("li", {},
      h("span", { class: "muted" }, when(s.at)), ` ${s.from_stage} → ${s.to_stage} by ${s.actor}: ${s.reason}`)))
      : h("p", { class: "muted" }, "Never promoted."),
    h("h2", {}, "Your evaluations"),
    h("ul", {}, m.evaluations.map((e) => h("li", {}, h("a", { href: `#/evaluations/${e.evaluation_id}` }, e.evaluation_id),
      " ", statusBadge(e.status), " ", metricsSummary(e.metrics || {})))));
}

// ---------- activity ----------

// Completion and failure are worth a notification; a cancel is the user's own doing.
const NOTIFY = new Set(["succeeded", "failed", "killed", "validation_failed"]);
let seenActivity = null;  // the newest event id already considered for a notification

async function pollActivity() {
  if (!me || document.hidden || Date.now() < quietUntil) return;
  let page;
  try {
    page = await api("/activity?limit=20");
  } catch {
    return;
  }
  const badge = document.getElementById("unread");
  badge.hidden = !page.unread_count;
  badge.textContent = String(page.unread_count);
  const newest = page.items.length ? page.items[0].id : 0;
  if (seenActivity !== null && "Notification" in window && Notification.permission === "granted") {
    for (const item of page.items.filter((i) => i.id > seenActivity).reverse()) {
      if (item.entity_type === "evaluation" && NOTIFY.has(item.data.status)) {
        new Notification(`evalpod: evaluation ${item.data.status}`, { body: item.entity_id, tag: item.entity_id });
      }
    }
  }
  seenActivity = Math.max(seenActivity || 0, newest);
}

// An activity row's entity as a person names it: a link to an evaluation or model page,
// a benchmark's leaderboard (name@version), a dataset as name or name@version. Rows written
// before their payload had a name show the id.
function entityCell(i) {
  const d = i.data || {};
  const named = d.name ? (d.version !== undefined && d.version !== null ? `${d.name}@${d.version}` : d.name) : null;
  const link = (href, text) => h("a", { href }, clipped(text));
  if (i.entity_type === "evaluation") return link(`#/evaluations/${i.entity_id}`, i.entity_id);
  if (i.entity_type === "model") return link(`#/models/${encodeURIComponent(i.entity_id)}`, d.name || i.entity_id);
  if (i.entity_type === "benchmark" && named) return link(`#/benchmarks/${encodeURIComponent(named)}`, `benchmark ${named}`);
  return clipped(`${i.entity_type} ${named || i.entity_id}`, named ? { title: `${i.entity_type} ${named} (${i.entity_id})` } : {});
}

async function viewActivity() {
  const list = h("tbody");
  const notify = h("button", { type: "button", class: "secondary", onclick: async () => {
    await Notification.requestPermission();
    notify.hidden = Notification.permission !== "default";
  } }, "Notify me when evaluations finish");
  notify.hidden = !("Notification" in window) || Notification.permission !== "default";
  const markAll = h("button", { type: "button", onclick: async () => {
    await api("/activity/read", { method: "POST", body: { all: true } });
    await render(); pollActivity();
  } }, "Mark all read");
  $view().replaceChildren(h("h1", {}, "Activity"), h("div", { class: "row" }, markAll, notify),
    scrolling(h("table", {}, h("thead", {}, h("tr", {}, ["When", "Event", "Entity", "Actor", ""].map((t) => h("th", {}, t)))), list)));
  const render = async () => {
    const page = await api("/activity?limit=100");
    list.replaceChildren(...page.items.map((i) => h("tr", {},
      h("td", { class: "when" }, when(i.created_at)), h("td", {}, i.read_at ? i.event_type : h("strong", {}, i.event_type)),
      h("td", {}, entityCell(i)),
      h("td", {}, clipped(i.actor)), h("td", {}, i.data.status || ""))));
  };
  await render();
}

// ---------- benchmarks ----------

async function viewBenchmarks() {
  const body = h("tbody");
  $view().replaceChildren(h("h1", {}, "Benchmarks"), scrolling(h("table", { id: "benchmarks" }, h("thead", {}, h("tr", {},
    ["Name", "Version", "Kind", "Primary metric", "Created"].map((t) => h("th", {}, t)))), body)));
  const benchmarks = await api("/benchmarks");
  body.replaceChildren(...benchmarks.map((b) => h("tr", {},
    h("td", {}, h("a", { href: `#/benchmarks/${encodeURIComponent(`${b.name}@${b.version}`)}` }, b.name)),
    h("td", {}, b.version), h("td", {}, b.kind),
    h("td", {}, `${b.primary_metric} (${b.direction} is better)`), h("td", {}, when(b.created_at)))));
  if (!benchmarks.length) body.replaceChildren(h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No benchmarks yet.")));
}

// The name of metric m's standard error among a result's metrics: "accuracy_stderr", or
// lm-eval's "acc_stderr,none" for "acc,none".
function stderrName(m) {
  const comma = m.indexOf(",");
  return comma < 0 ? `${m}_stderr` : `${m.slice(0, comma)}_stderr${m.slice(comma)}`;
}

// A name that may be long ("squad_v2/exact_match,none"), with line breaks allowed after
// its separators only: a narrow column wraps it at a word, never inside one.
const breakable = (name) => name.split(/(?<=[/_,.:-])/).flatMap((part, i) => (i ? [h("wbr"), part] : [part]));

// An evaluation's metrics in a line: "accuracy 0.75 ± 0.01235 · n_questions 25".
function metricsSummary(metrics) {
  const names = Object.keys(metrics);
  const errors = new Set(names.map(stderrName).filter((e) => e in metrics));
  return h("span", { class: "metrics" }, names.filter((m) => !errors.has(m)).sort().flatMap((m, i) => [
    i ? " · " : "", h("span", { class: "muted" }, m), " ", metricText(metrics[m]),
    stderrName(m) in metrics ? ` ± ${metricText(metrics[stderrName(m)])}` : ""]));
}

async function viewLeaderboard(name) {
  const mine = generation;
  const board = await api(`/benchmarks/${encodeURIComponent(name)}/leaderboard`);
  if (stale(mine)) return;
  const names = new Set(board.rows.flatMap((r) => Object.keys(r.metrics)));
  // A metric's standard error is shown with it ("0.5 ± 0.01"), not as a column of its own;
  // the primary metric's has its column, "± stderr".
  const errors = new Set([...names].map(stderrName).filter((e) => names.has(e)));
  const metrics = [...names].filter((m) => m !== board.primary_metric && !errors.has(m)).sort();
  const withError = (value, error) => [metricText(value),
    error === null || error === undefined ? "" : h("span", { class: "muted" }, ` ± ${metricText(error)}`)];
  const number = (...children) => h("td", { class: "num" }, ...children);
  const head = ["Rank", "Model", board.primary_metric, "±\u00a0stderr", ...metrics, "Evaluation", "Finished"];
  $view().replaceChildren(h("h1", {}, "Leaderboard ", h("code", {}, board.benchmark)),
    h("p", { class: "muted" }, `Ranked by ${board.primary_metric}, ${board.direction} is better; `
      + "each model's latest succeeded run."),
    h("div", { class: "table-scroll" }, h("table", { id: "leaderboard" }, h("thead", {}, h("tr", {},
      head.map((t, i) => h("th", { class: i === 1 || i >= head.length - 2 ? "" : "num", title: t }, breakable(t))))),
    h("tbody", {}, board.rows.map((r) => h("tr", { "data-model": r.model_id },
      number(r.rank ?? "–"),
      h("td", {}, h("a", { href: `#/models/${encodeURIComponent(r.model_id)}` }, clipped(r.model_id))),
      h("td", { class: "num score" }, metricText(r.score)), number(metricText(r.stderr)),
      metrics.map((m) => number(withError(r.metrics[m], r.metrics[stderrName(m)]))),
      h("td", {}, h("a", { href: `#/evaluations/${r.evaluation_id}` }, clipped(r.evaluation_id, { class: "clip id" }))),
      h("td", {}, when(r.finished_at))))))),
    board.rows.length ? "" : h("p", { class: "muted" }, "No finished runs yet."));
}

// ---------- router ----------

async function route() {
  cleanup.forEach((f) => f());
  cleanup = [];
  const mine = ++generation;
  const [path, query = ""] = location.hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  if (!parts.length) {
    redirect("#/evaluations");  // every page has its route in the address bar
    return;
  }
  if (me && parts[0] === "signin") {
    redirect("#/evaluations");  // Back to the form while signed in: nothing to do there
    return;
  }
  if (!me && parts[0] !== "signin") {
    if (!maybeSignedIn()) {
      signedOut();
      return;
    }
    try {
      signedIn(await api("/session"));
    } catch {
      signedOut();
      return;
    }
    if (stale(mine)) return;
  }
  try {
    if (parts[0] === "signin") viewSignin();
    else if (parts[0] === "evaluations" && parts[1]) viewEvaluation(parts[1]);
    else if (parts[0] === "submit") await viewSubmit();
    else if (parts[0] === "models" && parts[1]) await viewModel(parts[1]);
    else if (parts[0] === "models") await viewModels();
    else if (parts[0] === "activity") await viewActivity();
    else if (parts[0] === "benchmarks" && parts[1]) await viewLeaderboard(parts[1]);
    else if (parts[0] === "benchmarks") await viewBenchmarks();
    else viewEvaluations(new URLSearchParams(query));
  } catch (error) {
    if (error.status !== 401 && !stale(mine)) $view().replaceChildren(errorBox(error));
  }
}

document.getElementById("signout").addEventListener("click", async () => {
  try {
    await api("/session", { method: "DELETE" });
  } finally {
    signedOut();
    afterSignin = null;  // the next to sign in starts at the evaluations, not this page
  }
});
window.addEventListener("hashchange", route);
setInterval(pollActivity, ACTIVITY_POLL_MS);
route();
