#!/usr/bin/env bash
# Fetch the BRCA1 alignment (55 mammals, DNA) and the Murphy et al. (2001) mammal tree that
# cogent3 ships as example data, for the phylo example:
#
#   bash scripts/fetch_brca1.sh
#   cargo run --release --example phylo -- \
#       --fasta target/phylo-data/brca1.fasta --tree target/phylo-data/murphy.tree
#
# Downloads the cogent3 wheel from PyPI with pip (`pip download cogent3 --no-deps`, into a
# temporary directory) and extracts the two files cogent3/_dataset/brca1.fasta and
# cogent3/_dataset/murphy.tree into target/phylo-data/ (never committed: target/ is
# ignored). Uses the comparison venv's python (target/compare-venv/bin/python) when it
# exists, else `python3 -m pip`. Needs the network (PyPI) once; safe to re-run.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/target/phylo-data"
if [[ -x "$root/target/compare-venv/bin/python" ]]; then
    python="$root/target/compare-venv/bin/python"
else
    python="${PYTHON:-python3}"
fi

if [[ -s "$out/brca1.fasta" && -s "$out/murphy.tree" ]]; then
    echo "already present: $out/brca1.fasta, $out/murphy.tree"
    exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "downloading the cogent3 wheel with $python -m pip (no dependencies)"
"$python" -m pip download --quiet --no-deps --only-binary=:all: --dest "$tmp" cogent3
wheel="$(ls "$tmp"/cogent3-*.whl 2>/dev/null | head -n 1)"
if [[ -z "$wheel" ]]; then
    echo "error: pip downloaded no cogent3 wheel into $tmp" >&2
    exit 1
fi

mkdir -p "$out"
# A wheel is a zip archive; python's zipfile reads it without an unzip binary.
"$python" - "$wheel" "$out" <<'PY'
import sys, zipfile, pathlib
wheel, out = sys.argv[1], pathlib.Path(sys.argv[2])
wanted = {"cogent3/_dataset/brca1.fasta": "brca1.fasta",
          "cogent3/_dataset/murphy.tree": "murphy.tree"}
with zipfile.ZipFile(wheel) as z:
    names = set(z.namelist())
    missing = [w for w in wanted if w not in names]
    if missing:
        sys.exit(f"error: {wheel} has no {', '.join(missing)}")
    for member, name in wanted.items():
        (out / name).write_bytes(z.read(member))
        print(f"wrote {out / name} ({len(z.read(member))} bytes) from {pathlib.Path(wheel).name}")
PY
