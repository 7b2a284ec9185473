#!/usr/bin/env python3
"""Print the README's benchmark tables from criterion's saved estimates (medians).

Run after `cargo bench --bench linalg --bench tape --bench diag`:
    python3 scripts/bench_table.py
"""
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent / "target" / "criterion"


def median(*parts):
    p = ROOT.joinpath(*parts, "new", "estimates.json")
    if not p.exists():
        return None
    return json.loads(p.read_text())["median"]["point_estimate"]


def fmt(ns):
    if ns is None:
        return "—"
    for unit, div in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= div:
            return f"{ns / div:.3g} {unit}"
    return f"{ns:.3g} ns"


def ratio(a, b):
    return "—" if a is None or b is None else f"{a / b:.2f}"


def linalg():
    print("| n | one matmul | expm | expm_frechet | Expm::new + adjoint | adjoint (cached) | block | adjoint/expm | expm_frechet/expm | block/expm |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in (4, 8, 16, 32, 64, 128, 256, 512):
        g = {k: median(k, k, str(n)) for k in ("matmul", "expm", "expm_frechet", "new_plus_adjoint", "frechet_adjoint_cached", "frechet_block")}
        print(f"| {n} | {fmt(g['matmul'])} | {fmt(g['expm'])} | {fmt(g['expm_frechet'])} | {fmt(g['new_plus_adjoint'])} | "
              f"{fmt(g['frechet_adjoint_cached'])} | {fmt(g['frechet_block'])} | {ratio(g['frechet_adjoint_cached'], g['expm'])} | "
              f"{ratio(g['expm_frechet'], g['expm'])} | {ratio(g['frechet_block'], g['expm'])} |")


def tape():
    print("| n | direct (linalg) | through the tape | tape/direct |")
    print("|---|---|---|---|")
    for n in (16, 64):
        d, t = median("tape_overhead", "direct", str(n)), median("tape_overhead", "tape", str(n))
        print(f"| {n} | {fmt(d)} | {fmt(t)} | {ratio(t, d)} |")
    print()
    print("| n | forward (tape) | value + gradient (tape) | (value+grad)/forward | backward/forward |")
    print("|---|---|---|---|---|")
    for n in (64, 256):
        f, vg = median("grad_ratio", "forward", str(n)), median("grad_ratio", "value_and_grad", str(n))
        back = None if f is None or vg is None else vg - f
        print(f"| {n} | {fmt(f)} | {fmt(vg)} | {ratio(vg, f)} | {ratio(back, f)} |")


def diag():
    print("| n | gradient of c·exp(Diag(d)A)v w.r.t. d |")
    print("|---|---|")
    for n in (4, 16, 64, 256):
        print(f"| {n} | {fmt(median('diag_grad', str(n)))} |")
    print()
    print("| n | Jacobian by backprop | n Fréchet columns | Kronecker closed form |")
    print("|---|---|---|---|")
    for n in (4, 6, 16, 64):
        b, f, k = (median("jacobian", x, str(n)) for x in ("backprop", "frechet_columns", "kronecker"))
        print(f"| {n} | {fmt(b)} | {fmt(f)} | {fmt(k)} |")


if __name__ == "__main__":
    for name, fn in (("linalg", linalg), ("tape", tape), ("diag", diag)):
        print(f"### {name}\n")
        fn()
        print()
