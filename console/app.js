// reelay console: one plain script, no build step. It talks to the same API as every client:
// /api/open-api/v1 with an API key, /admin/v1 with the admin token. The token lives in
// sessionStorage only. Every node is built with h() (no innerHTML), so server text is never HTML.
"use strict";

const API = "/api/open-api/v1";
const ADMIN = "/admin/v1";
const store = window.sessionStorage;
let timers = [];
let streams = [];

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
const $ = (sel) => document.querySelector(sel);
const token = () => store.getItem("reelay.token");
const role = () => store.getItem("reelay.role");
const fmtTime = (s) => (s ? new Date(s * 1000).toLocaleString() : "");

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.msg) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.code;
    this.param = body && body.data && body.data.param;
  }
}

async function call(method, path, body, base) {
  const headers = { Authorization: `Bearer ${token()}` };
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) { headers["Content-Type"] = "application/json"; payload = JSON.stringify(body); }
  const res = await fetch((base === undefined ? API : base) + path, { method, headers, body: payload });
  let json = null;
  try { json = await res.json(); } catch (_) { /* not JSON */ }
  if (!res.ok || !json || (json.code !== 0 && json.code !== "20000")) throw new ApiError(res.status, json);
  return json.data;
}
const api = (method, path, body) => call(method, path, body, API);
const admin = (method, path, body) => call(method, path, body, ADMIN);

function stopLive() {
  timers.forEach(clearInterval); timers = [];
  streams.forEach((c) => c.abort()); streams = [];
}

// ---- sign in -------------------------------------------------------------------------------

async function signIn(event) {
  event.preventDefault();
  const value = $("#token").value.trim();
  $("#signin-error").textContent = "";
  store.setItem("reelay.token", value);
  try {
    await api("GET", "/account");
    store.setItem("reelay.role", "user");
  } catch (_) {
    try {
      await admin("GET", "/channels");
      store.setItem("reelay.role", "admin");
    } catch (e) {
      store.removeItem("reelay.token");
      $("#signin-error").textContent = "Sign in failed: neither a valid API key nor the admin token.";
      $("#token").focus();
      return;
    }
  }
  $("#token").value = "";
  location.hash = role() === "admin" ? "#/operator" : "#/playground";
  route();
}

function signOut() {
  store.removeItem("reelay.token");
  store.removeItem("reelay.role");
  location.hash = "#/";
  route();
}

// ---- router --------------------------------------------------------------------------------

function route() {
  stopLive();
  const signedIn = !!token();
  $("#signin-view").hidden = signedIn;
  $("#nav").hidden = !signedIn;
  const view = $("#view");
  view.replaceChildren();
  if (!signedIn) { $("#token").focus(); return; }
  for (const a of document.querySelectorAll("#nav a")) {
    a.hidden = a.dataset.role !== role();
    if (location.hash.startsWith(a.getAttribute("href"))) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const parts = location.hash.replace(/^#\/?/, "").split("/");
  const page = parts[0] || (role() === "admin" ? "operator" : "playground");
  const pages = role() === "admin"
    ? { operator: showOperator }
    : { playground: showPlayground, tasks: parts[1] ? () => showTask(parts[1]) : showTasks, account: showAccount };
  const show = pages[page] || (() => view.append(h("p", {}, "No such page.")));
  Promise.resolve(show(view)).catch((e) => view.append(h("p", { class: "error", role: "alert" }, e.message)));
}

// ---- playground ----------------------------------------------------------------------------

let models = [];

function fieldBox(name, label, control, hint) {
  return h("div", { class: "field", "data-field": name },
    h("label", { for: `f-${name}` }, label), control,
    hint ? h("p", { class: "hint", id: `hint-${name}` }, hint) : null,
    h("p", { class: "error", id: `err-${name}`, role: "alert" }));
}

function options(values, selected) {
  return values.map((v) => h("option", { value: v, selected: String(v) === String(selected) }, v));
}

async function showPlayground(view) {
  const data = await api("GET", "/models");
  models = data.items;
  const form = h("form", { class: "card", id: "playground", novalidate: true });
  const modelSelect = h("select", { id: "f-model", name: "model" },
    options(models.map((m) => m.model), models[0] && models[0].model));
  form.append(h("h2", {}, "Playground"), fieldBox("model", "Model", modelSelect),
    h("div", { id: "model-fields" }),
    h("p", { class: "quote", id: "quote", "aria-live": "polite" }),
    h("p", { class: "error", id: "form-error", role: "alert" }),
    h("button", { type: "submit", id: "create" }, "Create video"));
  view.append(form);
  modelSelect.addEventListener("change", () => { renderModelFields(); requote(); });
  form.addEventListener("input", requote);
  form.addEventListener("change", requote);
  form.addEventListener("submit", createTask);
  renderModelFields();
  requote();
}

function currentModel() {
  return models.find((m) => m.model === $("#f-model").value);
}

function mediaField(name, label, kind, max) {
  const input = h("input", { type: "text", id: `f-${name}`, name, "aria-describedby": `hint-${name}` });
  const file = h("input", { type: "file", id: `file-${name}`, accept: `${kind}/*`, multiple: max > 1 });
  const drop = h("div", { class: "drop" },
    h("label", { for: `file-${name}`, class: "inline" }, `Upload ${kind} as an asset (or drop files here)`), " ", file,
    h("p", { class: "hint", id: `up-${name}`, "aria-live": "polite" }));
  const upload = (files) => [...files].forEach((f) => uploadAsset(f, kind, input, $(`#up-${name}`)));
  file.addEventListener("change", () => upload(file.files));
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); upload(e.dataTransfer.files); });
  const box = fieldBox(name, label, input, max > 1 ? `Up to ${max}, separated by spaces: https URLs or asset://ids.` : "An https URL or asset://id.");
  box.append(drop);
  return box;
}

async function uploadAsset(file, kind, input, status) {
  status.textContent = `Uploading ${file.name}…`;
  const form = new FormData();
  form.append("name", file.name);
  form.append("type", kind);
  form.append("file", file);
  try {
    const data = await api("POST", "/seedance/sp/assets/upload", form);
    const ref = `asset://${data.asset_id}`;
    input.value = (input.value.trim() + " " + ref).trim();
    status.textContent = `${file.name}: ${data.asset_id}, checking…`;
    for (let i = 0; i < 120; i++) {
      const d = await api("POST", "/seedance/sp/assets/detail", { asset_id: data.asset_id });
      if (d.status !== "Processing") {
        status.textContent = `${file.name}: ${d.status}${d.reason ? " — " + d.reason : ""}`;
        break;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    requote();
  } catch (e) {
    status.textContent = `${file.name}: ${e.message}`;
  }
}

function renderModelFields() {
  const m = currentModel();
  const box = $("#model-fields");
  box.replaceChildren();
  if (!m) return;
  const durations = [];
  for (let d = m.duration.min; d <= m.duration.max; d++) durations.push(d);
  box.append(
    fieldBox("prompt", "Prompt", h("textarea", { id: "f-prompt", name: "prompt", maxlength: m.prompt_max_chars, required: true }),
      `Up to ${m.prompt_max_chars} characters.`),
    h("div", { class: "row" },
      fieldBox("duration", "Duration (seconds)", h("select", { id: "f-duration", name: "duration" }, options(durations, m.duration.default))),
      fieldBox("resolution", "Resolution", h("select", { id: "f-resolution", name: "resolution", disabled: m.resolution.fixed },
        options(m.resolution.allowed, m.resolution.default)), m.resolution.fixed ? "Fixed for this model." : null),
      m.ratios.length ? fieldBox("ratio", "Aspect ratio", h("select", { id: "f-ratio", name: "ratio" }, options(m.ratios, m.ratios.includes("16:9") ? "16:9" : m.ratios[0]))) : null),
    h("p", { class: "muted" }, `Billing ${m.billing}; prices (credits): `,
      Object.entries(m.prices).map(([r, c]) => `${r} ${c}`).join(", ")));
  if (m.images && m.images.max > 0) box.append(mediaField("images", "Images", "image", m.images.max));
  if (m.reference_videos) box.append(mediaField("reference_videos", "Reference videos", "video", m.reference_videos.max));
  if (m.reference_audios) box.append(mediaField("reference_audios", "Reference audios", "audio", m.reference_audios.max));
}

function formBody() {
  const m = currentModel();
  const body = { model: m.model };
  const val = (n) => { const el = $(`#f-${n}`); return el && !el.disabled ? el.value.trim() : ""; };
  if (val("prompt")) body.prompt = val("prompt");
  if (val("duration")) body.duration = Number(val("duration"));
  if (val("resolution")) body.resolution = val("resolution");
  if (val("ratio")) body.ratio = val("ratio");
  for (const n of ["images", "reference_videos", "reference_audios"]) {
    const list = val(n).split(/\s+/).filter(Boolean);
    if (list.length) body[n] = list;
  }
  return body;
}

function clearErrors() {
  document.querySelectorAll("#playground .error").forEach((e) => { e.textContent = ""; });
  document.querySelectorAll("#playground [aria-invalid]").forEach((e) => e.removeAttribute("aria-invalid"));
}

function showError(e) {
  const name = (e.param || "").replace(/\[.*$/, "");
  const slot = name && $(`#err-${name}`);
  if (slot) {
    slot.textContent = e.message;
    const input = $(`#f-${name}`);
    if (input) input.setAttribute("aria-invalid", "true");
  } else {
    $("#form-error").textContent = e.message;
  }
}

let quoteTimer = null;
let quoteSeq = 0;
function requote() {
  clearTimeout(quoteTimer);
  quoteTimer = setTimeout(async () => {
    if (!$("#playground")) return;
    const seq = ++quoteSeq;
    const body = formBody();
    if (!body.prompt) body.prompt = "price check";
    try {
      const q = await api("POST", "/seedance/videos/quote", body);
      if (seq !== quoteSeq) return;
      clearErrors();
      $("#quote").textContent = `Price: ${q.credits} credits (${q.unit === "per_second" ? `${q.seconds} s, per second` : "per task"})`;
    } catch (e) {
      if (seq !== quoteSeq) return;
      clearErrors();
      $("#quote").textContent = "Price: —";
      showError(e);
    }
  }, 250);
}

async function createTask(event) {
  event.preventDefault();
  clearErrors();
  const button = $("#create");
  button.disabled = true;
  try {
    const data = await api("POST", "/seedance/videos", formBody());
    location.hash = `#/tasks/${data.task_id}`;
  } catch (e) {
    showError(e);
    button.disabled = false;
  }
}

// ---- tasks ---------------------------------------------------------------------------------

const terminal = (t) => t.status === "completed" || t.status === "failed";

async function showTasks(view) {
  const tbody = h("tbody", { id: "task-rows" });
  view.append(h("section", { class: "card" }, h("h2", {}, "Tasks"),
    h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Task"), h("th", { scope: "col" }, "Status"),
        h("th", { scope: "col" }, "Progress"), h("th", { scope: "col" }, "Model"), h("th", { scope: "col" }, "Cost"),
        h("th", { scope: "col", class: "hide-phone" }, "Created"))),
      tbody))));
  const refresh = async () => {
    const data = await api("GET", "/videos?limit=50");
    tbody.replaceChildren(...data.items.map((t) => h("tr", { "data-task": t.task_id },
      h("td", {}, h("a", { href: `#/tasks/${t.task_id}` }, t.task_id)),
      h("td", { class: `status-${t.status}` }, t.status),
      h("td", {}, h("progress", { max: 100, value: t.progress, "aria-label": `progress of ${t.task_id}` }), ` ${t.progress}%`),
      h("td", {}, t.model),
      h("td", {}, `${t.cost.credits}${t.cost.refunded ? " (refunded)" : ""}`),
      h("td", { class: "hide-phone" }, fmtTime(t.created_at)))));
    if (!data.items.length) tbody.append(h("tr", {}, h("td", { colspan: 6 }, "No tasks yet: try the playground.")));
  };
  await refresh();
  timers.push(setInterval(() => refresh().catch(() => {}), 2000));
}

// Reads `GET /videos/{id}/events` with fetch (EventSource cannot send the Authorization header).
async function followTask(id, onTask) {
  const controller = new AbortController();
  streams.push(controller);
  const res = await fetch(`${API}/videos/${id}/events`, { headers: { Authorization: `Bearer ${token()}` }, signal: controller.signal });
  if (!res.ok || !res.body) throw new Error(`events: HTTP ${res.status}`);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      let data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5).replace(/^ /, "");
      }
      if (event === "task" && data) onTask(JSON.parse(data));
    }
  }
}

function curlFor(task) {
  const body = Object.assign({ model: task.model }, task.request || {});
  const quoted = JSON.stringify(body).replace(/'/g, "'\\''");
  return `curl -sS -X POST '${location.origin}${API}/seedance/videos' \\\n  -H "Authorization: Bearer $REELAY_API_KEY" \\\n  -H 'Content-Type: application/json' \\\n  -d '${quoted}'`;
}

async function showTask(id, view) {
  view = view || $("#view");
  const box = h("section", { class: "card", id: "task" });
  view.append(h("p", {}, h("a", { href: "#/tasks" }, "← All tasks")), box);
  let shownVideo = null;
  const render = (t) => {
    const r = t.result;
    const parts = [
      h("h2", {}, `Task ${t.task_id}`),
      h("p", {}, "Status: ", h("strong", { id: "task-status", class: `status-${t.status}` }, t.status), " · ",
        h("progress", { max: 100, value: t.progress, "aria-label": "progress" }), ` ${t.progress}% · `,
        `model ${t.model} · cost ${t.cost.credits} credits${t.cost.refunded ? " (refunded)" : ""}`),
      t.error_message ? h("p", { class: "error", id: "task-error", role: "alert" }, `Error: ${t.error_message}`) : null,
    ];
    if (r && r.video_url) {
      parts.push(h("video", { id: "player", controls: true, preload: "metadata", src: r.video_url, playsinline: true,
        "aria-label": `result video of ${t.task_id}` }));
      parts.push(h("p", {}, h("a", { href: r.video_url, download: `${t.task_id}.mp4`, id: "download" }, "Download MP4"),
        ` · ${r.width}×${r.height}, ${r.duration} s, ${r.fps} fps, ${r.size_bytes} bytes, expires ${r.expires_at ? fmtTime(r.expires_at) : "never"}`));
      if (r.last_frame_url) parts.push(h("p", {}, "Last frame:"), h("img", { class: "preview", src: r.last_frame_url, alt: "last frame of the video" }));
    } else if (r && r.expired) {
      parts.push(h("p", {}, "The result expired and was deleted."));
    }
    const curl = curlFor(t);
    parts.push(h("h3", {}, "Request"), h("pre", { id: "task-request" }, JSON.stringify(t.request, null, 2)),
      h("h3", {}, "Copy as curl"), h("pre", { id: "curl" }, curl),
      h("button", { type: "button", class: "secondary", onclick: (e) => copy(curl, e.target) }, "Copy curl"));
    if (!terminal(t)) parts.push(h("button", { type: "button", class: "danger", onclick: () => api("POST", `/videos/${t.task_id}/cancel`).catch((e) => alert(e.message)) }, "Cancel task"));
    // Keep the player (and its playback position) when a later event repeats the same result.
    const old = shownVideo && box.querySelector("#player");
    box.replaceChildren(...parts.filter(Boolean));
    if (old && r && r.video_url === shownVideo) box.querySelector("#player").replaceWith(old);
    shownVideo = r && r.video_url;
  };
  const t = await api("GET", `/videos/${id}`);
  render(t);
  if (!terminal(t)) {
    followTask(id, render).catch(() => {
      // Fall back to polling when the stream cannot be read.
      const timer = setInterval(async () => {
        const next = await api("GET", `/videos/${id}`);
        render(next);
        if (terminal(next)) clearInterval(timer);
      }, 2000);
      timers.push(timer);
    });
  }
}

async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
  } catch (_) {
    const sel = window.getSelection();
    const range = document.createRange();
    range.selectNodeContents($("#curl"));
    sel.removeAllRanges();
    sel.addRange(range);
    button.textContent = "Selected: press Ctrl+C";
  }
}

// ---- account -------------------------------------------------------------------------------

async function showAccount(view) {
  const [a, ledger] = await Promise.all([api("GET", "/account"), api("GET", "/account/ledger?limit=50")]);
  view.append(h("section", { class: "card" }, h("h2", {}, "Account"),
    h("p", {}, `${a.name} (${a.account_id})`),
    h("p", { class: "quote" }, "Balance: ", h("span", { id: "balance" }, a.balance), " credits"),
    h("p", {}, `Spent in all: ${a.spent_total} credits · webhook secret ${a.webhook_secret_set ? "set" : "not set"}`)),
  h("section", { class: "card" }, h("h2", {}, "Ledger"), h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, ["When", "Kind", "Credits", "Task", "Balance after"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", { id: "ledger" }, ledger.items.map((e) => h("tr", {},
      h("td", {}, fmtTime(e.at)), h("td", {}, e.kind), h("td", {}, e.credits > 0 ? `+${e.credits}` : e.credits),
      h("td", {}, e.task_id ? h("a", { href: `#/tasks/${e.task_id}` }, e.task_id) : ""), h("td", {}, e.balance_after))))))));
}

// ---- operator ------------------------------------------------------------------------------

function preview(item) {
  if (!item.preview_url) return h("p", { class: "muted" }, "No preview.");
  if (item.type === "video") return h("video", { src: item.preview_url, controls: true, preload: "metadata", "aria-label": `preview of ${item.name}` });
  if (item.type === "audio") return h("audio", { src: item.preview_url, controls: true, "aria-label": `preview of ${item.name}` });
  return h("img", { class: "preview", src: item.preview_url, alt: `preview of ${item.name}` });
}

async function showOperator(view) {
  const reviews = h("div", { class: "reviews", id: "reviews" });
  const channels = h("tbody", { id: "channels" });
  view.append(h("section", { class: "card" }, h("h2", {}, "Pending reviews"),
    h("p", { class: "hint" }, "Asset audits and real-person submissions waiting for a person."), reviews),
  h("section", { class: "card" }, h("h2", {}, "Channels"), h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, ["Channel", "Provider", "Health", "In flight", "Error rate", ""].map((c) => h("th", { scope: "col" }, c)))),
    channels))));
  const loadReviews = async () => {
    const data = await admin("GET", "/reviews");
    reviews.replaceChildren(...data.items.map((item) => {
      const id = item.asset_id;
      const reason = h("input", { type: "text", id: `reason-${id}` });
      const status = h("p", { class: "error", role: "alert" });
      const decide = async (verb) => {
        try {
          await admin("POST", `/reviews/${id}/${verb}`, verb === "reject" ? { reason: reason.value } : {});
          await loadReviews();
        } catch (e) { status.textContent = e.message; }
      };
      return h("article", { class: "card", "data-review": id },
        h("h3", {}, `${item.name} `, h("span", { class: "muted" }, `(${item.purpose}, ${item.type})`)),
        preview(item),
        h("p", { class: "muted" }, `${id} · account ${item.account_id} · ${fmtTime(item.created_at)}`),
        h("label", { for: `reason-${id}` }, "Reason (needed to reject)"), reason, status,
        h("button", { type: "button", "data-approve": id, onclick: () => decide("approve") }, "Approve"),
        h("button", { type: "button", class: "danger", "data-reject": id, onclick: () => decide("reject") }, "Reject"));
    }));
    if (!data.items.length) reviews.append(h("p", { id: "no-reviews" }, "Nothing waits for review."));
  };
  const loadChannels = async () => {
    const data = await admin("GET", "/channels");
    channels.replaceChildren(...data.items.map((c) => {
      const health = c.health || {};
      const paused = !!health.paused;
      return h("tr", { "data-channel": c.name },
        h("td", {}, c.name), h("td", {}, c.provider),
        h("td", {}, paused ? "paused" : `breaker ${health.breaker}`),
        h("td", {}, `${c.in_flight}${c.max_concurrency ? ` / ${c.max_concurrency}` : ""}`),
        h("td", {}, `${Math.round((health.recent_error_rate || 0) * 100)}% of ${health.recent_calls || 0}`),
        h("td", {}, h("button", { type: "button", class: "secondary", onclick: async () => {
          await admin("POST", `/channels/${encodeURIComponent(c.name)}/${paused ? "resume" : "pause"}`).catch((e) => alert(e.message));
          await loadChannels();
        } }, paused ? `Resume ${c.name}` : `Pause ${c.name}`)));
    }));
  };
  await Promise.all([loadReviews(), loadChannels()]);
  timers.push(setInterval(() => loadChannels().catch(() => {}), 5000));
}

// ---- start ---------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("#signin-form").addEventListener("submit", signIn);
  $("#signout").addEventListener("click", signOut);
  window.addEventListener("hashchange", route);
  route();
});
