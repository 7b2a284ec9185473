#!/usr/bin/env python3
"""Recompute the Taylor θ_m tables of Al-Mohy & Higham (2011), m = 1..55.

Al-Mohy & Higham, *Computing the action of the matrix exponential, with an application to
exponential integrators*, SIAM J. Sci. Comput. 33(2), 2011, §3: with the truncated Taylor
series T_m(x) = Σ_{k≤m} x^k/k!,

    h_{m+1}(x) = log(e^{-x} T_m(x)) = Σ_{k ≥ m+1} c_k x^k,   h̃_{m+1}(x) = Σ_{k ≥ m+1} |c_k| x^k,

and θ_m = max{θ ≥ 0 : h̃_{m+1}(θ)/θ ≤ tol}. Then T_m(s⁻¹A)^s = e^{A + ΔA} with
‖ΔA‖ ≤ tol·‖A‖ whenever ‖s⁻¹A‖ ≤ θ_m (Theorem 3.1 / eq. 3.5 of the paper).

The series coefficients are computed in 100-digit arithmetic (mpmath) and the series is
truncated after N terms; the script checks that N = 250 and N = 400 give the same θ to 14
digits (the paper used 150 terms). Tolerances: tol = 2^-53 (f64) and tol = 2^-24 (f32).

Run: python3 scripts/theta_taylor.py        (prints the two Rust tables)
"""
import sys
from math import factorial

import mpmath as mp

mp.mp.dps = 100
M_MAX = 55


def log_series_coeffs(m, n_terms):
    """Coefficients c_0..c_{N-1} of log(e^{-x} T_m(x))."""
    p = [mp.mpf(1) / factorial(k) if k <= m else mp.mpf(0) for k in range(n_terms)]
    # g = log p, g' = p'/p: solve p * g' = p' for g' coefficients (p[0] = 1).
    dp = [p[k + 1] * (k + 1) for k in range(n_terms - 1)] + [mp.mpf(0)]
    gp = [mp.mpf(0)] * n_terms
    for k in range(n_terms):
        s = dp[k]
        for j in range(1, min(k, m) + 1):
            s -= p[j] * gp[k - j]
        gp[k] = s
    c = [mp.mpf(0)] + [gp[k - 1] / k for k in range(1, n_terms)]
    c[1] -= 1  # the -x of e^{-x}
    return c


def theta(m, tol, n_terms):
    c = [abs(x) for x in log_series_coeffs(m, n_terms)]
    assert all(abs(x) < mp.mpf(10) ** -80 for x in c[: m + 1]), "c_k must vanish for k <= m"

    def bound(t):
        return mp.fsum(c[k] * t ** (k - 1) for k in range(m + 1, n_terms))

    lo, hi = mp.mpf(0), mp.mpf(1)
    while bound(hi) <= tol:
        lo, hi = hi, 2 * hi
    for _ in range(120):
        mid = (lo + hi) / 2
        if bound(mid) <= tol:
            lo = mid
        else:
            hi = mid
    return lo


def table(tol):
    out = []
    for m in range(1, M_MAX + 1):
        a = theta(m, tol, 250)
        b = theta(m, tol, 400)
        rel = abs(a - b) / b
        assert rel < mp.mpf(10) ** -14, f"m={m}: truncation changes θ by {rel}"
        out.append(b)
    return out


if __name__ == "__main__":
    for name, tol in (("F64", mp.mpf(2) ** -53), ("F32", mp.mpf(2) ** -24)):
        vals = table(tol)
        print(f"pub(crate) const THETA_{name}: [f64; {M_MAX}] = [")
        for m, v in enumerate(vals, start=1):
            print(f"    {mp.nstr(v, 17, min_fixed=0, max_fixed=0)}, // m = {m}")
        print("];")
        sys.stdout.flush()
