// reelay console: plain scripts, no build step. It talks to the same API as every client:
// /api/open-api/v1 with an API key, /admin/v1 with the admin token. The token lives in
// sessionStorage only. Every node is built with h() (no innerHTML), so server text is never HTML.
// This file holds the shared pieces, sign-in, the router, the playground and the tasks; the
// account, assets and people pages are in account.js and the operator's pages in operator.js
// (plain scripts loaded after this one; they share its globals).
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
const fmtTime = (s) => (s ? new Date(s * 1000).toLocaleString(locale()) : "");

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
      $("#signin-error").textContent = t("signin.failed");
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
  // A language switch redraws the page: the focus stays on the switch.
  const switching = document.activeElement === $("#lang");
  if (!signedIn) { if (!switching) $("#token").focus(); return; }
  // The current link is the longest one the hash starts with, at a "/" boundary. A `?query`
  // after the path carries a page's filters (`#/operator/tasks?account=acct_…`).
  const full = location.hash || "#/";
  const at = full.indexOf("?");
  const hash = at < 0 ? full : full.slice(0, at);
  const query = new URLSearchParams(at < 0 ? "" : full.slice(at + 1));
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
  const operatorPage = parts[1] === "tasks" ? (v) => showTaskLog(v, query.get("account"))
    : parts[1] === "audit" ? showAudit
    : parts[1] !== "accounts" ? showOperator
    : parts[2] ? (v) => showAdminAccount(v, parts[2]) : showAccounts;
  const pages = role() === "admin"
    ? { operator: operatorPage }
    : { playground: showPlayground, tasks: parts[1] ? (v) => showTask(parts[1], v) : showTasks,
      models: showModels, account: showAccount,
      assets: parts[1] ? (v) => showAsset(parts[1], v) : showAssets, people: showPeople };
  const show = pages[page] || (() => view.append(h("p", {}, t("page.none"))));
  Promise.resolve(show(view))
    .catch((e) => view.append(h("p", { class: "error", role: "alert" }, e.message)))
    .then(() => {
      // Move focus to the new page's heading, so keyboard and screen-reader users start there.
      const heading = view.isConnected && view.querySelector("h2");
      if (heading && !switching && !view.contains(document.activeElement)) {
        heading.tabIndex = -1;
        heading.focus({ preventScroll: true });
      }
    });
}

// ---- shared pieces -------------------------------------------------------------------------

// A secret shown once (a new API key): the warning, the secret in a read-only field that is
// selected on focus, a copy button and a button to dismiss it. `title` is the box's heading
// (already in the page's language); `onDone` runs after dismissal.
function secretBox(secret, title, onDone) {
  const field = h("input", { type: "text", id: "new-secret", readonly: true, value: secret, spellcheck: "false",
    autocomplete: "off", "aria-describedby": "new-secret-warning", onfocus: (e) => e.target.select() });
  const box = h("div", { class: "secret", id: "secret-box", tabindex: "-1" },
    h("h3", {}, title),
    h("p", { id: "new-secret-warning", class: "warning" }, t("secret.warning")),
    h("label", { for: "new-secret" }, t("secret.label")), field,
    h("button", { type: "button", id: "copy-secret", class: "secondary", onclick: (e) => copy(secret, e.target, field) }, t("secret.copy")),
    h("button", { type: "button", id: "secret-done", onclick: () => { box.remove(); if (onDone) onDone(); } }, t("secret.done")));
  return box;
}

// A button that asks once more, in place (no modal dialog): `label` turns into `question` with
// a confirm and a cancel button. `attrs` go on the first button; `confirmAttrs` on the confirm.
function confirmButton(label, question, action, attrs, confirmAttrs) {
  const slot = h("span", { class: "confirm" });
  const ask = () => {
    const status = h("span", { class: "error", role: "alert" });
    const yes = h("button", Object.assign({ type: "button", class: "danger" }, confirmAttrs), t("confirm.yes", { action: label.toLowerCase() }));
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      try { await action(); } catch (e) { status.textContent = e.message; yes.disabled = false; }
    });
    const no = h("button", { type: "button", class: "secondary", onclick: () => { reset(); slot.querySelector("button").focus(); } }, t("confirm.cancel"));
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

// Newer / Older buttons over a list paged with `next_cursor` (`#{prefix}-newer`, `-older`,
// `-page`). `fetchPage(cursor)` asks for one page (`{items, next_cursor}`), `draw(items)` shows
// it; an answer that arrives after a later request (a timer's refresh after a filter change) is
// dropped. `restart()` goes back to the newest page; `refresh()` reloads the current one.
function cursorPager(prefix, fetchPage, draw, onError) {
  let cursors = [null];
  let page = 0;
  let next = null;
  let seq = 0;
  const newer = h("button", { type: "button", id: `${prefix}-newer`, class: "secondary" }, t("tasks.newer"));
  const older = h("button", { type: "button", id: `${prefix}-older`, class: "secondary" }, t("tasks.older"));
  const info = h("span", { id: `${prefix}-page`, class: "muted" });
  const refresh = async () => {
    const mine = ++seq;
    const data = await fetchPage(cursors[page]);
    if (mine !== seq) return;
    next = data.next_cursor || null;
    draw(data.items || []);
    newer.disabled = page === 0;
    older.disabled = !next;
    info.textContent = t("tasks.page", { n: page + 1 });
  };
  const restart = () => { cursors = [null]; page = 0; return refresh(); };
  older.addEventListener("click", () => {
    if (!next) return;
    cursors[page + 1] = next;
    page += 1;
    refresh().catch(onError);
  });
  newer.addEventListener("click", () => {
    if (page === 0) return;
    page -= 1;
    refresh().catch(onError);
  });
  return { controls: h("p", {}, newer, older, " ", info), refresh, restart };
}

// `&cursor=…` for a page after the first, else nothing.
const cursorParam = (cursor) => (cursor ? `&cursor=${encodeURIComponent(cursor)}` : "");

// Draws `items` into `tbody`, one row each, keeping the row of an item whose `version(item)` is
// the one shown: a refresh then reloads no image or video and leaves the focus where it was.
// `build(item, old)` makes a changed row (`old`: the row shown before, or null), which may take
// over parts of `old`. Rows without a key (an "empty" line) are dropped first.
function syncRows(tbody, items, key, version, build) {
  const shown = new Map();
  for (const row of [...tbody.children]) {
    if (row.dataset.key) shown.set(row.dataset.key, row);
    else row.remove();
  }
  items.forEach((item, i) => {
    const k = key(item);
    const v = version(item);
    let row = shown.get(k);
    shown.delete(k);
    if (!row || row.dataset.version !== v) {
      const fresh = build(item, row || null);
      fresh.dataset.key = k;
      fresh.dataset.version = v;
      if (row) row.replaceWith(fresh);
      row = fresh;
    }
    if (tbody.children[i] !== row) tbody.insertBefore(row, tbody.children[i] || null);
  });
  shown.forEach((row) => row.remove());
}

// A signed URL without its signature: the same file whatever the expiry in its query.
const mediaKey = (url) => String(url).replace(/[?#].*$/, "");

// A media kind as shown.
function kindLabel(kind) {
  const labels = { image: t("kind.image"), video: t("kind.video"), audio: t("kind.audio") };
  return labels[kind] || kind;
}

// A list row's small preview: an image, or the first moment of a video (muted, only its
// metadata loaded); an empty box without a URL (a word for audio). The element of `old` (the
// row shown before) is kept when it shows the same file, so a refresh does not load it again.
function thumb(kind, url, alt, old) {
  const key = url && (kind === "image" || kind === "video") ? `${kind}:${mediaKey(url)}` : "";
  const kept = old && key && old.querySelector(".thumb > [data-media]");
  if (kept && kept.dataset.media === key) return kept;
  if (!key) return h("span", { class: "thumb-empty" }, url && kind === "audio" ? kindLabel("audio") : null);
  if (kind === "video") {
    const video = h("video", { src: `${url}#t=0.1`, muted: true, preload: "metadata", playsinline: true,
      "aria-label": alt, "data-media": key });
    video.muted = true;
    return video;
  }
  return h("img", { src: url, alt, loading: "lazy", "data-media": key });
}

// A byte count as people read it (1,234 bytes; 56.7 KB; 8.9 MB).
function fmtBytes(n) {
  if (n === null || n === undefined) return "";
  if (n < 1024) return t("size.bytes", { n: num(n) });
  const one = (x) => x.toLocaleString(locale(), { maximumFractionDigits: 1 });
  return n < 1024 * 1024 ? `${one(n / 1024)} KB` : `${one(n / 1024 / 1024)} MB`;
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
  const [data, account] = await Promise.all([api("GET", "/models"), api("GET", "/account")]);
  models = data.items;
  const form = h("form", { class: "card", id: "playground", novalidate: true });
  const modelSelect = h("select", { id: "f-model", name: "model" },
    options(models.map((m) => m.model), models[0] && models[0].model));
  form.append(h("h2", {}, t("playground.title")), fieldBox("model", t("field.model"), modelSelect),
    h("div", { id: "model-fields" }),
    h("p", { class: "quote", id: "quote", "aria-live": "polite" }),
    h("p", { class: "muted", id: "pg-balance" }, t("playground.balance", { n: num(account.balance) })),
    h("p", { class: "error", id: "form-error", role: "alert" }),
    h("button", { type: "submit", id: "create" }, t("playground.create")));
  view.append(form);
  modelSelect.addEventListener("change", () => { renderModelFields(); requote(); });
  form.addEventListener("input", requote);
  form.addEventListener("change", requote);
  form.addEventListener("submit", createTask);
  renderModelFields();
  prefill();
  requote();
}

// Fills the playground from a request a task page handed over ("Open in Playground", "Use the
// last frame as first frame"), once; fields the model does not have are left out.
function prefill() {
  const saved = store.getItem("reelay.prefill");
  if (!saved) return;
  store.removeItem("reelay.prefill");
  let request;
  try { request = JSON.parse(saved); } catch (_) { return; }
  if (request.model && models.some((m) => m.model === request.model)) {
    $("#f-model").value = request.model;
    renderModelFields();
  }
  for (const [name, value] of Object.entries(request)) {
    const el = $(`#f-${name}`);
    if (!el || name === "model" || value === null || value === undefined) continue;
    if (el.type === "checkbox") el.checked = !!value;
    else el.value = Array.isArray(value) ? value.join(" ") : String(value);
  }
}

// Goes to the playground with `request` filled in.
function openInPlayground(request) {
  store.setItem("reelay.prefill", JSON.stringify(request));
  go("#/playground");
}

// The request as a person reads it: no internal fields, no nulls.
function readableRequest(request) {
  const out = {};
  for (const [k, v] of Object.entries(request || {})) {
    if (k === "family" || v === null || v === undefined) continue;
    if (Array.isArray(v) && !v.length) continue;
    out[k] = v;
  }
  return out;
}

// Previews of a request's media inputs: images as pictures when they are web URLs, everything
// else (asset:// ids, videos, audio) as its reference.
function inputPreviews(request) {
  const items = [];
  const add = (field, value, kind) => {
    const web = /^https?:\/\//.test(value);
    items.push(h("li", {}, h("span", { class: "muted" }, `${field}: `),
      web && kind === "image" ? h("img", { class: "preview input", src: value, alt: t("task.input_alt", { field }) })
        : web ? h("a", { href: value, rel: "noreferrer" }, value) : h("code", {}, value)));
  };
  for (const field of ["first_image", "last_image"]) if (request[field]) add(field, request[field], "image");
  for (const value of request.images || []) add("images", value, "image");
  for (const value of request.reference_videos || []) add("reference_videos", value, "video");
  for (const value of request.reference_audios || []) add("reference_audios", value, "audio");
  return items.length ? h("ul", { class: "inputs", id: "task-inputs" }, items) : null;
}

function currentModel() {
  return models.find((m) => m.model === $("#f-model").value);
}

// A media field: a text input for URLs or asset://ids and, when the model takes asset ids, a
// file input (also a drop zone) that uploads files as assets and adds their ids.
function mediaField(m, name, label, kind, max) {
  const forms = m.media_forms || ["https", "asset"];
  const takesAssets = forms.includes("asset");
  const what = forms.includes("https") ? (takesAssets ? t("media.both") : t("media.https")) : t("media.asset");
  const hint = max > 1 ? t("media.many", { max, what }) : t("media.one", { what });
  const kindName = { image: t("kind.image"), video: t("kind.video"), audio: t("kind.audio") }[kind] || kind;
  const input = h("input", { type: "text", id: `f-${name}`, name, "aria-describedby": `hint-${name}` });
  const box = fieldBox(name, label, input, hint);
  if (!takesAssets) return box;
  const file = h("input", { type: "file", id: `file-${name}`, accept: `${kind}/*`, multiple: max > 1 });
  const drop = h("div", { class: "drop" },
    h("label", { for: `file-${name}`, class: "inline" },
      m.assets_audited ? t("upload.label_audited", { kind: kindName }) : t("upload.label", { kind: kindName })), " ", file,
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
  say(t("upload.uploading", { file: file.name }));
  const form = new FormData();
  form.append("name", file.name);
  form.append("type", kind);
  form.append("file", file);
  try {
    const data = await api("POST", audited ? "/seedance/assets/audit" : "/seedance/sp/assets/upload", form);
    say(t("upload.checking", { file: file.name, id: data.asset_id }));
    let d = data;
    for (let i = 0; i < 120 && d.status === "Processing"; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 1000));
      d = audited
        ? (await api("GET", `/seedance/assets/status?asset_ids=${encodeURIComponent(data.asset_id)}`)).items[0]
        : await api("POST", "/seedance/sp/assets/detail", { asset_id: data.asset_id });
      if (d.status === "Processing" && d.review === "pending") say(t("upload.review", { file: file.name, id: data.asset_id }));
    }
    const id = d.asset_id || data.asset_id;
    if (d.status === "Active") {
      const ref = `asset://${id}`;
      input.value = single ? ref : (input.value.trim() + " " + ref).trim();
      say(t("upload.active", { file: file.name, id }));
      requote();
    } else {
      say(t("upload.not_added", { file: file.name, id, status: d.status, reason: d.reason ? " — " + d.reason : "" }), d.status === "Failed");
    }
  } catch (e) {
    say(t("upload.failed", { file: file.name, error: e.message }), true);
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
  return h("fieldset", { id: "options" }, h("legend", {}, t("options.legend")),
    h("div", { class: "row" },
      fieldBox("seed", t("options.seed"), h("input", { type: "number", id: "f-seed", name: "seed", min: -1, max: 4294967295, step: 1,
        inputmode: "numeric", placeholder: t("options.seed_placeholder"), "aria-describedby": "hint-seed" }),
      t("options.seed_hint")),
      fieldBox("callback_url", t("options.callback_url"), h("input", { type: "url", id: "f-callback_url", name: "callback_url",
        placeholder: "https://", "aria-describedby": "hint-callback_url" }),
      t("options.callback_hint"))),
    m.audio_output ? checkField("generate_audio", t("options.generate_audio"), true, t("options.generate_audio_hint")) : null,
    checkField("watermark", t("options.watermark"), false, null),
    checkField("camera_fixed", t("options.camera_fixed"), false, t("options.camera_fixed_hint")),
    checkField("return_last_frame", t("options.return_last_frame"), false, t("options.return_last_frame_hint")));
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
    fieldBox("prompt", t("field.prompt"), h("textarea", { id: "f-prompt", name: "prompt", maxlength: m.prompt_max_chars, required: true,
      "aria-describedby": "hint-prompt" }), t("field.prompt_hint", { max: num(m.prompt_max_chars) })),
    h("div", { class: "row" },
      fieldBox("duration", t("field.duration"), h("select", { id: "f-duration", name: "duration" }, options(durations, m.duration.default))),
      fieldBox("resolution", t("field.resolution"), h("select", { id: "f-resolution", name: "resolution", disabled: m.resolution.fixed,
        "aria-describedby": m.resolution.fixed ? "hint-resolution" : null },
        options(m.resolution.allowed, m.resolution.default)), m.resolution.fixed ? t("field.resolution_fixed") : null),
      m.ratios.length ? fieldBox("ratio", t("field.ratio"), h("select", { id: "f-ratio", name: "ratio" }, options(m.ratios, m.ratios.includes("16:9") ? "16:9" : m.ratios[0]))) : null),
    h("p", { class: "muted" }, t("field.billing", { billing: m.billing,
      prices: Object.entries(m.prices).map(([r, c]) => `${r} ${num(c)}`).join(", ") })));
  if (m.images && m.images.max > 0) box.append(mediaField(m, "images", t("field.images"), "image", m.images.max));
  if (m.frames && m.frames !== "none") {
    box.append(h("fieldset", { id: "frames" }, h("legend", {}, t("frames.legend")),
      h("p", { class: "hint" }, m.frames === "both_required"
        ? t("frames.both")
        : t("frames.either")),
      mediaField(m, "first_image", t("field.first_image"), "image", 1),
      mediaField(m, "last_image", t("field.last_image"), "image", 1)));
  }
  if (m.reference_videos) box.append(mediaField(m, "reference_videos", t("field.reference_videos"), "video", m.reference_videos.max));
  if (m.reference_audios) box.append(mediaField(m, "reference_audios", t("field.reference_audios"), "audio", m.reference_audios.max));
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
      $("#quote").textContent = t("quote.price", { credits: num(q.credits),
        unit: q.unit === "per_second" ? t("quote.per_second", { seconds: q.seconds }) : t("quote.per_task") });
    } catch (e) {
      if (seq !== quoteSeq) return;
      clearErrors();
      $("#quote").textContent = t("quote.none");
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

// A task's status as shown (the value itself stays in `status-<value>` classes and filters).
function statusLabel(status) {
  const labels = { queued: t("status.queued"), processing: t("status.processing"),
    completed: t("status.completed"), failed: t("status.failed") };
  return labels[status] || status;
}

// The tasks page: filters by status, model, words of the prompt or the id (`q`) and days of
// creation, a lookup by id, pages of 50 through all tasks (`next_cursor`), the current page
// refreshed every 2 s. Rows whose task did not change are kept as they are, so thumbnails do not
// load again on every refresh.
async function showTasks(view) {
  const models = await api("GET", "/models").catch(() => ({ items: [] }));
  const status = h("select", { id: "filter-status", name: "status" },
    options(["", "queued", "processing", "completed", "failed"], ""));
  for (const o of status.options) o.textContent = o.value ? statusLabel(o.value) : t("tasks.all_statuses");
  const model = h("select", { id: "filter-model", name: "model" },
    options(["", ...models.items.map((m) => m.model)], ""));
  model.options[0].textContent = t("tasks.all_models");
  const search = h("input", { type: "search", id: "filter-q", name: "q", maxlength: 200, autocomplete: "off",
    "aria-describedby": "hint-filter-q" });
  const from = h("input", { type: "date", id: "filter-from", name: "from" });
  const to = h("input", { type: "date", id: "filter-to", name: "to" });
  const lookup = h("input", { type: "search", id: "find-task", name: "find", placeholder: "vid_…", autocomplete: "off" });
  const found = h("p", { class: "error", id: "find-error", role: "alert" });
  const findForm = h("form", { class: "filters", id: "task-find" },
    h("div", {}, h("label", { for: "find-task" }, t("tasks.find")), lookup,
      h("button", { type: "submit", id: "find", class: "secondary" }, t("tasks.open"))));
  const tbody = h("tbody", { id: "task-rows" });
  const pageInfo = h("span", { id: "task-page", class: "muted" });
  const newer = h("button", { type: "button", id: "newer", class: "secondary" }, t("tasks.newer"));
  const older = h("button", { type: "button", id: "older", class: "secondary" }, t("tasks.older"));
  view.append(h("section", { class: "card" }, h("h2", {}, t("tasks.title")),
    h("form", { class: "filters", id: "task-filters", onsubmit: (e) => { e.preventDefault(); restart(); } },
      h("div", {}, h("label", { for: "filter-status" }, t("col.status")), status),
      h("div", {}, h("label", { for: "filter-model" }, t("col.model")), model),
      h("div", {}, h("label", { for: "filter-q" }, t("tasks.search")), search),
      h("div", {}, h("label", { for: "filter-from" }, t("tasks.from")), from),
      h("div", {}, h("label", { for: "filter-to" }, t("tasks.to")), to)),
    h("p", { class: "hint", id: "hint-filter-q" }, t("tasks.search_hint")),
    findForm, found,
    h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, h("th", { scope: "col", class: "hide-phone thumb" }, h("span", { class: "visually-hidden" }, t("col.preview"))),
        h("th", { scope: "col" }, t("col.task")), h("th", { scope: "col" }, t("col.status")),
        h("th", { scope: "col", class: "hide-phone" }, t("col.prompt")),
        h("th", { scope: "col", class: "hide-phone" }, t("col.progress")), h("th", { scope: "col" }, t("col.model")),
        h("th", { scope: "col", class: "hide-phone" }, t("col.cost")),
        h("th", { scope: "col", class: "hide-phone" }, t("col.created")))),
      tbody)),
    h("p", {}, newer, older, " ", pageInfo)));
  // The cursors of the pages seen so far: cursors[i] opens page i (null: the newest).
  let cursors = [null];
  let page = 0;
  let next = null;
  // Only the answer to the latest request is drawn (a timer's refresh may still be on its way
  // when a filter changes).
  let seq = 0;
  const filtered = () => !!(status.value || model.value || search.value.trim() || from.value || to.value);
  const query = () => {
    const q = new URLSearchParams({ limit: "50" });
    if (status.value) q.set("status", status.value);
    if (model.value) q.set("model", model.value);
    const words = search.value.trim();
    if (words) q.set("q", words.slice(0, 200));
    // Days in the browser's time zone: from the start of `from` to the end of `to`.
    const since = localMidnight(from.value, 0);
    const until = localMidnight(to.value, 1);
    if (since !== null) q.set("since", String(since));
    if (until !== null) q.set("until", String(until));
    if (cursors[page]) q.set("cursor", cursors[page]);
    return q.toString();
  };
  const row = (task, old) => h("tr", { "data-task": task.task_id },
    h("td", { class: "hide-phone thumb" }, taskThumb(task, old)),
    h("td", {}, h("a", { href: `#/tasks/${task.task_id}` }, task.task_id)),
    h("td", { class: `status-${task.status}` }, statusLabel(task.status)),
    h("td", { class: "hide-phone prompt" }, promptText(task)),
    h("td", { class: "hide-phone" }, h("progress", { max: 100, value: task.progress, "aria-label": t("tasks.progress_of", { id: task.task_id }) }), ` ${task.progress}%`),
    h("td", {}, task.model),
    h("td", { class: "hide-phone" }, `${num(task.cost.credits)}${task.cost.refunded ? t("tasks.refunded") : ""}`),
    h("td", { class: "hide-phone" }, fmtTime(task.created_at)));
  const version = (task) => {
    const media = taskMedia(task);
    return [task.status, task.progress, task.cost.credits, task.cost.refunded, media ? `${media.kind}:${mediaKey(media.url)}` : ""].join("|");
  };
  const refresh = async () => {
    const mine = ++seq;
    const data = await api("GET", `/videos?${query()}`);
    if (mine !== seq) return;
    next = data.next_cursor;
    syncRows(tbody, data.items, (task) => task.task_id, version, row);
    if (!data.items.length) {
      tbody.append(h("tr", {}, h("td", { colspan: 8 }, filtered() ? t("tasks.none_match") : t("tasks.none"))));
    }
    newer.disabled = page === 0;
    older.disabled = !next;
    pageInfo.textContent = t("tasks.page", { n: page + 1 });
  };
  const restart = () => { cursors = [null]; page = 0; refresh().catch(showLoadError(view)); };
  status.addEventListener("change", restart);
  model.addEventListener("change", restart);
  from.addEventListener("change", restart);
  to.addEventListener("change", restart);
  // Typing searches after a pause; Enter, the clear button and leaving the field at once.
  let typing = null;
  search.addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(restart, 300); });
  search.addEventListener("change", () => { clearTimeout(typing); restart(); });
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
  findForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const id = lookup.value.trim();
    found.textContent = "";
    if (!/^vid_[a-z0-9]+$/.test(id)) { found.textContent = t("tasks.bad_id"); lookup.focus(); return; }
    try {
      await api("GET", `/videos/${encodeURIComponent(id)}`);
      go(`#/tasks/${id}`);
    } catch (e) {
      found.textContent = e.status === 404 ? t("tasks.not_found", { id }) : e.message;
      lookup.focus();
    }
  });
  await refresh();
  every(view, () => refresh().catch(() => {}), 2000);
}

// The unix seconds of local midnight at the start of the day `value` ("YYYY-MM-DD", what an
// `<input type=date>` holds) plus `days` days; null for an empty or unreadable value.
function localMidnight(value, days) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || "");
  if (!m) return null;
  return Math.floor(new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + days).getTime() / 1000);
}

// What a task's thumbnail shows: its last frame, else (completed) its video, else its first
// image input when that is an https or data URL; null for none.
function taskMedia(task) {
  const r = task.result || {};
  if (r.last_frame_url) return { kind: "image", url: r.last_frame_url };
  if (task.status === "completed" && r.video_url) return { kind: "video", url: r.video_url };
  const input = firstImageInput(task.request);
  return input ? { kind: "image", url: input } : null;
}

// The first image a request gives (first frame, else the first reference image; Ark-style
// `content` parts too), when it is an https or data URL (not an asset:// id).
function firstImageInput(request) {
  if (!request) return null;
  const images = [request.first_image, ...(Array.isArray(request.images) ? request.images : [])];
  for (const part of Array.isArray(request.content) ? request.content : []) {
    if (part && part.type === "image_url" && part.image_url) images.push(part.image_url.url);
  }
  const first = images.find((u) => typeof u === "string" && u);
  return first && /^(https:\/\/|data:image\/)/i.test(first) ? first : null;
}

function taskThumb(task, old) {
  const media = taskMedia(task);
  return media ? thumb(media.kind, media.url, t("tasks.thumb_of", { id: task.task_id }), old) : thumb(null, null, "", old);
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
  const body = Object.assign({ model: task.model }, readableRequest(task.request));
  const quoted = JSON.stringify(body).replace(/'/g, "'\\''");
  return `curl -sS -X POST '${location.origin}${API}/seedance/videos' \\\n  -H "Authorization: Bearer $REELAY_API_KEY" \\\n  -H 'Content-Type: application/json' \\\n  -d '${quoted}'`;
}

async function showTask(id, view) {
  const box = h("section", { class: "card", id: "task" });
  view.append(h("p", {}, h("a", { href: "#/tasks" }, t("task.back"))), box);
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
      h("h2", {}, t("task.title", { id: task.task_id })),
      h("p", {}, t("task.status"), h("strong", { id: "task-status", class: `status-${task.status}` }, statusLabel(task.status)), " · ",
        h("progress", { id: "task-progress", max: 100, value: task.progress, "aria-label": t("task.progress") }),
        h("span", { id: "task-percent" }, ` ${task.progress}% · `),
        t("task.summary", { model: task.model, credits: num(task.cost.credits) }) + (task.cost.refunded ? t("tasks.refunded") : "")),
      task.error_message ? h("p", { class: "error", id: "task-error", role: "alert" }, t("task.error", { message: task.error_message })) : null,
    ];
    if (r && r.video_url) {
      parts.push(h("video", { id: "player", controls: true, preload: "metadata", src: r.video_url, playsinline: true,
        "aria-label": t("task.video_of", { id: task.task_id }) }));
      parts.push(h("p", {}, h("a", { href: r.video_url, download: `${task.task_id}.mp4`, id: "download" }, t("task.download")),
        t("task.meta", { width: r.width, height: r.height, duration: r.duration, fps: r.fps, size: num(r.size_bytes),
          expires: r.expires_at ? fmtTime(r.expires_at) : t("task.never") })));
      if (r.last_frame_url) parts.push(h("p", {}, t("task.last_frame")), h("img", { class: "preview", src: r.last_frame_url, alt: t("task.last_frame_alt") }));
    } else if (r && r.expired) {
      parts.push(h("p", {}, t("task.expired")));
    }
    const request = readableRequest(task.request);
    if (request.prompt) parts.push(h("h3", {}, t("task.prompt")), h("blockquote", { id: "task-prompt" }, request.prompt));
    const inputs = inputPreviews(request);
    if (inputs) parts.push(h("h3", {}, t("task.inputs")), inputs);
    const again = Object.assign({ model: task.model }, request);
    parts.push(h("p", {}, h("button", { type: "button", class: "secondary", id: "open-playground",
      onclick: () => openInPlayground(again) }, t("task.open_playground")),
    r && r.last_frame_url ? h("button", { type: "button", class: "secondary", id: "use-last-frame",
      onclick: () => openInPlayground({ model: task.model, prompt: request.prompt, first_image: r.last_frame_url }) },
    t("task.use_last_frame")) : null));
    const curl = curlFor(task);
    parts.push(h("h3", {}, t("task.request")), h("pre", { id: "task-request" }, JSON.stringify(request, null, 2)),
      h("h3", {}, t("task.curl")), h("pre", { id: "curl" }, curl),
      h("button", { type: "button", class: "secondary", id: "copy-curl", onclick: (e) => copy(curl, e.target, box.querySelector("#curl")) }, t("task.copy_curl")));
    // Only a queued task can be cancelled (a render that has started runs to the end); asked in
    // place, and the answer (the cancelled, refunded task) is shown at once.
    if (task.status === "queued") {
      parts.push(confirmButton(t("task.cancel"), t("task.cancel_question"),
        async () => render(await api("POST", `/videos/${task.task_id}/cancel`)),
        { id: "cancel-task" }, { id: "confirm-cancel" }));
    } else if (task.status === "processing") {
      parts.push(h("p", { class: "hint" }, t("task.running")));
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
    button.textContent = t("copy.done");
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
    button.textContent = t("copy.selected");
  }
}

// ---- start ---------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("#signin-form").addEventListener("submit", signIn);
  $("#signout").addEventListener("click", signOut);
  window.addEventListener("hashchange", route);
  route();
});
