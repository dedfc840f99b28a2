// reelay console, the operator's pages (admin token): pending reviews and channels at
// #/operator, accounts at #/operator/accounts (list, create), one account with its keys and a
// credits form at #/operator/accounts/{id}. Everything goes through /admin/v1. Loaded after app.js.
"use strict";

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
    h("thead", {}, h("tr", {}, ["Channel", "Provider", "Health", "In flight", "Error rate"].map((c) => h("th", { scope: "col" }, c)),
      h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Action")))),
    channels))));
  // Refreshed in place: a card being read (or a reason being typed) is never rebuilt; new
  // submissions are added, decided ones removed.
  const reviewCard = (item) => {
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
  };
  const loadReviews = async () => {
    const data = await admin("GET", "/reviews");
    const pending = new Set(data.items.map((item) => item.asset_id));
    reviews.querySelectorAll("article[data-review]").forEach((card) => {
      if (!pending.has(card.dataset.review)) card.remove();
    });
    const shown = new Set([...reviews.querySelectorAll("article[data-review]")].map((card) => card.dataset.review));
    for (const item of data.items) {
      if (!shown.has(item.asset_id)) reviews.append(reviewCard(item));
    }
    const empty = reviews.querySelector("#no-reviews");
    if (data.items.length && empty) empty.remove();
    if (!data.items.length && !empty) reviews.append(h("p", { id: "no-reviews" }, "Nothing waits for review."));
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
  every(view, () => loadChannels().catch(() => {}), 5000);
  every(view, () => loadReviews().catch(() => {}), 5000);
}

// ---- accounts ------------------------------------------------------------------------------

async function showAccounts(view) {
  const tbody = h("tbody", { id: "accounts" });
  const more = h("button", { type: "button", class: "secondary", id: "more-accounts", hidden: true }, "Show more accounts");
  let cursor = null;
  const row = (a) => h("tr", { "data-account": a.account_id },
    h("td", {}, h("a", { href: `#/operator/accounts/${encodeURIComponent(a.account_id)}` }, a.name)),
    h("td", { class: "hide-phone" }, h("code", {}, a.account_id)),
    h("td", { class: "balance" }, a.balance),
    h("td", { class: "hide-phone" }, a.spent_total),
    h("td", { class: "hide-phone" }, fmtTime(a.created_at)));
  const load = async (append) => {
    const data = await admin("GET", `/accounts?limit=100${append && cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    const rows = data.items.map(row);
    if (append) tbody.append(...rows); else tbody.replaceChildren(...rows);
    cursor = data.next_cursor;
    more.hidden = !cursor;
  };
  more.addEventListener("click", () => load(true).catch((e) => alert(e.message)));
  view.append(h("section", { class: "card" }, h("h2", {}, "Accounts"),
    h("p", { class: "hint" }, "Open an account to see its keys and to add or remove credits."),
    h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col", class: "hide-phone" }, "Account"),
        h("th", { scope: "col" }, "Balance"), h("th", { scope: "col", class: "hide-phone" }, "Spent"),
        h("th", { scope: "col", class: "hide-phone" }, "Created"))),
      tbody)), more),
  newAccountForm(() => load(false)));
  await load(false);
}

function newAccountForm(reload) {
  const slot = h("div", { id: "secret-slot" });
  const formError = h("p", { class: "error", role: "alert" });
  const form = h("form", { class: "card", id: "account-form", novalidate: true }, h("h2", {}, "New account"),
    h("div", { class: "row" },
      h("div", {}, h("label", { for: "new-account-name" }, "Name"),
        h("input", { type: "text", id: "new-account-name", maxlength: 100, required: true, autocomplete: "off" }),
        h("p", { class: "error", id: "err-new-account-name", role: "alert" })),
      h("div", {}, h("label", { for: "new-account-credits" }, "Starting credits"),
        h("input", { type: "number", id: "new-account-credits", min: 0, step: 1, value: 0, inputmode: "numeric" }),
        h("p", { class: "error", id: "err-new-account-credits", role: "alert" }))),
    h("p", { class: "hint" }, "The account gets a first API key; its secret is shown once, here."),
    slot, formError, h("button", { type: "submit", id: "create-account" }, "Create account"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    const name = $("#new-account-name");
    const credits = $("#new-account-credits").value.trim();
    try {
      const made = await admin("POST", "/accounts", { name: name.value, credits: credits === "" ? 0 : Number(credits) });
      name.value = "";
      const box = secretBox(made.secret, `the first key of ${made.account_id}`, () => name.focus());
      slot.replaceChildren(box);
      box.querySelector("#new-secret").focus();
      await reload();
    } catch (e) {
      fieldError(e, "new-account-", formError);
    }
  });
  return form;
}

async function showAdminAccount(view, id) {
  const a = await admin("GET", `/accounts/${encodeURIComponent(id)}`);
  const balance = h("span", { id: "acct-balance" }, a.balance);
  const done = h("p", { id: "credits-done", role: "status" });
  const formError = h("p", { class: "error", role: "alert" });
  const amount = h("input", { type: "number", id: "acct-credits", step: 1, inputmode: "numeric", required: true,
    "aria-describedby": "hint-acct-credits" });
  const reason = h("input", { type: "text", id: "acct-note", maxlength: 200, required: true, autocomplete: "off",
    "aria-describedby": "hint-acct-note" });
  const credits = h("form", { class: "card", id: "credits-form", novalidate: true }, h("h2", {}, "Credits"),
    h("div", { class: "row" },
      h("div", {}, h("label", { for: "acct-credits" }, "Credits to add"), amount,
        h("p", { class: "hint", id: "hint-acct-credits" }, "A whole number; negative to remove credits."),
        h("p", { class: "error", id: "err-acct-credits", role: "alert" })),
      h("div", {}, h("label", { for: "acct-note" }, "Reason"), reason,
        h("p", { class: "hint", id: "hint-acct-note" }, "Kept with the ledger entry, e.g. an invoice number."),
        h("p", { class: "error", id: "err-acct-note", role: "alert" }))),
    formError, done, h("button", { type: "submit", id: "credits-submit" }, "Apply"));
  credits.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(credits);
    done.textContent = "";
    const n = Number(amount.value.trim());
    if (!amount.value.trim() || !Number.isInteger(n) || n === 0) {
      fieldError({ param: "credits", message: "credits: a whole number other than 0 (negative to remove)" }, "acct-", formError);
      return;
    }
    if (!reason.value.trim()) {
      fieldError({ param: "note", message: "Reason: required, so the ledger says why" }, "acct-", formError);
      return;
    }
    try {
      const r = await admin("POST", `/accounts/${encodeURIComponent(id)}/credits`, { credits: n, note: reason.value.trim() });
      balance.textContent = r.balance;
      done.textContent = `${n > 0 ? "Added" : "Removed"} ${Math.abs(n)} credits; the balance is now ${r.balance}.`;
      amount.value = "";
      reason.value = "";
    } catch (e) {
      fieldError(e, "acct-", formError);
    }
  });

  const tbody = h("tbody", { id: "keys" });
  const showKeys = (keys) => {
    tbody.replaceChildren(...keyRows(keys, async (k) => {
      await admin("POST", `/keys/${encodeURIComponent(k.key_id)}/revoke`);
      await loadKeys();
    }));
    fillQuotaKeys(keys);
  };
  const loadKeys = async () => {
    const fresh = await admin("GET", `/accounts/${encodeURIComponent(id)}`);
    balance.textContent = fresh.balance;
    showKeys(fresh.keys);
  };
  const slot = h("div", { id: "secret-slot" });
  const keyError = h("p", { class: "error", role: "alert" });
  const keyName = h("input", { type: "text", id: "key-name", maxlength: 100, required: true, autocomplete: "off" });
  const keyQuota = h("input", { type: "number", id: "key-quota", min: 0, step: 1, value: 0, inputmode: "numeric",
    "aria-describedby": "hint-key-quota" });
  const keyForm = h("form", { id: "key-form", novalidate: true },
    h("div", { class: "row" },
      h("div", {}, h("label", { for: "key-name" }, "Name of a new key"), keyName,
        h("p", { class: "error", id: "err-key-name", role: "alert" })),
      h("div", {}, h("label", { for: "key-quota" }, "Quota (credits)"), keyQuota,
        h("p", { class: "hint", id: "hint-key-quota" }, "The most this key may spend; 0 = no quota."),
        h("p", { class: "error", id: "err-key-quota", role: "alert" }))),
    keyError,
    h("button", { type: "submit", id: "create-key" }, "Create key"));
  keyForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(keyForm);
    const quota = Number(keyQuota.value.trim() || "0");
    if (!Number.isInteger(quota) || quota < 0) {
      fieldError({ param: "quota", message: "Quota: a whole number of credits, 0 for no quota" }, "key-", keyError);
      return;
    }
    try {
      const made = await admin("POST", `/accounts/${encodeURIComponent(id)}/keys`, { name: keyName.value, quota });
      keyName.value = "";
      keyQuota.value = 0;
      const box = secretBox(made.secret, `key ${made.key_id}`, () => keyName.focus());
      slot.replaceChildren(box);
      box.querySelector("#new-secret").focus();
      await loadKeys();
    } catch (e) {
      fieldError(e, "key-", keyError);
    }
  });

  // A key's quota, changed with a confirmation (it can stop a client at once).
  const quotaError = h("p", { class: "error", role: "alert" });
  const quotaDone = h("p", { id: "quota-done", role: "status" });
  const quotaKey = h("select", { id: "quota-key" });
  const fillQuotaKeys = (keys) => quotaKey.replaceChildren(...keys.filter((k) => !k.revoked_at)
    .map((k) => h("option", { value: k.key_id }, `${k.name} (${k.key_id})`)));
  const quotaValue = h("input", { type: "number", id: "keyq-quota", min: 0, step: 1, inputmode: "numeric", required: true,
    "aria-describedby": "hint-keyq-quota" });
  const quotaForm = h("form", { class: "card", id: "quota-form", novalidate: true }, h("h2", {}, "Key quota"),
    h("div", { class: "row" },
      h("div", {}, h("label", { for: "quota-key" }, "Key"), quotaKey),
      h("div", {}, h("label", { for: "keyq-quota" }, "Quota (credits)"), quotaValue,
        h("p", { class: "hint", id: "hint-keyq-quota" }, "0 = no quota. Below what the key already spent, its next create is refused."),
        h("p", { class: "error", id: "err-keyq-quota", role: "alert" }))),
    quotaError, quotaDone, h("button", { type: "submit", id: "quota-submit" }, "Set quota"));
  quotaForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(quotaForm);
    quotaDone.textContent = "";
    const n = Number(quotaValue.value.trim());
    if (!quotaValue.value.trim() || !Number.isInteger(n) || n < 0) {
      fieldError({ param: "quota", message: "Quota: a whole number of credits, 0 for no quota" }, "keyq-", quotaError);
      return;
    }
    if (!window.confirm(`Set the quota of ${quotaKey.value} to ${n > 0 ? `${n} credits` : "no quota"}?`)) return;
    try {
      const key = await admin("POST", `/keys/${encodeURIComponent(quotaKey.value)}/limits`, { quota: n });
      quotaDone.textContent = `${key.name}: ${quotaText(key)}.`;
      quotaValue.value = "";
      await loadKeys();
    } catch (e) {
      fieldError(e, "keyq-", quotaError);
    }
  });

  view.append(h("p", {}, h("a", { href: "#/operator/accounts" }, "← All accounts")),
    h("section", { class: "card", id: "account" }, h("h2", {}, `Account ${a.name}`),
      h("p", {}, h("code", {}, a.account_id), ` · created ${fmtTime(a.created_at)}`),
      h("p", { class: "quote" }, "Balance: ", balance, " credits"),
      h("p", {}, `Spent in all: ${a.spent_total} credits`)),
    credits,
    h("section", { class: "card" }, h("h2", {}, "API keys"), slot, keysTable(tbody), keyForm),
    quotaForm);
  showKeys(a.keys);
}
