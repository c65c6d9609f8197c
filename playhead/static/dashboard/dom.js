// Building elements, formatting numbers, and the marks tests read (data-metric/data-value).

import { ApiError } from "./api.js";

/** h("td", {class: "x", dataset: {metric: "m"}}, child...) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "dataset") for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = dv;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const RATES = new Set([
  "contentStartRate", "completionRate", "dropBeforeStartRate", "errorRate", "rebufferRatio",
  "adCompletionRate", "chapterCompletionRate", "share",
]);
const SECONDS = new Set([
  "timePlayed", "totalTimePlayed", "uniqueTimePlayed", "pauseTime", "bufferTime", "stallTime",
  "adTimePlayed", "chapterTimePlayed", "averageTimePlayed", "length",
]);
const SCORES = new Set([
  "experienceScore", "playbackSuccessScore", "startupScore", "smoothnessScore", "experience",
  "playbackSuccess", "startup", "smoothness",
]);
// Metrics where a rise is bad news (the change arrow is coloured accordingly).
export const HIGHER_IS_WORSE = new Set([
  "rebufferRatio", "errorRate", "dropBeforeStartRate", "timeToStart.p50", "timeToStart.p95",
  "timeToStart.p90", "timeToStart.p99", "timeToStart.mean", "bufferTime", "stallTime",
  "errorCount", "errorImpacted", "bufferImpacted", "stallImpacted",
]);

/** Seconds as "1 h 02 min", "3 min 05 s" or "4.2 s". */
export function duration(s) {
  if (s < 60) return `${s < 10 ? s.toFixed(2).replace(/\.?0+$/, "") : Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.round(s % 60)).padStart(2, "0")} s`;
  const hrs = Math.floor(m / 60);
  if (hrs < 48) return `${hrs} h ${String(m % 60).padStart(2, "0")} min`;
  return `${Math.round(hrs / 24).toLocaleString("en")} days`;
}

/** How a metric's raw API value reads on the page. */
export function format(metric, v) {
  if (v === null || v === undefined) return "–";
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (typeof v !== "number") return String(v);
  const base = metric.split(".")[0];
  if (RATES.has(metric)) return `${(v * 100).toFixed(v < 0.1 && v > 0 ? 2 : 1)} %`;
  if (metric === "timeToStart.count") return v.toLocaleString("en");
  if (SECONDS.has(metric) || base === "timeToStart") return duration(v);
  if (SCORES.has(metric)) return v.toFixed(1);
  if (metric === "bitrateAverage") return `${(v / 1000).toFixed(0)} kbps`;
  if (Number.isInteger(v)) return v.toLocaleString("en");
  return v.toLocaleString("en", { maximumFractionDigits: 3 });
}

/** The raw value as the page marks it: the API's number as written, empty for null. */
export function raw(v) {
  return v === null || v === undefined ? "" : String(v);
}

/** `metrics["timeToStart"]["p50"]` for the name "timeToStart.p50". */
export function pick(metrics, name) {
  let v = metrics;
  for (const part of name.split(".")) v = v == null ? undefined : v[part];
  return v === undefined ? null : v;
}

/** A number that carries its metric name and raw value. */
export function number(tag, metric, v, { previous = false, cls } = {}) {
  const dataset = { metric, value: raw(v) };
  if (previous) dataset.period = "previous";
  return h(tag, { class: cls, dataset }, format(metric, v));
}

/** The change from `before` to `now` as text ("+12.0 %", "−0.4 pts"), or null. */
export function change(metric, now, before) {
  if (now === null || before === null || now === undefined || before === undefined) return null;
  if (RATES.has(metric)) {
    const pts = (now - before) * 100;
    return { text: `${pts >= 0 ? "+" : "−"}${Math.abs(pts).toFixed(1)} pts`, sign: Math.sign(pts) };
  }
  if (before === 0) return now === 0 ? { text: "±0 %", sign: 0 } : { text: "new", sign: 1 };
  const pct = ((now - before) / Math.abs(before)) * 100;
  return { text: `${pct >= 0 ? "+" : "−"}${Math.abs(pct).toFixed(1)} %`, sign: Math.sign(pct) };
}

/** An API error shown in the page (never a blank panel). */
export function errorBox(err) {
  if (!(err instanceof ApiError)) {
    // a bug of the page itself: still said in the page, never a blank panel
    console.warn(err);
    return h("div", { class: "error", role: "alert", dataset: { error: "" } }, `Error: ${err.message}`);
  }
  return h(
    "div",
    { class: "error", role: "alert", dataset: { error: "", status: String(err.status) } },
    h("strong", {}, err.status ? `${err.status}: ${err.message}` : err.message),
    h("div", { class: "muted" }, `GET ${err.path}`),
    err.problems.length
      ? h("ul", {}, err.problems.map((p) => h("li", {}, `${p.path}: ${p.problem}`)))
      : null,
  );
}

/** Replace the children of `el` (nulls and falses are left out). */
export function put(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

/** A panel with a heading whose body is filled by `fill(body)`; errors land in the panel. */
export function panel(title, fill, { cls } = {}) {
  const body = h("div", { class: "panel-body" }, h("p", { class: "muted" }, "Loading…"));
  const el = h("section", { class: `panel ${cls || ""}`, "aria-label": title }, h("h2", {}, title), body);
  Promise.resolve()
    .then(() => fill(body))
    .catch((err) => put(body, errorBox(err)));
  return el;
}

/** Epoch ms as a date-time in the time zone `tz` (`millis` shows the milliseconds too). */
export function when(ms, tz, { seconds = false, millis = false } = {}) {
  if (ms === null || ms === undefined) return "–";
  const opts = { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  if (seconds || millis) opts.second = "2-digit";
  if (millis) opts.fractionalSecondDigits = 3;
  try {
    return new Intl.DateTimeFormat("en", { ...opts, timeZone: tz || "UTC" }).format(new Date(ms));
  } catch (e) {
    return new Date(ms).toISOString();
  }
}

/** How far the clock of time zone `tz` is ahead of UTC at instant `ms`, in ms (0 for a zone
 * this browser does not know: the API then names the bad `tz` itself). */
export function zoneOffset(ms, tz) {
  let parts;
  try {
    parts = new Intl.DateTimeFormat("en-US", {
      timeZone: tz || "UTC", hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    }).formatToParts(new Date(ms));
  } catch (e) {
    return 0;
  }
  const get = (type) => Number(parts.find((p) => p.type === type).value);
  const wall = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  return wall - (ms - (((ms % 1000) + 1000) % 1000));
}

/** Epoch ms as a `datetime-local` input's value (`YYYY-MM-DDTHH:MM:SS`) on the clock of `tz`. */
export function toLocalInput(ms, tz) {
  return new Date(ms + zoneOffset(ms, tz)).toISOString().slice(0, 19);
}

/** A `datetime-local` value read on the clock of `tz` as epoch ms (null when it is not one).
 * A wall time the clock skips or shows twice (daylight saving) reads with the offset in force
 * just after it. */
export function fromLocalInput(text, tz) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/.exec(text || "");
  if (!m) return null;
  const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0), +((m[7] || "0").padEnd(3, "0")));
  const guess = wall - zoneOffset(wall, tz);
  return wall - zoneOffset(guess, tz);
}

/** A clickable dimension value: clicking it filters the view to that value. */
export function dimensionButton(dimension, value, label) {
  return h(
    "button",
    { type: "button", class: "dim", dataset: { dimension, value: String(value) }, title: `Filter on ${dimension} = ${value}` },
    label ?? String(value),
  );
}

/** A table in a scrolling wrapper (wide tables scroll on a phone instead of the page). */
export function table(head, rows, { caption, foot } = {}) {
  return h(
    "div",
    { class: "scroll" },
    h("table", {}, caption ? h("caption", {}, caption) : null, h("thead", {}, h("tr", {}, head)), h("tbody", {}, rows), foot ? h("tfoot", {}, foot) : null),
  );
}
