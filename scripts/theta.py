#!/usr/bin/env python3
"""Recompute the Padé θ_m tables of Al-Mohy & Higham (2009) with exact rational arithmetic.

θ_m is the largest θ with  Σ_{k ≥ 2m+1} |c_k| θ^(k-1) ≤ u,  where
h_{2m+1}(x) = log(e^{-x} r_m(x)) = Σ c_k x^k  and r_m = p_m/q_m is the [m/m] Padé
approximant of e^x. Then ‖2^-s A‖ ≤ θ_m guarantees a relative backward error ≤ u
(Higham 2005, Al-Mohy & Higham 2009, §3). The series is truncated after N terms, as in
the papers (N = 150). Run: python3 scripts/theta.py
"""
from fractions import Fraction as F
from math import factorial

N = 150


def mul(a, b):
    out = [F(0)] * N
    for i, x in enumerate(a):
        if x == 0:
            continue
        for j in range(N - i):
            out[i + j] += x * b[j]
    return out


def inv(a):
    out = [F(0)] * N
    out[0] = 1 / a[0]
    for k in range(1, N):
        s = sum(a[j] * out[k - j] for j in range(1, k + 1) if a[j] != 0)
        out[k] = -s / a[0]
    return out


def coeffs(m):
    p = [F(0)] * N
    for j in range(m + 1):
        p[j] = F(factorial(2 * m - j) * factorial(m), factorial(2 * m) * factorial(j) * factorial(m - j))
    q = [c * (-1) ** j for j, c in enumerate(p)]
    emx = [F((-1) ** k, factorial(k)) for k in range(N)]
    f = mul(mul(emx, p), inv(q))
    # log f: g' = f'/f
    df = [f[k + 1] * (k + 1) for k in range(N - 1)] + [F(0)]
    gp = mul(df, inv(f))
    return [F(0)] + [gp[k - 1] / k for k in range(1, N)]


def theta(m, u):
    c = [abs(float(x)) for x in coeffs(m)]
    bound = lambda t: sum(ck * t ** (k - 1) for k, ck in enumerate(c) if k >= 1)
    lo, hi = 0.0, 20.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if bound(mid) <= u:
            lo = mid
        else:
            hi = mid
    return lo


if __name__ == "__main__":
    for name, u in (("f64", 2.0 ** -53), ("f32", 2.0 ** -24)):
        print(name, ", ".join(f"{m}: {theta(m, u):.15e}" for m in (3, 5, 7, 9, 13)))
