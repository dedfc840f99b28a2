// reelay console: plain scripts, no build step. It talks to the same API as every client:
// /api/open-api/v1 with an API key, /admin/v1 with the admin token. The token lives in
// sessionStorage only. Every node is built with h() (no innerHTML), so server text is never HTML.
// This file holds the shared pieces, sign-in, the router, the playground and the tasks; the
// account page is in account.js and the operator's pages in operator.js (plain scripts loaded
// after this one; they share its globals).
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

// Runs `fn` every `ms` while `view` is on the page; a page left while loading starts nothing.
function every(view, fn, ms) {
  if (!view.isConnected) return;
  const timer = setInterval(() => {
    if (view.isConnected) fn();
    else clearInterval(timer);
  }, ms);
  timers.push(timer);
}

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
  go(role() === "admin" ? "#/operator" : "#/playground");
}

function signOut() {
  store.removeItem("reelay.token");
  store.removeItem("reelay.role");
  go("#/");
}

// Shows `hash`: a change of hash routes by itself (hashchange); the same hash routes again.
function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

// ---- router --------------------------------------------------------------------------------

function route() {
  stopLive();
  const signedIn = !!token();
  $("#signin-view").hidden = signedIn;
  $("#nav").hidden = !signedIn;
  // Each route draws into a fresh container: a page still loading when the next route starts
  // draws into its detached container, never beside the new page.
  const view = h("div", { class: "page" });
  $("#view").replaceChildren(view);
  if (!signedIn) { $("#token").focus(); return; }
  // The current link is the longest one the hash starts with, at a "/" boundary.
  const hash = location.hash || "#/";
  let current = null;
  for (const a of document.querySelectorAll("#nav a")) {
    a.hidden = a.dataset.role !== role();
    a.removeAttribute("aria-current");
    const href = a.getAttribute("href");
    if (!a.hidden && (hash === href || hash.startsWith(href + "/"))
      && (!current || href.length > current.getAttribute("href").length)) current = a;
  }
  if (current) current.setAttribute("aria-current", "page");
  const parts = hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  const page = parts[0] || (role() === "admin" ? "operator" : "playground");
  const operatorPage = parts[1] !== "accounts" ? showOperator
    : parts[2] ? (v) => showAdminAccount(v, parts[2]) : showAccounts;
  const pages = role() === "admin"
    ? { operator: operatorPage }
    : { playground: showPlayground, tasks: parts[1] ? (v) => showTask(parts[1], v) : showTasks, account: showAccount };
  const show = pages[page] || (() => view.append(h("p", {}, "No such page.")));
  Promise.resolve(show(view))
    .catch((e) => view.append(h("p", { class: "error", role: "alert" }, e.message)))
    .then(() => {
      // Move focus to the new page's heading, so keyboard and screen-reader users start there.
      const heading = view.isConnected && view.querySelector("h2");
      if (heading && !view.contains(document.activeElement)) {
        heading.tabIndex = -1;
        heading.focus({ preventScroll: true });
      }
    });
}

// ---- shared pieces -------------------------------------------------------------------------

// A secret shown once (a new API key): the warning, the secret in a read-only field that is
// selected on focus, a copy button and a button to dismiss it. `onDone` runs after dismissal.
function secretBox(secret, what, onDone) {
  const field = h("input", { type: "text", id: "new-secret", readonly: true, value: secret, spellcheck: "false",
    autocomplete: "off", "aria-describedby": "new-secret-warning", onfocus: (e) => e.target.select() });
  const box = h("div", { class: "secret", id: "secret-box", tabindex: "-1" },
    h("h3", {}, `Secret of ${what}`),
    h("p", { id: "new-secret-warning", class: "warning" },
      "Copy it now: it is shown only this once. reelay keeps only a hash and cannot show it again. ",
      "Anyone holding it can spend this account's credits."),
    h("label", { for: "new-secret" }, "Secret"), field,
    h("button", { type: "button", id: "copy-secret", class: "secondary", onclick: (e) => copy(secret, e.target, field) }, "Copy secret"),
    h("button", { type: "button", id: "secret-done", onclick: () => { box.remove(); if (onDone) onDone(); } }, "I have stored it"));
  return box;
}

// A button that asks once more, in place (no modal dialog): `label` turns into `question` with
// a confirm and a cancel button. `attrs` go on the first button; `confirmAttrs` on the confirm.
function confirmButton(label, question, action, attrs, confirmAttrs) {
  const slot = h("span", { class: "confirm" });
  const ask = () => {
    const status = h("span", { class: "error", role: "alert" });
    const yes = h("button", Object.assign({ type: "button", class: "danger" }, confirmAttrs), `Yes, ${label.toLowerCase()}`);
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      try { await action(); } catch (e) { status.textContent = e.message; yes.disabled = false; }
    });
    const no = h("button", { type: "button", class: "secondary", onclick: () => { reset(); slot.querySelector("button").focus(); } }, "Cancel");
    slot.replaceChildren(h("span", { class: "question" }, question), " ", yes, no, status);
    yes.focus();
  };
  const reset = () => slot.replaceChildren(h("button", Object.assign({ type: "button", class: "danger", onclick: ask }, attrs), label));
  reset();
  return slot;
}

// Shows an API error next to the control it names (`#err-<name>`), or in `fallback`.
function fieldError(e, prefix, fallback) {
  const name = (e.param || "").replace(/\[.*$/, "");
  const slot = name && $(`#err-${prefix}${name}`);
  if (slot) {
    slot.textContent = e.message;
    const input = $(`#${prefix}${name}`);
    if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
  } else if (fallback) {
    fallback.textContent = e.message;
  }
}

function clearFieldErrors(form) {
  form.querySelectorAll(".error").forEach((e) => { e.textContent = ""; });
  form.querySelectorAll("[aria-invalid]").forEach((e) => e.removeAttribute("aria-invalid"));
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

// A media field: a text input for URLs or asset://ids and, when the model takes asset ids, a
// file input (also a drop zone) that uploads files as assets and adds their ids.
function mediaField(m, name, label, kind, max) {
  const forms = m.media_forms || ["https", "asset"];
  const takesAssets = forms.includes("asset");
  const what = forms.includes("https") ? (takesAssets ? "https URLs or asset://ids" : "https URLs") : "asset://ids";
  const hint = max > 1 ? `Up to ${max}, separated by spaces: ${what}.` : `One of: ${what}.`;
  const input = h("input", { type: "text", id: `f-${name}`, name, "aria-describedby": `hint-${name}` });
  const box = fieldBox(name, label, input, hint);
  if (!takesAssets) return box;
  const file = h("input", { type: "file", id: `file-${name}`, accept: `${kind}/*`, multiple: max > 1 });
  const drop = h("div", { class: "drop" },
    h("label", { for: `file-${name}`, class: "inline" },
      `Upload ${kind} as ${m.assets_audited ? "an audited asset" : "an asset"} (or drop files here)`), " ", file,
    h("ul", { class: "uploads", id: `up-${name}`, "aria-live": "polite" }));
  // One status line per file, each with its own outcome; a new choice starts a new list.
  const upload = (files) => {
    const list = $(`#up-${name}`);
    list.replaceChildren();
    [...files].slice(0, max).forEach((f) => {
      const line = h("li", {});
      list.append(line);
      uploadAsset(f, kind, input, line, max === 1, !!m.assets_audited);
    });
  };
  file.addEventListener("change", () => upload(file.files));
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); upload(e.dataTransfer.files); });
  box.append(drop);
  return box;
}

// Uploads one file (multipart) to the SP library, or to the Full-route audit for models that
// need audited assets, and reports on its own status line. Its asset://id goes into `input`
// only once the asset is Active: a file that failed (refused, or Failed after checking) leaves
// the field as it was.
async function uploadAsset(file, kind, input, status, single, audited) {
  const say = (text, failed) => { status.textContent = text; status.className = failed ? "error" : ""; };
  say(`Uploading ${file.name}…`);
  const form = new FormData();
  form.append("name", file.name);
  form.append("type", kind);
  form.append("file", file);
  try {
    const data = await api("POST", audited ? "/seedance/assets/audit" : "/seedance/sp/assets/upload", form);
    say(`${file.name}: ${data.asset_id}, checking…`);
    let d = data;
    for (let i = 0; i < 120 && d.status === "Processing"; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 1000));
      d = audited
        ? (await api("GET", `/seedance/assets/status?asset_ids=${encodeURIComponent(data.asset_id)}`)).items[0]
        : await api("POST", "/seedance/sp/assets/detail", { asset_id: data.asset_id });
      if (d.status === "Processing" && d.review === "pending") say(`${file.name}: ${data.asset_id} waits for an operator's review`);
    }
    const id = d.asset_id || data.asset_id;
    if (d.status === "Active") {
      const ref = `asset://${id}`;
      input.value = single ? ref : (input.value.trim() + " " + ref).trim();
      say(`${file.name}: ${id} Active`);
      requote();
    } else {
      say(`${file.name}: ${id} ${d.status}${d.reason ? " — " + d.reason : ""} (not added)`, d.status === "Failed");
    }
  } catch (e) {
    say(`${file.name}: upload failed — ${e.message} (not added)`, true);
  }
}

function checkField(name, label, checked, hint) {
  return h("div", { class: "field check", "data-field": name },
    h("input", { type: "checkbox", id: `f-${name}`, name, checked, "aria-describedby": hint ? `hint-${name}` : null }),
    h("label", { for: `f-${name}`, class: "inline" }, label),
    hint ? h("p", { class: "hint", id: `hint-${name}` }, hint) : null,
    h("p", { class: "error", id: `err-${name}`, role: "alert" }));
}

// The request fields beyond the seed's (API.md §2 ext): each shown only when the model takes it.
function optionFields(m) {
  return h("fieldset", { id: "options" }, h("legend", {}, "Options"),
    h("div", { class: "row" },
      fieldBox("seed", "Seed", h("input", { type: "number", id: "f-seed", name: "seed", min: -1, max: 4294967295, step: 1,
        inputmode: "numeric", placeholder: "random", "aria-describedby": "hint-seed" }),
      "-1 to 4294967295; empty or -1 picks one at random. The same seed and request give the same video."),
      fieldBox("callback_url", "Webhook URL", h("input", { type: "url", id: "f-callback_url", name: "callback_url",
        placeholder: "https://", "aria-describedby": "hint-callback_url" }),
      "Optional: reelay POSTs the finished task there, signed.")),
    m.audio_output ? checkField("generate_audio", "Generate audio", true, "A soundtrack made with the video.") : null,
    checkField("watermark", "Watermark", false, null),
    checkField("camera_fixed", "Fixed camera", false, "Keep the camera still."),
    checkField("return_last_frame", "Return the last frame", false, "Also keep the last frame as an image, e.g. to start the next clip."));
}

function renderModelFields() {
  const m = currentModel();
  const box = $("#model-fields");
  // Keep what the person typed when the new model has the same control.
  const kept = [...box.querySelectorAll("input:not([type=file]), textarea, select")].filter((el) => !el.disabled)
    .map((el) => [el.id, el.type === "checkbox" ? el.checked : el.value]);
  box.replaceChildren();
  if (!m) return;
  const durations = [];
  for (let d = m.duration.min; d <= m.duration.max; d++) durations.push(d);
  box.append(
    fieldBox("prompt", "Prompt", h("textarea", { id: "f-prompt", name: "prompt", maxlength: m.prompt_max_chars, required: true,
      "aria-describedby": "hint-prompt" }), `Up to ${m.prompt_max_chars} characters.`),
    h("div", { class: "row" },
      fieldBox("duration", "Duration (seconds)", h("select", { id: "f-duration", name: "duration" }, options(durations, m.duration.default))),
      fieldBox("resolution", "Resolution", h("select", { id: "f-resolution", name: "resolution", disabled: m.resolution.fixed,
        "aria-describedby": m.resolution.fixed ? "hint-resolution" : null },
        options(m.resolution.allowed, m.resolution.default)), m.resolution.fixed ? "Fixed for this model." : null),
      m.ratios.length ? fieldBox("ratio", "Aspect ratio", h("select", { id: "f-ratio", name: "ratio" }, options(m.ratios, m.ratios.includes("16:9") ? "16:9" : m.ratios[0]))) : null),
    h("p", { class: "muted" }, `Billing ${m.billing}; prices (credits): `,
      Object.entries(m.prices).map(([r, c]) => `${r} ${c}`).join(", ")));
  if (m.images && m.images.max > 0) box.append(mediaField(m, "images", "Images", "image", m.images.max));
  if (m.frames && m.frames !== "none") {
    box.append(h("fieldset", { id: "frames" }, h("legend", {}, "First and last frame"),
      h("p", { class: "hint" }, m.frames === "both_required"
        ? "Frame mode: this model needs both frames. Not combined with Images."
        : "Frame mode: a first frame alone, or both. Not combined with Images."),
      mediaField(m, "first_image", "First frame", "image", 1),
      mediaField(m, "last_image", "Last frame", "image", 1)));
  }
  if (m.reference_videos) box.append(mediaField(m, "reference_videos", "Reference videos", "video", m.reference_videos.max));
  if (m.reference_audios) box.append(mediaField(m, "reference_audios", "Reference audios", "audio", m.reference_audios.max));
  box.append(optionFields(m));
  for (const [id, value] of kept) {
    const el = id && document.getElementById(id);
    if (!el || el.disabled) continue;
    if (el.type === "checkbox") el.checked = value;
    else if (el.tagName !== "SELECT" || [...el.options].some((o) => o.value === value)) el.value = value;
  }
}

function formBody() {
  const m = currentModel();
  const body = { model: m.model };
  const val = (n) => { const el = $(`#f-${n}`); return el && !el.disabled ? el.value.trim() : ""; };
  const checked = (n) => { const el = $(`#f-${n}`); return el ? el.checked : null; };
  if (val("prompt")) body.prompt = val("prompt");
  if (val("duration")) body.duration = Number(val("duration"));
  if (val("resolution")) body.resolution = val("resolution");
  if (val("ratio")) body.ratio = val("ratio");
  for (const n of ["images", "reference_videos", "reference_audios"]) {
    const list = val(n).split(/\s+/).filter(Boolean);
    if (list.length) body[n] = list;
  }
  for (const n of ["first_image", "last_image", "callback_url"]) if (val(n)) body[n] = val(n);
  if (val("seed")) body.seed = Number(val("seed"));
  // Only what differs from the defaults is sent.
  if (checked("generate_audio") === false) body.generate_audio = false;
  for (const n of ["watermark", "camera_fixed", "return_last_frame"]) if (checked(n)) body[n] = true;
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
// The form as it was when the server refused it at submit: that error stays until the form
// changes (a blur fires `change` and a re-quote, which must not wipe it).
let refusedBody = null;
function requote() {
  clearTimeout(quoteTimer);
  quoteTimer = setTimeout(async () => {
    if (!$("#playground")) return;
    const seq = ++quoteSeq;
    const current = JSON.stringify(formBody());
    if (refusedBody !== null && current === refusedBody) return;
    refusedBody = null;
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
    refusedBody = null;
    go(`#/tasks/${data.task_id}`);
  } catch (e) {
    refusedBody = JSON.stringify(formBody());
    showError(e);
    button.disabled = false;
  }
}

// ---- tasks ---------------------------------------------------------------------------------

const terminal = (task) => task.status === "completed" || task.status === "failed";

// The tasks page: filters by status and model, a lookup by id, pages of 50 through all tasks
// (`next_cursor`), the current page refreshed every 2 s.
async function showTasks(view) {
  const models = await api("GET", "/models").catch(() => ({ items: [] }));
  const status = h("select", { id: "filter-status", name: "status" },
    options(["", "queued", "processing", "completed", "failed"], ""));
  status.options[0].textContent = "All statuses";
  const model = h("select", { id: "filter-model", name: "model" },
    options(["", ...models.items.map((m) => m.model)], ""));
  model.options[0].textContent = "All models";
  const lookup = h("input", { type: "search", id: "find-task", name: "find", placeholder: "vid_…", autocomplete: "off" });
  const found = h("p", { class: "error", id: "find-error", role: "alert" });
  const tbody = h("tbody", { id: "task-rows" });
  const pageInfo = h("span", { id: "task-page", class: "muted" });
  const newer = h("button", { type: "button", id: "newer", class: "secondary" }, "Newer");
  const older = h("button", { type: "button", id: "older", class: "secondary" }, "Older");
  view.append(h("section", { class: "card" }, h("h2", {}, "Tasks"),
    h("form", { class: "filters", id: "task-filters", onsubmit: (e) => e.preventDefault() },
      h("div", {}, h("label", { for: "filter-status" }, "Status"), status),
      h("div", {}, h("label", { for: "filter-model" }, "Model"), model),
      h("div", {}, h("label", { for: "find-task" }, "Open a task by id"), lookup,
        h("button", { type: "submit", id: "find", class: "secondary" }, "Open"))),
    found,
    h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Task"), h("th", { scope: "col" }, "Status"),
        h("th", { scope: "col", class: "hide-phone" }, "Prompt"),
        h("th", { scope: "col", class: "hide-phone" }, "Progress"), h("th", { scope: "col" }, "Model"),
        h("th", { scope: "col", class: "hide-phone" }, "Cost"),
        h("th", { scope: "col", class: "hide-phone" }, "Created"))),
      tbody)),
    h("p", {}, newer, older, " ", pageInfo)));
  // The cursors of the pages seen so far: cursors[i] opens page i (null: the newest).
  let cursors = [null];
  let page = 0;
  let next = null;
  const query = () => {
    const q = new URLSearchParams({ limit: "50" });
    if (status.value) q.set("status", status.value);
    if (model.value) q.set("model", model.value);
    if (cursors[page]) q.set("cursor", cursors[page]);
    return q.toString();
  };
  const refresh = async () => {
    const data = await api("GET", `/videos?${query()}`);
    next = data.next_cursor;
    tbody.replaceChildren(...data.items.map((task) => h("tr", { "data-task": task.task_id },
      h("td", {}, h("a", { href: `#/tasks/${task.task_id}` }, task.task_id)),
      h("td", { class: `status-${task.status}` }, task.status),
      h("td", { class: "hide-phone prompt" }, promptText(task)),
      h("td", { class: "hide-phone" }, h("progress", { max: 100, value: task.progress, "aria-label": `progress of ${task.task_id}` }), ` ${task.progress}%`),
      h("td", {}, task.model),
      h("td", { class: "hide-phone" }, `${task.cost.credits.toLocaleString()}${task.cost.refunded ? " (refunded)" : ""}`),
      h("td", { class: "hide-phone" }, fmtTime(task.created_at)))));
    if (!data.items.length) {
      const filtered = status.value || model.value;
      tbody.append(h("tr", {}, h("td", { colspan: 7 }, filtered ? "No tasks match these filters." : "No tasks yet: try the playground.")));
    }
    newer.disabled = page === 0;
    older.disabled = !next;
    pageInfo.textContent = `Page ${page + 1}`;
  };
  const restart = () => { cursors = [null]; page = 0; refresh().catch(showLoadError(view)); };
  status.addEventListener("change", restart);
  model.addEventListener("change", restart);
  older.addEventListener("click", () => {
    if (!next) return;
    cursors[page + 1] = next;
    page += 1;
    refresh().catch(showLoadError(view));
  });
  newer.addEventListener("click", () => {
    if (page === 0) return;
    page -= 1;
    refresh().catch(showLoadError(view));
  });
  $("#task-filters").addEventListener("submit", async () => {
    const id = lookup.value.trim();
    found.textContent = "";
    if (!/^vid_[a-z0-9]+$/.test(id)) { found.textContent = "A task id looks like vid_ followed by letters and digits."; lookup.focus(); return; }
    try {
      await api("GET", `/videos/${encodeURIComponent(id)}`);
      go(`#/tasks/${id}`);
    } catch (e) {
      found.textContent = e.status === 404 ? `No task ${id} in this account.` : e.message;
      lookup.focus();
    }
  });
  await refresh();
  every(view, () => refresh().catch(() => {}), 2000);
}

// A task's prompt on one line, cut at 80 characters (the whole of it on the task page).
function promptText(task) {
  const prompt = ((task.request && task.request.prompt) || "").replace(/\s+/g, " ").trim();
  return prompt.length > 80 ? prompt.slice(0, 79) + "…" : prompt;
}

// An error while loading a page, shown in place of leaving the page blank.
function showLoadError(view) {
  return (e) => view.prepend(h("p", { class: "error", role: "alert" }, e.message));
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
  const box = h("section", { class: "card", id: "task" });
  view.append(h("p", {}, h("a", { href: "#/tasks" }, "← All tasks")), box);
  let shownVideo = null;
  let shownStatus = null;
  const render = (task) => {
    const r = task.result;
    // Progress alone changes the numbers in place: rebuilding the page on every event would
    // take the keyboard focus away every two seconds.
    if (task.status === shownStatus && !r && box.querySelector("#task-progress")) {
      box.querySelector("#task-progress").value = task.progress;
      box.querySelector("#task-percent").textContent = ` ${task.progress}% · `;
      return;
    }
    shownStatus = task.status;
    const parts = [
      h("h2", {}, `Task ${task.task_id}`),
      h("p", {}, "Status: ", h("strong", { id: "task-status", class: `status-${task.status}` }, task.status), " · ",
        h("progress", { id: "task-progress", max: 100, value: task.progress, "aria-label": "progress" }),
        h("span", { id: "task-percent" }, ` ${task.progress}% · `),
        `model ${task.model} · cost ${task.cost.credits} credits${task.cost.refunded ? " (refunded)" : ""}`),
      task.error_message ? h("p", { class: "error", id: "task-error", role: "alert" }, `Error: ${task.error_message}`) : null,
    ];
    if (r && r.video_url) {
      parts.push(h("video", { id: "player", controls: true, preload: "metadata", src: r.video_url, playsinline: true,
        "aria-label": `result video of ${task.task_id}` }));
      parts.push(h("p", {}, h("a", { href: r.video_url, download: `${task.task_id}.mp4`, id: "download" }, "Download MP4"),
        ` · ${r.width}×${r.height}, ${r.duration} s, ${r.fps} fps, ${r.size_bytes} bytes, expires ${r.expires_at ? fmtTime(r.expires_at) : "never"}`));
      if (r.last_frame_url) parts.push(h("p", {}, "Last frame:"), h("img", { class: "preview", src: r.last_frame_url, alt: "last frame of the video" }));
    } else if (r && r.expired) {
      parts.push(h("p", {}, "The result expired and was deleted."));
    }
    const curl = curlFor(task);
    parts.push(h("h3", {}, "Request"), h("pre", { id: "task-request" }, JSON.stringify(task.request, null, 2)),
      h("h3", {}, "Copy as curl"), h("pre", { id: "curl" }, curl),
      h("button", { type: "button", class: "secondary", id: "copy-curl", onclick: (e) => copy(curl, e.target, box.querySelector("#curl")) }, "Copy curl"));
    // Only a queued task can be cancelled (a render that has started runs to the end); asked in
    // place, and the answer (the cancelled, refunded task) is shown at once.
    if (task.status === "queued") {
      parts.push(confirmButton("Cancel task", "Cancel this task? It has not started; its credits are refunded.",
        async () => render(await api("POST", `/videos/${task.task_id}/cancel`)),
        { id: "cancel-task" }, { id: "confirm-cancel" }));
    } else if (task.status === "processing") {
      parts.push(h("p", { class: "hint" }, "This task is running and runs to the end; it can no longer be cancelled."));
    }
    // Keep the player (and its playback position) when a later event repeats the same result.
    const old = shownVideo && box.querySelector("#player");
    box.replaceChildren(...parts.filter(Boolean));
    if (old && r && r.video_url === shownVideo) box.querySelector("#player").replaceWith(old);
    shownVideo = r && r.video_url;
  };
  const task = await api("GET", `/videos/${id}`);
  render(task);
  if (!terminal(task) && view.isConnected) {
    followTask(id, render).catch(() => {
      // Fall back to polling when the stream cannot be read.
      let done = false;
      every(view, async () => {
        if (done) return;
        const next = await api("GET", `/videos/${id}`);
        render(next);
        done = terminal(next);
      }, 2000);
    });
  }
}

// Copies `text`; where the clipboard is not available, selects `node` for Ctrl+C instead.
async function copy(text, button, node) {
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
  } catch (_) {
    if (node instanceof HTMLInputElement) {
      node.focus();
      node.select();
    } else {
      const sel = window.getSelection();
      const range = document.createRange();
      range.selectNodeContents(node);
      sel.removeAllRanges();
      sel.addRange(range);
    }
    button.textContent = "Selected: press Ctrl+C";
  }
}

// ---- start ---------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("#signin-form").addEventListener("submit", signIn);
  $("#signout").addEventListener("click", signOut);
  window.addEventListener("hashchange", route);
  route();
});
