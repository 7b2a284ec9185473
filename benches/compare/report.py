#!/usr/bin/env python3
"""Summarise the expgrad-vs-peers benchmark: agreement check, tables, plot.

    report.py --dir target/compare [--md FILE] [--svg FILE] [--command CMD]

Reads every *.json directly in --dir (each a list of system records written by
peers.py or by `cargo bench --bench compare`), then
  * checks agreement: for every (task, n, problem), each system's output against the
    `expgrad` output (else SciPy's, else the first system's), as
    max |x - ref| / max |ref|; prints the table and flags anything above 1e-8;
  * writes the Markdown report (--md, default benches/compare/results.md): machine,
    versions, per-task median-time tables at 1 and 2 threads with the fastest peer and
    expgrad's speed-up, JAX compile times, the agreement table;
  * writes the plot (--svg, default benches/compare/results.svg).
"""

import argparse
import datetime
import json
import math
import os
import subprocess
import sys
from pathlib import Path

TOLERANCE = 1e-8
TASKS = ("forward", "grad", "jacobian", "batch", "shared", "action", "cforward", "grape")
TASK_TITLES = {
    "forward": "forward: exp(X), X = Diag(d)·A",
    "grad": "grad: value and gradient of ℓ(d) = c·exp(Diag(d)·A)·v",
    "jacobian": "jacobian: ∂w/∂d, w = exp(Diag(d)·A)·v",
    "batch": "batch: value and gradient of 10,000 problems with n = 4",
    "shared": "shared generator: value and gradient (Q and every t_b) of Σ_b w_b·⟨C, exp(t_b·Q)⟩",
    "action": "action: w = exp(t·X)·v, sparse X, n = 99,856 (forward only)",
    "cforward": "cforward: exp(X), X complex (complex128)",
    "grape": "grape: value and gradient (100 × 4 controls) of the gate fidelity |tr(TᴴU)|²/n² "
             "(qutip-qtrl: of 1 − |tr(TᴴU)|/n)",
}
PEER_ORDER = ("torch", "jax", "scipy", "qutip-qtrl")


def task_order(task):
    return TASKS.index(task) if task in TASKS else len(TASKS)


def is_expgrad(system):
    return system.startswith("expgrad")


def system_key(system):
    """expgrad first, its variants next, then the peers in a fixed order."""
    if system == "expgrad":
        return (0, system)
    if is_expgrad(system):
        return (1, system)
    return (2, PEER_ORDER.index(system) if system in PEER_ORDER else 99, system)


def fmt_time(s):
    if s is None or not math.isfinite(s):
        return "—"
    if s >= 1.0:
        return f"{s:.3g} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    if s >= 1e-6:
        return f"{s * 1e6:.3g} µs"
    return f"{s * 1e9:.3g} ns"


def fmt_ratio(x):
    return "—" if x is None else f"{x:.3g}×"


def fmt_err(e):
    if e is None:
        return "—"
    if isinstance(e, str):
        return e
    flag = " ‼" if not e <= TOLERANCE else ""
    return f"{e:.1e}{flag}"


def load(directory):
    """All system records of the JSON files directly in `directory`."""
    records = []
    for path in sorted(Path(directory).glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            print(f"warning: skipping {path}: {e}", file=sys.stderr)
            continue
        if not (isinstance(data, list) and all(isinstance(r, dict) and "system" in r
                                               for r in data)):
            print(f"warning: skipping {path}: not a list of system records", file=sys.stderr)
            continue
        for r in data:
            r["_file"] = path.name
        records += data
    return records


def row_key(task, n, problem):
    """Table rows: n for the dense tasks, the problem name for action (sorted by matrix,
    then by the numeric target in "<matrix>_<target>")."""
    if task == "action":
        name, _, target = problem.rpartition("_")
        return (problem, n, name, int(target) if target.isdigit() else 0)
    return (n, problem)


# --------------------------------------------------------------------------------------
# Agreement
# --------------------------------------------------------------------------------------

def as_floats(out):
    vals = ([] if out.get("value") is None else [out["value"]]) + list(out["data"])
    return [math.nan if x is None else float(x) for x in vals]


def rel_err(x, ref):
    if len(x) != len(ref):
        return f"length {len(x)} ≠ {len(ref)}"
    scale = max((abs(r) for r in ref), default=0.0)
    diff = max((abs(a - b) for a, b in zip(x, ref)), default=0.0)
    if not (math.isfinite(scale) and math.isfinite(diff)):
        return math.nan
    return diff / scale if scale > 0 else diff


def agreement(records):
    """{(task, n, problem): (reference system, {system: error})} and the systems."""
    outputs = {}  # (task, n, problem) -> {system: floats}
    for r in records:
        for o in r.get("outputs") or []:
            outputs.setdefault((o["task"], o["n"], o["problem"]), {})[r["system"]] = as_floats(o)
    table = {}
    for key, by_system in outputs.items():
        ref = ("expgrad" if "expgrad" in by_system else
               "scipy" if "scipy" in by_system else
               sorted(by_system, key=system_key)[0])
        table[key] = (ref, {s: rel_err(x, by_system[ref])
                            for s, x in by_system.items() if s != ref})
    systems = sorted({s for _, errs in table.values() for s in errs} |
                     {ref for ref, _ in table.values()}, key=system_key)
    return table, systems


def agreement_table(table, systems):
    lines = ["| task | problem | n | reference | " + " | ".join(systems) + " |",
             "|---|---|---:|---|" + "---:|" * len(systems)]
    bad = []
    def order(key):
        row = row_key(*key)
        return (task_order(key[0]),) + (row[2:] if key[0] == "action" else row)

    for (task, n, problem) in sorted(table, key=order):
        ref, errs = table[(task, n, problem)]
        cells = []
        for s in systems:
            if s == ref:
                cells.append("ref")
            else:
                e = errs.get(s)
                cells.append(fmt_err(e))
                if e is not None and (isinstance(e, str) or not e <= TOLERANCE):
                    bad.append(f"{s} on {task} {problem} n={n}: {fmt_err(e)} vs {ref}")
        lines.append(f"| {task} | {problem} | {n} | {ref} | " + " | ".join(cells) + " |")
    return lines, bad


# --------------------------------------------------------------------------------------
# Timing tables
# --------------------------------------------------------------------------------------

def timings(records):
    """{threads: {task: {row: {system: result}}}}"""
    out = {}
    for r in records:
        for res in r.get("results") or []:
            row = row_key(res["task"], res["n"], res["problem"])
            (out.setdefault(r["threads"], {}).setdefault(res["task"], {})
             .setdefault(row, {}))[r["system"]] = res
    return out


def timing_table(task, rows):
    systems = sorted({s for by_system in rows.values() for s in by_system}, key=system_key)
    variants = [s for s in systems if is_expgrad(s) and s != "expgrad"]
    head = ["problem" if task == "action" else "n, B" if task == "shared" else "n"] + systems + ["fastest peer", "expgrad speed-up"]
    head += [f"{s} speed-up" for s in variants]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for row in sorted(rows, key=lambda row: row[2:] if task == "action" else row):
        by_system = rows[row]
        t = {s: res["median_s"] for s, res in by_system.items()}
        peers = {s: x for s, x in t.items() if not is_expgrad(s)}
        best = min(peers, key=peers.get) if peers else None
        label = f"{row[0]}, {row[1]}" if task == "shared" else row[0]
        cells = [str(label)] + [fmt_time(t.get(s)) for s in systems]
        cells.append(f"{best} ({fmt_time(peers[best])})" if best else "—")
        for s in ["expgrad"] + variants:
            cells.append(fmt_ratio(peers[best] / t[s]) if best and t.get(s) else "—")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def compile_table(records):
    """JAX compile times at 1 thread: rows tasks, columns n."""
    rows = {}
    for r in records:
        if r["system"] != "jax" or r["threads"] != 1:
            continue
        for res in r["results"]:
            if res.get("compile_s") is not None:
                rows.setdefault(res["task"], {})[res["n"]] = res["compile_s"]
    if not rows:
        return []
    ns = sorted({n for by_n in rows.values() for n in by_n})
    lines = ["| task | " + " | ".join(f"n = {n}" for n in ns) + " |",
             "|---" + "|---:" * len(ns) + "|"]
    for task in sorted(rows, key=task_order):
        lines.append(f"| {task} | " + " | ".join(fmt_time(rows[task].get(n)) for n in ns) + " |")
    return lines


# --------------------------------------------------------------------------------------
# Machine
# --------------------------------------------------------------------------------------

def machine():
    model, cpus = None, os.cpu_count()
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in text.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "Model name":
                model = value.strip()
            elif key.strip() == "CPU(s)":
                cpus = int(value.strip())
    except (OSError, subprocess.CalledProcessError, ValueError):
        pass
    return f"{model or 'unknown CPU'}, {cpus} logical CPUs"


# --------------------------------------------------------------------------------------
# Plot
# --------------------------------------------------------------------------------------

def plot(by_threads, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    systems = sorted({s for tasks in by_threads.values() for rows in tasks.values()
                      for by_system in rows.values() for s in by_system}, key=system_key)
    colors = {s: f"C{i}" for i, s in enumerate(systems)}
    fig, axes = plt.subplots(2, 2, figsize=(12, 9))
    for ax, task in zip(axes.flat, ("forward", "grad", "jacobian", "batch")):
        ax.set_title(TASK_TITLES[task], fontsize=9)
        if task == "batch":
            width = 0.8 / max(1, len(by_threads))
            for j, threads in enumerate(sorted(by_threads)):
                rows = by_threads[threads].get(task, {})
                for i, s in enumerate(systems):
                    res = next((bs[s] for bs in rows.values() if s in bs), None)
                    if res is None:
                        continue
                    ax.bar(i + (j - (len(by_threads) - 1) / 2) * width,
                           res["median_s"] / 10_000, width, color=colors[s],
                           alpha=1.0 if threads == 1 else 0.55,
                           hatch=None if threads == 1 else "//", edgecolor="black",
                           label=f"{threads} thread{'s' * (threads > 1)}" if i == 0 else None)
            ax.set_xticks(range(len(systems)), systems, rotation=20, fontsize=8)
            ax.set_yscale("log")
            ax.set_ylabel("time per problem [s]")
            ax.legend(fontsize=8)
            continue
        for threads in sorted(by_threads):
            rows = by_threads[threads].get(task, {})
            for s in systems:
                pts = sorted((row[0], bs[s]["median_s"]) for row, bs in rows.items() if s in bs)
                if pts:
                    ax.plot(*zip(*pts), marker="o", markersize=3, color=colors[s],
                            linestyle="-" if threads == 1 else "--",
                            label=f"{s}, {threads} thr")
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.set_yscale("log")
        ax.set_xlabel("n")
        ax.set_ylabel("median time per call [s]")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("expgrad vs PyTorch, JAX, SciPy (CPU, float64; solid 1 thread, dashed 2)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# --------------------------------------------------------------------------------------

def main():
    root = Path(__file__).resolve().parent.parent.parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", type=Path, default=root / "target" / "compare")
    ap.add_argument("--md", type=Path, default=root / "benches" / "compare" / "results.md")
    ap.add_argument("--svg", type=Path, default=root / "benches" / "compare" / "results.svg")
    ap.add_argument("--command", default=None, help="the command line to quote in the report")
    args = ap.parse_args()

    records = load(args.dir)
    if not records:
        sys.exit(f"error: no result records in {args.dir}")
    command = args.command or "python " + " ".join(sys.argv)

    table, systems = agreement(records)
    agree_lines, bad = agreement_table(table, systems)
    print("Agreement: max |x - ref| / max |ref|")
    print("\n".join(agree_lines))
    if bad:
        print(f"\n!!! {len(bad)} outputs disagree with the reference by more than {TOLERANCE:g}:",
              file=sys.stderr)
        for b in bad:
            print(f"!!!   {b}", file=sys.stderr)

    versions = {}
    for r in sorted(records, key=lambda r: r["threads"]):
        versions.setdefault(r["system"], (r.get("version", "?"), r.get("info", "")))
    by_threads = timings(records)

    md = ["# expgrad vs PyTorch, JAX and SciPy", "",
          f"Generated {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC} by "
          f"`{command}` (see [README.md](README.md)).", "",
          f"Machine: {machine()}. All systems on the CPU in float64, on the same problem "
          "files; each time is the median of ≥ 7 measurements (≥ 5 above 0.5 s, ≥ 3 above "
          "5 s) after warm-up, each measurement ≥ 20 ms of back-to-back calls. Threads: "
          "OMP/MKL/OPENBLAS_NUM_THREADS and torch.set_num_threads = T, and each peer process "
          "restricted to T CPUs, which is what bounds JAX's thread pool (see README.md).",
          "", "| system | version | build |", "|---|---|---|"]
    for s in sorted(versions, key=system_key):
        md.append(f"| {s} | {versions[s][0]} | {versions[s][1]} |")
    md.append("")
    if bad:
        md += [f"**⚠ {len(bad)} outputs disagree with the reference by more than "
               f"{TOLERANCE:g}** (see the agreement table):", ""]
        md += [f"- {b}" for b in bad] + [""]
    for threads in sorted(by_threads):
        md += [f"## {threads} thread{'s' * (threads > 1)}", ""]
        for task in sorted(by_threads[threads], key=task_order):
            md += [f"### {TASK_TITLES.get(task, task)}", ""]
            md += timing_table(task, by_threads[threads][task]) + [""]
    notes = sorted({(r["system"], res["task"], res["note"]) for r in records if r["threads"] == 1
                    for res in r.get("results") or [] if res.get("note")},
                   key=lambda x: (system_key(x[0]), task_order(x[1]), x[2]))
    if notes:
        md += ["## How each system computes each task", "", "| system | task | method |",
               "|---|---|---|"] + [f"| {s} | {t} | {note} |" for s, t, note in notes] + [""]
    disturbed = [(r["system"], r["threads"], res) for r in records
                 for res in r.get("results") or []
                 if res.get("cpu_per_wall") is not None
                 and not 0.8 <= res["cpu_per_wall"] <= 1.1 * r["threads"]]
    if disturbed:
        md += ["## Disturbed measurements", "",
               "Process CPU time / wall time of the measurements outside [0.8, 1.1·T]: below, "
               "the process was off the CPU (a busy machine); above, it used more threads "
               "than allowed.", "", "| system | threads | task | problem | n | cpu/wall |",
               "|---|---:|---|---|---:|---:|"]
        md += [f"| {s} | {t} | {res['task']} | {res['problem']} | {res['n']} | "
               f"{res['cpu_per_wall']:.2f} |" for s, t, res in disturbed] + [""]
    compile_lines = compile_table(records)
    if compile_lines:
        md += ["## JAX compile time (first call minus steady median, 1 thread)", ""]
        md += compile_lines + [""]
    md += ["## Agreement", "",
           "max |x − ref| / max |ref| over all entries of each output (the value ℓ included "
           f"for grad), against the reference system of the row; ‼ marks > {TOLERANCE:g}.", ""]
    md += agree_lines + [""]
    args.md.parent.mkdir(parents=True, exist_ok=True)
    args.md.write_text("\n".join(md))
    plot(by_threads, args.svg)
    print(f"\nwrote {args.md} and {args.svg}", file=sys.stderr)


if __name__ == "__main__":
    main()
