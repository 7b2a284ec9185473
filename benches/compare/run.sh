#!/usr/bin/env bash
# expgrad vs PyTorch, JAX and SciPy: generate the problems, time expgrad (the Rust
# harness, `cargo bench --bench compare`) and the peers (peers.py) at 1 and 2 threads,
# then write the report (report.py). Run from anywhere; needs the venv from setup.sh.
#
#   bash benches/compare/run.sh            # full run: results.md and results.svg here
#   bash benches/compare/run.sh --quick    # smoke test (n <= 32): under target/compare/quick
#   SKIP_RUST=1 bash benches/compare/run.sh ...   # peers only (reuses any expgrad-t*.json)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

quick=()
for arg in "$@"; do
    case "$arg" in
        --quick) quick=(--quick) ;;
        *) echo "usage: bash benches/compare/run.sh [--quick]" >&2; exit 2 ;;
    esac
done

py="target/compare-venv/bin/python"
if [[ ! -x "$py" ]]; then
    echo "error: no benchmark venv at target/compare-venv; run: bash benches/compare/setup.sh" >&2
    exit 1
fi

problems="target/compare/problems"
if [[ ${#quick[@]} -gt 0 ]]; then
    out="target/compare/quick"
    md="$out/results.md"
    svg="$out/results.svg"
else
    out="target/compare"
    md="benches/compare/results.md"
    svg="benches/compare/results.svg"
fi
mkdir -p "$out"
start=$SECONDS

echo "== problems -> $problems"
"$py" benches/compare/peers.py gen --out "$problems"

if [[ "${SKIP_RUST:-0}" == 1 ]]; then
    echo "== SKIP_RUST=1: not running the Rust harness"
    ls "$out"/expgrad-t*.json >/dev/null 2>&1 && echo "   (the existing $out/expgrad-t*.json are reported as they are)"
else
    for t in 1 2; do
        echo "== expgrad, $t thread(s)"
        cargo bench --bench compare -- --problems "$problems" --threads "$t" \
            --out "$out/expgrad-t$t.json" "${quick[@]}"
    done
fi

for t in 1 2; do
    echo "== peers, $t thread(s)"
    "$py" benches/compare/peers.py run --problems "$problems" --threads "$t" \
        --out "$out/peers-t$t.json" "${quick[@]}"
done

echo "== report"
"$py" benches/compare/report.py --dir "$out" --md "$md" --svg "$svg" \
    --command "bash benches/compare/run.sh${quick:+ --quick}"
echo "== done in $((SECONDS - start)) s"
