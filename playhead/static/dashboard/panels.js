// The dashboard's tabs: each draws its panels into the view from the reports API.

import { get, navigate, params, selection } from "./api.js";
import { disposeCharts, lineChart } from "./charts.js";
import {
  HIGHER_IS_WORSE, change, dimensionButton, errorBox, format, h, number, panel, pick, put, raw, table, when,
} from "./dom.js";

export const TILES = [
  ["mediaStarts", "Media starts"],
  ["uniqueViewers", "Unique viewers"],
  ["timePlayed", "Watch time"],
  ["completionRate", "Completion rate"],
  ["rebufferRatio", "Rebuffer ratio"],
  ["timeToStart.p50", "Time to start p50"],
  ["timeToStart.p95", "Time to start p95"],
  ["errorRate", "Error rate"],
  ["experienceScore", "Experience score"],
];
const TABLE_METRICS = [
  ["mediaStarts", "Starts"], ["uniqueViewers", "Viewers"], ["timePlayed", "Watch time"],
  ["completionRate", "Completion"], ["rebufferRatio", "Rebuffer"], ["errorRate", "Errors"],
  ["experienceScore", "Score"],
];
export const SERIES_METRICS = [
  "mediaStarts", "contentStarts", "uniqueViewers", "timePlayed", "totalTimePlayed", "completionRate",
  "contentStartRate", "rebufferRatio", "errorRate", "dropBeforeStartRate", "bufferTime",
  "stallTime", "errorCount", "adStarts", "averageTimePlayed", "experienceScore",
];
export const DIMENSIONS = [
  "media.id", "media.name", "media.show", "media.channel", "media.playerName", "media.contentType",
  "media.streamType", "media.genre", "bitrateBucket", "closeReason", "state", "viewer",
  "device.type", "browser.name", "os.name", "geo.country", "geo.region",
];
const INSIGHT_METRICS = ["rebufferRatio", "errorRate", "dropBeforeStartRate", "completionRate", "contentStartRate", "experienceScore"];

const tz = () => params().get("tz") || "UTC";
let summaryCache = null;

/** /reports/summary of the selection, shared by the panels of one drawing. */
export function summary() {
  const key = selection().toString();
  if (!summaryCache || summaryCache.key !== key) {
    summaryCache = { key, promise: get("/reports/summary") };
    summaryCache.promise.catch(() => (summaryCache = null));
  }
  return summaryCache.promise;
}

/**
 * The previous period (the range of the same length just before, as `compare=previous`
 * answers it), asked for separately so the current numbers paint without waiting for it.
 */
const previousOf = new WeakMap();
export function previous(s) {
  if (!previousOf.has(s)) {
    previousOf.set(s, get("/reports/summary", { from: String(s.from - (s.to - s.from)), to: String(s.from) },
      { keep: ["filter", "tz"] }));
  }
  return previousOf.get(s);
}

export function resetCache() {
  summaryCache = null;
}

function tile(metric, label, metrics, previous) {
  const now = pick(metrics, metric);
  const before = previous ? pick(previous.metrics, metric) : null;
  const delta = previous ? change(metric, now, before) : null;
  let tone = "flat";
  if (delta && delta.sign) tone = (delta.sign > 0) !== HIGHER_IS_WORSE.has(metric) ? "good" : "bad";
  return h(
    "div", { class: "tile" },
    h("div", { class: "label" }, label),
    number("div", metric, now, { cls: "value" }),
    previous
      ? h("div", { class: `delta ${tone}` },
          delta ? h("span", {}, delta.text) : null, " vs ",
          number("span", metric, before, { previous: true }))
      : null,
  );
}

function tiles(list, metrics, before) {
  return h("div", { class: "tiles" }, list.map(([m, label]) => tile(m, label, metrics, before)));
}

/** Tiles of the current period now, completed with the previous period when it arrives. */
function tilesThenPrevious(list, s, after) {
  const box = h("div", { dataset: { pending: "" } }, tiles(list, s.metrics, null));
  previous(s)
    .then((p) => {
      put(box, tiles(list, s.metrics, p), after ? after(p) : null);
      delete box.dataset.pending;
    })
    .catch((err) => {
      box.append(errorBox(err));
      delete box.dataset.pending;
    });
  return box;
}

function settled(promise) {
  return promise.then(() => undefined, () => undefined);
}

function emptyState(body) {
  const origin = location.origin;
  put(body, 
    h("div", { class: "empty", dataset: { empty: "" } },
      h("h3", {}, "No sessions in this range"),
      h("p", {}, "Point a player at this server's Collection API, ", h("code", {}, `${origin}/api/v1/sessions`),
        " (the JavaScript tracker is at ", h("a", { href: "/static/playhead.js" }, "/static/playhead.js"),
        "; the ", h("a", { href: "/demo" }, "demo page"), " shows it working), or send a simulated audience:"),
      h("pre", {}, `playhead simulate --url ${origin} --sessions 200`),
      h("p", {}, "Or widen the time range, or remove a filter.")));
}

// ---- overview ---------------------------------------------------------------------------------
export function overview(view) {
  view.append(
    panel("Overview", async (body) => {
      const s = await summary();
      if (s.metrics.mediaStarts === 0) return emptyState(body);
      put(body,
        tilesThenPrevious(TILES, s, (p) => h("p", { class: "muted" },
          `${when(s.from, tz())} – ${when(s.to, tz())}, compared with ${when(p.from, tz())} – ${when(p.to, tz())}`)));
    }),
    // the tiles first: the other panels ask once the summary is answered (one query at a time
    // is faster on a large database than three competing)
    panel("Media starts over time", (body) => settled(summary()).then(() => seriesInto(body, "mediaStarts", null, "auto"))),
    panel("Top content", (body) => settled(summary()).then(() => breakdownInto(body, "media.id", "-mediaStarts", 10))),
  );
}

// ---- time series ------------------------------------------------------------------------------
async function seriesInto(body, metric, groupBy, bucket) {
  const r = await get("/reports/timeseries", { metric, bucket, groupBy });
  const first = r.series[0] || { points: [] };
  const xs = first.points.map((p) => p.t);
  const series = r.series.map((s) => ({
    label: s.group === null ? metric : String(s.group),
    values: s.points.map((p) => p[metric]),
  }));
  const legend = groupBy
    ? h("div", { class: "legend" }, h("span", { class: "muted" }, "Filter on a group:"), r.series.map((s) => (s.group === "(other)" ? h("span", { class: "chip static" }, "(other)")
      : dimensionButton(groupBy, s.group))))
    : null;
  const rows = [];
  for (let i = 0; i < xs.length; i++) {
    rows.push(h("tr", {}, h("th", { scope: "row" }, when(xs[i], tz())),
      r.series.map((s) => number("td", metric, s.points[i][metric]))));
  }
  put(body, 
    h("p", { class: "muted" }, `${r.bucket} buckets`),
    lineChart({ xs, series, metric, tz: tz() }),
    legend,
    h("details", {}, h("summary", {}, "Table"),
      table([h("th", {}, "Bucket"), ...r.series.map((s) => h("th", {}, s.group ?? metric))], rows)),
  );
}

function select(id, label, options, value, onchange) {
  return h("label", {}, label, " ",
    h("select", { id, onchange: (e) => onchange(e.target.value) },
      options.map(([v, text]) => h("option", { value: v, selected: v === value }, text))));
}

function setParam(name, value) {
  navigate((p) => (value ? p.set(name, value) : p.delete(name)));
}

export function timeseries(view) {
  const p = params();
  const metric = p.get("metric") || "mediaStarts";
  const groupBy = p.get("groupBy") || "";
  const bucket = p.get("bucket") || "auto";
  view.append(
    h("div", { class: "toolbar" },
      select("ts-metric", "Metric", SERIES_METRICS.map((m) => [m, m]), metric, (v) => setParam("metric", v)),
      select("ts-bucket", "Bucket", ["auto", "minute", "hour", "day"].map((b) => [b, b]), bucket, (v) => setParam("bucket", v === "auto" ? "" : v)),
      select("ts-group", "Group by", [["", "(none)"], ...DIMENSIONS.map((d) => [d, d])], groupBy, (v) => setParam("groupBy", v))),
    panel(`${metric} over time`, (body) => seriesInto(body, metric, groupBy || null, bucket)),
  );
}

// ---- breakdowns -------------------------------------------------------------------------------
async function breakdownInto(body, dimension, order, limit, { sortable = false } = {}) {
  const metrics = TABLE_METRICS.map(([m]) => m);
  const r = await get("/reports/breakdown", { dimension, metric: metrics, order, limit });
  if (!r.rows.length) {
    put(body, h("p", { class: "empty" }, `No sessions in this selection have a ${dimension}.`));
    return;
  }
  const key = order.replace(/^-/, "");
  const desc = order.startsWith("-");
  const head = [h("th", { scope: "col" }, dimension), ...TABLE_METRICS.map(([m, label]) => {
    const sort = m === key ? (desc ? "descending" : "ascending") : "none";
    const content = sortable
      ? h("button", { type: "button", class: "sort", dataset: { sort: m },
          onclick: () => setParam("order", m === key && desc ? m : "-" + m) }, label, m === key ? (desc ? " ▼" : " ▲") : "")
      : label;
    return h("th", { scope: "col", "aria-sort": sort, title: m }, content);
  })];
  const rows = r.rows.map((row) => h("tr", {},
    h("th", { scope: "row" }, dimensionButton(dimension, row.value)),
    metrics.map((m) => number("td", m, row[m]))));
  const foot = r.total
    ? h("tr", { dataset: { total: "" } }, h("th", { scope: "row" }, "All"), metrics.map((m) => number("td", m, r.total[m])))
    : null;
  put(body, table(head, rows, { foot }));
}

export function breakdowns(view) {
  const p = params();
  const dimension = p.get("dimension") || "media.id";
  const order = p.get("order") || "-mediaStarts";
  const metaForm = h("form", { class: "inline", onsubmit: (e) => {
    e.preventDefault();
    const key = e.target.elements.metakey.value.trim();
    if (key) setParam("dimension", key.startsWith("meta.") ? key : "meta." + key);
  } }, h("label", {}, "Custom metadata key ", h("input", { name: "metakey", size: 12, placeholder: "e.g. tier" })),
  h("button", { type: "submit" }, "Break down"));
  const options = DIMENSIONS.includes(dimension) ? DIMENSIONS : [...DIMENSIONS, dimension];
  view.append(
    h("div", { class: "toolbar" },
      select("bd-dimension", "Dimension", options.map((d) => [d, d]), dimension, (v) => setParam("dimension", v)),
      metaForm),
    panel(`By ${dimension}`, (body) => breakdownInto(body, dimension, order, 100, { sortable: true })),
  );
}

// ---- live -------------------------------------------------------------------------------------
export function live(view) {
  const nowBox = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const chartBox = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  view.append(
    h("section", { class: "panel", "aria-label": "Viewers now" }, h("h2", {}, "Viewers now"), nowBox),
    h("section", { class: "panel", "aria-label": "Last hour" }, h("h2", {}, "Concurrent viewers, last hour"), chartBox),
  );
  const keep = ["filter", "tz"];
  async function refresh() {
    try {
      const n = await get("/reports/concurrency/now", {}, { keep });
      const states = Object.entries(n.byState).map(([state, v]) => h("div", { class: "tile small" },
        h("div", { class: "label" }, state), number("div", `byState.${state}`, v, { cls: "value" })));
      put(nowBox, 
        h("div", { class: "tiles" },
          h("div", { class: "tile" }, h("div", { class: "label" }, "Viewers now"), number("div", "viewersNow", n.viewers, { cls: "value" })),
          ...states),
        h("p", { class: "muted", dataset: { updated: String(n.t) } }, `Updated ${when(n.t, tz(), { seconds: true })}; refreshes every 5 s.`));
    } catch (err) {
      put(nowBox, errorBox(err));
    }
    try {
      const to = Date.now();
      const c = await get("/reports/concurrency", { from: String(to - 3600_000), to: String(to), step: 60 }, { keep });
      disposeCharts(chartBox);
      put(chartBox, lineChart({
        xs: c.points.map((pt) => pt.t), series: [{ label: "viewers", values: c.points.map((pt) => pt.viewers) }],
        metric: "viewers", tz: tz(),
      }));
    } catch (err) {
      put(chartBox, errorBox(err));
    }
  }
  refresh();
  return setInterval(refresh, 5000);
}

// ---- quality of experience --------------------------------------------------------------------
// A session has a set of error ids, not one value, so no dimension names them: a row is a value
// to filter on only where DIMENSIONS has one (today none), and is plain text otherwise.
const ERROR_DIMENSIONS = { errorId: "errorId", source: "errorSource" };

function errorCell(key, value) {
  const dimension = ERROR_DIMENSIONS[key];
  return DIMENSIONS.includes(dimension) ? dimensionButton(dimension, value) : h("code", {}, value);
}

async function errorsInto(body) {
  const r = await get("/reports/errors", { limit: 20 });
  if (!r.errors.length) {
    put(body, h("p", { class: "empty", dataset: { empty: "" } },
      r.sessions
        ? `None of the ${r.sessions.toLocaleString("en")} sessions in this selection reported an error with an id. Players send one as media.qoe.errorID on an error event.`
        : "No sessions in this selection."));
    return;
  }
  put(body,
    h("p", { class: "muted" }, "Sessions whose report lists each error id (a session counts once per id, however often it sent it), of ",
      number("strong", "sessions", r.sessions), " selected."),
    table([["Error id"], ["Source"], ["Sessions", "num"], ["Share", "num"]].map(([t, cls]) => h("th", { scope: "col", class: cls }, t)),
      r.errors.map((e) => h("tr", { dataset: { errorId: e.errorId, source: e.source } },
        h("th", { scope: "row" }, errorCell("errorId", e.errorId)),
        h("td", {}, errorCell("source", e.source)),
        number("td", "sessions", e.sessions), number("td", "share", e.share)))));
}

export function qoe(view) {
  const insight = params().get("insight") || "rebufferRatio";
  view.append(
    panel("Experience score", async (body) => {
      const s = await summary();
      if (s.metrics.mediaStarts === 0) return emptyState(body);
      put(body, tilesThenPrevious([["experienceScore", "Experience"], ["playbackSuccessScore", "Playback success"],
        ["startupScore", "Startup"], ["smoothnessScore", "Smoothness"]], s));
    }),
    panel("Time to start", async (body) => {
      const s = await summary();
      const t = s.metrics.timeToStart;
      const max = Math.max(t.p99 || 0, 0.001);
      const bars = ["mean", "p50", "p90", "p95", "p99"].map((k) => h("div", { class: "barrow" },
        h("span", { class: "label" }, k),
        h("span", { class: "bar", style: `width:${Math.round(((t[k] || 0) / max) * 100)}%` }),
        number("span", `timeToStart.${k}`, t[k])));
      put(body, h("p", {}, "Sessions that started: ", number("strong", "timeToStart.count", t.count)), ...bars);
    }),
    panel("Rebuffering and errors", async (body) => {
      const s = await summary();
      put(body, tilesThenPrevious([["rebufferRatio", "Rebuffer ratio"], ["bufferImpacted", "Sessions buffering"],
        ["bufferTime", "Buffer time"], ["stallImpacted", "Sessions stalled"], ["stallTime", "Stall time"],
        ["errorRate", "Error rate"], ["errorImpacted", "Sessions with errors"], ["errorCount", "Errors"],
        ["dropBeforeStartRate", "Left before start"], ["bitrateAverage", "Average bitrate"]], s));
    }),
    panel("Errors by id and source", (body) => errorsInto(body)),
    panel("Bitrate buckets", (body) => breakdownInto(body, "bitrateBucket", "-mediaStarts", 20)),
    h("div", { class: "toolbar" }, select("insight-metric", "Where it hurts, by", INSIGHT_METRICS.map((m) => [m, m]), insight, (v) => setParam("insight", v))),
    panel("Where it hurts", async (body) => {
      const r = await get("/reports/insights", { metric: insight, minSessions: 5 });
      if (!r.rows.length) {
        put(body, h("p", { class: "empty" }, `Nothing stands out for ${insight}: no value with enough sessions is worse than the overall `, number("span", insight, r.overall), "."));
        return;
      }
      put(body, h("p", {}, `Overall ${insight}: `, number("strong", insight, r.overall)),
        table(["Dimension", "Value", "Sessions", insight, "Impact"].map((t) => h("th", { scope: "col" }, t)),
          r.rows.map((row) => h("tr", {}, h("td", {}, row.dimension), h("th", { scope: "row" }, dimensionButton(row.dimension, row.value)),
            number("td", "mediaStarts", row.sessions), number("td", insight, row.metricValue),
            h("td", { dataset: { impact: raw(row.impact) } }, format("impact", row.impact))))));
    }),
  );
}

// ---- retention --------------------------------------------------------------------------------
export function retention(view) {
  const mediaFilters = params().getAll("filter").filter((f) => f.startsWith("media.id:"));
  if (mediaFilters.length === 0) {
    view.append(panel("Retention: choose a media id", async (body) => {
      await breakdownInto(body, "media.id", "-mediaStarts", 20);
      body.prepend(h("p", {}, "The retention curve is per media id: click one below (it becomes a filter)."));
    }));
    return;
  }
  view.append(panel(`Retention of ${mediaFilters.map((f) => f.slice(9)).join(", ")}`, async (body) => {
    const r = await get("/reports/retention", { points: 100 });
    if (r.length === null || !r.points.length) {
      put(body, h("p", { class: "empty" }, "No session of this selection played content with a known length."));
      return;
    }
    put(body, 
      h("p", {}, number("strong", "sessions", r.sessions), " sessions that played; length ", number("strong", "length", r.length)),
      lineChart({ xs: r.points.map((p) => p.position), series: [{ label: "share still watching", values: r.points.map((p) => p.share) }],
        metric: "share", time: false, yRange: [0, 1] }),
    );
  }));
}

// ---- session explorer -------------------------------------------------------------------------
function sessionRow(s) {
  return h("tr", { dataset: { session: s.id } },
    h("th", { scope: "row" }, h("a", { href: `/dashboard/sessions/${s.id}`, title: s.id }, s.id.slice(0, 12) + "…")),
    h("td", {}, s.state, s.closeReason ? ` (${s.closeReason})` : ""),
    h("td", {}, when(s.firstEventTs, tz())),
    h("td", {}, s["media.id"] == null ? "–" : dimensionButton("media.id", s["media.id"])),
    h("td", {}, s["media.name"] ?? "–"),
    h("td", {}, s.viewer == null ? "–" : dimensionButton("viewer", s.viewer)),
    number("td", "timePlayed", s.timePlayed), number("td", "isCompleted", s.isCompleted),
    number("td", "errorCount", s.errorCount), number("td", "experience", s.experience));
}

export function sessions(view) {
  const form = h("form", { class: "toolbar", role: "search", onsubmit: (e) => {
    e.preventDefault();
    const kind = e.target.elements.kind.value;
    const text = e.target.elements.q.value.trim();
    if (!text) return;
    if (kind === "session") location.href = `/dashboard/sessions/${encodeURIComponent(text)}`;
    else navigate((p) => p.append("filter", `${kind}:${text}`));
  } },
  h("label", {}, "Search by ", h("select", { name: "kind" }, h("option", { value: "session" }, "session id"),
    h("option", { value: "media.id" }, "media id"), h("option", { value: "viewer" }, "viewer"))),
  h("input", { name: "q", "aria-label": "Search text", size: 30 }), h("button", { type: "submit" }, "Search"));
  view.append(form, panel("Sessions", async (body) => {
    const head = ["Session", "State", "Started", "Media id", "Media name", "Viewer", "Played", "Completed", "Errors", "Score"]
      .map((t) => h("th", { scope: "col" }, t));
    const tbody = h("tbody");
    const more = h("button", { type: "button", hidden: true }, "More sessions");
    let cursor = null;
    async function load() {
      const r = await get("/reports/sessions", { limit: 50, cursor });
      tbody.append(...r.sessions.map(sessionRow));
      cursor = r.next;
      more.hidden = !cursor;
      return r;
    }
    more.addEventListener("click", () => load().catch((err) => more.replaceWith(errorBox(err))));
    const r = await load();
    if (!r.sessions.length) return emptyState(body);
    put(body, h("div", { class: "scroll" }, h("table", {}, h("thead", {}, h("tr", {}, head)), tbody)), more);
  }));
}
