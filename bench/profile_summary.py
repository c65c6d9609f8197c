"""Summarise a py-spy raw (collapsed-stack) profile: per thread, top self and inclusive frames.

Usage: python bench/profile_summary.py PROFILE.txt [--top 25] [--json OUT]
(produced by ``py-spy record -p PID --threads -f raw -o PROFILE.txt``; idle samples are kept
out unless --idle).
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def short(frame: str) -> str:
    # "func (path/to/file.py:123)" -> "func (file.py:123)"
    m = re.match(r"(.*) \((.*?):?(\d+)?\)$", frame)
    if not m:
        return frame
    name, path, line = m.group(1), m.group(2), m.group(3)
    path = path.split("site-packages/")[-1].split(str(ROOT) + "/")[-1]
    return f"{name} ({path}:{line})" if line else f"{name} ({path})"


def summarise(path: str, top: int, idle: bool) -> dict:
    threads: dict[str, Counter] = defaultdict(Counter)
    inclusive: dict[str, Counter] = defaultdict(Counter)
    totals: Counter = Counter()
    for line in open(path):
        line = line.rstrip()
        if not line:
            continue
        stack, _, count = line.rpartition(" ")
        n = int(count)
        frames = stack.split(";")
        thread = frames[0] if frames[0].startswith("thread") or "(" not in frames[0] else "main"
        body = frames[1:] if thread != "main" else frames
        body = [f for f in body if not f.startswith("process ")]
        if not body:
            continue
        leaf = short(body[-1])
        if (
            not idle
            and any(
                k in leaf
                for k in (
                    "select (",
                    "_run_once",
                    "wait (threading",
                    "get (queue",
                    "poll (",
                    "epoll",
                )
            )
            and leaf.split(" ")[0] in ("select", "wait", "get", "poll", "epoll_wait")
        ):
            totals[thread + " [idle]"] += n
            continue
        totals[thread] += n
        threads[thread][leaf] += n
        for f in set(short(x) for x in body):
            inclusive[thread][f] += n
    out = {}
    for thread, counts in threads.items():
        total = totals[thread]
        out[thread] = {
            "samples": total,
            "idle_samples": totals.get(thread + " [idle]", 0),
            "self": [(f, round(100 * c / total, 1)) for f, c in counts.most_common(top)],
            "inclusive": [
                (f, round(100 * c / total, 1)) for f, c in inclusive[thread].most_common(top)
            ],
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("profile")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--idle", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    out = summarise(args.profile, args.top, args.idle)
    for thread, data in sorted(out.items(), key=lambda kv: -kv[1]["samples"]):
        print(f"### {thread}: {data['samples']} busy samples, {data['idle_samples']} idle")
        print("  self %:")
        for f, p in data["self"]:
            print(f"    {p:5.1f}  {f}")
        print("  inclusive %:")
        for f, p in data["inclusive"]:
            print(f"    {p:5.1f}  {f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
