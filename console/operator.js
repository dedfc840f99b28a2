// reelay console, the operator's pages (admin token): pending reviews and channels (with their
// recent errors) at #/operator, accounts at #/operator/accounts (list, create), one account with
// its keys, a credits form and its ledger at #/operator/accounts/{id}, the task log at
// #/operator/tasks (`?account=` filters it) and the audit log of admin actions at
// #/operator/audit. Everything goes through /admin/v1. Loaded after app.js.
"use strict";

function preview(item) {
  if (!item.preview_url) return h("p", { class: "muted" }, t("op.no_preview"));
  if (item.type === "video") return h("video", { src: item.preview_url, controls: true, preload: "metadata", "aria-label": t("op.preview_of", { name: item.name }) });
  if (item.type === "audio") return h("audio", { src: item.preview_url, controls: true, "aria-label": t("op.preview_of", { name: item.name }) });
  return h("img", { class: "preview", src: item.preview_url, alt: t("op.preview_of", { name: item.name }) });
}

async function showOperator(view) {
  const reviews = h("div", { class: "reviews", id: "reviews" });
  const channels = h("tbody", { id: "channels" });
  view.append(h("section", { class: "card" }, h("h2", {}, t("op.reviews")),
    h("p", { class: "hint" }, t("op.reviews_hint")), reviews),
  h("section", { class: "card" }, h("h2", {}, t("op.channels")), h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, [t("col.channel"), t("col.provider"), t("col.health"), t("col.in_flight"), t("col.error_rate"), t("col.recent_errors")]
      .map((c) => h("th", { scope: "col" }, c)),
      h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, t("col.action"))))),
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
      h("p", { class: "muted" }, t("op.review_meta", { id, account: item.account_id, created: fmtTime(item.created_at) })),
      h("label", { for: `reason-${id}` }, t("op.reason")), reason, status,
      // Approving lets the account use the item at once: asked in place first.
      confirmButton(t("op.approve"), t("op.approve_question", { name: item.name }), () => decide("approve"),
        { "data-approve": id, class: null }, { "data-approve-confirm": id, class: null }),
      h("button", { type: "button", class: "danger", "data-reject": id, onclick: () => decide("reject") }, t("op.reject")));
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
    if (!data.items.length && !empty) reviews.append(h("p", { id: "no-reviews" }, t("op.no_reviews")));
  };
  const loadChannels = async () => {
    const data = await admin("GET", "/channels");
    // A list of errors opened for reading stays open across the refresh.
    const opened = new Set([...channels.querySelectorAll("details[data-errors-of][open]")].map((d) => d.dataset.errorsOf));
    channels.replaceChildren(...data.items.map((c) => {
      const health = c.health || {};
      const paused = !!health.paused;
      const errors = Array.isArray(health.recent_errors) ? health.recent_errors : [];
      return h("tr", { "data-channel": c.name },
        h("td", {}, c.name), h("td", {}, c.provider),
        h("td", {}, paused ? t("op.paused") : t("op.breaker", { state: health.breaker })),
        h("td", {}, `${c.in_flight}${c.max_concurrency ? ` / ${c.max_concurrency}` : ""}`),
        h("td", {}, t("op.error_rate", { rate: Math.round((health.recent_error_rate || 0) * 100), calls: num(health.recent_calls || 0) })),
        h("td", { "data-errors": c.name }, errors.length
          ? h("details", { "data-errors-of": c.name, open: opened.has(c.name) },
            h("summary", {}, t("op.errors_count", { n: errors.length })),
            h("ul", { class: "errors" }, errors.map((e) => h("li", {}, h("span", { class: "muted" }, fmtTime(e.at)), " ", e.message))))
          : h("span", { class: "muted" }, t("op.errors_none"))),
        // Pausing or resuming changes where new tasks go: asked in place first.
        h("td", {}, confirmButton(paused ? t("op.resume", { name: c.name }) : t("op.pause", { name: c.name }),
          paused ? t("op.resume_question", { name: c.name }) : t("op.pause_question", { name: c.name }),
          async () => {
            await admin("POST", `/channels/${encodeURIComponent(c.name)}/${paused ? "resume" : "pause"}`);
            await loadChannels();
          }, { "data-switch": c.name, class: "secondary" }, { "data-switch-confirm": c.name })));
    }));
  };
  await Promise.all([loadReviews(), loadChannels()]);
  every(view, () => loadChannels().catch(() => {}), 5000);
  every(view, () => loadReviews().catch(() => {}), 5000);
}

// ---- accounts ------------------------------------------------------------------------------

async function showAccounts(view) {
  const tbody = h("tbody", { id: "accounts" });
  const more = h("button", { type: "button", class: "secondary", id: "more-accounts", hidden: true }, t("accounts.more"));
  let cursor = null;
  const row = (a) => h("tr", { "data-account": a.account_id },
    h("td", {}, h("a", { href: `#/operator/accounts/${encodeURIComponent(a.account_id)}` }, a.name)),
    h("td", { class: "hide-phone" }, h("code", {}, a.account_id)),
    h("td", { class: "balance" }, num(a.balance)),
    h("td", { class: "hide-phone" }, num(a.spent_total)),
    h("td", { class: "hide-phone" }, fmtTime(a.created_at)));
  const load = async (append) => {
    const data = await admin("GET", `/accounts?limit=100${append && cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    const rows = data.items.map(row);
    if (append) tbody.append(...rows); else tbody.replaceChildren(...rows);
    cursor = data.next_cursor;
    more.hidden = !cursor;
  };
  more.addEventListener("click", () => load(true).catch((e) => alert(e.message)));
  view.append(h("section", { class: "card" }, h("h2", {}, t("accounts.title")),
    h("p", { class: "hint" }, t("accounts.hint")),
    h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("col.name")), h("th", { scope: "col", class: "hide-phone" }, t("col.account")),
        h("th", { scope: "col" }, t("col.balance")), h("th", { scope: "col", class: "hide-phone" }, t("col.spent")),
        h("th", { scope: "col", class: "hide-phone" }, t("col.created")))),
      tbody)), more),
  newAccountForm(() => load(false)));
  await load(false);
}

function newAccountForm(reload) {
  const slot = h("div", { id: "secret-slot" });
  const formError = h("p", { class: "error", role: "alert" });
  const form = h("form", { class: "card", id: "account-form", novalidate: true }, h("h2", {}, t("accounts.new")),
    h("div", { class: "row" },
      h("div", {}, h("label", { for: "new-account-name" }, t("accounts.name")),
        h("input", { type: "text", id: "new-account-name", maxlength: 100, required: true, autocomplete: "off" }),
        h("p", { class: "error", id: "err-new-account-name", role: "alert" })),
      h("div", {}, h("label", { for: "new-account-credits" }, t("accounts.starting_credits")),
        h("input", { type: "number", id: "new-account-credits", min: 0, step: 1, value: 0, inputmode: "numeric" }),
        h("p", { class: "error", id: "err-new-account-credits", role: "alert" }))),
    h("p", { class: "hint" }, t("accounts.new_hint")),
    slot, formError, h("button", { type: "submit", id: "create-account" }, t("accounts.create")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    const name = $("#new-account-name");
    const credits = $("#new-account-credits").value.trim();
    try {
      const made = await admin("POST", "/accounts", { name: name.value, credits: credits === "" ? 0 : Number(credits) });
      name.value = "";
      const box = secretBox(made.secret, t("secret.of_first_key", { id: made.account_id }), () => name.focus());
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
  let ledger = null;
  const balance = h("span", { id: "acct-balance" }, num(a.balance));
  const done = h("p", { id: "credits-done", role: "status" });
  const ask = h("span", { class: "confirm", id: "credits-ask" });
  const formError = h("p", { class: "error", role: "alert" });
  const amount = h("input", { type: "number", id: "acct-credits", step: 1, inputmode: "numeric", required: true,
    "aria-describedby": "hint-acct-credits" });
  const reason = h("input", { type: "text", id: "acct-note", maxlength: 200, required: true, autocomplete: "off",
    "aria-describedby": "hint-acct-note" });
  const credits = h("form", { class: "card", id: "credits-form", novalidate: true }, h("h2", {}, t("acct.credits")),
    h("div", { class: "row" },
      h("div", {}, h("label", { for: "acct-credits" }, t("acct.credits_add")), amount,
        h("p", { class: "hint", id: "hint-acct-credits" }, t("acct.credits_hint")),
        h("p", { class: "error", id: "err-acct-credits", role: "alert" })),
      h("div", {}, h("label", { for: "acct-note" }, t("acct.reason")), reason,
        h("p", { class: "hint", id: "hint-acct-note" }, t("acct.reason_hint")),
        h("p", { class: "error", id: "err-acct-note", role: "alert" }))),
    formError, done, h("button", { type: "submit", id: "credits-submit" }, t("acct.apply")), ask);
  credits.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(credits);
    done.textContent = "";
    const n = Number(amount.value.trim());
    if (!amount.value.trim() || !Number.isInteger(n) || n === 0) {
      fieldError({ param: "credits", message: t("acct.credits_error") }, "acct-", formError);
      return;
    }
    if (!reason.value.trim()) {
      fieldError({ param: "note", message: t("acct.reason_error") }, "acct-", formError);
      return;
    }
    // A change of credits is asked once more, in place, with the amount in words.
    const note = reason.value.trim();
    const apply = async () => {
      const r = await admin("POST", `/accounts/${encodeURIComponent(id)}/credits`, { credits: n, note });
      balance.textContent = num(r.balance);
      const change = { n: num(Math.abs(n)), balance: num(r.balance) };
      done.textContent = n > 0 ? t("acct.added", change) : t("acct.removed", change);
      amount.value = "";
      reason.value = "";
      if (ledger) ledger.restart().catch(() => {});
    };
    const question = n > 0 ? t("acct.add_question", { n: num(n), id }) : t("acct.remove_question", { n: num(-n), id });
    const yes = h("button", { type: "button", id: "credits-confirm", class: "danger" }, t("acct.apply_confirm"));
    const no = h("button", { type: "button", class: "secondary", onclick: () => { ask.replaceChildren(); amount.focus(); } }, t("confirm.cancel"));
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      try {
        await apply();
        ask.replaceChildren();
      } catch (e) {
        ask.replaceChildren();
        fieldError(e, "acct-", formError);
      }
    });
    ask.replaceChildren(h("span", { class: "question" }, question), " ", yes, no);
    yes.focus();
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
    balance.textContent = num(fresh.balance);
    showKeys(fresh.keys);
  };
  const slot = h("div", { id: "secret-slot" });
  const keyError = h("p", { class: "error", role: "alert" });
  const keyName = h("input", { type: "text", id: "key-name", maxlength: 100, required: true, autocomplete: "off" });
  const keyQuota = h("input", { type: "number", id: "key-quota", min: 0, step: 1, value: 0, inputmode: "numeric",
    "aria-describedby": "hint-key-quota" });
  const keyForm = h("form", { id: "key-form", novalidate: true },
    h("div", { class: "row" },
      h("div", {}, h("label", { for: "key-name" }, t("keys.new_name")), keyName,
        h("p", { class: "error", id: "err-key-name", role: "alert" })),
      h("div", {}, h("label", { for: "key-quota" }, t("keys.quota")), keyQuota,
        h("p", { class: "hint", id: "hint-key-quota" }, t("keys.quota_hint")),
        h("p", { class: "error", id: "err-key-quota", role: "alert" }))),
    keyError,
    h("button", { type: "submit", id: "create-key" }, t("keys.create")));
  keyForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(keyForm);
    const quota = Number(keyQuota.value.trim() || "0");
    if (!Number.isInteger(quota) || quota < 0) {
      fieldError({ param: "quota", message: t("keys.quota_error") }, "key-", keyError);
      return;
    }
    try {
      const made = await admin("POST", `/accounts/${encodeURIComponent(id)}/keys`, { name: keyName.value, quota });
      keyName.value = "";
      keyQuota.value = 0;
      const box = secretBox(made.secret, t("secret.of_key_id", { id: made.key_id }), () => keyName.focus());
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
  const quotaForm = h("form", { class: "card", id: "quota-form", novalidate: true }, h("h2", {}, t("quota.title")),
    h("div", { class: "row" },
      h("div", {}, h("label", { for: "quota-key" }, t("quota.key")), quotaKey),
      h("div", {}, h("label", { for: "keyq-quota" }, t("keys.quota")), quotaValue,
        h("p", { class: "hint", id: "hint-keyq-quota" }, t("quota.hint")),
        h("p", { class: "error", id: "err-keyq-quota", role: "alert" }))),
    quotaError, quotaDone, h("button", { type: "submit", id: "quota-submit" }, t("quota.submit")));
  quotaForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(quotaForm);
    quotaDone.textContent = "";
    const n = Number(quotaValue.value.trim());
    if (!quotaValue.value.trim() || !Number.isInteger(n) || n < 0) {
      fieldError({ param: "quota", message: t("keys.quota_error") }, "keyq-", quotaError);
      return;
    }
    if (!window.confirm(t("quota.confirm", { key: quotaKey.value, value: n > 0 ? t("quota.credits", { n: num(n) }) : t("quota.none") }))) return;
    try {
      const key = await admin("POST", `/keys/${encodeURIComponent(quotaKey.value)}/limits`, { quota: n });
      quotaDone.textContent = `${key.name}: ${quotaText(key)}.`;
      quotaValue.value = "";
      await loadKeys();
    } catch (e) {
      fieldError(e, "keyq-", quotaError);
    }
  });

  // The account's ledger, newest first, in pages; reloaded after a change of credits.
  const ledgerBody = h("tbody", { id: "acct-ledger" });
  const ledgerCard = h("section", { class: "card", id: "acct-ledger-card" }, h("h2", {}, t("ledger.title")));
  ledger = cursorPager("acct-ledger", (cursor) => admin("GET", `/accounts/${encodeURIComponent(id)}/ledger?limit=20${cursorParam(cursor)}`),
    (items) => {
      ledgerBody.replaceChildren(...items.map((e) => ledgerRow(e, false)));
      if (!items.length) ledgerBody.append(h("tr", {}, h("td", { colspan: 5 }, t("ledger.none"))));
    }, (e) => alertIn(ledgerCard, e));
  ledgerCard.append(h("div", { class: "table-wrap" }, h("table", {}, ledgerHead(), ledgerBody)), ledger.controls);

  view.append(h("p", {}, h("a", { href: "#/operator/accounts" }, t("acct.back"))),
    h("section", { class: "card", id: "account" }, h("h2", {}, t("acct.title", { name: a.name })),
      h("p", {}, h("code", {}, a.account_id), t("acct.created", { created: fmtTime(a.created_at) })),
      h("p", { class: "quote" }, t("account.balance"), balance, t("account.credits")),
      h("p", {}, t("account.spent", { credits: num(a.spent_total) })),
      h("p", {}, h("a", { id: "acct-tasks", href: `#/operator/tasks?account=${encodeURIComponent(a.account_id)}` }, t("acct.tasks")))),
    credits,
    ledgerCard,
    h("section", { class: "card" }, h("h2", {}, t("keys.title")), slot, keysTable(tbody), keyForm),
    quotaForm);
  showKeys(a.keys);
  await ledger.restart().catch((e) => alertIn(ledgerCard, e));
}

// The operator's task log (`GET /admin/v1/tasks`): every account's tasks with status and
// account filters (`accountId` comes from `#/operator/tasks?account=…`, an account page's
// link), pages of 50, and fail-and-refund of a live task with a reason
// (`POST /admin/v1/tasks/{id}/fail`), asked in place.
async function showTaskLog(view, accountId) {
  const status = h("select", { id: "log-status", name: "status" },
    options(["", "queued", "processing", "completed", "failed"], ""));
  [...status.options].forEach((o) => { o.textContent = o.value ? statusLabel(o.value) : t("tasks.all_statuses"); });
  const account = h("input", { type: "text", id: "log-account", name: "account_id", autocomplete: "off", placeholder: "acct_…",
    value: accountId || null });
  const tbody = h("tbody", { id: "log-rows" });
  const done = h("p", { id: "log-done", role: "status" });
  const slot = h("div", { id: "log-fail-slot" });
  const newer = h("button", { type: "button", id: "log-newer", class: "secondary" }, t("tasks.newer"));
  const older = h("button", { type: "button", id: "log-older", class: "secondary" }, t("tasks.older"));
  view.append(h("section", { class: "card" }, h("h2", {}, t("log.title")),
    h("p", { class: "hint" }, t("log.hint")),
    h("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); restart(); } },
      h("div", {}, h("label", { for: "log-status" }, t("col.status")), status),
      h("div", {}, h("label", { for: "log-account" }, t("log.account")), account,
        h("button", { type: "submit", id: "log-filter", class: "secondary" }, t("tasks.open")))),
    done, slot,
    h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("col.task")), h("th", { scope: "col" }, t("col.status")),
        h("th", { scope: "col", class: "hide-phone" }, t("col.account")), h("th", { scope: "col" }, t("col.model")),
        h("th", { scope: "col", class: "hide-phone" }, t("col.created")), h("th", { scope: "col" }, t("col.action")))),
      tbody)),
    h("p", {}, newer, older)));
  let cursors = [null];
  let page = 0;
  let next = null;
  const failForm = (item) => {
    const id = item.task.task_id;
    const reason = h("input", { type: "text", id: "log-reason", maxlength: 1000, autocomplete: "off", required: true });
    const error = h("p", { class: "error", id: "err-log-reason", role: "alert" });
    const form = h("form", { class: "card", id: "log-fail-form", novalidate: true },
      h("h3", {}, t("log.fail_title", { id })),
      h("label", { for: "log-reason" }, t("log.reason")), reason, error,
      h("button", { type: "submit", id: "log-fail-confirm", class: "danger" }, t("log.confirm")),
      h("button", { type: "button", class: "secondary", onclick: () => slot.replaceChildren() }, t("confirm.cancel")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.textContent = "";
      if (!reason.value.trim()) { error.textContent = t("log.reason_error"); reason.focus(); return; }
      try {
        const failed = await admin("POST", `/tasks/${encodeURIComponent(id)}/fail`, { reason: reason.value.trim() });
        slot.replaceChildren();
        done.textContent = t("log.done", { id, account: failed.account_id });
        await refresh();
      } catch (e) {
        error.textContent = e.message;
      }
    });
    slot.replaceChildren(form);
    reason.focus();
  };
  const refresh = async () => {
    const q = new URLSearchParams({ limit: "50" });
    if (status.value) q.set("status", status.value);
    if (account.value.trim()) q.set("account_id", account.value.trim());
    if (cursors[page]) q.set("cursor", cursors[page]);
    const data = await admin("GET", `/tasks?${q}`);
    next = data.next_cursor;
    tbody.replaceChildren(...data.items.map((item) => {
      const task = item.task;
      const live = task.status === "queued" || task.status === "processing";
      return h("tr", { "data-task": task.task_id },
        h("td", {}, h("code", {}, task.task_id), item.hidden ? h("span", { class: "muted" }, t("log.hidden")) : null),
        h("td", { class: `status-${task.status}` }, statusLabel(task.status)),
        h("td", { class: "hide-phone" }, h("a", { href: `#/operator/accounts/${item.account_id}` }, item.account_id)),
        h("td", {}, task.model),
        h("td", { class: "hide-phone" }, fmtTime(task.created_at)),
        h("td", {}, live ? h("button", { type: "button", class: "danger", "data-fail": task.task_id,
          onclick: () => failForm(item) }, t("log.fail")) : ""));
    }));
    if (!data.items.length) tbody.append(h("tr", {}, h("td", { colspan: 6 }, t("tasks.none_match"))));
    newer.disabled = page === 0;
    older.disabled = !next;
  };
  const restart = () => { cursors = [null]; page = 0; refresh().catch((e) => { done.textContent = e.message; }); };
  status.addEventListener("change", restart);
  older.addEventListener("click", () => { if (next) { cursors[page + 1] = next; page += 1; refresh(); } });
  newer.addEventListener("click", () => { if (page > 0) { page -= 1; refresh(); } });
  await refresh();
}

// ---- audit log -----------------------------------------------------------------------------

// The audit log (`GET /admin/v1/audit`): every admin action, newest first, in pages of 50: when,
// who (`admin`, or `admin:<X-Reelay-Actor>`), what, on which id, and its details.
async function showAudit(view) {
  const tbody = h("tbody", { id: "audit-rows" });
  const target = (id) => (!id ? ""
    : /^acct_/.test(id) ? h("a", { href: `#/operator/accounts/${encodeURIComponent(id)}` }, id)
    : h("code", {}, id));
  const pager = cursorPager("audit", (cursor) => admin("GET", `/audit?limit=50${cursorParam(cursor)}`), (items) => {
    tbody.replaceChildren(...items.map((e) => h("tr", { "data-seq": e.seq },
      h("td", {}, fmtTime(e.at)), h("td", { class: "hide-phone" }, e.actor), h("td", {}, h("code", {}, e.action)),
      h("td", {}, target(e.target)), h("td", {}, e.detail || ""))));
    if (!items.length) tbody.append(h("tr", {}, h("td", { colspan: 5 }, t("audit.none"))));
  }, showLoadError(view));
  view.append(h("section", { class: "card" }, h("h2", {}, t("audit.title")),
    h("p", { class: "hint" }, t("audit.hint")),
    h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("col.when")), h("th", { scope: "col", class: "hide-phone" }, t("col.actor")),
        h("th", { scope: "col" }, t("col.action")), h("th", { scope: "col" }, t("col.target")), h("th", { scope: "col" }, t("col.detail")))),
      tbody)),
    pager.controls));
  await pager.restart();
}
