#!/usr/bin/env bash
# BRCA1 maximum-likelihood GTR (empirical base frequencies, 107 branch lengths + 5
# exchangeabilities on the Murphy tree pruned to the 55 sequences): expgrad's phylo example
# against cogent3, side by side. Needs the data (bash scripts/fetch_brca1.sh) and cogent3 in
# target/compare-venv (installed here from requirements.txt's cogent3 line when missing).
#
#   bash benches/compare/phylo.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

fasta="target/phylo-data/brca1.fasta"
tree="target/phylo-data/murphy.tree"
[[ -s "$fasta" && -s "$tree" ]] || bash scripts/fetch_brca1.sh

venv="target/compare-venv"
py="$venv/bin/python"
if [[ ! -x "$py" ]]; then
    python3 -m venv "$venv"
fi
if ! "$py" -c 'import cogent3' 2>/dev/null; then
    echo "installing cogent3 into $venv"
    "$py" -m pip install --quiet "$(grep -E '^cogent3' "$here/requirements.txt" | sed 's/ *#.*//')"
fi

out="target/compare/phylo"
mkdir -p "$out"
echo "== expgrad (cargo run --release --example phylo)"
cargo run --release --quiet --example phylo -- --fasta "$fasta" --tree "$tree" --json --quiet \
    --out-tree "$out/expgrad.tree" --plot "$out/expgrad.svg" > "$out/expgrad.json"
echo "== cogent3"
"$py" "$here/phylo_cogent3.py" --fasta "$fasta" --tree "$tree" > "$out/cogent3.json"

"$py" - "$out/expgrad.json" "$out/cogent3.json" <<'PY'
import json, sys
e, c = (json.load(open(p)) for p in sys.argv[1:3])
rows = [("lnL (fitted)", "lnL", "{:.6f}"), ("lnL at unit lengths", "lnL_start", "{:.6f}"),
        ("free parameters", "nfree", "{}"), ("edges", "edges", "{}"),
        ("likelihood evaluations", "evaluations", "{}"), ("optimiser wall time (s)", "seconds", "{:.3f}")]
print(f"{'':26} {'expgrad':>18} {'cogent3 ' + c['version']:>20}")
for label, key, fmt in rows:
    print(f"{label:26} {fmt.format(e[key]):>18} {fmt.format(c[key]):>20}")
print(f"{'':26} {'(value+gradient)':>18} {'(value only)':>20}")
print(f"lnL difference (expgrad − cogent3): {e['lnL'] - c['lnL']:+.2e}")
print(f"wall-time ratio (cogent3 / expgrad): {c['seconds'] / e['seconds']:.1f}×")
# When expgrad's trace first reaches cogent3's optimum less 1e-3 (expgrad then goes on to
# its own, stricter, stopping rule).
near = next(((it, t) for it, t, l in e["trace"] if l >= c["lnL"] - 1e-3), None)
if near:
    print(f"expgrad within 1e-3 of cogent3's lnL after iteration {near[0]}, {near[1]:.3f} s "
          f"({c['seconds'] / max(near[1], 1e-9):.1f}× faster than cogent3's run)")
print(f"expgrad: {e['verdict']}; total run {e['total_seconds']:.3f} s")
PY
