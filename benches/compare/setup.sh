#!/usr/bin/env bash
# Create target/compare-venv with CPU builds of numpy, scipy, torch, jax, matplotlib, qutip
# and qutip-qtrl for the expgrad-vs-peers benchmark (benches/compare/run.sh). Safe to
# re-run: when the venv already matches requirements.txt it only prints the versions.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/target/compare-venv"
req="$here/requirements.txt"
stamp="$venv/.expgrad-compare-stamp"
python="${PYTHON:-python3}"
torch_cpu_index="https://download.pytorch.org/whl/cpu"

# The stamp records which requirements.txt (and setup.sh) the venv was built from.
want="$(cat "$req" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)"

if [[ ! -x "$venv/bin/python" ]]; then
    echo "creating venv at $venv"
    "$python" -m venv "$venv"
fi

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] \
    && "$venv/bin/python" -c 'import numpy, scipy, torch, jax, matplotlib, qutip, qutip_qtrl' 2>/dev/null; then
    echo "venv up to date: $venv"
else
    echo "installing peers into $venv (this takes a few minutes)"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    # Prefer the CPU-only torch wheel (~200 MB, no CUDA libraries). If the PyTorch index
    # is unreachable, fall back to PyPI's torch: a CUDA build (several GB with its nvidia-*
    # dependencies) whose CPU kernels are the same; on a machine without a GPU it runs
    # on the CPU exactly like the +cpu wheel.
    if "$venv/bin/python" -c "import urllib.request as u; u.urlopen('$torch_cpu_index/torch/', timeout=15)" 2>/dev/null; then
        index=(--index-url "$torch_cpu_index" --extra-index-url https://pypi.org/simple)
    else
        echo "warning: $torch_cpu_index unreachable; installing torch from PyPI (CUDA build, used on the CPU)" >&2
        index=()
    fi
    "$venv/bin/python" -m pip install --quiet "${index[@]}" -r "$req"
    echo "$want" > "$stamp"
fi

"$venv/bin/python" - <<'PY'
import platform, numpy, scipy, torch, jax, jaxlib, matplotlib, qutip, qutip_qtrl
print(f"python     {platform.python_version()}")
print(f"numpy      {numpy.__version__}")
print(f"scipy      {scipy.__version__}")
print(f"torch      {torch.__version__}  (built with CUDA {torch.version.cuda}; CUDA available here: {torch.cuda.is_available()})")
print(f"jax        {jax.__version__}  (jaxlib {jaxlib.__version__}, devices {jax.devices()})")
print(f"matplotlib {matplotlib.__version__}")
print(f"qutip      {qutip.__version__}  (qutip-qtrl {qutip_qtrl.__version__})")
PY
