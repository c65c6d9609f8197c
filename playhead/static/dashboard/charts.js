// Charts with the vendored uPlot (window.uPlot, loaded before the modules run).

import { format, h } from "./dom.js";

const COLOURS = ["#1f5fbf", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0e7490", "#a16207", "#be185d", "#4d7c0f", "#475569", "#6b7280"];

export function colour(i) {
  return COLOURS[i % COLOURS.length];
}

function width(el) {
  return Math.max(280, Math.min(el.clientWidth || 800, 1200) - 8);
}

/**
 * A line chart: `xs` in epoch ms (or plain numbers with `time: false`), `series` a list of
 * {label, values}. Returns the container; the chart follows the container's width.
 */
export function lineChart({ xs, series, metric, tz = "UTC", time = true, height = 220, yRange }) {
  const box = h("div", { class: "chart", role: "img", "aria-label": `${metric} chart` });
  if (!window.uPlot) {
    box.append(h("p", { class: "error" }, "The chart library did not load."));
    return box;
  }
  const opts = {
    width: 800,
    height,
    legend: { show: series.length > 1 || !time },
    scales: { x: { time }, y: yRange ? { range: yRange } : {} },
    series: [
      time ? {} : { label: "position", value: (u, v) => (v == null ? "–" : format("length", v)) },
      ...series.map((s, i) => ({
        label: s.label,
        stroke: colour(i),
        width: 2,
        fill: series.length === 1 ? colour(i) + "22" : undefined,
        value: (u, v) => format(metric, v),
        spanGaps: false,
      })),
    ],
    axes: [
      time ? {} : { values: (u, vals) => vals.map((v) => format("length", v)) },
      { values: (u, vals) => vals.map((v) => format(metric, v)), size: 70 },
    ],
  };
  if (time) opts.tzDate = (ts) => window.uPlot.tzDate(new Date(ts * 1e3), tz || "UTC");
  const data = [time ? xs.map((x) => x / 1000) : xs, ...series.map((s) => s.values)];
  requestAnimationFrame(() => {
    opts.width = width(box);
    if (!box.isConnected) return; // replaced before it was drawn
    const plot = new window.uPlot(opts, data, box);
    const ro = new ResizeObserver(() => plot.setSize({ width: width(box), height }));
    ro.observe(box);
    box.dispose = () => { ro.disconnect(); plot.destroy(); };
  });
  return box;
}

/** Free the charts inside `root` before it is emptied (the live tab redraws every 5 s). */
export function disposeCharts(root) {
  for (const box of root.querySelectorAll(".chart")) if (box.dispose) box.dispose();
}
