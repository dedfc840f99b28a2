// reelay console, the Account page: balance, ledger and the account's own API keys
// (`/account/keys`: list, create with the secret shown once, revoke). Loaded after app.js.
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
    h("thead", {}, h("tr", {}, [t("col.when"), t("col.kind"), t("col.credits"), t("col.task"), t("col.balance_after")]
      .map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", { id: "ledger" }, ledger.items.map((e) => h("tr", {},
      h("td", {}, fmtTime(e.at)), h("td", {}, e.kind), h("td", {}, e.credits > 0 ? `+${num(e.credits)}` : num(e.credits)),
      h("td", {}, e.task_id ? h("a", { href: `#/tasks/${e.task_id}` }, e.task_id) : ""), h("td", {}, num(e.balance_after)))))))));
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
