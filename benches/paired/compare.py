#!/usr/bin/env python3
"""Usage: compare.py BEFORE.json AFTER.json

Prints a markdown table (id, before median, after median, ratio after/before) of two runs of
benches/paired/run.sh, matched by criterion benchmark ID. IDs present in only one run are
listed with a dash. Ratios > 1 mean the AFTER tree is slower. The action groups are thread CPU
time (ACTION_BENCH_CLOCK=cpu), the rest wall time; both runs use the same clock per ID.
"""
import json
import sys


def fmt(ns):
    if ns is None:
        return "—"
    for unit, s in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= s:
            return f"{ns / s:.4g} {unit}"
    return f"{ns:.4g} ns"


def span(r):
    """[min, max] of the per-pass medians (or criterion's 95% CI of a single pass)."""
    pm = r.get("pass_medians_ns") or []
    return (min(pm), max(pm)) if len(pm) > 1 else tuple(r["median_ci95_ns"])


def overlap(a, b):
    """Whether the per-pass ranges (or CIs) of the two runs overlap: a cheap 'within noise' flag."""
    (alo, ahi), (blo, bhi) = span(a), span(b)
    return alo <= bhi and blo <= ahi


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        before = json.load(f)
    with open(sys.argv[2]) as f:
        after = json.load(f)
    b, a = before["results"], after["results"]
    ids = list(b) + [i for i in a if i not in b]
    print(f"before: `{before['label']}` {before['tree']} @ {before['commit']} ({before['date']}); "
          f"after: `{after['label']}` {after['tree']} @ {after['commit']} ({after['date']})\n")
    print("| id | before median | after median | ratio after/before | ranges overlap |")
    print("|---|---:|---:|---:|:---:|")
    for i in ids:
        rb, ra = b.get(i), a.get(i)
        mb = rb["median_ns"] if rb else None
        ma = ra["median_ns"] if ra else None
        ratio = f"{ma / mb:.3f}" if mb and ma else "—"
        ov = ("yes" if overlap(rb, ra) else "no") if rb and ra else "—"
        print(f"| `{i}` | {fmt(mb)} | {fmt(ma)} | {ratio} | {ov} |")
    for name, run in (("before", before), ("after", after)):
        if run.get("missing"):
            print(f"\nmissing in {name}: " + ", ".join(f"`{m}`" for m in run["missing"]))


if __name__ == "__main__":
    main()
