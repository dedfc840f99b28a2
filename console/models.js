// reelay console, the Models page: the catalog as the server enforces it (`GET /models`),
// grouped by family, each model with a one-line summary made from its rules, the inputs it
// takes, and its prices as a table per resolution from 480p up to 4k. Loaded after app.js.
"use strict";

// Resolutions in the order of their size (480p → 4k); unknown ones after, by name.
function resolutionRank(r) {
  const known = { "480p": 480, "720p": 720, "1080p": 1080, "2k": 1440, "1440p": 1440, "4k": 2160, "2160p": 2160 };
  return known[r] || 10000;
}
const byResolution = (a, b) => resolutionRank(a) - resolutionRank(b) || a.localeCompare(b);

// What a model takes, as a list of short phrases.
function modelInputs(m) {
  const inputs = [t("models.in_text", { n: num(m.prompt_max_chars) })];
  if (m.images && m.images.max > 0) inputs.push(t("models.in_images", { n: m.images.max }));
  if (m.frames && m.frames !== "none") inputs.push(m.frames === "both_required" ? t("models.in_frames_both") : t("models.in_frames"));
  if (m.reference_videos) inputs.push(t("models.in_videos", { n: m.reference_videos.max, s: m.reference_videos.total_seconds }));
  if (m.reference_audios) inputs.push(t("models.in_audios", { n: m.reference_audios.max, s: m.reference_audios.total_seconds }));
  if (m.audio_output) inputs.push(t("models.out_audio"));
  return inputs;
}

// One line: durations, resolutions, ratios.
function modelSummary(m) {
  const resolutions = [...m.resolution.allowed].sort(byResolution);
  return t("models.summary", {
    min: m.duration.min, max: m.duration.max,
    resolutions: resolutions.join(" / "),
    ratios: m.ratios.length,
  });
}

async function showModels(view) {
  const [data, account] = await Promise.all([api("GET", "/models"), api("GET", "/account")]);
  const families = new Map();
  for (const m of data.items) {
    if (!families.has(m.family)) families.set(m.family, []);
    families.get(m.family).push(m);
  }
  view.append(h("section", { class: "card" }, h("h2", {}, t("models.title")),
    h("p", {}, t("models.hint")),
    h("p", { class: "quote", id: "models-balance" }, t("models.balance", { n: num(account.balance) }))));
  for (const [family, models] of families) {
    const resolutions = [...new Set(models.flatMap((m) => Object.keys(m.prices)))].sort(byResolution);
    const unit = (m) => (m.billing === "per_second" ? t("models.per_second") : t("models.per_task"));
    view.append(h("section", { class: "card", "data-family": family }, h("h3", {}, t("models.family", { family })),
      h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("col.model")),
          h("th", { scope: "col", class: "hide-phone" }, t("models.inputs")),
          ...resolutions.map((r) => h("th", { scope: "col", class: "num" }, r)))),
        h("tbody", {}, models.map((m) => h("tr", { "data-model": m.model },
          h("th", { scope: "row" }, h("code", {}, m.model), h("p", { class: "hint" }, modelSummary(m)),
            h("p", { class: "hint" }, unit(m))),
          h("td", { class: "hide-phone" }, h("ul", { class: "inputs" }, modelInputs(m).map((i) => h("li", {}, i)))),
          ...resolutions.map((r) => h("td", { class: "num", "data-resolution": r },
            m.prices[r] === undefined ? "—" : num(m.prices[r]))))))))));
  }
}
