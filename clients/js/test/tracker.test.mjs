import { test } from "node:test";
import assert from "node:assert/strict";
import { track, Clock, Playhead } from "../playhead.js";
import { FakeMedia, fakeFetch, PARAMS, SID, SID2, tick } from "./helpers.mjs";

const ENDPOINT = "http://collector.test/va";

function setup(script, extra = {}) {
  const el = new FakeMedia();
  const fetch = fakeFetch(script);
  const win = new EventTarget();
  const doc = Object.assign(new EventTarget(), { visibilityState: "visible", hasFocus: () => true, fullscreenElement: null });
  const session = track(el, { endpoint: ENDPOINT, params: PARAMS, fetch, window: win, document: doc, retryBase: 2, pingInterval: 1e6, ...extra });
  return { el, fetch, win, doc, session };
}

test("global and module exports", () => {
  assert.equal(globalThis.Playhead, Playhead);
  assert.equal(typeof Playhead.track, "function");
});

test("play intent starts the session; events follow in order with the prefix kept", async () => {
  const { el, fetch, session } = setup(undefined, { customMetadata: { show: "x", n: 2, "bad key": "y" } });
  let started = null;
  session.addEventListener("sessionstart", (e) => { started = e.detail.sid; });
  assert.equal(fetch.calls.length, 0);
  el.userPlay();
  el.currentTime = 3;
  el.userPause();
  el.userPlay();
  el.currentTime = 12;
  el.ended = true;
  el.paused = true;
  el.fire("pause");
  el.fire("ended");
  assert.ok(await session.flush(2000));
  assert.equal(started, SID);
  assert.equal(session.sid, SID);
  assert.deepEqual(fetch.types(), ["sessionStart", "stateStart", "play", "pauseStart", "play", "sessionComplete"]);
  assert.equal(fetch.calls[0].url, "http://collector.test/va/api/v1/sessions");
  assert.equal(fetch.calls[1].url, `http://collector.test/va/api/v1/sessions/${SID}/events`);
  assert.deepEqual(fetch.calls[0].body.params, PARAMS);
  assert.deepEqual(fetch.calls[0].body.customMetadata, { show: "x", n: "2" });
  assert.deepEqual(fetch.calls[1].body.params, { "media.state.name": "inFocus" });
  assert.equal(fetch.calls[3].body.playerTime.playhead, 3);
  assert.equal(fetch.calls[5].body.playerTime.playhead, 12);
  const play = fetch.calls[2].body;
  assert.ok(play.qoeData["media.qoe.timeToStart"] >= 1);
  assert.equal(fetch.calls[4].body.qoeData, undefined);
  assert.equal(fetch.maxInflight(), 1);
});

test("events are queued until the sid arrives, one request in flight", async () => {
  const { el, fetch, session } = setup();
  fetch.hold();
  el.userPlay();
  el.currentTime = 1; el.muted = true; el.fire("volumechange");
  el.currentTime = 2; el.fire("seeking"); el.currentTime = 8; el.fire("seeked");
  el.fire("waiting"); el.fire("playing");
  await tick(20);
  assert.equal(fetch.calls.length, 1); // only the sessionStart went out
  assert.equal(session.sid, null);
  fetch.release();
  assert.ok(await session.flush(2000));
  assert.deepEqual(fetch.types(), ["sessionStart", "stateStart", "play", "stateStart", "pauseStart", "play", "bufferStart", "play"]);
  assert.deepEqual(fetch.calls[3].body.params, { "media.state.name": "mute" });
  assert.equal(fetch.calls[4].body.playerTime.playhead, 2);
  assert.equal(fetch.calls[5].body.playerTime.playhead, 8);
  assert.equal(fetch.maxInflight(), 1);
  assert.ok(fetch.calls.slice(1).every((c) => c.url.endsWith(`/sessions/${SID}/events`)));
});

test("timestamps strictly increase, at least 1 ms apart", async () => {
  const { el, fetch, session } = setup();
  el.userPlay();
  for (let i = 0; i < 50; i++) session.stateStart(`s${i % 5}`), session.stateEnd(`s${i % 5}`);
  assert.ok(await session.flush(5000));
  const ts = fetch.calls.map((c) => c.body.playerTime.ts);
  for (let i = 1; i < ts.length; i++) assert.ok(ts[i] - ts[i - 1] >= 1, `ts[${i}]`);
  const c = new Clock(() => 1000.7);
  assert.deepEqual([c.now(), c.now(), c.now()], [1000, 1001, 1002]);
});

test("503 and network errors are retried with backoff, order kept", async () => {
  let n = 0;
  const { el, fetch, session } = setup((url, body) => {
    if (body.eventType === "play" && n++ < 2) return n === 1 ? 503 : "network";
  });
  el.userPlay();
  el.currentTime = 4;
  el.userPause();
  assert.ok(await session.flush(3000));
  assert.deepEqual(fetch.types(), ["sessionStart", "stateStart", "play", "play", "play", "pauseStart"]);
  assert.equal(session.stats.statuses[503], 1);
  assert.equal(session.stats.networkErrors, 1);
  assert.equal(fetch.maxInflight(), 1);
  assert.deepEqual(session.errors, []);
});

test("400 is not retried", async () => {
  const { el, fetch, session } = setup((url, body) => (body.eventType === "adBreakStart" ? 400 : undefined));
  el.userPlay();
  session.adBreakStart({ "media.ad.podIndex": 1, "media.ad.podSecond": 0 });
  session.adBreakComplete();
  assert.ok(await session.flush(3000));
  assert.deepEqual(fetch.types(), ["sessionStart", "stateStart", "play", "adBreakStart", "adBreakComplete"]);
  assert.equal(session.errors.length, 1);
  assert.equal(session.stats.statuses[400], 1);
});

test("410 opens a new session with media.resume and re-sends the event", async () => {
  const { el, fetch, session } = setup((url, body) => (url.includes(SID) && body.eventType === "pauseStart" ? 410 : undefined));
  el.userPlay();
  el.currentTime = 5;
  el.muted = true; el.fire("volumechange");
  el.userPause();
  assert.ok(await session.flush(3000));
  assert.deepEqual(fetch.types(), ["sessionStart", "stateStart", "play", "stateStart", "pauseStart", "sessionStart", "stateStart", "stateStart", "play", "pauseStart"]);
  const restart = fetch.calls[5];
  assert.equal(restart.url, "http://collector.test/va/api/v1/sessions");
  assert.equal(restart.body.params["media.resume"], true);
  assert.equal(restart.body.params["media.id"], "clip-1");
  assert.deepEqual(session.sids, [SID, SID2]);
  assert.ok(fetch.calls.slice(6).every((c) => c.url.includes(SID2)));
  const ts = fetch.calls.slice(5).map((c) => c.body.playerTime.ts);
  for (let i = 1; i < ts.length; i++) assert.ok(ts[i] > ts[i - 1]);
  assert.equal(fetch.calls[9].body.playerTime.playhead, 5);
});

test("pings every interval with the current playhead; 1 s cadence inside ads", async () => {
  const { el, fetch, session } = setup(undefined, { pingInterval: 30, adPingInterval: 8 });
  el.userPlay();
  el.currentTime = 7;
  await tick(100);
  const mainPings = fetch.calls.filter((c) => c.body.eventType === "ping");
  assert.ok(mainPings.length >= 2 && mainPings.length <= 4, `${mainPings.length} main pings`);
  assert.equal(mainPings[0].body.playerTime.playhead, 7);
  session.adBreakStart({ "media.ad.podIndex": 1 });
  session.adStart({ "media.ad.id": "a1", "media.ad.length": 5, "media.ad.podPosition": 1 });
  el.currentTime = 2; // an ad playing in the same element: the reported playhead stays 7
  const before = fetch.calls.length;
  await tick(100);
  const adPings = fetch.calls.slice(before).filter((c) => c.body.eventType === "ping");
  assert.ok(adPings.length >= 5, `${adPings.length} ad pings`);
  assert.ok(adPings.every((c) => c.body.playerTime.playhead === 7));
  session.adComplete();
  session.adBreakComplete();
  session.detach();
  assert.ok(await session.flush(3000));
  const count = fetch.calls.length;
  await tick(80);
  assert.equal(fetch.calls.length, count); // detached: no more pings
  const ab = fetch.calls.find((c) => c.body.eventType === "adBreakStart").body.params;
  assert.deepEqual(ab, { "media.ad.podIndex": 1, "media.ad.podSecond": 7 });
  const ad = fetch.calls.find((c) => c.body.eventType === "adStart").body.params;
  assert.equal(ad["media.ad.playerName"], "node-test");
});

test("player states from the element and the page", async () => {
  const { el, fetch, session, doc, win } = setup();
  el.muted = true;
  el.fire("volumechange"); // before the session: remembered, sent after sessionStart
  el.userPlay();
  doc.fullscreenElement = el; doc.dispatchEvent(new Event("fullscreenchange"));
  el.fire("enterpictureinpicture");
  doc.hasFocus = () => false; win.dispatchEvent(new Event("blur"));
  el.muted = false; el.fire("volumechange");
  el.fire("volumechange"); // no change: nothing sent
  doc.fullscreenElement = null; doc.dispatchEvent(new Event("fullscreenchange"));
  el.fire("leavepictureinpicture");
  doc.hasFocus = () => true; win.dispatchEvent(new Event("focus"));
  assert.ok(await session.flush(2000));
  const states = fetch.calls.filter((c) => c.body.eventType.startsWith("state")).map((c) => `${c.body.eventType}:${c.body.params["media.state.name"]}`);
  assert.deepEqual(states, [
    "stateStart:inFocus", "stateStart:mute", "stateStart:fullScreen", "stateStart:pictureInPicture",
    "stateEnd:inFocus", "stateEnd:mute", "stateEnd:fullScreen", "stateEnd:pictureInPicture", "stateStart:inFocus",
  ]);
});

test("QoE: dropped frames when changed, bitrate, errors", async () => {
  const { el, fetch, session } = setup();
  el.userPlay();
  session.setBitrate(1500000);
  el.dropped = 4;
  session.stateStart("closedCaptioning");
  session.stateEnd("closedCaptioning");
  el.error = { code: 3 };
  el.fire("error");
  session.error("CDN-1", "external");
  assert.ok(await session.flush(2000));
  const bodies = fetch.calls.map((c) => c.body);
  const br = bodies.find((b) => b.eventType === "bitrateChange");
  assert.deepEqual(br.qoeData, { "media.qoe.bitrate": 1500000 });
  const cc = bodies.filter((b) => b.eventType.startsWith("state") && b.params["media.state.name"] === "closedCaptioning");
  assert.deepEqual(cc[0].qoeData, { "media.qoe.droppedFrames": 4 });
  assert.equal(cc[1].qoeData, undefined);
  const errors = bodies.filter((b) => b.eventType === "error").map((b) => b.qoeData);
  assert.deepEqual(errors, [
    { "media.qoe.errorID": "3", "media.qoe.errorSource": "player" },
    { "media.qoe.errorID": "CDN-1", "media.qoe.errorSource": "external" },
  ]);
});

test("chapters and ads through the manual API", async () => {
  const { el, fetch, session } = setup();
  el.userPlay();
  session.chapterStart({ "media.chapter.index": 1, "media.chapter.offset": 0, "media.chapter.length": 6 }, { part: 1 });
  session.chapterComplete();
  session.chapterStart({ "media.chapter.index": 2, "media.chapter.offset": 6, "media.chapter.length": 6 });
  session.adStart({ "media.ad.id": "x", "media.ad.length": 3, "media.ad.podPosition": 1 }, { campaign: "c" }); // opens its break
  session.adSkip();
  session.adBreakComplete();
  session.chapterSkip();
  assert.ok(await session.flush(2000));
  assert.deepEqual(fetch.types().slice(3), ["chapterStart", "chapterComplete", "chapterStart", "adBreakStart", "adStart", "adSkip", "adBreakComplete", "chapterSkip"]);
  assert.deepEqual(fetch.calls[3].body.customMetadata, { part: "1" });
  assert.deepEqual(fetch.calls[7].body.customMetadata, { campaign: "c" });
});

test("pagehide sends sessionEnd with keepalive, closing open ads and chapters first", async () => {
  const { el, fetch, session, win } = setup();
  el.userPlay();
  assert.ok(await session.flush(2000));
  session.chapterStart({ "media.chapter.index": 1, "media.chapter.offset": 0, "media.chapter.length": 6 });
  session.adBreakStart({ "media.ad.podIndex": 1 });
  session.adStart({ "media.ad.id": "x", "media.ad.length": 3, "media.ad.podPosition": 1 });
  win.dispatchEvent(new Event("pagehide"));
  await tick(30);
  const tail = fetch.calls.slice(-4);
  assert.deepEqual(tail.map((c) => c.body.eventType), ["adSkip", "adBreakComplete", "chapterSkip", "sessionEnd"]);
  assert.ok(tail.every((c) => c.init.keepalive === true));
  assert.ok(tail.every((c) => c.url.endsWith(`/sessions/${SID}/events`)));
  assert.equal(fetch.calls.filter((c) => c.body.eventType === "sessionEnd").length, 1);
});

test("sendBeacon fallback when fetch throws at unload", async () => {
  const beacons = [];
  let unloading = false;
  const base = fakeFetch();
  const fetch = (url, init) => {
    if (unloading && init.keepalive) throw new TypeError("keepalive unsupported");
    return base(url, init);
  };
  const el = new FakeMedia();
  const win = new EventTarget();
  const navigator = { sendBeacon: (url, blob) => { beacons.push({ url, blob }); return true; } };
  const session = track(el, { endpoint: ENDPOINT, params: PARAMS, fetch, window: win, navigator, pingInterval: 1e6 });
  el.userPlay();
  assert.ok(await session.flush(2000));
  base.hold();
  el.currentTime = 2;
  el.userPause(); // stays in flight (held)
  unloading = true;
  win.dispatchEvent(new Event("pagehide"));
  base.release();
  await tick(20);
  assert.equal(beacons.length, 1);
  assert.equal(beacons[0].url, `http://collector.test/va/api/v1/sessions/${SID}/events`);
  assert.equal(JSON.parse(await beacons[0].blob.text()).eventType, "sessionEnd");
  assert.equal(beacons[0].blob.type, "text/plain");
});

test("a failed sessionStart (400) drops the session's events", async () => {
  const { el, fetch, session } = setup((url) => (url.endsWith("/sessions") ? 400 : undefined));
  el.userPlay();
  el.userPause();
  assert.ok(await session.flush(2000));
  assert.deepEqual(fetch.types(), ["sessionStart"]);
  assert.equal(session.sid, null);
  assert.equal(session.stats.dropped, 3);
});
