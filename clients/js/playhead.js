/**
 * Playhead JavaScript tracker: Streaming Media Collection API events from an HTML media element.
 *
 *   import { track } from "./playhead.js";           // or window.Playhead.track after loading
 *   const session = track(videoElement, { endpoint: "https://metrics.example.com", params });
 *
 * No runtime dependencies. ES module; it also assigns `globalThis.Playhead`, so a page that
 * loads it with `<script type="module" src="playhead.js">` can use `window.Playhead` from
 * ordinary scripts.
 */

const VERSION = "1.0.0";
const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504]);
const FINAL_EVENTS = new Set(["sessionEnd", "sessionComplete"]);
// playback state on the server after each event type (what a resume session must restore)
const WIRE_STATE = { play: "playing", pauseStart: "paused", bufferStart: "buffering", sessionComplete: "ended" };

/** Epoch milliseconds from one monotonic clock, strictly increasing by at least 1 ms. */
export class Clock {
  constructor(now) {
    const perf = globalThis.performance;
    if (now) this._now = now;
    else if (perf && typeof perf.now === "function" && perf.timeOrigin) {
      this._now = () => perf.timeOrigin + perf.now();
    } else this._now = () => Date.now();
    this._last = 0;
  }
  now() {
    const value = Math.max(Math.floor(this._now()), this._last + 1);
    this._last = value;
    return value;
  }
}

/** The clock every session of this page shares. */
export const clock = new Clock();

function cleanMetadata(meta) {
  if (!meta) return undefined;
  const out = {};
  for (const [k, v] of Object.entries(meta)) {
    if (/^[a-zA-Z0-9_.]+$/.test(k) && v !== undefined && v !== null) out[k] = String(v);
  }
  return Object.keys(out).length ? out : undefined;
}

function parseLocation(location) {
  const m = /\/api\/([^/]+)\/sessions\/([^/?#]+)/.exec(location || "");
  return m ? { version: m[1], sid: m[2] } : null;
}

/**
 * One tracked viewing of a media element. Created by `track()`.
 * Events: "sessionstart" (detail: {sid}), "response" (detail: {status, eventType}), "error".
 */
export class Session extends EventTarget {
  constructor(element, options) {
    super();
    if (!options || !options.endpoint) throw new Error("Playhead.track: options.endpoint is required");
    this.element = element;
    this.options = options;
    this.endpoint = String(options.endpoint).replace(/\/+$/, "");
    this.params = { ...(options.params || {}) };
    this.customMetadata = cleanMetadata(options.customMetadata);
    this.pingInterval = options.pingInterval ?? 10000;
    this.adPingInterval = options.adPingInterval ?? 1000;
    this.retryBase = options.retryBase ?? 500;
    this.retryMax = options.retryMax ?? 30000;
    this.maxAttempts = options.maxAttempts ?? 8;
    this._fetch = options.fetch || globalThis.fetch?.bind(globalThis);
    this._window = options.window ?? globalThis.window;
    this._document = options.document ?? globalThis.document;
    this._navigator = options.navigator ?? globalThis.navigator;
    this._playheadFn = options.playhead;
    this.clock = options.clock || clock;

    this.sid = null;
    this.sids = [];
    this.stats = { requests: 0, statuses: {}, dropped: 0, networkErrors: 0 };
    this.errors = [];
    this._queue = [];
    this._inflight = false;
    this._version = "v1";
    this._retryTimer = null;
    this._pingTimer = null;
    this._started = false;
    this._state = "idle"; // idle | starting | playing | paused | buffering | ended
    this._inAd = false;
    this._adPlayhead = 0;
    this._inAdBreak = false;
    this._inChapter = false;
    this._states = new Set(); // player states currently set
    this._sentStates = new Set(); // ... as the server knows them
    this._intentAt = null;
    this._firstPlaySent = false;
    this._qoe = {};
    this._qoeSent = {};
    this._listeners = [];
    this._attach();
  }

  // ---- public manual API -------------------------------------------------------------------
  adBreakStart(params = {}) {
    this._ensureStarted();
    this._adPlayhead = this._contentPlayhead();
    const p = { "media.ad.podIndex": 1, "media.ad.podSecond": this._adPlayhead, ...params };
    this._inAdBreak = true;
    this._send("adBreakStart", p);
    this._restartPings();
  }
  adBreakComplete() {
    if (this._inAd) this.adSkip();
    this._inAdBreak = false;
    this._send("adBreakComplete");
    this._restartPings();
  }
  adStart(params = {}, customMetadata) {
    this._ensureStarted();
    if (!this._inAdBreak) this.adBreakStart({});
    this._inAd = true;
    this._send("adStart", { "media.ad.playerName": this.params["media.playerName"] || "playhead-js", ...params }, undefined, cleanMetadata(customMetadata));
    if (this._state !== "playing") this._sendPlay();
  }
  adComplete() { this._inAd = false; this._send("adComplete"); }
  adSkip() { this._inAd = false; this._send("adSkip"); }
  chapterStart(params = {}, customMetadata) {
    this._ensureStarted();
    if (this._inChapter) this.chapterSkip();
    this._inChapter = true;
    this._send("chapterStart", params, undefined, cleanMetadata(customMetadata));
  }
  chapterComplete() { this._inChapter = false; this._send("chapterComplete"); }
  chapterSkip() { this._inChapter = false; this._send("chapterSkip"); }
  stateStart(name) { this._setState(name, true); }
  stateEnd(name) { this._setState(name, false); }
  setBitrate(bps) {
    this._qoe["media.qoe.bitrate"] = Math.round(bps);
    if (this._started) this._send("bitrateChange");
  }
  error(id, source = "player") {
    this._ensureStarted();
    this._send("error", undefined, {
      "media.qoe.errorID": String(id),
      "media.qoe.errorSource": source === "external" ? "external" : "player",
    });
  }
  /** Close the session now (a later play on the element opens a new one). */
  end(options = {}) {
    if (!this._started) return;
    if (this._inAd) this.adSkip();
    if (this._inAdBreak) this.adBreakComplete();
    if (this._inChapter) this.chapterSkip();
    this._send("sessionEnd");
    this._stopPings();
    this._started = false;
    this._state = "idle";
    if (options.unload) this._flushUnload();
  }
  /** Stop listening to the element and the page (sends nothing). */
  detach() {
    for (const [target, type, fn] of this._listeners) target.removeEventListener(type, fn);
    this._listeners = [];
    this._stopPings();
    if (this._retryTimer) clearTimeout(this._retryTimer);
  }
  /** Resolves when the queue is empty (or after `timeout` ms). */
  flush(timeout = 10000) {
    const deadline = Date.now() + timeout;
    return new Promise((resolve) => {
      const check = () => {
        if (!this._queue.length && !this._inflight) resolve(true);
        else if (Date.now() > deadline) resolve(false);
        else setTimeout(check, 10);
      };
      check();
    });
  }

  // ---- element & page wiring -----------------------------------------------------------------
  _on(target, type, fn) {
    if (!target || typeof target.addEventListener !== "function") return;
    const bound = fn.bind(this);
    target.addEventListener(type, bound);
    this._listeners.push([target, type, bound]);
  }
  _attach() {
    const el = this.element;
    this._on(el, "play", this._onPlayIntent);
    this._on(el, "playing", this._onPlaying);
    this._on(el, "pause", this._onPause);
    this._on(el, "seeking", this._onSeeking);
    this._on(el, "seeked", this._onSeeked);
    this._on(el, "waiting", this._onWaiting);
    this._on(el, "ended", this._onEnded);
    this._on(el, "error", this._onError);
    this._on(el, "volumechange", this._onVolume);
    this._on(el, "enterpictureinpicture", () => this._setState("pictureInPicture", true));
    this._on(el, "leavepictureinpicture", () => this._setState("pictureInPicture", false));
    this._on(this._document, "fullscreenchange", this._onFullscreen);
    this._on(this._document, "webkitfullscreenchange", this._onFullscreen);
    this._on(this._document, "visibilitychange", this._onFocusChange);
    this._on(this._window, "focus", this._onFocusChange);
    this._on(this._window, "blur", this._onFocusChange);
    this._on(this._window, "pagehide", () => this.end({ unload: true }));
    // states known before the session starts
    if (this._isMuted()) this._states.add("mute");
    if (this._hasFocus()) this._states.add("inFocus");
  }
  _isMuted() { return !!(this.element.muted || this.element.volume === 0); }
  _hasFocus() {
    const d = this._document;
    if (!d) return false;
    if (d.visibilityState && d.visibilityState !== "visible") return false;
    return typeof d.hasFocus === "function" ? !!d.hasFocus() : true;
  }
  _onPlayIntent() {
    if (!this._started) this._start();
  }
  _onPlaying() {
    this._ensureStarted();
    if (this._state !== "playing") this._sendPlay();
  }
  _onPause() {
    if (this.element.ended || !this._started) return;
    if (this._state === "playing" || this._state === "buffering") {
      this._state = "paused";
      this._send("pauseStart");
    }
  }
  _onSeeking() {
    if (!this._started || this._state === "paused" || this._state === "ended") return;
    this._state = "paused";
    this._seekPause = true;
    this._send("pauseStart");
  }
  _onSeeked() {
    if (!this._started) return;
    if (!this.element.paused && this._state !== "playing") this._sendPlay();
    this._seekPause = false;
  }
  _onWaiting() {
    if (!this._started || this.element.seeking || this._state !== "playing") return;
    this._state = "buffering";
    this._send("bufferStart");
  }
  _onEnded() {
    if (!this._started) return;
    if (this._inChapter) this.chapterComplete();
    this._state = "ended";
    this._send("sessionComplete");
    this._stopPings();
  }
  _onError() {
    const code = this.element.error && this.element.error.code;
    this.error(code != null ? String(code) : "unknown", "player");
  }
  _onVolume() { this._setState("mute", this._isMuted()); }
  _onFullscreen() {
    const d = this._document;
    const fs = d && (d.fullscreenElement || d.webkitFullscreenElement);
    const on = !!fs && (fs === this.element || (typeof fs.contains === "function" && fs.contains(this.element)));
    this._setState("fullScreen", on);
  }
  _onFocusChange() { this._setState("inFocus", this._hasFocus()); }

  // ---- event building ------------------------------------------------------------------------
  _contentPlayhead() {
    const value = this._playheadFn ? this._playheadFn() : this.element.currentTime;
    return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) / 1000 : 0;
  }
  _playhead() { return this._inAdBreak ? this._adPlayhead : this._contentPlayhead(); }
  _ensureStarted() { if (!this._started) this._start(); }
  _start() {
    this._started = true;
    this._state = "starting";
    this._intentAt = this.clock.now();
    this._firstPlaySent = false;
    this._sentStates = new Set();
    const body = this._body("sessionStart", this.params, undefined, this.customMetadata);
    this._wireState = "starting";
    this._queue.push({ body, start: true, attempts: 0 });
    for (const name of this._states) this._sendState(name, true);
    this._restartPings();
    this._pump();
  }
  _sendPlay() {
    let qoe;
    if (!this._firstPlaySent) {
      this._firstPlaySent = true;
      qoe = { "media.qoe.timeToStart": Math.max(1, this.clock.now() - this._intentAt) };
    }
    this._state = "playing";
    this._send("play", undefined, qoe);
    this._restartPings();
  }
  _setState(name, on) {
    if (on === this._states.has(name)) return;
    if (on) this._states.add(name);
    else this._states.delete(name);
    if (this._started) this._sendState(name, on);
  }
  _sendState(name, on) {
    if (on === this._sentStates.has(name)) return;
    if (on) this._sentStates.add(name);
    else this._sentStates.delete(name);
    this._send(on ? "stateStart" : "stateEnd", { "media.state.name": name });
  }
  _sampleQoe() {
    const el = this.element;
    if (typeof el.getVideoPlaybackQuality === "function") {
      try {
        const q = el.getVideoPlaybackQuality();
        if (q && Number.isFinite(q.droppedVideoFrames)) this._qoe["media.qoe.droppedFrames"] = q.droppedVideoFrames;
      } catch { /* not available */ }
    }
  }
  _body(eventType, params, qoe, customMetadata) {
    const body = { playerTime: { playhead: this._playhead(), ts: this.clock.now() }, eventType };
    if (params && Object.keys(params).length) body.params = { ...params };
    this._sampleQoe();
    const changed = {};
    for (const [k, v] of Object.entries(this._qoe)) {
      if (this._qoeSent[k] !== v) changed[k] = v;
    }
    // the first droppedFrames value of 0 is not news
    if (changed["media.qoe.droppedFrames"] === 0 && this._qoeSent["media.qoe.droppedFrames"] === undefined) {
      this._qoeSent["media.qoe.droppedFrames"] = 0;
      delete changed["media.qoe.droppedFrames"];
    }
    const merged = { ...changed, ...(qoe || {}) };
    if (Object.keys(merged).length) {
      body.qoeData = merged;
      Object.assign(this._qoeSent, changed);
    }
    if (customMetadata) body.customMetadata = customMetadata;
    return body;
  }
  _send(eventType, params, qoe, customMetadata) {
    if (!this._started) return;
    const before = this._wireState;
    this._wireState = WIRE_STATE[eventType] || before;
    this._queue.push({ body: this._body(eventType, params, qoe, customMetadata), attempts: 0, before });
    this._pump();
  }

  // ---- pings ---------------------------------------------------------------------------------
  _stopPings() {
    if (this._pingTimer) clearInterval(this._pingTimer);
    this._pingTimer = null;
  }
  _restartPings() {
    this._stopPings();
    if (!this._started || this._state === "ended") return;
    const every = this._inAdBreak ? this.adPingInterval : this.pingInterval;
    this._pingTimer = setInterval(() => this._send("ping"), every);
    if (this._pingTimer && typeof this._pingTimer.unref === "function") this._pingTimer.unref();
  }

  // ---- the wire ------------------------------------------------------------------------------
  _url(item) {
    return item.start
      ? `${this.endpoint}/api/v1/sessions`
      : `${this.endpoint}/api/${this._version}/sessions/${this.sid}/events`;
  }
  _count(status, eventType) {
    this.stats.statuses[status] = (this.stats.statuses[status] || 0) + 1;
    this.dispatchEvent(Object.assign(new Event("response"), { detail: { status, eventType } }));
  }
  _fail(message, item) {
    const err = { message, eventType: item && item.body.eventType };
    this.errors.push(err);
    this.dispatchEvent(Object.assign(new Event("error"), { detail: err }));
  }
  _pump() {
    if (this._inflight || this._retryTimer || !this._queue.length) return;
    const item = this._queue[0];
    if (!item.start && !this.sid) {
      // no session to send to (its start failed): drop what cannot be attributed
      this._queue.shift();
      this.stats.dropped++;
      this._fail("no session id: event dropped", item);
      return this._pump();
    }
    this._inflight = true;
    this.stats.requests++;
    let request;
    try {
      request = this._fetch(this._url(item), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(item.body),
        keepalive: item.body.eventType === "sessionEnd",
      });
    } catch (e) {
      request = Promise.reject(e);
    }
    Promise.resolve(request).then(
      (res) => this._done(item, res),
      (err) => this._retry(item, `network error: ${err && err.message}`, "network"),
    );
  }
  _retry(item, message, status) {
    this._inflight = false;
    if (status === "network") this.stats.networkErrors++;
    item.attempts++;
    if (item.attempts >= this.maxAttempts) {
      this._queue.shift();
      this.stats.dropped++;
      this._fail(`${message}; giving up after ${item.attempts} attempts`, item);
      if (item.start) this._dropSession();
      return this._pump();
    }
    const delay = Math.min(this.retryMax, this.retryBase * 2 ** (item.attempts - 1)) * (0.5 + Math.random() / 2);
    this._retryTimer = setTimeout(() => {
      this._retryTimer = null;
      this._pump();
    }, delay);
  }
  _dropSession() {
    this.sid = null;
  }
  _done(item, res) {
    const status = res.status;
    this._count(status, item.body.eventType);
    if (RETRY_STATUSES.has(status)) return this._retry(item, `HTTP ${status}`, status);
    this._inflight = false;
    this._queue.shift();
    if (item.start) {
      const loc = status === 201 && res.headers && parseLocation(res.headers.get("Location"));
      if (loc) {
        this.sid = loc.sid;
        this._version = loc.version;
        this.sids.push(loc.sid);
        if (typeof this.options.onSessionStart === "function") this.options.onSessionStart(loc.sid, this);
        this.dispatchEvent(Object.assign(new Event("sessionstart"), { detail: { sid: loc.sid } }));
      } else {
        this.sid = null;
        this._fail(`sessionStart failed: HTTP ${status}`, item);
      }
    } else if ((status === 404 || status === 410) && !FINAL_EVENTS.has(item.body.eventType)) {
      this._resume(item);
    } else if (status < 200 || status >= 300) {
      this._fail(`HTTP ${status}`, item);
    }
    this._pump();
  }
  /** The session is gone on the server: open a new one (media.resume) and re-send `item`. */
  _resume(item) {
    const ts = item.body.playerTime.ts;
    const playhead = item.body.playerTime.playhead;
    const start = {
      playerTime: { playhead, ts: ts - 2 - this._sentStates.size },
      eventType: "sessionStart",
      params: { ...this.params, "media.resume": true },
    };
    if (this.customMetadata) start.customMetadata = this.customMetadata;
    const replay = [{ body: start, start: true, attempts: 0 }];
    let t = start.playerTime.ts;
    for (const name of this._sentStates) {
      replay.push({ body: { playerTime: { playhead, ts: ++t }, eventType: "stateStart", params: { "media.state.name": name } }, attempts: 0 });
    }
    if (item.before === "playing" && item.body.eventType !== "play") {
      replay.push({ body: { playerTime: { playhead, ts: ++t }, eventType: "play" }, attempts: 0 });
    }
    item.attempts = 0;
    replay.push(item);
    this.sid = null;
    this._queue.unshift(...replay);
  }
  /** Page is going away: send what is queued at once with keepalive (or sendBeacon). */
  _flushUnload() {
    if (!this.sid) return;
    if (this._retryTimer) { clearTimeout(this._retryTimer); this._retryTimer = null; }
    const items = this._queue.filter((i) => !i.start);
    const first = this._inflight ? 1 : 0;
    const pending = items.slice(first);
    this._queue.length = 0;
    if (this._inflight && items.length) this._queue.push(items[0]);
    for (const item of pending) {
      const url = this._url(item);
      const data = JSON.stringify(item.body);
      let sent = false;
      try {
        if (this._fetch) {
          this.stats.requests++;
          const p = this._fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: data, keepalive: true });
          Promise.resolve(p).then((res) => this._count(res.status, item.body.eventType), () => {});
          sent = true;
        }
      } catch { sent = false; }
      if (!sent && this._navigator && typeof this._navigator.sendBeacon === "function") {
        // text/plain keeps the beacon a simple request (no preflight); the server parses JSON anyway
        this._navigator.sendBeacon(url, new Blob([data], { type: "text/plain" }));
      }
    }
  }
}

/** Track `element` (a <video> or <audio>). See Session for the manual API. */
export function track(element, options) {
  return new Session(element, options);
}

export const Playhead = { track, Session, Clock, clock, version: VERSION };
globalThis.Playhead = Playhead;
export default Playhead;
