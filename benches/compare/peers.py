#!/usr/bin/env python3
"""The peer half of expgrad's side-by-side benchmark: PyTorch, JAX, SciPy and (grape only)
qutip-qtrl on the CPU, in float64 (complex128 for cforward and grape), on the same problem
files the Rust harness (`cargo bench --bench compare`) reads.

    peers.py gen --out DIR
        Write the seeded problems as JSON (see `gen` for the exact recipes and formats).
    peers.py run --problems DIR --threads T --out FILE [--quick] [--system NAME]
                 [--tasks TASK,...]
        Time every task (or those listed) on every peer system and write a list of system
        records. Without --system each system runs in its own child process, so the
        thread settings are in place before numpy/torch/jax are imported and no system's
        thread pools or allocations disturb another's timings.
    peers.py check --problems DIR [--max-n N]
        Check the cforward and grape peers once, untimed (see `check`).

The tasks (d, A, v, c from a dense problem file, X = Diag(d)·A = d[:, None] * A):
    forward   exp(X) (X formed beforehand; the matrix exponential alone)
    grad      value and gradient of l(d) = c·(exp(Diag(d)·A)·v) with respect to d
    jacobian  J[i, k] = dw_i/dd_k for w(d) = exp(Diag(d)·A)·v, n <= 256 (SciPy n <= 64)
    batch     value and gradient of 10,000 problems of size 4
    shared    one generator at many times: value and gradient (w.r.t. Q and every t_b) of
              l(Q, t) = sum_b w_b <C, exp(t_b Q)>, n in (4, 20, 61), B in (1,000, 10,000)
    action    w = exp(t·X)·v for sparse X with n = 99,856 (SciPy only: no derivative)
    cforward  exp(X) for a complex X (complex128; X read beforehand), n = 4 .. 256
    grape     value and gradient of a GRAPE gate fidelity over N = 100 time slices and 4
              controls, n = 2^q = 4 .. 64 (q = 2 .. 6 qubits): with u the N x 4 real
              controls (row k = slice k),
                  X_k = -i dt (H0 + sum_j u[k, j] H_j),   U_k = exp(X_k),
                  U = U_{N-1} ... U_1 U_0,   c = tr(T^H U) = sum_ab conj(T_ab) U_ab,
                  F(u) = |c|^2 / n^2,
              the task is F and dF/du (N x 4) in one call. torch, JAX: exactly this.
              qutip-qtrl (fid_type UNIT, phase_option PSU) computes instead its fidelity
              error e = 1 - |c|/n and de/du, from which F = (1 - e)^2 and
              dF/du = -2 (1 - e) de/du (verified by `check`). SciPy has no grape.

Timing protocol (the same as the Rust harness): warm-up call(s); reps r chosen so one
measurement (r back-to-back calls) takes >= 20 ms; >= 7 measurements (>= 5 when a call
takes more than 0.5 s, >= 3 when it takes more than 5 s, 1 after the warm-up call when it
takes more than 30 s), each the wall time of the r
calls divided by r; the reported figure is the median. For JAX, outputs are waited on
with block_until_ready, and compile_s = first-call time - steady median.

Output: a JSON list of records
    {"system", "version", "threads", "info",
     "results": [{"task", "n", "problem", "median_s", "samples_s", "reps", "compile_s",
                  "note", "cpu_per_wall"}],
     "outputs": [{"task", "n", "problem", "value", "data"}]}     (threads = 1 only)
where problem is "dense" (forward, grad, jacobian), "batch" (batch, n = 4), "B<count>"
(shared), "<matrix>_<target>" (action, e.g. "laplacian2d_20"), "cdense" (cforward) or
"grape" (grape). cpu_per_wall is the process CPU time over the wall time of the
measurements, a check that the thread limit held. The outputs of the new tasks:
    cforward  value ||exp(X)||_F; data Re then Im of exp(X), each row-major (2 n^2
              numbers) for n <= 16, else Re and Im of exp(X)[0, 0] (2 numbers)
    grape     value F; data dF/du row-major (data[4 k + j] = dF/du[k, j], 400 numbers)
qutip-qtrl's grape outputs are its own quantity and go under problem "qtrl_psu": value
e = 1 - |c|/n, data de/du row-major.
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, NamedTuple

# Only the standard library is imported at module level: `run` must set the thread
# environment variables before numpy, torch or jax is first imported.

DENSE_NS = (4, 8, 16, 32, 64, 128, 256, 512)
QUICK_MAX_N = 32
JACOBIAN_MAX_N = 256
SCIPY_JACOBIAN_MAX_N = 64  # n calls of expm_frechet each; beyond this it takes minutes
BATCH_COUNT, BATCH_N = 10_000, 4
GRID = 316  # action problems: the GRID x GRID grid, n = GRID**2 = 99,856
ACTION_TARGETS = (20, 100)  # t = target / ||X||_1
SHARED_NS, SHARED_BS = (4, 20, 61), (1_000, 10_000)  # nucleotides, amino acids, codons
CFORWARD_NS = (4, 8, 16, 32, 64, 128, 256)
CFORWARD_FULL_MAX_N = 16  # cforward outputs: all of exp(X) up to this n, else two numbers
GRAPE_QUBITS = (2, 3, 4, 5, 6)
GRAPE_NS = tuple(2 ** q for q in GRAPE_QUBITS)  # 4 .. 64
GRAPE_SLICES, GRAPE_TIME = 100, 2.0  # N time slices of dt = T/N
GRAPE_CONTROLS = 4  # X and Y on the first and on the last qubit
SYSTEMS = ("torch", "jax", "scipy", "qutip-qtrl")
TASKS = ("forward", "grad", "jacobian", "batch", "shared", "action", "cforward", "grape")

MIN_MEASUREMENT_S = 0.020  # one measurement (r calls) lasts at least this long


# --------------------------------------------------------------------------------------
# Problem generation
# --------------------------------------------------------------------------------------

def write_json(path, obj):
    # json writes Python floats with repr, which round-trips float64 exactly.
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))


def gen(out):
    """Write the seeded problems into `out`.

    dense_n{n}.json, n in DENSE_NS: rng = default_rng(20261125 + n); A = randn(n, n)/sqrt(n),
        d = 0.5 + rand(n), v = randn(n), c = randn(n), drawn in that order.
    shared_n{n}_B{count}.json, n in SHARED_NS, count in SHARED_BS: rng =
        default_rng(6100 + n + count); Q = rand(n, n) off the diagonal, rows summing to 0,
        divided by -mean(diag Q); t = 10**uniform(-2, 0.7, count); w = randn(count);
        C = randn(n, n).
    batch_n4.json: rng = default_rng(4242); 10,000 problems of n = 4, each drawn as above
        (A = randn(4, 4)/2, d, v, c), problem after problem; arrays concatenated
        problem-major.
    action_{name}_{target}.json, n = 316**2:
        laplacian2d: X = -L, L the 5-point graph Laplacian of the 316x316 grid with Neumann
            boundary (L_ii = number of neighbours, L_ij = -1 for neighbours); node (r, c)
            has index r*316 + c.
        markov: rng = default_rng(777); for each row i in turn: 4 distinct columns
            j != i (rng.choice(n - 1, 4, replace=False), values >= i shifted up by one),
            then their rates 0.5 + rng.random(4); Q_ii = -(row sum); X = Q.
        t = target / ||X||_1 (max column abs sum); v = default_rng(99).standard_normal(n).
        X is stored as COO sorted by row, then column.
    cdense_n{n}.json, n in CFORWARD_NS: rng = default_rng(5150 + n); G1 = randn(n, n),
        G2 = randn(n, n), drawn in that order; X = (G1 + i G2) / sqrt(2 n) * 2.
        Fields: n; x_re, x_im (Re X and Im X as nested lists, x_re[r][c] = Re X_rc).
    grape_n{n}.json, n = 2^q, q in GRAPE_QUBITS: Pauli X, Y, Z; an operator "on qubit k"
        is a Kronecker product of q 2x2 factors with qubit 0 the leftmost (most
        significant) factor and the identity on the other qubits.
        Drift H0 = sum_{k=0}^{q-2} J (X_k X_{k+1} + Y_k Y_{k+1} + Z_k Z_{k+1}), J = 1,
            plus sum_{k=0}^{q-1} 0.5 (k+1)/q Z_k (detunings that break the symmetry).
        Controls H_0..H_3 = X_0, Y_0, X_{q-1}, Y_{q-1}.
        Target T = CNOT (control qubit 0, target qubit 1; [[1,0,0,0],[0,1,0,0],[0,0,0,1],
            [0,0,1,0]]) tensored with the identity on qubits 2..q-1: kron(CNOT, I_{n/4}).
        u = 0.5 * default_rng(8800 + n).standard_normal((N, 4)), N = GRAPE_SLICES = 100.
        Fields: n; qubits (q); slices (N); evo_time (T = 2.0); dt (= T/N = 0.02, the
        value to use); h0_re, h0_im (n x n nested lists); hc_re, hc_im (4 x n x n:
        hc_re[j] = Re H_j); target_re, target_im (n x n); u (N x 4: u[k][j] = control j
        in slice k).
    All matrices are stored row-major: flat lists in the real problems, nested lists
    (one list per row) in cdense and grape.
    """
    import numpy as np

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    for n in DENSE_NS:
        rng = np.random.default_rng(20261125 + n)
        a = rng.standard_normal((n, n)) / math.sqrt(n)
        d = 0.5 + rng.random(n)
        v = rng.standard_normal(n)
        c = rng.standard_normal(n)
        write_json(out / f"dense_n{n}.json",
                   {"n": n, "A": a.ravel().tolist(), "d": d.tolist(),
                    "v": v.tolist(), "c": c.tolist()})

    rng = np.random.default_rng(4242)
    n = BATCH_N
    parts = {"A": [], "d": [], "v": [], "c": []}
    for _ in range(BATCH_COUNT):
        parts["A"].append(rng.standard_normal((n, n)) / math.sqrt(n))
        parts["d"].append(0.5 + rng.random(n))
        parts["v"].append(rng.standard_normal(n))
        parts["c"].append(rng.standard_normal(n))
    write_json(out / f"batch_n{n}.json",
               {"count": BATCH_COUNT, "n": n,
                **{k: np.concatenate([x.ravel() for x in xs]).tolist()
                   for k, xs in parts.items()}})

    for n in SHARED_NS:
        for count in SHARED_BS:
            rng = np.random.default_rng(6100 + n + count)
            q = rng.random((n, n))
            np.fill_diagonal(q, 0.0)
            np.fill_diagonal(q, -q.sum(axis=1))
            q /= -np.mean(np.diag(q))  # one expected substitution per unit time
            t = 10.0 ** rng.uniform(-2.0, 0.7, count)  # branch lengths 0.01 .. 5
            w = rng.standard_normal(count)
            c = rng.standard_normal((n, n))
            write_json(out / f"shared_n{n}_B{count}.json",
                       {"n": n, "count": count, "Q": q.ravel().tolist(), "t": t.tolist(),
                        "w": w.tolist(), "C": c.ravel().tolist()})

    for n in CFORWARD_NS:
        rng = np.random.default_rng(5150 + n)
        g1 = rng.standard_normal((n, n))
        g2 = rng.standard_normal((n, n))
        # Complex Ginibre scaled so that E|X_ij|^2 = 4/n: the eigenvalues fill the disc
        # of radius ~2, and ||X||_1 grows slowly with n (a few squarings).
        x = (g1 + 1j * g2) / math.sqrt(2 * n) * 2
        write_json(out / f"cdense_n{n}.json",
                   {"n": n, "x_re": x.real.tolist(), "x_im": x.imag.tolist()})

    for q in GRAPE_QUBITS:
        write_json(out / f"grape_n{2 ** q}.json", grape_problem(q))

    n = GRID * GRID
    v = np.random.default_rng(99).standard_normal(n)
    for name, (rows, cols, vals) in (("laplacian2d", neg_laplacian2d(GRID)),
                                     ("markov", markov_generator(n))):
        order = np.lexsort((cols, rows))
        rows, cols, vals = rows[order], cols[order], vals[order]
        col_abs_sum = np.zeros(n)
        np.add.at(col_abs_sum, cols, np.abs(vals))
        norm1 = col_abs_sum.max()
        for target in ACTION_TARGETS:
            write_json(out / f"action_{name}_{target}.json",
                       {"name": name, "n": n, "t": target / norm1,
                        "rows": rows.tolist(), "cols": cols.tolist(),
                        "vals": vals.tolist(), "v": v.tolist()})
    print(f"wrote problems to {out}", file=sys.stderr)


PAULI = {"I": ((1, 0), (0, 1)), "X": ((0, 1), (1, 0)), "Y": ((0, -1j), (1j, 0)),
         "Z": ((1, 0), (0, -1))}


def qubit_op(q, factors):
    """The 2^q x 2^q operator with the Pauli factors[k] on qubit k and the identity on the
    others. Qubit 0 is the most significant bit of the index: the leftmost Kronecker
    factor."""
    import numpy as np

    out = np.ones((1, 1), dtype=complex)
    for k in range(q):
        out = np.kron(out, np.array(PAULI[factors.get(k, "I")], dtype=complex))
    return out


def grape_problem(q):
    """The GRAPE problem on q qubits (see `gen`) as a JSON-ready dict."""
    import numpy as np

    n = 2 ** q
    # Drift: Heisenberg chain with J = 1 plus detunings 0.5 (k+1)/q on each qubit.
    h0 = sum(qubit_op(q, {k: p, k + 1: p}) for k in range(q - 1) for p in "XYZ")
    h0 = h0 + sum(0.5 * (k + 1) / q * qubit_op(q, {k: "Z"}) for k in range(q))
    hc = [qubit_op(q, {0: "X"}), qubit_op(q, {0: "Y"}),
          qubit_op(q, {q - 1: "X"}), qubit_op(q, {q - 1: "Y"})]
    # CNOT with qubit 0 controlling qubit 1, the identity on the others.
    cnot = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]], dtype=complex)
    target = np.kron(cnot, np.eye(n // 4))
    u = 0.5 * np.random.default_rng(8800 + n).standard_normal((GRAPE_SLICES, GRAPE_CONTROLS))
    return {"n": n, "qubits": q, "slices": GRAPE_SLICES, "evo_time": GRAPE_TIME,
            "dt": GRAPE_TIME / GRAPE_SLICES,
            "h0_re": h0.real.tolist(), "h0_im": h0.imag.tolist(),
            "hc_re": [h.real.tolist() for h in hc], "hc_im": [h.imag.tolist() for h in hc],
            "target_re": target.real.tolist(), "target_im": target.imag.tolist(),
            "u": u.tolist()}


def neg_laplacian2d(g):
    """COO of -L for the g x g grid graph (5-point stencil, Neumann boundary)."""
    import numpy as np

    idx = np.arange(g * g).reshape(g, g)
    # Each undirected edge once: horizontal then vertical neighbours.
    a = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    b = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    deg = np.bincount(np.concatenate([a, b]), minlength=g * g).astype(float)
    diag = np.arange(g * g)
    rows = np.concatenate([a, b, diag])
    cols = np.concatenate([b, a, diag])
    vals = np.concatenate([np.ones(2 * len(a)), -deg])
    return rows, cols, vals


def markov_generator(n):
    """COO of a random CTMC generator Q: 4 outgoing rates per state, rows sum to zero."""
    import numpy as np

    rng = np.random.default_rng(777)
    k = 4
    rows = np.repeat(np.arange(n), k)
    cols = np.empty(n * k, dtype=np.int64)
    rates = np.empty(n * k)
    for i in range(n):
        j = rng.choice(n - 1, size=k, replace=False)
        j[j >= i] += 1  # skip the diagonal
        cols[i * k:(i + 1) * k] = j
        rates[i * k:(i + 1) * k] = 0.5 + rng.random(k)
    diag = np.arange(n)
    return (np.concatenate([rows, diag]), np.concatenate([cols, diag]),
            np.concatenate([rates, -rates.reshape(n, k).sum(axis=1)]))


# --------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------

def no_sync(out):
    return out


def timed(call, sync):
    """Wall time of one call, with its output."""
    t0 = time.perf_counter()
    out = sync(call())
    return time.perf_counter() - t0, out


def estimate(call, sync):
    """Steady per-call time, from as many calls as fit in ~10 ms (at least one).
    Returns (seconds per call, the single-call time if only one call was made)."""
    count, t0 = 0, time.perf_counter()
    while True:
        sync(call())
        count += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= MIN_MEASUREMENT_S / 2:
            return elapsed / count, (elapsed if count == 1 else None)


def bench(call, sync, quick, *, warm=True):
    """Time `call` by the protocol in the module docstring.

    sync(output) must wait for the output to be ready (JAX dispatches asynchronously)
    and return it. With warm=False the caller has already made the first call(s).
    Returns a dict with median_s, samples_s, reps, first_s, cpu_per_wall and the output
    of the last call.
    """
    first_s = timed(call, sync)[0] if warm else None
    per_call, single = estimate(call, sync)
    reps = max(1, math.ceil(MIN_MEASUREMENT_S / per_call))
    count = 7
    if per_call > 0.5:
        count = 5
    if per_call > 5.0:
        count = 3
    if per_call > 30.0:  # the largest shared-generator cases: minutes per call
        count = 1
    if quick:
        count = min(count, 3)
    samples = []
    # A slow call's estimate is itself a full measurement (r = 1, after the warm-up).
    if single is not None and reps == 1:
        samples.append(single)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    out = None
    while len(samples) < count:
        t0 = time.perf_counter()
        for _ in range(reps):
            out = sync(call())
        samples.append((time.perf_counter() - t0) / reps)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    if out is None:
        out = sync(call())
    return {"median_s": statistics.median(samples), "samples_s": samples, "reps": reps,
            "first_s": first_s, "cpu_per_wall": cpu / wall if wall > 0 else None, "out": out}


def fastest(variants, sync=no_sync):
    """The fastest of several ways {name: call} to make the same computation: each gets its
    first call (JAX compiles), then one timed estimate. Returns (name, call, note, first
    call's time of the one kept) for a Case with warm=True."""
    times, first = {}, {}
    for name, call in variants.items():
        first[name] = timed(call, sync)[0]
        times[name] = estimate(call, sync)[0]
    best = min(times, key=times.get)
    others = " and ".join(name for name in variants if name != best)
    return best, variants[best], f"{best} (faster here than {others})", first[best]


# --------------------------------------------------------------------------------------
# Problems
# --------------------------------------------------------------------------------------

class Dense:
    def __init__(self, path):
        import numpy as np

        p = json.loads(Path(path).read_text())
        self.n = n = p["n"]
        self.A = np.array(p["A"], dtype=np.float64).reshape(n, n)
        self.d, self.v, self.c = (np.array(p[k], dtype=np.float64) for k in "dvc")
        self.X = self.d[:, None] * self.A


class Batch:
    def __init__(self, path):
        import numpy as np

        p = json.loads(Path(path).read_text())
        self.count, self.n = count, n = p["count"], p["n"]
        self.A = np.array(p["A"], dtype=np.float64).reshape(count, n, n)
        self.d, self.v, self.c = (np.array(p[k], dtype=np.float64).reshape(count, n)
                                  for k in "dvc")


class Shared:
    def __init__(self, path):
        import numpy as np

        p = json.loads(Path(path).read_text())
        self.n, self.count = n, count = p["n"], p["count"]
        self.Q = np.array(p["Q"], dtype=np.float64).reshape(n, n)
        self.C = np.array(p["C"], dtype=np.float64).reshape(n, n)
        self.t = np.array(p["t"], dtype=np.float64)
        self.w = np.array(p["w"], dtype=np.float64)


def shared_output(value, qbar, tbar):
    import numpy as np

    return float(value), np.concatenate([np.asarray(qbar).ravel(), np.asarray(tbar)])


def complex_array(p, name):
    """The complex array stored as the nested lists p[name + "_re"] and p[name + "_im"]."""
    import numpy as np

    return (np.array(p[f"{name}_re"], dtype=np.float64)
            + 1j * np.array(p[f"{name}_im"], dtype=np.float64))


class CDense:
    def __init__(self, path):
        p = json.loads(Path(path).read_text())
        self.n = p["n"]
        self.X = complex_array(p, "x")


def expm_output(E):
    """exp(X) for the agreement check. Real (forward): all of E row-major. Complex
    (cforward): value ||E||_F; data the real then the imaginary parts of E row-major for
    n <= CFORWARD_FULL_MAX_N, else of E[0, 0] alone (small output files)."""
    import numpy as np

    E = np.asarray(E)
    if not np.iscomplexobj(E):
        return None, E
    part = E if E.shape[0] <= CFORWARD_FULL_MAX_N else E[:1, :1]
    return float(np.linalg.norm(E)), np.concatenate([part.real.ravel(), part.imag.ravel()])


class Grape:
    def __init__(self, path):
        import numpy as np

        p = json.loads(Path(path).read_text())
        self.n, self.slices, self.dt = p["n"], p["slices"], p["dt"]
        self.evo_time = p["evo_time"]
        self.h0, self.hc, self.target = (complex_array(p, k) for k in ("h0", "hc", "target"))
        self.u = np.array(p["u"], dtype=np.float64)


def ordered_product(U, cat):
    """U[N-1] @ ... @ U[0] of a stacked (N, n, n) array (torch or JAX; cat concatenates
    along the first axis), as a tree of batched products: each level multiplies
    neighbouring pairs, later factor on the left, an odd last factor passing up as it is."""
    while U.shape[0] > 1:
        m = U.shape[0] - U.shape[0] % 2
        pairs = U[1:m:2] @ U[0:m:2]
        U = cat([pairs, U[m:]]) if m < U.shape[0] else pairs
    return U[0]


def grape_fidelity(p, u):
    """F(u) = |tr(T^H U)|^2 / n^2 in numpy/SciPy: the reference for the checks."""
    import numpy as np
    from scipy.linalg import expm

    # X_k = -i dt (H0 + sum_j u[k, j] H_j), U = exp(X_{N-1}) ... exp(X_0).
    X = -1j * p.dt * (p.h0 + np.einsum("kj,jab->kab", u, p.hc))
    U = np.eye(p.n, dtype=complex)
    for Xk in X:
        U = expm(Xk) @ U
    return abs(np.vdot(p.target, U)) ** 2 / p.n ** 2  # vdot conjugates T: tr(T^H U)


class Action:
    def __init__(self, path):
        import numpy as np
        import scipy.sparse as sparse

        p = json.loads(Path(path).read_text())
        self.name, self.n, self.t = p["name"], p["n"], p["t"]
        self.X = sparse.csr_matrix((p["vals"], (p["rows"], p["cols"])),
                                   shape=(self.n, self.n), dtype=np.float64)
        self.v = np.array(p["v"], dtype=np.float64)


# --------------------------------------------------------------------------------------
# The systems. Each setup_<system>(threads) returns (version, info, tasks), where
# tasks[task](problem) builds a Case.
# --------------------------------------------------------------------------------------

class Case(NamedTuple):
    call: Callable  # runs the computation once, returns its output
    to_output: Callable  # output -> (value or None, flat data) for the agreement check
    note: str  # how the system computes the task
    sync: Callable = no_sync  # waits for an output (JAX dispatches asynchronously)
    warm: bool = False  # the builder has already made the warm-up call(s)
    first_s: float | None = None  # with warm: the first call's time (JAX compile_s)
    output_problem: str | None = None  # outputs under this problem: another quantity


def setup_torch(threads):
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    expm = torch.linalg.matrix_exp

    def t(x):  # float64, or complex128 for complex inputs
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.result_type(x, np.float64)))

    def forward(p):  # forward and cforward
        X = t(p.X)
        return Case(lambda: expm(X), lambda E: expm_output(E.numpy()),
                    "torch.linalg.matrix_exp")

    def grad(p):
        A, d0, v, c = t(p.A), t(p.d), t(p.v), t(p.c)

        def call():  # the whole forward + backward pass
            d = d0.clone().requires_grad_()
            loss = c @ (expm(d[:, None] * A) @ v)
            loss.backward()
            return loss.detach(), d.grad

        return Case(call, lambda o: (o[0].item(), o[1].numpy()), "autograd, forward + backward")

    def jacobian(p):
        A, d0, v = t(p.A), t(p.d), t(p.v)

        def w(d):
            return expm(d[:, None] * A) @ v

        jacrev = torch.func.jacrev(w)
        _, call, note, _ = fastest({
            "torch.func.jacrev": lambda: jacrev(d0),
            "torch.autograd.functional.jacobian(vectorize=True)":
                lambda: torch.autograd.functional.jacobian(w, d0, vectorize=True),
        })
        return Case(call, lambda J: (None, J.numpy()), note, warm=True)

    def batch(p):
        A, d0, v, c = t(p.A), t(p.d), t(p.v), t(p.c)

        def call():  # one batched call; the backward of the summed loss gives every gradient
            d = d0.clone().requires_grad_()
            w = (expm(d[:, :, None] * A) @ v[:, :, None])[:, :, 0]
            losses = (c * w).sum(dim=1)
            losses.sum().backward()
            return losses.detach(), d.grad

        return Case(call,
                    lambda o: (None, np.concatenate([o[0].numpy(), o[1].numpy().ravel()])),
                    "one batched autograd call on (10000, 4, 4) tensors")

    def shared(p):
        Q0, t0, w, C = t(p.Q), t(p.t), t(p.w), t(p.C)

        def call():  # matrix_exp of the stacked (B, n, n) tensor t_b·Q, one backward
            Q = Q0.clone().requires_grad_()
            tt = t0.clone().requires_grad_()
            P = expm(tt[:, None, None] * Q)
            loss = (w[:, None, None] * C * P).sum()
            loss.backward()
            return loss.detach(), Q.grad, tt.grad

        return Case(call, lambda o: shared_output(o[0].item(), o[1].numpy(), o[2].numpy()),
                    f"one batched autograd call on ({p.count}, {p.n}, {p.n}) tensors")

    def grape(p):
        h0, hc, T, u0 = t(p.h0), t(p.hc), t(p.target), t(p.u)

        def call():  # the whole forward + backward pass
            u = u0.clone().requires_grad_()
            # X_k = -i dt (H0 + sum_j u[k, j] H_j), stacked (N, n, n)
            X = (-1j * p.dt) * (h0 + torch.einsum("kj,jab->kab", u.to(hc.dtype), hc))
            P = ordered_product(expm(X), torch.cat)
            F = (T.conj() * P).sum().abs() ** 2 / p.n ** 2  # |tr(T^H U)|^2 / n^2
            F.backward()
            return F.detach(), u.grad

        return Case(call, lambda o: (o[0].item(), o[1].numpy()),
                    "matrix_exp of the stacked (N, n, n) complex128 tensor, pairwise "
                    "product tree, autograd forward + backward")

    info = "BLAS: " + ("MKL" if torch.backends.mkl.is_available() else "not MKL")
    if torch.version.cuda:
        info = f"CUDA {torch.version.cuda} build, run on the CPU; {info}"
    return torch.__version__, info, {
        "forward": forward, "grad": grad, "jacobian": jacobian, "batch": batch,
        "shared": shared, "cforward": forward, "grape": grape}


def setup_jax(threads):
    import numpy as np
    import jax
    import jaxlib

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from jax.scipy.linalg import expm

    sync = jax.block_until_ready

    def put(x):  # inputs live on the device before timing starts; float64 or complex128
        return jax.device_put(np.asarray(x, dtype=np.result_type(x, np.float64)))

    def loss(d, A, v, c):
        return c @ (expm(d[:, None] * A) @ v)

    def w(d, A, v):
        return expm(d[:, None] * A) @ v

    # jit objects are made once; each new n compiles on its first call (compile_s).
    f_expm = jax.jit(expm)
    f_grad = jax.jit(jax.value_and_grad(loss))
    f_jac = jax.jit(jax.jacrev(w))
    f_batch = jax.jit(jax.vmap(jax.value_and_grad(loss)))

    def shared_loss(Q, t, w, C):
        P = jax.vmap(lambda tb: expm(tb * Q))(t)
        return (w[:, None, None] * C * P).sum()

    f_shared = jax.jit(jax.value_and_grad(shared_loss, argnums=(0, 1)))

    # GRAPE: F(u) = |tr(T^H U)|^2 / n^2, U = exp(X_{N-1}) ... exp(X_0) with
    # X_k = -i dt (H0 + sum_j u[k, j] H_j). Two ways through the slices, both lax.scan
    # (a Python loop over the slices compiles for ~45 s and runs slower): expm inside the
    # scan body, where its conditionals pick each slice's Pade degree and squarings; or
    # one batched (vmapped) expm then a scan of the products, fewer and larger operations
    # but the conditionals become selects (every Pade degree and all 16 squaring steps
    # evaluated for every slice).
    def grape_generators(u, h0, hc, dt):
        return (-1j * dt) * (h0 + jnp.einsum("kj,jab->kab", u, hc))

    def grape_value(P, T):
        c = jnp.vdot(T, P)  # tr(T^H U): vdot conjugates its first argument
        return (c.real ** 2 + c.imag ** 2) / T.shape[0] ** 2

    def grape_scan(u, h0, hc, T, dt):
        eye = jnp.eye(T.shape[0], dtype=h0.dtype)
        P, _ = jax.lax.scan(lambda P, Xk: (expm(Xk) @ P, None), eye,
                            grape_generators(u, h0, hc, dt))
        return grape_value(P, T)

    def grape_batched(u, h0, hc, T, dt):
        eye = jnp.eye(T.shape[0], dtype=h0.dtype)
        P, _ = jax.lax.scan(lambda P, Uk: (Uk @ P, None), eye,
                            expm(grape_generators(u, h0, hc, dt)))
        return grape_value(P, T)

    f_grape = {
        "jit(value_and_grad), lax.scan with expm in the body":
            jax.jit(jax.value_and_grad(grape_scan)),
        "jit(value_and_grad), batched expm then lax.scan":
            jax.jit(jax.value_and_grad(grape_batched)),
    }

    def forward(p):  # forward and cforward
        X = put(p.X)
        return Case(lambda: f_expm(X), expm_output, "jit(expm)", sync)

    def grad(p):
        A, d, v, c = put(p.A), put(p.d), put(p.v), put(p.c)
        return Case(lambda: f_grad(d, A, v, c), lambda o: (float(o[0]), np.asarray(o[1])),
                    "jit(value_and_grad)", sync)

    def jacobian(p):
        A, d, v = put(p.A), put(p.d), put(p.v)
        return Case(lambda: f_jac(d, A, v), lambda J: (None, np.asarray(J)), "jit(jacrev)",
                    sync)

    def batch(p):
        A, d, v, c = put(p.A), put(p.d), put(p.v), put(p.c)
        return Case(lambda: f_batch(d, A, v, c),
                    lambda o: (None, np.concatenate([np.asarray(o[0]),
                                                     np.asarray(o[1]).ravel()])),
                    "jit(vmap(value_and_grad))", sync)

    def shared(p):
        Q, t, w, C = put(p.Q), put(p.t), put(p.w), put(p.C)
        return Case(lambda: f_shared(Q, t, w, C),
                    lambda o: shared_output(o[0], o[1][0], o[1][1]),
                    "jit(value_and_grad) of vmap(expm) over the times", sync)

    def grape(p):
        u, h0, hc, T = put(p.u), put(p.h0), put(p.hc), put(p.target)
        _, call, note, first_s = fastest(
            {name: (lambda f=f: f(u, h0, hc, T, p.dt)) for name, f in f_grape.items()}, sync)
        return Case(call, lambda o: (float(o[0]), np.asarray(o[1])), note, sync, warm=True,
                    first_s=first_s)

    return jax.__version__, f"jaxlib {jaxlib.__version__}", {
        "forward": forward, "grad": grad, "jacobian": jacobian, "batch": batch,
        "shared": shared, "cforward": forward, "grape": grape}


def setup_scipy(threads):
    import numpy as np
    import scipy
    from scipy.linalg import expm, expm_frechet
    from scipy.sparse.linalg import expm_multiply

    def value_and_grad(A, d, v, c):
        # l(d) = c . exp(X) v with X = Diag(d) A. Its gradient with respect to X is the
        # adjoint Frechet derivative L(X^T, c v^T); expm_frechet(X^T, .) also returns
        # exp(X^T), and dl/dd_i = sum_j Lbar_ij A_ij since X_ij = d_i A_ij.
        X = d[:, None] * A
        Et, Lbar = expm_frechet(X.T, np.outer(c, v))
        return c @ (Et.T @ v), (Lbar * A).sum(axis=1)

    def forward(p):  # forward and cforward
        X = p.X
        return Case(lambda: expm(X), expm_output, "scipy.linalg.expm")

    def grad(p):
        return Case(lambda: value_and_grad(p.A, p.d, p.v, p.c), lambda o: o,
                    "expm_frechet(Xᵀ, c vᵀ): adjoint Fréchet derivative")

    def jacobian(p):
        A, d, v, n = p.A, p.d, p.v, p.n

        def call():
            # dX/dd_k = e_k e_k^T A (row k of A), so J[:, k] = L(X, e_k e_k^T A) v.
            X = d[:, None] * A
            J = np.empty((n, n))
            E = np.zeros((n, n))
            for k in range(n):
                E[k] = A[k]
                J[:, k] = expm_frechet(X, E, compute_expm=False) @ v
                E[k] = 0.0
            return J

        return Case(call, lambda J: (None, J), "n calls of expm_frechet(X, e_k e_kᵀ A)")

    def batch(p):
        def call():
            vals = np.empty(p.count)
            grads = np.empty((p.count, p.n))
            for b in range(p.count):
                vals[b], grads[b] = value_and_grad(p.A[b], p.d[b], p.v[b], p.c[b])
            return vals, grads

        return Case(call, lambda o: (None, np.concatenate([o[0], o[1].ravel()])),
                    "Python loop of expm_frechet(Xᵀ, c vᵀ)")

    def action(p):
        tX = (p.t * p.X).tocsr()
        return Case(lambda: expm_multiply(tX, p.v), lambda w: (None, w),
                    "scipy.sparse.linalg.expm_multiply(t·X, v), t·X in CSR")

    blas = ""
    try:
        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f", BLAS: {cfg['name']} {cfg['version']}"
    except Exception:  # noqa: BLE001 - informational only
        pass
    return scipy.__version__, f"numpy {np.__version__}{blas}", {
        "forward": forward, "grad": grad, "jacobian": jacobian, "batch": batch,
        "action": action, "cforward": forward}


QTRL_ROUTES = {
    "DIAG": "prop_type DIAG (qtrl's default for unitary dynamics: eigh of each H_k, "
            "propagator gradients in its eigenbasis)",
    "FRECHET": "prop_type FRECHET (scipy expm_frechet per slice and control)",
}


def qtrl_grape(p, route):
    """qutip-qtrl's GRAPE fidelity error and gradient at p.u by the propagator route
    `route` (a QTRL_ROUTES key), as a call that recomputes everything each time.

    fid_type UNIT with phase_option PSU: the value is e = 1 - |tr(T^H U)|/n and the
    gradient de/du (N x 4), so F = (1 - e)^2 and dF/du = -2 (1 - e) de/du."""
    import numpy as np
    import qutip
    from qutip_qtrl import pulseoptim

    optim = pulseoptim.create_pulse_optimizer(
        qutip.Qobj(p.h0), [qutip.Qobj(h) for h in p.hc], qutip.qeye(p.n),
        qutip.Qobj(p.target),
        # The slice durations in float64: from num_tslots and evo_time qtrl makes them
        # float32 (0.0199999996 for 0.02), which moves F by ~1e-8 relative.
        tau=np.full(p.slices, p.dt),
        dyn_type="UNIT", fid_type="UNIT", fid_params={"phase_option": "PSU"},
        prop_type=route, init_pulse_type="ZERO")
    dyn = optim.dynamics
    dyn.initialize_controls(p.u.copy())
    fid = dyn.fid_computer

    def call():
        # Mark the evolution, fidelity and gradient as needing recalculation (the amplitudes
        # are unchanged, which qtrl would otherwise take as "nothing to recompute"): every
        # call recomputes the Hamiltonians, propagators, their gradients and the products.
        dyn.flag_system_changed()
        return fid.get_fid_err(), fid.get_fid_err_gradient()

    return call


def setup_qtrl(threads):
    import numpy as np
    import qutip
    import qutip_qtrl

    def grape(p):
        route, call, note, _ = fastest({r: qtrl_grape(p, r) for r in QTRL_ROUTES})
        note = note.replace(route, QTRL_ROUTES[route], 1)
        note = (f"fid_type UNIT, phase_option PSU: 1 − |tr(TᴴU)|/n and its gradient "
                f"(outputs under problem qtrl_psu); {note}; "
                "Dynamics.flag_system_changed() before each call")
        return Case(call, lambda o: (o[0], np.asarray(o[1])), note, warm=True,
                    output_problem="qtrl_psu")

    return qutip_qtrl.__version__, f"qutip {qutip.__version__}, numpy {np.__version__}", {
        "grape": grape}


SETUP = {"torch": setup_torch, "jax": setup_jax, "scipy": setup_scipy,
         "qutip-qtrl": setup_qtrl}


# --------------------------------------------------------------------------------------
# run
# --------------------------------------------------------------------------------------

def fmt_s(s):
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"


def set_thread_env(threads):
    """Limit every library to `threads` threads; must run before numpy/torch/jax load.

    The environment variables bound OpenMP, MKL and OpenBLAS (torch.set_num_threads
    follows in setup_torch). XLA:CPU has no thread-count setting: its intra-op pool is
    sized to the CPUs the process may run on, and with the thunk runtime it runs
    independent operations concurrently even when Eigen is single-threaded. So the process
    is also restricted to `threads` CPUs when that is fewer than it may use (the same for
    every peer, so each runs on T cores): the last T of them, CPU 0 being where the system's
    housekeeping tends to run, or the list in PEERS_CPUS (e.g. PEERS_CPUS=2,3). At T = 1
    XLA is additionally told to keep Eigen single-threaded."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    os.environ["JAX_PLATFORMS"] = "cpu"
    if threads == 1:
        os.environ["XLA_FLAGS"] = ("--xla_cpu_multi_thread_eigen=false "
                                   "intra_op_parallelism_threads=1")
    else:
        os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=1"
    if os.environ.get("PEERS_CPUS"):
        os.sched_setaffinity(0, [int(c) for c in os.environ["PEERS_CPUS"].split(",")])
    else:
        cpus = sorted(os.sched_getaffinity(0))
        if threads < len(cpus):
            os.sched_setaffinity(0, cpus[-threads:])


def run_system(system, problems, threads, quick, only=None):
    """Run every task of one system (those in `only`, if given) in this process; returns
    its record."""
    set_thread_env(threads)
    import numpy as np

    version, info, tasks = SETUP[system](threads)
    if only:
        tasks = {task: build for task, build in tasks.items() if task in only}
    problems = Path(problems)

    def sizes(all_n):
        return [n for n in all_n if not quick or n <= QUICK_MAX_N]

    ns = sizes(DENSE_NS) if {"forward", "grad", "jacobian"} & tasks.keys() else []
    record = {"system": system, "version": version, "threads": threads, "info": info,
              "results": [], "outputs": []}

    def case(task, n, problem, c):
        r = bench(c.call, c.sync, quick, warm=not c.warm)
        first_s = r["first_s"] if r["first_s"] is not None else c.first_s
        compile_s = first_s - r["median_s"] if system == "jax" and first_s else None
        record["results"].append({
            "task": task, "n": n, "problem": problem, "median_s": r["median_s"],
            "samples_s": r["samples_s"], "reps": r["reps"], "compile_s": compile_s,
            "note": c.note, "cpu_per_wall": r["cpu_per_wall"]})
        if threads == 1:
            value, data = c.to_output(r["out"])
            record["outputs"].append({
                "task": task, "n": n, "problem": c.output_problem or problem,
                "value": None if value is None else float(value),
                "data": np.asarray(data, dtype=np.float64).ravel().tolist()})
        extra = f", compile {fmt_s(compile_s)}" if compile_s is not None else ""
        print(f"  {system:10} {task:8} {problem:15} n={n:<6} {fmt_s(r['median_s']):>9}"
              f"  (r={r['reps']}, {len(r['samples_s'])} samples, "
              f"cpu/wall {r['cpu_per_wall'] or 0:.2f}{extra})", file=sys.stderr, flush=True)

    for n in ns:
        p = Dense(problems / f"dense_n{n}.json")
        for task in ("forward", "grad"):
            if task in tasks:
                case(task, n, "dense", tasks[task](p))
        if "jacobian" in tasks and n <= (SCIPY_JACOBIAN_MAX_N if system == "scipy"
                                         else JACOBIAN_MAX_N):
            case("jacobian", n, "dense", tasks["jacobian"](p))
    if "batch" in tasks:
        p = Batch(problems / f"batch_n{BATCH_N}.json")
        case("batch", p.n, "batch", tasks["batch"](p))
    if "shared" in tasks:
        for n in SHARED_NS:
            for count in SHARED_BS:
                if quick and (n > QUICK_MAX_N or count > SHARED_BS[0]):
                    continue
                p = Shared(problems / f"shared_n{n}_B{count}.json")
                case("shared", n, f"B{count}", tasks["shared"](p))
    if "action" in tasks:
        for name in ("laplacian2d", "markov"):
            for target in ACTION_TARGETS:
                p = Action(problems / f"action_{name}_{target}.json")
                case("action", p.n, f"{name}_{target}", tasks["action"](p))
    if "cforward" in tasks:
        for n in sizes(CFORWARD_NS):
            p = CDense(problems / f"cdense_n{n}.json")
            case("cforward", n, "cdense", tasks["cforward"](p))
    if "grape" in tasks:
        for n in sizes(GRAPE_NS):
            p = Grape(problems / f"grape_n{n}.json")
            case("grape", n, "grape", tasks["grape"](p))
    return record


def run(args):
    if args.system:
        records = [run_system(args.system, args.problems, args.threads, args.quick,
                              args.tasks)]
    else:
        # One child process per system (see the module docstring).
        records, failed = [], []
        for system in SYSTEMS:
            print(f"{system}, {args.threads} thread(s):", file=sys.stderr, flush=True)
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "record.json"
                cmd = [sys.executable, __file__, "run", "--problems", str(args.problems),
                       "--threads", str(args.threads), "--out", str(out), "--system", system]
                if args.quick:
                    cmd.append("--quick")
                if args.tasks:
                    cmd += ["--tasks", ",".join(args.tasks)]
                if subprocess.run(cmd).returncode != 0 or not out.exists():
                    failed.append(system)
                    continue
                # A system with none of the --tasks has nothing to report.
                records += [r for r in json.loads(out.read_text()) if r["results"]]
        if failed:
            write_json(args.out, records)
            sys.exit(f"error: {', '.join(failed)} failed; wrote the others to {args.out}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, records)
    if not args.system:
        print(f"wrote {args.out}", file=sys.stderr)


# --------------------------------------------------------------------------------------
# check
# --------------------------------------------------------------------------------------

def check(problems, max_n):
    """Check the cforward and grape peers once, untimed, in one process at 1 thread:
    cforward: torch's and JAX's exp(X) against SciPy's;
    grape: torch's and JAX's F and dF/du against each other, F against the numpy/SciPy
    reference `grape_fidelity`, a few gradient entries against central differences of
    it, and qutip-qtrl's PSU error e and de/du (both routes) converted to F = (1 - e)^2
    and dF/du = -2 (1 - e) de/du. Returns the exit status (1 if anything is off)."""
    set_thread_env(1)
    import numpy as np

    builders = {s: SETUP[s](1)[2] for s in ("torch", "jax", "scipy")}
    problems = Path(problems)
    failed = []

    def verdict(label, err, tol):
        ok = err <= tol
        print(f"  {label:48} {err:8.1e}  (tolerance {tol:.0e}){'' if ok else '  FAILED'}")
        if not ok:
            failed.append(label)

    def rel(x, ref):  # max |x - ref| / max |ref|
        x, ref = np.asarray(x), np.asarray(ref)
        return float(np.max(np.abs(x - ref)) / np.max(np.abs(ref)))

    def run_case(system, task, p):
        c = builders[system][task](p)
        return c.sync(c.call())

    print("cforward: exp(X) against scipy.linalg.expm")
    for n in (n for n in CFORWARD_NS if n <= max_n):
        p = CDense(problems / f"cdense_n{n}.json")
        ref = run_case("scipy", "cforward", p)
        for system in ("torch", "jax"):
            verdict(f"n={n:<3} {system}", rel(run_case(system, "cforward", p), ref), 1e-12)

    print("grape: F and dF/du")
    h = 1e-5  # central differences: truncation ~h^2, rounding ~1e-16 F/h
    for n in (n for n in GRAPE_NS if n <= max_n):
        p = Grape(problems / f"grape_n{n}.json")
        F_t, g_t = (np.asarray(x) for x in run_case("torch", "grape", p))
        F_j, g_j = (np.asarray(x) for x in run_case("jax", "grape", p))
        print(f" n={n}: F = {float(F_j):.16g}")
        verdict(f"n={n:<3} F, torch vs jax", rel(F_t, F_j), 1e-10)
        verdict(f"n={n:<3} dF/du, torch vs jax", rel(g_t, g_j), 1e-10)
        verdict(f"n={n:<3} F, numpy/scipy vs jax", rel(grape_fidelity(p, p.u), F_j), 1e-10)
        N = p.slices
        entries = [(0, 0), (N // 3, 1), (2 * N // 3, 2), (N - 1, 3)]
        fd = []
        for k, j in entries:
            du = np.zeros_like(p.u)
            du[k, j] = h
            fd.append((grape_fidelity(p, p.u + du) - grape_fidelity(p, p.u - du)) / (2 * h))
        verdict(f"n={n:<3} dF/du, 4 central differences vs jax",
                float(np.max(np.abs(np.array(fd) - [g_j[e] for e in entries]))
                      / np.max(np.abs(g_j))), 1e-7)
        for route in QTRL_ROUTES:
            e, g = qtrl_grape(p, route)()
            verdict(f"n={n:<3} qtrl {route}: e vs 1 - sqrt(F)", rel(e, 1 - math.sqrt(F_j)),
                    1e-10)
            verdict(f"n={n:<3} qtrl {route}: -2 (1 - e) de/du vs dF/du",
                    rel(-2 * (1 - e) * np.asarray(g), g_j), 1e-10)
    print("all checks passed" if not failed else f"{len(failed)} check(s) failed")
    return 1 if failed else 0


def task_list(text):
    tasks = [t for t in text.split(",") if t]
    unknown = set(tasks) - set(TASKS)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown task(s) {', '.join(sorted(unknown))}; "
                                         f"the tasks are {', '.join(TASKS)}")
    return tasks


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen", help="write the seeded problem files")
    g.add_argument("--out", required=True, type=Path)
    r = sub.add_parser("run", help="time the peer systems")
    r.add_argument("--problems", required=True, type=Path)
    r.add_argument("--threads", required=True, type=int)
    r.add_argument("--out", required=True, type=Path)
    r.add_argument("--quick", action="store_true", help=f"n <= {QUICK_MAX_N}, 3 measurements")
    r.add_argument("--system", choices=SYSTEMS, help="one system, in this process")
    r.add_argument("--tasks", type=task_list,
                   help=f"comma-separated subset of {','.join(TASKS)}")
    c = sub.add_parser("check", help="check the grape and cforward peers against each other "
                                     "and finite differences (no timing)")
    c.add_argument("--problems", required=True, type=Path)
    c.add_argument("--max-n", type=int, default=64, help="largest n checked (default 64)")
    args = ap.parse_args()
    if args.cmd == "gen":
        gen(args.out)
    elif args.cmd == "check":
        sys.exit(check(args.problems, args.max_n))
    else:
        run(args)


if __name__ == "__main__":
    main()
