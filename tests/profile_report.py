"""The table of where the test suite's time goes, from a `PURERL_TEST_PROFILE` file.

    PURERL_TEST_PROFILE=/tmp/profile.jsonl pytest -n 2 -q
    python tests/profile_report.py /tmp/profile.jsonl [--top 30]

Totals per worker, the share of tracing, lowering and XLA compiling (JAX's own monitoring
events) against the rest (running programs, Python, subprocesses), the compile time that
the run's shared compilation cache saved, and the slowest tests.
"""

from __future__ import annotations

import argparse
import collections
import json


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)
    with open(args.profile) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    parts = ("trace_s", "lower_s", "compile_s", "cached_s")
    per_worker = collections.defaultdict(float)
    for r in rows:
        per_worker[r["worker"]] += r["wall_s"]
    total = sum(r["wall_s"] for r in rows)
    print(f"{len(rows)} tests, {total:.0f} s of test time; per worker:", dict(per_worker))
    for p in parts:
        s = sum(r.get(p, 0.0) for r in rows)
        print(f"  {p:10s} {s:8.0f} s  ({100 * s / max(total, 1e-9):.0f}%)")
    print("\n| wall s | trace+lower s | compile s | test |\n|---:|---:|---:|---|")
    for r in sorted(rows, key=lambda r: -r["wall_s"])[: args.top]:
        tl = r["trace_s"] + r["lower_s"]
        print(f"| {r['wall_s']:.1f} | {tl:.1f} | {r['compile_s']:.1f} | {r['test']} |")


if __name__ == "__main__":
    main()
