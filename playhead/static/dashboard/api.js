// The page's state in its URL, and calls to the reports API with that selection.
// The selection parameters are the API's own (from, to, filter, tz), so the dashboard URL and
// the API URL select the same sessions; every other parameter is the page's (tab, metric...).

export const SELECTION = ["from", "to", "filter", "tz"];

export class ApiError extends Error {
  constructor(path, status, body) {
    const message = (body && body.message) ||
      (status === 404 ? "Not found: this server has no such endpoint (is it an older Playhead?)" : `HTTP ${status}`);
    super(message);
    this.path = path;
    this.status = status;
    this.problems = (body && body.errors) || [];
  }
}

/** The URL's parameters (live: read each time). */
export function params() {
  return new URLSearchParams(location.search);
}

/** The selection of the URL: only the API's parameters, in their order. */
export function selection(keep = SELECTION) {
  const out = new URLSearchParams();
  for (const [k, v] of params()) if (keep.includes(k)) out.append(k, v);
  return out;
}

/** Change the URL (push a history entry) and tell the page to draw itself again. */
export function navigate(change, { replace = false } = {}) {
  const p = params();
  change(p);
  const qs = p.toString();
  const url = location.pathname + (qs ? "?" + qs : "");
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  window.dispatchEvent(new Event("playhead:navigate"));
}

/** Add `filter=DIM:VALUE` to the selection (once). */
export function addFilter(dimension, value) {
  const f = `${dimension}:${value}`;
  navigate((p) => {
    if (!p.getAll("filter").includes(f)) p.append("filter", f);
    p.delete("cursor");
  });
}

/** Remove one filter from the selection. */
export function removeFilter(f) {
  navigate((p) => {
    const rest = p.getAll("filter").filter((x) => x !== f);
    p.delete("filter");
    for (const x of rest) p.append("filter", x);
  });
}

/** GET an API path with the selection plus `extra` parameters; the decoded JSON or ApiError. */
export async function get(path, extra = {}, { withSelection = true, keep } = {}) {
  const q = withSelection ? selection(keep) : new URLSearchParams();
  for (const [k, v] of Object.entries(extra)) {
    if (Array.isArray(v)) for (const x of v) q.append(k, x);
    else if (v !== undefined && v !== null && v !== "") q.set(k, v);
  }
  const qs = q.toString();
  const url = path + (qs ? "?" + qs : "");
  let response;
  try {
    response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  } catch (e) {
    throw new ApiError(url, 0, { message: `The server did not answer (${e.message}).` });
  }
  let body = null;
  try {
    body = await response.json();
  } catch (e) {
    body = null;
  }
  if (!response.ok) throw new ApiError(url, response.status, body);
  return body;
}
