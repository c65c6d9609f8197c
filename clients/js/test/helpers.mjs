// Test doubles: a fake media element and a scriptable fetch.
export class FakeMedia extends EventTarget {
  constructor() {
    super();
    this.currentTime = 0;
    this.paused = true;
    this.muted = false;
    this.volume = 1;
    this.ended = false;
    this.seeking = false;
    this.error = null;
    this.dropped = 0;
  }
  getVideoPlaybackQuality() { return { droppedVideoFrames: this.dropped, totalVideoFrames: 1000 }; }
  fire(type) { this.dispatchEvent(new Event(type)); }
  userPlay() { this.paused = false; this.fire("play"); this.fire("playing"); }
  userPause() { this.paused = true; this.fire("pause"); }
}

export const SID = "a".repeat(64);
export const SID2 = "b".repeat(64);

/**
 * fetch stub. `script(url, body, n)` may return a status, {status, location}, "network",
 * or undefined (default: 201 + Location for sessions, 204 for events). `gate` holds answers
 * until released, to observe queueing and in-flight limits.
 */
export function fakeFetch(script = () => undefined) {
  const calls = [];
  let inflight = 0;
  let maxInflight = 0;
  let sids = [SID, SID2, "c".repeat(64)];
  let gated = false;
  const waiting = [];
  const f = async (url, init) => {
    const body = JSON.parse(init.body);
    const call = { url, body, init };
    calls.push(call);
    inflight++;
    maxInflight = Math.max(maxInflight, inflight);
    try {
      if (gated) await new Promise((r) => waiting.push(r));
      await new Promise((r) => setTimeout(r, 1));
      let answer = script(url, body, calls.length);
      if (answer === "network") throw new TypeError("fetch failed");
      if (typeof answer === "number") answer = { status: answer };
      if (!answer) {
        answer = url.endsWith("/api/v1/sessions") ? { status: 201, location: `/api/v1/sessions/${sids.shift()}` } : { status: 204 };
      }
      call.status = answer.status;
      const headers = answer.location ? { Location: answer.location } : {};
      return new Response(null, { status: answer.status, headers });
    } finally {
      inflight--;
    }
  };
  f.calls = calls;
  f.maxInflight = () => maxInflight;
  f.hold = () => { gated = true; };
  f.release = () => { gated = false; while (waiting.length) waiting.shift()(); };
  f.types = () => calls.map((c) => c.body.eventType);
  return f;
}

export const PARAMS = {
  "analytics.trackingServer": "example.sc.omtrdc.net",
  "analytics.reportSuite": "rsid",
  "visitor.marketingCloudOrgId": "ORG@AdobeOrg",
  "media.id": "clip-1",
  "media.length": 12,
  "media.contentType": "vod",
  "media.playerName": "node-test",
  "media.channel": "tests",
};

export const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));
