#!/usr/bin/env bash
# Usage: bash benches/paired/run.sh TREE LABEL   (OUT=dir for the results; default target/bench-pair)
#
# Runs a fixed, name-selected subset of expgrad's criterion benches in the cargo workspace TREE
# (RAYON_NUM_THREADS=1; benches/action.rs with ACTION_BENCH_CLOCK=cpu, i.e. thread CPU time)
# and writes the medians to $OUT/LABEL.json and $OUT/LABEL.md; the raw
# bench output goes to $OUT/LABEL.logs/. Compare two runs with
#   python3 benches/paired/compare.py $OUT/before.json $OUT/after.json
#
# Selection is by criterion benchmark ID (group/function/parameter) regexes, so the script runs
# unchanged on a tree whose bench code uses a renamed API but keeps the IDs. After every bench
# invocation only the results written by it (estimates.json mtime >= its start) are collected,
# so stale target/criterion data is never picked up.
#
# The whole selection is run PASSES times, bench files interleaved (linalg tape diag action,
# linalg tape diag action, …) so a slowly varying machine load is spread over all of them;
# the reported median is the median over passes of criterion's median point estimate, and the
# per-pass medians are kept in the JSON.
#
# Knobs (environment):
#   PASSES=3                   passes over the selection (≈3.5 min each on 2 cores)
#   ACTION_TARGETS="20 100"    ‖tX‖₁ targets of the action/{problem}/{target} groups
#   ACTION_EXTRAS=1            also product/* and seed_dense/*/{4,64,256} (cheap); 0 to skip
#   BENCHES="linalg tape diag action"   which bench files to run
#   CARGO_FLAGS="--offline"    extra cargo flags
#   CRITERION_HOME             criterion output dir (default ${CARGO_TARGET_DIR:-TREE/target}/criterion)
# Note: every selected group sets its own sample size / warm-up / measurement time in code,
# and in criterion 0.8 group settings override --warm-up-time/--measurement-time, so those CLI
# options would be no-ops and are not passed; the groups are already short (0.2–0.5 s warm-up,
# 2–4 s measurement per ID). --noplot skips the HTML/plot generation.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 TREE LABEL" >&2
  exit 2
fi
TREE=$(cd "$1" && pwd)
LABEL=$2
OUT=${OUT:-$(pwd)/target/bench-pair}; mkdir -p "$OUT"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LOGS=$OUT/$LABEL.logs
rm -rf "$LOGS"
mkdir -p "$LOGS"

export RAYON_NUM_THREADS=1
PASSES=${PASSES:-3}
ACTION_TARGETS=${ACTION_TARGETS:-20 100}
ACTION_EXTRAS=${ACTION_EXTRAS:-1}
BENCHES=${BENCHES:-linalg tape diag action}
CARGO_FLAGS=${CARGO_FLAGS:---offline}
CRIT_HOME=${CRITERION_HOME:-${CARGO_TARGET_DIR:-$TREE/target}/criterion}

# Criterion filters (one regex per bench file, anchored on the full ID). In the pre-refactor
# tree tape_overhead has n ∈ {16, 64} and grad_ratio n ∈ {64, 256}: 16 is the nearest to 4;
# n = 4 is in the regexes too so that a tree adding it is picked up.
targets_re=$(echo $ACTION_TARGETS | tr ' ' '|')
action_re="action/(laplacian|markov)/($targets_re)/(forward|all|checkpoint|value_grad)"
if [[ $ACTION_EXTRAS == 1 ]]; then
  action_re="$action_re|product/(laplacian|markov)/[a-z_]+|seed_dense/(expm_mul|expm_multiply)/(4|64|256)"
fi
declare -A FILTER=(
  [linalg]='^(expm/expm|frechet_adjoint_cached/frechet_adjoint_cached|new_plus_adjoint/new_plus_adjoint)/(4|64|256)$'
  [tape]='^(grad_ratio/(forward|value_and_grad)/(4|64|256)|tape_overhead/(direct|tape)/(4|16))$'
  [diag]='^diag_grad/(4|64|256)$'
  [action]="^($action_re)\$"
)
declare -A EXTRA_ENV=([linalg]="" [tape]="" [diag]="" [action]="ACTION_BENCH_CLOCK=cpu")

cd "$TREE"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain --untracked-files=no 2>/dev/null | wc -l)

bench_args=()
for b in $BENCHES; do bench_args+=(--bench "$b"); done
echo "[$LABEL] building ($BENCHES) in $TREE @ $commit (modified tracked files: $dirty)"
b0=$(date +%s)
cargo bench $CARGO_FLAGS --no-run "${bench_args[@]}" >"$LOGS/build.log" 2>&1 || {
  tail -30 "$LOGS/build.log" >&2; exit 1; }
build_s=$(( $(date +%s) - b0 ))

RAW=$LOGS/raw.jsonl
: >"$RAW"
run0=$(date +%s)
for pass in $(seq 1 "$PASSES"); do
  for b in $BENCHES; do
    echo "[$LABEL] pass $pass/$PASSES $b: ${FILTER[$b]} ${EXTRA_ENV[$b]}"
    t0=$(date +%s.%N)
    env ${EXTRA_ENV[$b]} CRITERION_HOME="$CRIT_HOME" \
      cargo bench $CARGO_FLAGS --bench "$b" -- "${FILTER[$b]}" --noplot \
      >"$LOGS/$b.pass$pass.log" 2>&1 || {
        echo "[$LABEL] $b FAILED, see $LOGS/$b.pass$pass.log" >&2
        tail -20 "$LOGS/$b.pass$pass.log" >&2; }
    t1=$(date +%s.%N)
    python3 "$HERE/_collect.py" collect "$CRIT_HOME" "$t0" "$t1" "$b" "${FILTER[$b]}" "$pass" >>"$RAW"
    echo "[$LABEL]   $(python3 -c "print(round($t1 - $t0))") s"
  done
done
run_s=$(( $(date +%s) - run0 ))

python3 "$HERE/_collect.py" report "$RAW" "$OUT/$LABEL" "$TREE" "$LABEL" "$commit" "$dirty" \
  "$build_s" "$run_s" "$PASSES" "$ACTION_TARGETS" "$ACTION_EXTRAS" "$BENCHES"
