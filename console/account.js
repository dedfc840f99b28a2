// reelay console, the Account page: balance, ledger and the account's own API keys
// (`/account/keys`: list, create with the secret shown once, revoke). Loaded after app.js.
"use strict";

async function showAccount(view) {
  const [a, ledger] = await Promise.all([api("GET", "/account"), api("GET", "/account/ledger?limit=50")]);
  view.append(h("section", { class: "card" }, h("h2", {}, "Account"),
    h("p", {}, `${a.name} (${a.account_id})`),
    h("p", { class: "quote" }, "Balance: ", h("span", { id: "balance" }, a.balance), " credits"),
    h("p", {}, `Spent in all: ${a.spent_total.toLocaleString()} credits`)),
  webhookCard(a.webhook_secret_set),
  await keysCard(),
  h("section", { class: "card" }, h("h2", {}, "Ledger"), h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, ["When", "Kind", "Credits", "Task", "Balance after"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", { id: "ledger" }, ledger.items.map((e) => h("tr", {},
      h("td", {}, fmtTime(e.at)), h("td", {}, e.kind), h("td", {}, e.credits > 0 ? `+${e.credits}` : e.credits),
      h("td", {}, e.task_id ? h("a", { href: `#/tasks/${e.task_id}` }, e.task_id) : ""), h("td", {}, e.balance_after))))))));
}

// The webhook signing secret: made or rotated here, shown once (reelay signs every delivery with
// it; a rotation takes effect for the next delivery).
function webhookCard(isSet) {
  const setText = "A webhook secret is set: deliveries carry a webhook-signature made with it.";
  const state = h("p", { id: "webhook-state" }, isSet ? setText : "No webhook secret yet: deliveries are sent unsigned.");
  const card = h("section", { class: "card", id: "webhook-card" }, h("h2", {}, "Webhook secret"), state);
  let control = null;
  const place = (next) => { if (control) control.replaceWith(next); else card.append(next); control = next; };
  const focusControl = () => (control.querySelector("button") || control).focus();
  const make = async () => {
    const made = await api("POST", "/account/webhook-secret");
    state.textContent = setText;
    place(rotate());
    const old = card.querySelector("#secret-box");
    if (old) old.remove();
    const box = secretBox(made.secret, "the webhook signatures", focusControl);
    box.querySelector("#new-secret-warning").textContent =
      "Copy it now: it is shown only this once. Your receiver checks each delivery's signature with it.";
    card.append(box);
    box.focus();
  };
  const rotate = () => confirmButton("Rotate secret", "Deliveries from now on are signed with a new secret. Rotate?",
    make, { id: "webhook-rotate" }, { id: "webhook-rotate-confirm" });
  place(isSet ? rotate()
    : h("button", { type: "button", id: "webhook-create", onclick: () => make().catch((e) => alertIn(card, e)) }, "Create secret"));
  return card;
}

function alertIn(card, e) {
  card.append(h("p", { class: "error", role: "alert" }, e.message));
}

// A key's spending: "1200 of 5000 credits" under a quota, "1200 credits (no quota)" without.
function quotaText(k) {
  return k.quota > 0 ? `${k.quota_used} of ${k.quota} credits` : `${k.quota_used} credits (no quota)`;
}

// The keys table, shared with the operator's account page (operator.js).
// One row per key, for this account (`revoke` posts the revocation) or for the operator.
function keyRows(keys, revoke) {
  return keys.map((k) => h("tr", { "data-key": k.key_id },
    h("td", {}, k.name, k.current ? h("span", { class: "muted" }, " (this session)") : null),
    h("td", {}, h("code", {}, k.key_id)),
    h("td", { class: "hide-phone" }, h("code", {}, `${k.prefix}…`)),
    h("td", { class: "hide-phone" }, fmtTime(k.created_at)),
    h("td", { "data-quota": k.key_id }, quotaText(k)),
    h("td", { class: k.revoked_at ? "status-failed" : "status-completed" }, k.revoked_at ? `revoked ${fmtTime(k.revoked_at)}` : "active"),
    h("td", {}, k.revoked_at ? null : confirmButton("Revoke",
      k.current ? "Revoke the key this tab is signed in with? You will be signed out." : `Revoke ${k.name}? Clients using it stop working at once.`,
      () => revoke(k), { "data-revoke": k.key_id, "aria-label": `Revoke key ${k.name} (${k.key_id})` },
      { "data-confirm-revoke": k.key_id }))));
}

function keysTable(tbody) {
  return h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Key id"),
      h("th", { scope: "col", class: "hide-phone" }, "Prefix"), h("th", { scope: "col", class: "hide-phone" }, "Created"),
      h("th", { scope: "col" }, "Spent"), h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Action")))),
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
    h("label", { for: "key-name" }, "Name of a new key"), name,
    h("p", { class: "hint", id: "hint-key-name" }, "1 to 64 characters, e.g. the program or machine that will use it."),
    h("p", { class: "error", id: "err-key-name", role: "alert" }), formError,
    h("button", { type: "submit", id: "create-key" }, "Create key"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    const button = $("#create-key");
    button.disabled = true;
    try {
      const key = await api("POST", "/account/keys", { name: name.value });
      name.value = "";
      const box = secretBox(key.secret, `key ${key.name} (${key.key_id})`, () => name.focus());
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
  return h("section", { class: "card", id: "keys-card" }, h("h2", {}, "API keys"),
    h("p", { class: "hint" }, "Every key of this account spends its credits, up to its quota when an operator set one ",
      "(net of refunds). A key's secret is shown once, when it is made; revoke keys you no longer use or may have leaked."),
    slot, keysTable(tbody), form);
}
