"""Helper of run.sh: `collect` one bench invocation's fresh criterion results, `report` them."""
import json
import os
import re
import statistics
import sys
import time


def collect(crit, t0, t1, bench, regex, pass_no):
    """Prints one JSON line per benchmark whose new/estimates.json was written in [t0, t1]."""
    t0, t1, rx = float(t0), float(t1), re.compile(regex)
    for root, _, files in os.walk(crit):
        if os.path.basename(root) != "new" or not {"benchmark.json", "estimates.json"} <= set(files):
            continue
        est_path = os.path.join(root, "estimates.json")
        if not (t0 - 1 <= os.path.getmtime(est_path) <= t1 + 1):
            continue
        with open(os.path.join(root, "benchmark.json")) as f:
            fid = json.load(f)["full_id"]
        if not rx.search(fid):
            continue
        with open(est_path) as f:
            est = json.load(f)
        med = est["median"]
        print(json.dumps({
            "id": fid, "bench": bench, "pass": int(pass_no),
            "median_ns": med["point_estimate"],
            "median_ci95_ns": [med["confidence_interval"]["lower_bound"],
                               med["confidence_interval"]["upper_bound"]],
            "dir": os.path.relpath(os.path.dirname(root), crit),
        }))


def expected_ids(targets, extras, benches):
    """The IDs the brief asks for (nearest present size where the requested one is absent)."""
    ids = []
    for g in ("expm/expm", "frechet_adjoint_cached/frechet_adjoint_cached",
              "new_plus_adjoint/new_plus_adjoint"):
        ids += [("linalg", f"{g}/{n}") for n in (4, 64, 256)]
    ids += [("tape", f"grad_ratio/{f}/{n}") for n in (64, 256) for f in ("forward", "value_and_grad")]
    ids += [("tape", f"tape_overhead/{f}/16") for f in ("direct", "tape")]
    ids += [("diag", f"diag_grad/{n}") for n in (4, 64, 256)]
    for p in ("laplacian", "markov"):
        for t in targets.split():
            ids += [("action", f"action/{p}/{t}/{f}")
                    for f in ("forward", "all", "checkpoint", "value_grad")]
        if extras == "1":
            ids += [("action", f"product/{p}/{f}") for f in
                    ("csr", "csr_transpose", "diag", "diag_keep_raw", "diag_transpose")]
    if extras == "1":
        ids += [("action", f"seed_dense/{f}/{n}") for n in (4, 64, 256)
                for f in ("expm_mul", "expm_multiply")]
    return [i for b, i in ids if b in benches.split()]


def fmt(ns):
    for unit, s in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= s:
            return f"{ns / s:.4g} {unit}"
    return f"{ns:.4g} ns"


def report(raw, outbase, tree, label, commit, dirty, build_s, run_s, passes, targets, extras,
           benches):
    rows = [json.loads(l) for l in open(raw) if l.strip()]
    expected = expected_ids(targets, extras, benches)
    order = {i: k for k, i in enumerate(expected)}
    by_id = {}
    for r in rows:
        by_id.setdefault(r["id"], []).append(r)
    results = {}
    for fid in sorted(by_id, key=lambda i: (order.get(i, len(order)), i)):
        rs = sorted(by_id[fid], key=lambda r: r["pass"])
        meds = [r["median_ns"] for r in rs]
        mid = min(rs, key=lambda r: abs(r["median_ns"] - statistics.median(meds)))
        results[fid] = {
            "median_ns": statistics.median(meds),
            "pass_medians_ns": meds,
            "spread": (max(meds) - min(meds)) / statistics.median(meds) if meds else 0.0,
            # 95% CI of the pass closest to the median of medians (criterion's own CI)
            "median_ci95_ns": mid["median_ci95_ns"],
            "bench": rs[0]["bench"],
            "clock": "thread_cpu" if rs[0]["bench"] == "action" else "wall",
            "dir": rs[0]["dir"],
        }
    missing = [i for i in expected if i not in results]
    doc = {
        "label": label, "tree": tree, "commit": commit, "modified_tracked_files": int(dirty),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "rayon_num_threads": 1,
        "passes": int(passes), "action_targets": targets.split(), "action_extras": extras == "1",
        "clock": "wall for linalg/tape/diag; thread CPU time (ACTION_BENCH_CLOCK=cpu) for action",
        "units": "ns per iteration; median_ns = median over passes of criterion's median",
        "build_seconds": int(build_s), "run_seconds": int(run_s),
        "missing": missing, "results": results,
    }
    with open(outbase + ".json", "w") as f:
        json.dump(doc, f, indent=1)
    lines = [f"# Bench medians: {label}", "",
             f"- tree: `{tree}` @ `{commit}` (modified tracked files: {dirty})",
             f"- date: {doc['date']}; RAYON_NUM_THREADS=1; {passes} interleaved passes; "
             "action/product/seed_dense timed with thread CPU time, the rest wall time",
             f"- run time: {int(run_s) / 60:.1f} min (+ build {build_s} s)", "",
             "median = median over passes of criterion's median; spread = (max − min)/median "
             "of the per-pass medians", "",
             "| id | median | per-pass medians | spread | clock |", "|---|---:|---|---:|---|"]
    for i, r in results.items():
        pm = ", ".join(fmt(m) for m in r["pass_medians_ns"])
        lines.append(f"| `{i}` | {fmt(r['median_ns'])} | {pm} | {100 * r['spread']:.1f}% "
                     f"| {r['clock']} |")
    if missing:
        lines += ["", "Missing (expected but not produced): " + ", ".join(f"`{m}`" for m in missing)]
    with open(outbase + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nwrote {outbase}.json and {outbase}.md")


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    {"collect": collect, "report": report}[cmd](*args)
