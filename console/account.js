// reelay console, the user's own things: the Account page (balance, ledger and the account's
// own API keys: `/account/keys`, list, create with the secret shown once, revoke), the Assets
// page (`#/assets`: upload, list, one asset at `#/assets/{id}`, delete) and the People page
// (`#/people`: the real-person whitelist). Loaded after app.js.
"use strict";

async function showAccount(view) {
  const [a, ledger] = await Promise.all([api("GET", "/account"), api("GET", "/account/ledger?limit=50")]);
  view.append(h("section", { class: "card" }, h("h2", {}, t("account.title")),
    h("p", {}, `${a.name} (${a.account_id})`),
    h("p", { class: "quote" }, t("account.balance"), h("span", { id: "balance" }, num(a.balance)), t("account.credits")),
    h("p", {}, t("account.spent", { credits: num(a.spent_total) }))),
  webhookCard(a.webhook_secret_set),
  await keysCard(),
  h("section", { class: "card" }, h("h2", {}, t("ledger.title")), h("div", { class: "table-wrap" }, h("table", {},
    ledgerHead(),
    h("tbody", { id: "ledger" }, ledger.items.map((e) => ledgerRow(e, true)))))));
}

function ledgerHead() {
  return h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("col.when")), h("th", { scope: "col" }, t("col.kind")),
    h("th", { scope: "col", class: "num" }, t("col.credits")), h("th", { scope: "col" }, t("col.task")),
    h("th", { scope: "col", class: "num" }, t("col.balance_after"))));
}

// One ledger line (shared with the operator's account page): the task links to its page for
// the account's own user (`linkTask`), else shows its id.
function ledgerRow(e, linkTask) {
  const kinds = { topup: t("ledger.topup"), charge: t("ledger.charge"), refund: t("ledger.refund"), adjust: t("ledger.adjust") };
  return h("tr", { "data-entry": e.id },
    h("td", {}, fmtTime(e.at)), h("td", { "data-kind": e.kind }, kinds[e.kind] || e.kind),
    h("td", { class: "num" }, e.credits > 0 ? `+${num(e.credits)}` : num(e.credits)),
    h("td", {}, !e.task_id ? "" : linkTask ? h("a", { href: `#/tasks/${e.task_id}` }, e.task_id) : h("code", {}, e.task_id)),
    h("td", { class: "num" }, num(e.balance_after)));
}

// The webhook signing secret: made or rotated here, shown once (reelay signs every delivery with
// it; a rotation takes effect for the next delivery).
function webhookCard(isSet) {
  const setText = t("webhook.set");
  const state = h("p", { id: "webhook-state" }, isSet ? setText : t("webhook.unset"));
  const card = h("section", { class: "card", id: "webhook-card" }, h("h2", {}, t("webhook.title")), state);
  let control = null;
  const place = (next) => { if (control) control.replaceWith(next); else card.append(next); control = next; };
  const focusControl = () => (control.querySelector("button") || control).focus();
  const make = async () => {
    const made = await api("POST", "/account/webhook-secret");
    state.textContent = setText;
    place(rotate());
    const old = card.querySelector("#secret-box");
    if (old) old.remove();
    const box = secretBox(made.secret, t("secret.of_webhook"), focusControl);
    box.querySelector("#new-secret-warning").textContent = t("webhook.warning");
    card.append(box);
    box.focus();
  };
  const rotate = () => confirmButton(t("webhook.rotate"), t("webhook.rotate_question"),
    make, { id: "webhook-rotate" }, { id: "webhook-rotate-confirm" });
  place(isSet ? rotate()
    : h("button", { type: "button", id: "webhook-create", onclick: () => make().catch((e) => alertIn(card, e)) }, t("webhook.create")));
  return card;
}

function alertIn(card, e) {
  card.append(h("p", { class: "error", role: "alert" }, e.message));
}

// A key's spending: "1200 of 5000 credits" under a quota, "1200 credits (no quota)" without.
function quotaText(k) {
  return k.quota > 0 ? t("keys.quota_of", { used: num(k.quota_used), quota: num(k.quota) }) : t("keys.quota_none", { used: num(k.quota_used) });
}

// The keys table, shared with the operator's account page (operator.js).
// One row per key, for this account (`revoke` posts the revocation) or for the operator.
function keyRows(keys, revoke) {
  return keys.map((k) => h("tr", { "data-key": k.key_id },
    h("td", {}, k.name, k.current ? h("span", { class: "muted" }, t("keys.this_session")) : null),
    h("td", {}, h("code", {}, k.key_id)),
    h("td", { class: "hide-phone" }, h("code", {}, `${k.prefix}…`)),
    h("td", { class: "hide-phone" }, fmtTime(k.created_at)),
    h("td", { "data-quota": k.key_id }, quotaText(k)),
    h("td", { class: k.revoked_at ? "status-failed" : "status-completed" }, k.revoked_at ? t("keys.revoked", { when: fmtTime(k.revoked_at) }) : t("keys.active")),
    h("td", {}, k.revoked_at ? null : confirmButton(t("keys.revoke"),
      k.current ? t("keys.revoke_current_question") : t("keys.revoke_question", { name: k.name }),
      () => revoke(k), { "data-revoke": k.key_id, "aria-label": t("keys.revoke_label", { name: k.name, id: k.key_id }) },
      { "data-confirm-revoke": k.key_id }))));
}

function keysTable(tbody) {
  return h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("col.name")), h("th", { scope: "col" }, t("col.key_id")),
      h("th", { scope: "col", class: "hide-phone" }, t("col.prefix")), h("th", { scope: "col", class: "hide-phone" }, t("col.created")),
      h("th", { scope: "col" }, t("col.spent")), h("th", { scope: "col" }, t("col.status")),
      h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, t("col.action"))))),
    tbody));
}

async function keysCard() {
  const tbody = h("tbody", { id: "keys" });
  const slot = h("div", { id: "secret-slot" });
  const load = async () => {
    const data = await api("GET", "/account/keys");
    tbody.replaceChildren(...keyRows(data.items, async (k) => {
      await api("POST", `/account/keys/${encodeURIComponent(k.key_id)}/revoke`);
      if (k.current) { signOut(); return; }
      await load();
      $("#key-name").focus();
    }));
  };
  const name = h("input", { type: "text", id: "key-name", name: "name", maxlength: 64, required: true,
    autocomplete: "off", "aria-describedby": "hint-key-name" });
  const formError = h("p", { class: "error", role: "alert" });
  const form = h("form", { id: "key-form", novalidate: true },
    h("label", { for: "key-name" }, t("keys.new_name")), name,
    h("p", { class: "hint", id: "hint-key-name" }, t("keys.name_hint")),
    h("p", { class: "error", id: "err-key-name", role: "alert" }), formError,
    h("button", { type: "submit", id: "create-key" }, t("keys.create")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    const button = $("#create-key");
    button.disabled = true;
    try {
      const key = await api("POST", "/account/keys", { name: name.value });
      name.value = "";
      const box = secretBox(key.secret, t("secret.of_key", { name: key.name, id: key.key_id }), () => name.focus());
      slot.replaceChildren(box);
      box.querySelector("#new-secret").focus();
      await load();
    } catch (e) {
      fieldError(e, "key-", formError);
    } finally {
      button.disabled = false;
    }
  });
  await load();
  return h("section", { class: "card", id: "keys-card" }, h("h2", {}, t("keys.title")),
    h("p", { class: "hint" }, t("keys.hint")),
    slot, keysTable(tbody), form);
}

// ---- assets --------------------------------------------------------------------------------

// An asset's status as shown (the value itself stays in `data-status`).
function assetStatusLabel(status) {
  const labels = { Processing: t("asset.processing"), Active: t("asset.active"), Failed: t("asset.failed") };
  return labels[status] || status;
}

function assetStatusClass(status) {
  return status === "Active" ? "status-completed" : status === "Failed" ? "status-failed" : null;
}

// What an asset is for: the SP library, the Full-route audit, the real-person whitelist.
function purposeLabel(purpose) {
  const labels = { library: t("assets.purpose_library"), audit: t("assets.purpose_audit"), realperson: t("assets.purpose_realperson") };
  return labels[purpose] || purpose;
}

function reviewLabel(review) {
  const labels = { pending: t("asset.review_pending"), approved: t("asset.review_approved"), rejected: t("asset.review_rejected") };
  return labels[review] || review;
}

// One of the caller's assets as `GET /assets` lists it (with its signed `content_url`); null
// when the account has no such asset.
async function findAsset(id) {
  try {
    return await api("GET", `/assets/${encodeURIComponent(id)}`);
  } catch (e) {
    if (e.status === 404) return null;
    throw e;
  }
}

// The Assets page: an upload form (a URL or a file, to the SP library or the Full-route audit),
// the account's assets newest first with a thumbnail, filters by purpose and type, pages through
// `next_cursor`; refreshed every 2 s while one of them is Processing.
async function showAssets(view) {
  const purpose = h("select", { id: "assets-purpose", name: "purpose" },
    options(["", "library", "audit", "realperson"], ""));
  for (const o of purpose.options) o.textContent = o.value ? purposeLabel(o.value) : t("assets.all_purposes");
  const type = h("select", { id: "assets-type", name: "type" }, options(["", "image", "video", "audio"], ""));
  for (const o of type.options) o.textContent = o.value ? kindLabel(o.value) : t("assets.all_types");
  const tbody = h("tbody", { id: "asset-rows" });
  const row = (a, old) => h("tr", { "data-asset": a.asset_id },
    h("td", { class: "thumb" }, thumb(a.type, a.content_url, t("assets.preview_of", { name: a.name }), old)),
    h("td", {}, h("a", { href: `#/assets/${encodeURIComponent(a.asset_id)}` }, a.name || a.asset_id), h("br"),
      h("code", { class: "muted" }, a.asset_id)),
    h("td", { class: "hide-phone" }, kindLabel(a.type),
      a.purpose === "library" ? null : h("span", { class: "muted" }, ` · ${purposeLabel(a.purpose)}`)),
    h("td", { class: assetStatusClass(a.status), "data-status": a.status }, assetStatusLabel(a.status),
      a.status === "Processing" && a.review === "pending" ? h("p", { class: "hint" }, t("assets.awaits_review")) : null,
      a.status === "Failed" && a.reason ? h("p", { class: "hint" }, a.reason) : null),
    h("td", { class: "hide-phone num" }, a.size_bytes > 0 ? fmtBytes(a.size_bytes) : "—"),
    h("td", { class: "hide-phone" }, fmtTime(a.created_at)));
  const version = (a) => [a.status, a.review, a.reason, a.size_bytes, a.name, a.content_url ? mediaKey(a.content_url) : ""].join("|");
  const pager = cursorPager("assets", (cursor) => {
    const q = new URLSearchParams({ limit: "20" });
    if (purpose.value) q.set("purpose", purpose.value);
    if (type.value) q.set("type", type.value);
    return api("GET", `/assets?${q}${cursorParam(cursor)}`);
  }, (items) => {
    syncRows(tbody, items, (a) => a.asset_id, version, row);
    if (!items.length) {
      tbody.append(h("tr", {}, h("td", { colspan: 6 }, purpose.value || type.value ? t("assets.none_match") : t("assets.none"))));
    }
  }, showLoadError(view));
  const restart = () => pager.restart().catch(showLoadError(view));
  purpose.addEventListener("change", restart);
  type.addEventListener("change", restart);
  view.append(h("section", { class: "card" }, h("h2", {}, t("assets.title")),
    h("p", { class: "hint" }, t("assets.hint")),
    h("form", { class: "filters", id: "asset-filters", onsubmit: (e) => { e.preventDefault(); restart(); } },
      h("div", {}, h("label", { for: "assets-purpose" }, t("assets.purpose")), purpose),
      h("div", {}, h("label", { for: "assets-type" }, t("assets.type")), type)),
    h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, h("th", { scope: "col", class: "thumb" }, t("col.preview")), h("th", { scope: "col" }, t("col.name")),
        h("th", { scope: "col", class: "hide-phone" }, t("assets.type")), h("th", { scope: "col" }, t("col.status")),
        h("th", { scope: "col", class: "hide-phone num" }, t("col.size")), h("th", { scope: "col", class: "hide-phone" }, t("col.created")))),
      tbody)),
    pager.controls),
  assetUploadForm(() => pager.restart()));
  await pager.restart();
  // Processing assets (a URL being fetched, an audit waiting for review) are looked at again
  // until they settle.
  every(view, () => {
    if (tbody.querySelector('[data-status="Processing"]')) pager.refresh().catch(() => {});
  }, 2000);
}

// Upload an asset: a name, its type, where it goes (the SP library, or the Full-route audit for
// the models that take only audited assets), and a URL or a file. `onDone` runs after.
function assetUploadForm(onDone) {
  const name = h("input", { type: "text", id: "asset-name", name: "name", maxlength: 100, autocomplete: "off",
    "aria-describedby": "hint-asset-name" });
  const type = h("select", { id: "asset-type", name: "type" },
    ["image", "video", "audio"].map((k) => h("option", { value: k }, kindLabel(k))));
  const purpose = h("select", { id: "asset-purpose", name: "purpose", "aria-describedby": "hint-asset-purpose" },
    h("option", { value: "library" }, t("assets.purpose_library")), h("option", { value: "audit" }, t("assets.purpose_audit")));
  const url = h("input", { type: "url", id: "asset-url", name: "url", placeholder: "https://", autocomplete: "off",
    "aria-describedby": "hint-asset-url" });
  const file = h("input", { type: "file", id: "asset-file", name: "file", accept: "image/*,video/*,audio/*" });
  const formError = h("p", { class: "error", role: "alert" });
  const done = h("p", { id: "asset-done", role: "status" });
  const submit = h("button", { type: "submit", id: "asset-upload" }, t("assets.upload"));
  // A chosen file sets the type it is.
  file.addEventListener("change", () => {
    const kind = file.files[0] && (file.files[0].type || "").split("/")[0];
    if (["image", "video", "audio"].includes(kind)) type.value = kind;
  });
  const field = (id, label, control, hint) => h("div", {}, h("label", { for: id }, label), control,
    hint ? h("p", { class: "hint", id: `hint-${id}` }, hint) : null,
    h("p", { class: "error", id: `err-${id}`, role: "alert" }));
  const form = h("form", { class: "card", id: "asset-form", novalidate: true }, h("h2", {}, t("assets.upload_title")),
    h("div", { class: "row" },
      field("asset-name", t("assets.name"), name, t("assets.name_hint")),
      field("asset-type", t("assets.type"), type),
      field("asset-purpose", t("assets.purpose"), purpose, t("assets.purpose_hint"))),
    h("div", { class: "row" },
      field("asset-url", t("assets.url"), url, t("assets.url_hint")),
      field("asset-file", t("assets.file"), file)),
    formError, done, submit);
  whenSourceSubmitted(form, {
    prefix: "asset-", url, file, formError, done, submit,
    body: (chosen, link) => {
      if (chosen) {
        const body = new FormData();
        body.append("name", name.value.trim() || chosen.name);
        body.append("type", type.value);
        body.append("file", chosen);
        return body;
      }
      const body = { type: type.value, url: link };
      if (name.value.trim()) body.name = name.value.trim();
      return body;
    },
    path: () => purpose.value === "audit" ? "/seedance/assets/audit" : "/seedance/sp/assets/upload",
    doneText: (made) => t("assets.uploaded", { id: made.asset_id, status: assetStatusLabel(made.status) }),
    onDone,
  });
  return form;
}

// One asset (or real-person record): a preview of the stored file, its facts, its asset://
// reference to copy, and delete (asked in place; then back to the list). Looked at again every
// 2 s while Processing.
async function showAsset(id, view) {
  const back = h("a", { href: "#/assets" }, t("asset.back"));
  const box = h("section", { class: "card", id: "asset" });
  view.append(h("p", {}, back), box);
  let shown = null;
  let shownMedia = null;
  const render = (a) => {
    const version = [a.status, a.review, a.reason, a.size_bytes, a.name, a.asset_ref, a.content_url ? mediaKey(a.content_url) : ""].join("|");
    if (version === shown) return;
    shown = version;
    const person = a.purpose === "realperson";
    if (person) { back.href = "#/people"; back.textContent = t("people.back"); }
    const facts = [
      [t("asset.f_id"), h("code", {}, a.asset_id)],
      [t("assets.purpose"), purposeLabel(a.purpose)],
      [t("assets.type"), kindLabel(a.type)],
      [t("col.status"), h("span", { class: assetStatusClass(a.status), id: "asset-status", "data-status": a.status }, assetStatusLabel(a.status))],
      [t("asset.f_format"), a.format || "—"],
      [t("col.size"), a.size_bytes > 0 ? fmtBytes(a.size_bytes) : "—"],
      a.width && a.height ? [t("asset.f_dimensions"), `${a.width}×${a.height}`] : null,
      a.duration !== null && a.duration !== undefined ? [t("asset.f_duration"), t("asset.seconds", { n: num(a.duration) })] : null,
      a.review ? [t("asset.f_review"), reviewLabel(a.review)] : null,
      a.reason ? [t("asset.f_reason"), a.reason] : null,
      a.url ? [t("asset.f_source"), h("code", {}, a.url)] : null,
      [t("col.created"), fmtTime(a.created_at)],
      [t("asset.f_updated"), fmtTime(a.updated_at)],
    ].filter(Boolean);
    const alt = t("assets.preview_of", { name: a.name });
    let preview;
    if (!a.content_url) preview = h("p", { class: "muted", id: "asset-preview" }, t("asset.no_preview"));
    else if (a.type === "video") preview = h("video", { id: "asset-preview", src: a.content_url, controls: true, preload: "metadata", playsinline: true, "aria-label": alt });
    else if (a.type === "audio") preview = h("audio", { id: "asset-preview", src: a.content_url, controls: true, preload: "metadata", "aria-label": alt });
    else preview = h("img", { id: "asset-preview", class: "preview", src: a.content_url, alt });
    // The reference a request uses: a real person's only once approved.
    const ref = person ? a.asset_ref : `asset://${a.asset_id}`;
    const refField = ref ? h("input", { type: "text", id: "asset-ref", readonly: true, value: ref, spellcheck: "false",
      "aria-describedby": "hint-asset-ref", onfocus: (e) => e.target.select() }) : null;
    const parts = [
      h("h2", {}, t("asset.title", { name: a.name || a.asset_id })),
      preview,
      h("dl", { class: "facts", id: "asset-facts" }, facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
      h("h3", {}, t("asset.reference")),
      ref ? h("div", {}, h("label", { for: "asset-ref" }, t("asset.reference_label")), refField,
        h("button", { type: "button", class: "secondary", id: "copy-ref", onclick: (e) => copy(ref, e.target, refField) }, t("asset.copy")),
        h("p", { class: "hint", id: "hint-asset-ref" }, a.status === "Active" ? t("asset.reference_hint") : t("asset.reference_later")))
        : h("p", { class: "hint", id: "hint-asset-ref" }, t("people.ref_later")),
      h("p", {}, confirmButton(t("asset.delete"), t("asset.delete_question", { name: a.name || a.asset_id }), async () => {
        await api("POST", "/seedance/sp/assets/delete", { asset_id: a.asset_id });
        go(person ? "#/people" : "#/assets");
      }, { id: "delete-asset" }, { id: "confirm-delete" })),
    ];
    // Keep the player (and what it loaded) when the file is the same.
    const old = box.querySelector("#asset-preview");
    box.replaceChildren(...parts);
    if (old && a.content_url && shownMedia === mediaKey(a.content_url)) box.querySelector("#asset-preview").replaceWith(old);
    shownMedia = a.content_url ? mediaKey(a.content_url) : null;
  };
  const a = await findAsset(id);
  if (!a) {
    box.append(h("h2", {}, t("asset.title", { name: id })), h("p", { class: "error", role: "alert" }, t("asset.not_found", { id })));
    return;
  }
  render(a);
  let status = a.status;
  every(view, async () => {
    if (status !== "Processing") return;
    const next = await findAsset(id).catch(() => null);
    if (!next || !view.isConnected) return;
    status = next.status;
    render(next);
  }, 2000);
}

// ---- people --------------------------------------------------------------------------------

// The People page: the real-person whitelist. A photo of a real person (a URL or a file) is
// submitted, an operator reviews it, and once Active its asset_ref can be used as an image. The
// list is looked at again every 3 s while a record is Processing.
async function showPeople(view) {
  const tbody = h("tbody", { id: "people-rows" });
  const state = (p) => {
    if (p.status === "Active") {
      const ref = p.asset_ref || `asset://${p.asset_id}`;
      const code = h("code", { "data-ref": p.asset_id }, ref);
      return [code, " ", h("button", { type: "button", class: "secondary", "data-copy-ref": p.asset_id,
        "aria-label": t("people.copy_label", { name: p.name }), onclick: (e) => copy(ref, e.target, code) }, t("asset.copy"))];
    }
    if (p.status === "Processing") return p.review === "pending" ? t("people.pending") : t("people.checking");
    return p.reason ? t("people.failed_reason", { reason: p.reason }) : t("people.failed");
  };
  const row = (p) => h("tr", { "data-person": p.asset_id },
    h("td", {}, h("a", { href: `#/assets/${encodeURIComponent(p.asset_id)}` }, p.name || p.asset_id), h("br"),
      h("code", { class: "muted" }, p.asset_id)),
    h("td", { class: assetStatusClass(p.status), "data-status": p.status }, assetStatusLabel(p.status)),
    h("td", { "data-state": p.asset_id }, state(p)),
    h("td", { class: "hide-phone" }, fmtTime(p.created_at)));
  const version = (p) => [p.status, p.review, p.reason, p.asset_ref, p.name].join("|");
  const pager = cursorPager("people", (cursor) => api("GET", `/assets?purpose=realperson&limit=20${cursorParam(cursor)}`), (items) => {
    syncRows(tbody, items, (p) => p.asset_id, version, row);
    if (!items.length) tbody.append(h("tr", {}, h("td", { colspan: 4 }, t("people.none"))));
  }, showLoadError(view));
  view.append(personForm(() => pager.restart()),
    h("section", { class: "card" }, h("h2", {}, t("people.list")),
      h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("col.name")), h("th", { scope: "col" }, t("col.status")),
          h("th", { scope: "col" }, t("people.use")), h("th", { scope: "col", class: "hide-phone" }, t("col.created")))),
        tbody)),
      pager.controls));
  await pager.restart();
  every(view, () => {
    if (tbody.querySelector('[data-status="Processing"]')) pager.refresh().catch(() => {});
  }, 3000);
}

// Submit a real person: a name and a photo, by URL or as a file.
function personForm(onDone) {
  const name = h("input", { type: "text", id: "person-name", name: "name", maxlength: 100, autocomplete: "off", required: true });
  const url = h("input", { type: "url", id: "person-url", name: "url", placeholder: "https://", autocomplete: "off" });
  const file = h("input", { type: "file", id: "person-file", name: "file", accept: "image/*" });
  const formError = h("p", { class: "error", role: "alert" });
  const done = h("p", { id: "person-done", role: "status" });
  const submit = h("button", { type: "submit", id: "person-submit" }, t("people.submit"));
  const field = (id, label, control) => h("div", {}, h("label", { for: id }, label), control,
    h("p", { class: "error", id: `err-${id}`, role: "alert" }));
  const form = h("form", { class: "card", id: "person-form", novalidate: true }, h("h2", {}, t("people.title")),
    h("p", { class: "hint" }, t("people.hint")),
    field("person-name", t("people.name"), name),
    h("div", { class: "row" }, field("person-url", t("people.url"), url), field("person-file", t("people.file"), file)),
    formError, done, submit);
  whenSourceSubmitted(form, {
    prefix: "person-", url, file, formError, done, submit,
    check: () => (name.value.trim() ? null : { param: "name", message: t("people.name_error") }),
    body: (chosen, link) => {
      if (chosen) {
        const body = new FormData();
        body.append("name", name.value.trim());
        body.append("file", chosen);
        return body;
      }
      return { name: name.value.trim(), url: link };
    },
    path: () => "/seedance/sp/realperson/submit",
    doneText: (made) => t("people.submitted", { id: made.asset_id, status: assetStatusLabel(made.status) }),
    onDone,
  });
  return form;
}

// The submit of a form that sends a photo or clip as a file or by URL (an asset, a person):
// the form's own check first, then exactly one source; the errors the server names shown by
// their fields; the button off while the request is out; the form emptied once it is taken.
function whenSourceSubmitted(form, { prefix, url, file, formError, done, submit, check, body, path, doneText, onDone }) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    done.textContent = "";
    const chosen = file.files[0];
    const link = url.value.trim();
    const problem = (check && check())
      || (!chosen && !link ? { param: "url", message: t("assets.need_source") } : null)
      || (chosen && link ? { param: "url", message: t("assets.one_source") } : null);
    if (problem) { fieldError(problem, prefix, formError); return; }
    submit.disabled = true;
    try {
      const made = await api("POST", path(), body(chosen, link));
      form.reset();
      done.textContent = doneText(made);
      await onDone(made);
    } catch (e) {
      fieldError(e, prefix, formError);
    } finally {
      submit.disabled = false;
    }
  });
}
