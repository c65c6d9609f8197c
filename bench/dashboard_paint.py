"""First paint of the dashboard's overview in headless Chromium, beside the API it waits on.

Starts ``playhead serve`` on ``--db`` (a database filled beforehand, e.g. by the bulk loader
with 1,000,000 sessions; without one, a fresh database gets ``--sessions`` simulated ones), then
``--runs`` times: a fresh browser page loads ``/dashboard?from=..&to=..`` (the last 30 days,
or ``--from``/``--to``: ``bench/aggregates.py``'s sessions lie in the 30 days to 2025-12-02)
and the time from navigation start until every overview tile carries its value is read with
``performance.now()``. In the same run, ``GET /reports/summary?compare=previous`` with the
same selection (what the tiles wait for; the previous period is asked for after them) is timed
from Python, so the page's own cost is the difference. Target: first
paint of the overview p50 under 1 s. Writes bench/results/dashboard_paint.json.

Needs /usr/bin/chromium and the playwright package (never ``playwright install``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PYTHON, ROOT, ServerProcess, columns_loaded, percentile, verdict, write_result

TARGET_MS = 1000.0
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# performance.now() when every overview tile holds its value (watched by a MutationObserver:
# the page's CSP forbids the string evaluation wait_for_function would use)
PAINTED = """() => new Promise((resolve) => {
  const done = () => document.querySelectorAll('.tile [data-metric]:not([data-period])').length >= 9
    || !!document.querySelector('[data-empty], [data-error]');
  if (done()) return resolve(performance.now());
  new MutationObserver((_, observer) => {
    if (done()) { observer.disconnect(); resolve(performance.now()); }
  }).observe(document, { subtree: true, childList: true, attributes: true });
})"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", help="a filled database (SQLite file or postgresql:// URL)")
    parser.add_argument("--sessions", type=int, default=2000, help="simulated, without --db")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--from", dest="start", help="selection start (default: 30 days ago)")
    parser.add_argument("--to", dest="end", help="selection end (default: now)")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    now = int(time.time() * 1000)
    query = urllib.parse.urlencode(
        {"from": args.start or now - 30 * 86400_000, "to": args.end or now + 60_000}
    )
    with ServerProcess(db=args.db) as server:
        base = f"http://127.0.0.1:{server.port}"
        if not args.db:
            subprocess.run(
                [PYTHON, "-m", "playhead", "simulate", "--url", base, "--sessions",
                 str(args.sessions), "--speed", "0", "--no-progress"],
                cwd=ROOT, check=True, capture_output=True,
            )  # fmt: skip
        if args.db:  # a large store: its report process loads it first
            print(f"report columns loaded in {columns_loaded(server.port):.1f} s")
        api_ms: list[float] = []
        paint_ms: list[float] = []
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            try:
                for _ in range(args.runs):
                    # what the first paint waits on: the summary of the selection
                    started = time.perf_counter()
                    url = f"{base}/reports/summary?{query}"
                    with urllib.request.urlopen(url, timeout=60) as resp:
                        starts = json.loads(resp.read())["metrics"]["mediaStarts"]
                    api_ms.append((time.perf_counter() - started) * 1000)
                    page = browser.new_page(viewport={"width": 1280, "height": 800})
                    page.goto(f"{base}/dashboard?{query}", wait_until="commit")
                    paint_ms.append(page.evaluate(PAINTED))
                    page.close()
            finally:
                browser.close()
    api_ms.sort()
    paint_ms.sort()
    p50 = percentile(paint_ms, 50)
    print(f"sessions in range      {starts}")
    print(f"summary API  p50 {percentile(api_ms, 50):7.1f} ms   max {api_ms[-1]:7.1f} ms")
    print(f"first paint  p50 {p50:7.1f} ms   max {paint_ms[-1]:7.1f} ms  (target < {TARGET_MS:g})")
    print(verdict(p50 < TARGET_MS))
    write_result(
        "dashboard_paint",
        {
            "sessions": starts,
            "runs": args.runs,
            "summary_api_ms": {"p50": percentile(api_ms, 50), "max": api_ms[-1]},
            "first_paint_ms": {"p50": p50, "max": paint_ms[-1]},
            "target_ms": TARGET_MS,
            "pass": p50 < TARGET_MS,
        },
    )


if __name__ == "__main__":
    main()
