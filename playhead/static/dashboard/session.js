// The session page: one session's report, its timeline drawn as coloured spans, and the raw
// events the player sent (loaded when their section is opened).

import { get, params } from "./api.js";
import { duration, errorBox, h, number, put, raw, table, when } from "./dom.js";

export const STATES = ["starting", "playing", "ad", "adBreak", "paused", "buffering", "stalled", "ended"];

function timelineOf(report) {
  const spans = report.timeline || [];
  const start = report.firstEventTs;
  const total = Math.max(1, report.lastEventTs - start);
  const bar = h("div", { class: "timeline", dataset: { timeline: "" }, role: "list", "aria-label": "Timeline" },
    spans.map((s) => h("div", {
      class: `span state-${s.state}`, role: "listitem", tabindex: "0",
      dataset: { state: s.state, from: String(s.from), to: String(s.to) },
      style: `left:${((s.from - start) / total) * 100}%;width:${Math.max(0.15, ((s.to - s.from) / total) * 100)}%`,
      title: `${s.state}: ${duration((s.to - s.from) / 1000)} (playhead ${s.playheadFrom} → ${s.playheadTo})`,
      "aria-label": `${s.state} for ${duration((s.to - s.from) / 1000)}`,
    })));
  // the playhead along event time: one segment per span
  const maxHead = Math.max(1, ...spans.map((s) => Math.max(s.playheadFrom || 0, s.playheadTo || 0)));
  const pts = spans.map((s) => `${((s.from - start) / total) * 1000},${100 - ((s.playheadFrom || 0) / maxHead) * 100} ` +
    `${((s.to - start) / total) * 1000},${100 - ((s.playheadTo || 0) / maxHead) * 100}`).join(" ");
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 1000 100");
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("class", "playhead");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `Playhead from 0 to ${maxHead} s along event time`);
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("points", pts);
  svg.append(line);
  const legend = h("ul", { class: "legend" }, STATES.map((s) => h("li", {}, h("span", { class: `swatch state-${s}` }), s)));
  return [bar, h("div", { class: "muted" }, `Playhead (0 – ${duration(maxHead)})`), svg, legend];
}

function eventRow(e, tz) {
  const cell = (field, value, text) => h("td", { dataset: { field, value: raw(value) } }, text ?? (value == null ? "–" : String(value)));
  return h("tr", { dataset: { seq: String(e.seq) } },
    h("th", { scope: "row", dataset: { field: "seq", value: String(e.seq) } }, String(e.seq)),
    cell("eventType", e.eventType),
    cell("playhead", e.playhead, e.playhead == null ? "–" : `${e.playhead.toLocaleString("en", { maximumFractionDigits: 3 })} s`),
    cell("ts", e.ts, when(e.ts, tz, { millis: true })),
    cell("receivedMs", e.receivedMs, when(e.receivedMs, tz, { millis: true })),
    h("td", {}, h("details", { class: "json" }, h("summary", {}, e.format === "collection" ? "JSON" : `JSON (${e.format})`),
      h("pre", { dataset: { body: "" } }, JSON.stringify(e.body, null, 2)))));
}

/** The session's stored events, loaded the first time the section is opened, 200 a page. */
function rawEvents(sid, tz) {
  const status = h("p", { class: "muted" }, "Loading…");
  const tbody = h("tbody");
  const more = h("button", { type: "button", hidden: true }, "More events");
  const wrap = h("div", { class: "scroll", hidden: true },
    h("table", { dataset: { events: "" } }, h("thead", {}, h("tr", {},
      ["Seq", "Event type", "Playhead", "Player time (ts)", "Received", "Body"].map((t) => h("th", { scope: "col" }, t)))), tbody));
  let after = null;
  async function load() {
    const r = await get(`/reports/sessions/${encodeURIComponent(sid)}/events`, { limit: 200, after }, { withSelection: false });
    tbody.append(...r.events.map((e) => eventRow(e, tz)));
    after = r.next;
    more.hidden = after === null;
    wrap.hidden = tbody.children.length === 0;
    if (r.eventsPurged) put(status, "Retention deleted this session's raw events; the report above stands for them.");
    else if (!tbody.children.length) put(status, "No events are stored for this session.");
    else put(status, `${tbody.children.length.toLocaleString("en")} events${after === null ? "" : " so far"}, in the order they arrived. Times in ${tz}.`);
    status.dataset.loaded = "";
  }
  more.addEventListener("click", () => load().catch((err) => more.replaceWith(errorBox(err))));
  const details = h("details", { dataset: { rawEvents: "" } }, h("summary", {}, "Show the events the player sent"), status, wrap, more);
  let started = false;
  details.addEventListener("toggle", () => {
    if (!details.open || started) return;
    started = true;
    load().catch((err) => put(status, errorBox(err)));
  });
  return details;
}

function kv(rows) {
  return table([h("th", { scope: "col" }, "Field"), h("th", { scope: "col" }, "Value")],
    rows.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), typeof v === "object" && v instanceof Node ? h("td", {}, v) : h("td", {}, v == null ? "–" : String(v)))));
}

export async function sessionPage(view, sid) {
  const tz = params().get("tz") || "UTC";
  put(view, h("p", { class: "muted" }, "Loading…"));
  let r;
  try {
    r = await get(`/reports/sessions/${encodeURIComponent(sid)}`, {}, { withSelection: false });
  } catch (err) {
    put(view, h("p", {}, h("a", { href: "/dashboard?tab=sessions" }, "← Sessions")), errorBox(err));
    return;
  }
  const sd = r.sessionDetails, q = r.qoeDataDetails, sc = r.scores || {};
  const tile = (metric, label, v) => h("div", { class: "tile" }, h("div", { class: "label" }, label), number("div", metric, v, { cls: "value" }));
  put(view, 
    h("p", {}, h("a", { href: "/dashboard?tab=sessions" }, "← Sessions")),
    h("h1", { class: "sid" }, "Session ", h("code", {}, r.id)),
    h("p", {}, `${r.state}${r.closeReason ? ` (${r.closeReason})` : ""}, ${when(r.firstEventTs, tz, { seconds: true })} – ${when(r.lastEventTs, tz, { seconds: true })}`,
      r.params["media.id"] != null ? ` · media ${r.params["media.id"]}` : "", r.params["media.name"] ? ` “${r.params["media.name"]}”` : ""),
    h("section", { class: "panel", "aria-label": "Scores" }, h("h2", {}, "Scores and time"), h("div", { class: "tiles" },
      tile("experience", "Experience", sc.experience ?? null), tile("playbackSuccess", "Playback success", sc.playbackSuccess ?? null),
      tile("startup", "Startup", sc.startup ?? null), tile("smoothness", "Smoothness", sc.smoothness ?? null),
      tile("timePlayed", "Time played", sd.timePlayed), tile("pauseTime", "Paused", sd.pauseTime),
      tile("bufferTime", "Buffering", q.bufferTime), tile("stallTime", "Stalled", q.stallTime),
      tile("timeToStart", "Time to start", q.timeToStart), tile("errorCount", "Errors", q.errorCount))),
    h("section", { class: "panel", "aria-label": "Timeline" }, h("h2", {}, "Timeline"),
      r.timeline ? timelineOf(r) : h("p", { class: "error" }, "This server's session report has no timeline yet.")),
    h("section", { class: "panel", "aria-label": "Diagnostics" }, h("h2", {}, "Diagnostics"),
      r.diagnostics.length
        ? h("ul", { dataset: { diagnostics: "" } }, r.diagnostics.map((d) => h("li", {}, `${when(d.ts, tz, { seconds: true })} ${d.eventType}: ${d.problem}`)))
        : h("p", { dataset: { diagnostics: "" } }, "No sequence problems: the player sent its events in an order that makes sense.")),
    r.ads.length ? h("section", { class: "panel", "aria-label": "Ads" }, h("h2", {}, "Ads"),
      table(["Pod", "Position", "Id", "Name", "Length", "Played", "Completed", "Skipped"].map((t) => h("th", { scope: "col" }, t)),
        r.ads.map((a) => h("tr", {}, h("td", {}, String(a.podIndex)), h("td", {}, String(a.podPosition)), h("td", {}, a.id ?? "–"), h("td", {}, a.name ?? "–"),
          number("td", "length", a.length), number("td", "adTimePlayed", a.timePlayed), h("td", {}, a.isCompleted ? "yes" : "no"), h("td", {}, a.isSkipped ? "yes" : "no"))))) : null,
    r.chapters.length ? h("section", { class: "panel", "aria-label": "Chapters" }, h("h2", {}, "Chapters"),
      table(["Index", "Name", "Offset", "Length", "Played", "Completed", "Skipped"].map((t) => h("th", { scope: "col" }, t)),
        r.chapters.map((c) => h("tr", {}, h("td", {}, String(c.index)), h("td", {}, c.friendlyName ?? "–"), number("td", "length", c.offset),
          number("td", "length", c.length), number("td", "chapterTimePlayed", c.timePlayed), h("td", {}, c.isCompleted ? "yes" : "no"), h("td", {}, c.isSkipped ? "yes" : "no"))))) : null,
    r.states.length ? h("section", { class: "panel", "aria-label": "Player states" }, h("h2", {}, "Player states"),
      table(["State", "Set at end", "Times", "Time"].map((t) => h("th", { scope: "col" }, t)),
        r.states.map((s) => h("tr", {}, h("td", {}, s.name), h("td", {}, s.isSet ? "yes" : "no"), h("td", {}, String(s.count)), number("td", "length", s.time))))) : null,
    h("section", { class: "panel", "aria-label": "Parameters" }, h("h2", {}, "Parameters"),
      kv([...Object.entries(r.params), ...Object.entries(r.customMetadata || {}).map(([k, v]) => [`meta.${k}`, v])])),
    h("section", { class: "panel", "aria-label": "Raw events" }, h("h2", {}, "Raw events"),
      h("p", {}, h("a", { href: `/reports/sessions/${r.id}/events` }, "JSON"), " (each event as stored, with when it arrived)"),
      rawEvents(r.id, tz)),
    h("section", { class: "panel", "aria-label": "Raw report" }, h("h2", {}, "Raw report"),
      h("p", {}, h("a", { href: `/reports/sessions/${r.id}` }, "JSON"), " (the session report the API answers)"),
      h("details", {}, h("summary", {}, "Show"), h("pre", {}, JSON.stringify(r, null, 2)))),
  );
}
