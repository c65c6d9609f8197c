// The dashboard's entry point: header controls, tabs, filter chips, and drawing the view.

import { addFilter, navigate, params, removeFilter, selection } from "./api.js";
import { disposeCharts } from "./charts.js";
import { fromLocalInput, h, toLocalInput } from "./dom.js";
import * as panels from "./panels.js";
import { sessionPage } from "./session.js";

const TABS = [
  ["overview", "Overview", panels.overview],
  ["timeseries", "Time series", panels.timeseries],
  ["breakdowns", "Breakdowns", panels.breakdowns],
  ["live", "Live", panels.live],
  ["qoe", "Quality", panels.qoe],
  ["retention", "Retention", panels.retention],
  ["sessions", "Sessions", panels.sessions],
];
const PRESETS = { "1h": 3600e3, "24h": 86400e3, "7d": 7 * 86400e3, "30d": 30 * 86400e3 };
const view = document.getElementById("view");
let timer = null;

function sessionId() {
  const m = location.pathname.match(/^\/dashboard\/sessions\/([^/]+)$/);
  return m ? decodeURIComponent(m[1]) : null;
}

function isoMinute(ms) {
  return new Date(Math.floor(ms / 60000) * 60000).toISOString().replace(":00.000Z", ":00Z");
}

// a time of the URL as the API reads it: epoch ms, a date (midnight UTC), or ISO-8601 (UTC
// unless it names an offset)
function parseTime(v) {
  if (v === null) return null;
  if (/^-?\d+$/.test(v)) return Number(v);
  if (v.length === 10) return Date.parse(v + "T00:00:00Z");
  return Date.parse(/(Z|[+-]\d{2}(:?\d{2})?)$/i.test(v) ? v : v + "Z");
}

const zone = () => params().get("tz") || "UTC";

/** The custom range inputs: the URL's `from`/`to` (or the last 24 hours) on the clock of the
 * selected time zone, which their labels name. What was shown is kept, so applying an
 * unchanged input keeps the URL's exact value. */
function fillRange(from, to) {
  const tz = zone();
  const toMs = to !== null ? parseTime(to) : Date.now();
  const fromMs = from !== null ? parseTime(from) : toMs - 86400e3;
  for (const [id, ms, text] of [["from", fromMs, from], ["to", toMs, to]]) {
    const input = document.getElementById(id);
    input.value = Number.isFinite(ms) ? toLocalInput(ms, tz) : "";
    input.dataset.shown = input.value;
    input.dataset.original = text ?? "";
  }
  for (const el of document.querySelectorAll("[data-zone]")) el.textContent = `(${tz})`;
}

/** The `from`/`to` to write for a custom range input: epoch ms read on the zone's clock. */
function rangeValue(id) {
  const input = document.getElementById(id);
  if (input.value === input.dataset.shown && input.dataset.original) return input.dataset.original;
  const ms = fromLocalInput(input.value, zone());
  return ms === null ? "" : String(ms);
}

function drawTabs(current) {
  const nav = document.getElementById("tabs");
  nav.replaceChildren(...TABS.map(([id, label]) => {
    const p = selection();
    if (id !== "overview") p.set("tab", id);
    return h("a", { href: `/dashboard${p.toString() ? "?" + p : ""}`, class: "tab", dataset: { tab: id },
      "aria-current": id === current ? "page" : null }, label);
  }));
}

function drawControls() {
  const p = params();
  const from = p.get("from"), to = p.get("to");
  const range = document.getElementById("range");
  let preset = "";
  if (from || to) {
    const d = parseTime(to) - parseTime(from);
    preset = Object.keys(PRESETS).find((k) => PRESETS[k] === d) || "custom";
  }
  range.value = preset;
  document.getElementById("custom").hidden = preset !== "custom";
  fillRange(from, to);
  document.getElementById("tz").value = p.get("tz") || "";
  const chips = document.getElementById("chips");
  chips.replaceChildren(...p.getAll("filter").map((f) => {
    const neg = f.startsWith("!");
    const i = f.indexOf(":");
    const text = `${f.slice(neg ? 1 : 0, i)} ${neg ? "≠" : "="} ${f.slice(i + 1)}`;
    return h("span", { class: "chip", role: "listitem", dataset: { filter: f } }, text,
      h("button", { type: "button", class: "remove", "aria-label": `Remove filter ${text}`, onclick: () => removeFilter(f) }, "×"));
  }));
  const q = selection().toString();
  const suffix = q ? "?" + q : "";
  document.getElementById("exports").replaceChildren(
    h("span", {}, "Export the sessions of this selection: "),
    ...["csv", "ndjson", "parquet"].flatMap((f, i) => [i ? " · " : "",
      h("a", { href: `/reports/sessions.${f}${suffix}`, dataset: { export: f }, download: "" }, f.toUpperCase())]),
    " · ", h("a", { href: `/reports/summary${suffix}` }, "summary JSON"));
}

function draw() {
  if (timer) clearInterval(timer);
  timer = null;
  panels.resetCache();
  drawControls();
  const sid = sessionId();
  const tab = params().get("tab") || "overview";
  drawTabs(sid ? "sessions" : tab);
  disposeCharts(view);
  view.replaceChildren();
  if (sid) {
    sessionPage(view, sid);
    return;
  }
  const entry = TABS.find(([id]) => id === tab) || TABS[0];
  const t = entry[2](view);
  if (typeof t === "number") timer = t;
}

function setup() {
  if (document.body.dataset.login === "true") document.getElementById("logout").hidden = false;
  const zones = document.getElementById("zones");
  const own = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const all = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  zones.replaceChildren(...["UTC", own, ...all].map((z) => h("option", { value: z })));
  document.getElementById("range").addEventListener("change", (e) => {
    const v = e.target.value;
    if (v === "custom") {
      document.getElementById("custom").hidden = false;
      document.getElementById("from").focus();
      return;
    }
    navigate((p) => {
      if (!v) { p.delete("from"); p.delete("to"); return; }
      const now = Date.now() + 60000; // to the end of this minute, so the current one is in
      p.set("to", isoMinute(now));
      p.set("from", isoMinute(now - PRESETS[v]));
    });
  });
  document.getElementById("apply").addEventListener("click", () => navigate((p) => {
    const f = rangeValue("from"), t = rangeValue("to");
    f ? p.set("from", f) : p.delete("from");
    t ? p.set("to", t) : p.delete("to");
  }));
  document.getElementById("tz").addEventListener("change", (e) => navigate((p) => {
    const v = e.target.value.trim();
    v && v !== "UTC" ? p.set("tz", v) : p.delete("tz");
  }));
  document.getElementById("addfilter").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = document.getElementById("filtertext");
    const text = input.value.trim();
    const i = text.indexOf(":");
    if (i > 0) {
      input.value = "";
      addFilter(text.slice(0, i), text.slice(i + 1));
    } else input.setCustomValidity("Write DIMENSION:VALUE, e.g. media.show:News");
    input.reportValidity();
    input.setCustomValidity("");
  });
  // click-to-filter: any value marked with its dimension, in any table or legend
  document.addEventListener("click", (e) => {
    const el = e.target.closest("button[data-dimension]");
    if (el) addFilter(el.dataset.dimension, el.dataset.value);
  });
  // tabs navigate inside the page (the links still work when opened in a new tab)
  document.getElementById("tabs").addEventListener("click", (e) => {
    const a = e.target.closest("a.tab");
    if (!a || e.ctrlKey || e.metaKey || e.shiftKey || sessionId()) return;
    e.preventDefault();
    navigate((p) => (a.dataset.tab === "overview" ? p.delete("tab") : p.set("tab", a.dataset.tab)));
  });
  window.addEventListener("popstate", draw);
  window.addEventListener("playhead:navigate", draw);
  draw();
}

setup();
