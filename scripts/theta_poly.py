#!/usr/bin/env python3
"""Check the optimised Taylor evaluation schemes of expgrad's dense exponential and
recompute their θ bounds.

The schemes (crates/linalg/src/expm/taylor.rs) evaluate a polynomial P(A) ≈ e^A with fewer
matrix products than Paterson–Stockmeyer:

* T1, T2, T4 (0, 1, 2 products) and T8, T12, T18 (3, 4, 5 products): Bader, Blanes & Casas,
  "Computing the matrix exponential with an optimized Taylor polynomial approximation",
  Mathematics 7 (2019) 1174, eqs. (8)-(11) and (16)-(18); T_m is the truncated Taylor series.
* S24 and S30 (6 and 7 products): Sastre, Ibáñez & Defez, "Boosting the computation of the
  matrix exponential", Appl. Math. Comput. 340 (2019) 206-220 (the m = 24+, 30+ formulas of
  its evaluation code); P agrees with e^x to order 24 (30) and has degree 32 (40).

For each scheme this script
1. expands P exactly (rational arithmetic) from its coefficients *as rounded to f64* (what
   the Rust code evaluates), checks that p_k·k! = 1 for k ≤ m up to the coefficient
   rounding, and reports the largest deviation;
2. forms h(x) = log(e^{-x} P(x)) = Σ c_k x^k (k ≥ m+1 is the truncation error; the k ≤ m
   coefficients are the rounding-level deviations of step 1) and computes
   θ = max{θ : Σ_{k ≥ m+1} |c_k| θ^{k-1} ≤ u} for u = 2^-53 and 2^-24 (Al-Mohy & Higham
   2009/2011: then ‖2^-s A‖ ≤ θ gives relative backward error ≤ u), with the series
   truncated after N = 150 terms (the result is checked against N = 200);
3. prints c_{m+1} (the leading coefficient, used by the over-scaling correction ℓ).

Run: python3 scripts/theta_poly.py      (mpmath required; prints the Rust tables)
"""
from fractions import Fraction as F
from math import factorial

import mpmath as mp

mp.mp.dps = 60


class P:
    """A polynomial with exact rational coefficients."""

    def __init__(self, c):
        self.c = [F(x) for x in c]

    def __add__(self, o):
        n = max(len(self.c), len(o.c))
        return P([(self.c[i] if i < len(self.c) else 0) + (o.c[i] if i < len(o.c) else 0) for i in range(n)])

    def __mul__(self, o):
        out = [F(0)] * (len(self.c) + len(o.c) - 1)
        for i, x in enumerate(self.c):
            for j, y in enumerate(o.c):
                out[i + j] += x * y
        return P(out)

    def scale(self, a):
        return P([F(a) * x for x in self.c])


def comb(coefs, basis):
    """Σ coefs[i]·basis[i], coefficients rounded to f64 first (as the Rust code does)."""
    out = P([0])
    for a, b in zip(coefs, basis):
        out = out + b.scale(F(float(a)))
    return out


I, A = P([1]), P([0, 1])


def t1():
    return I + A


def t2():
    return I + A + comb([0.5], [A * A])


def t4():
    a2 = A * A
    return I + A + a2 * comb([0.5, 1 / 6, 1 / 24], [I, A, a2])


def t8():
    s = mp.sqrt(177)
    x3 = mp.mpf(2) / 3
    x1 = x3 * (1 + s) / 88
    x2 = x3 * (1 + s) / 352
    x4 = (-271 + 29 * s) / (315 * x3)
    x5 = (-11 + 11 * s) / (1260 * x3)
    x6 = (-99 + 11 * s) / (5040 * x3)
    # Some implementations have 5040 here, which leaves p_5..p_8 off by 10-33% (p_8·8! = 2/3);
    # solving the order conditions p_k = 1/k! (k ≤ 8) with x3 = 2/3 gives 3360.
    x7 = (89 - s) / (3360 * x3)
    y2 = (857 - 58 * s) / 630
    a2 = A * A
    a4 = a2 * comb([x1, x2], [A, a2])
    a8 = comb([x3, 1], [a2, a4]) * comb([x4, x5, x6, x7], [I, A, a2, a4])
    return I + A + comb([y2], [a2]) + a8


B12 = [
    [9.0198e-16, 0.46932117595418237389, -0.20099424927047284052, -0.04623946134063071740],
    [5.31597895759871264183, 1.19926790417132231573, 0.01179296240992997031, 0.01108844528519167989],
    [0.18188869982170434744, 0.05502798439925399070, 0.09351590770535414968, 0.00610700528898058230],
    [-2.0861320e-13, -0.13181061013830184015, -0.02027855540589259079, -0.00675951846863086359],
]


def t12():
    a2 = A * A
    a3 = a2 * A
    q = [comb(row, [I, A, a2, a3]) for row in B12]
    q61 = q[2] + q[3] * q[3]
    return q[0] + (q[1] + q61) * q61


B18 = [
    [0.0, -1.00365581030144618291e-01, -8.02924648241156932449e-03, -8.92138498045729985177e-04, 0.0],
    [0.0, 3.97849749499645077844e-01, 1.36783778460411720168e00, 4.98289622525382669416e-01, -6.37898194594723280150e-04],
    [-1.09676396052962061844e01, 1.68015813878906206114e00, 5.71779846478865511061e-02, -6.98210122488052056106e-03, 3.34975017086070470649e-05],
    [-9.04316832390810593223e-02, -6.76404519071381882256e-02, 6.75961301770459654925e-02, 2.95552570429315521194e-02, -1.39180257516060693404e-05],
    [0.0, 0.0, -9.23364619367118555360e-02, -1.69364939002081722752e-02, -1.40086798182036094347e-05],
]


def t18():
    a2 = A * A
    a3 = a2 * A
    a6 = a3 * a3
    q = [comb(row, [I, A, a2, a3, a6]) for row in B18]
    q91 = q[0] * q[4] + q[3]
    return q[1] + (q[2] + q91) * q91


S24 = [
    1.172460202011541e-08, 9.379681616092325e-08, 1.406952242413849e-06, 2.294895435403922e-05,
    2.024281516007681e-03, 1.430688980356062e-02, 1.952545843107103e-01, 2.865001388641538e00,
    -1.204349003694297e-03, 2.547056607231984e-03, 2.721930992200371e-02, 2.498969092549990e02,
    2.018492049443954e-02, 1.965098904519709e-01, 1.739158441630994e00, 8.290085751394409e00,
    2.919349464582001e-04, 1.758035313846159e-04, 1.606091400855144e-02, 3.655234395347475e-02,
    2.243394407902074e-03, -3.005000525808178e-02, 1.969779342112314e-01,
]

S30 = [
    1.556371639324141e-11, 1.556371639324141e-10, 2.957106114715868e-09, 6.204734935438909e-08,
    1.313681421698863e-06, 3.501669195497238e-05, 1.283057135586989e-03, 2.479095151834799e-02,
    4.155284057336423e-01, 5.951585263506065e00, 3.753710741641900e-05, 2.100333647757715e-04,
    2.630043177655382e-03, 3.306559506631931e-02, 6.175954247606858e01, 2.742336655922557e-03,
    3.005135891320298e-02, 2.857950268422422e-01, 2.991654767354374e00, 1.110689398085882e01,
    8.572383602707347e-06, 9.027588625491207e-05, 1.121744731945438e-03, 8.139086096860678e-03,
    -2.638236222337760e-04, 6.263526066651383e-05, 4.985549176118462e-03, 7.705596948494946e-02,
    5.029302610017967e-01,
]


def sastre(c, q):
    """Powers A..A^q; y0 = A^q·(Σ c·A^j); y1 = (y0 + ...)(y0 + ...) + c·y0 + ...;
    P = y1·(y0 + ...) + ... + A + I. c indexes the paper's c(1..)."""
    pw = [I, A]
    for _ in range(2, q + 1):
        pw.append(pw[-1] * A)
    hi = lambda off: [pw[q - j] for j in range(q)]  # A^q, A^{q-1}, ..., A
    k = 0

    def take(cnt):
        nonlocal k
        out = c[k:k + cnt]
        k += cnt
        return out

    y0 = pw[q] * comb(take(q), hi(0))
    f1 = y0 + comb(take(q), hi(0))
    f2 = y0 + comb(take(q - 1), hi(0)[:-1])
    c12 = take(1)[0]
    y1 = f1 * f2 + comb([c12], [y0]) + comb(take(q), hi(0))
    f3 = y0 + comb(take(q), hi(0))
    return y1 * f3 + comb(take(q - 1), hi(0)[:-1]) + A + I


SCHEMES = [
    # name, order m, products, polynomial
    ("T1", 1, 0, t1),
    ("T2", 2, 1, t2),
    ("T4", 4, 2, t4),
    ("T8", 8, 3, t8),
    ("T12", 12, 4, t12),
    ("T18", 18, 5, t18),
    ("S24", 24, 6, lambda: sastre(S24, 4)),
    ("S30", 30, 7, lambda: sastre(S30, 5)),
]


def log_series(p, n_terms):
    """c_0..c_{N-1} of log(e^{-x} P(x)), exactly."""
    emx = [F((-1) ** k, factorial(k)) for k in range(n_terms)]
    g = [F(0)] * n_terms
    for i, x in enumerate(p.c):
        if x == 0:
            continue
        for j in range(n_terms - i):
            g[i + j] += x * emx[j]
    # log g: (log g)' = g'/g with g[0] ≈ 1.
    l = [F(0)] * n_terms
    # l_k = (g_k - Σ_{j=1}^{k-1} (j/k) l_j g_{k-j}) / g_0   for k ≥ 1
    for k in range(1, n_terms):
        s = g[k] - sum(F(j, k) * l[j] * g[k - j] for j in range(1, k) if l[j] != 0 and g[k - j] != 0)
        l[k] = s / g[0]
    l[0] = F(0)  # log g_0 (≈ 0, reported separately)
    return l, g[0]


def theta(c, m, tol):
    cm = [abs(mp.mpf(x.numerator) / x.denominator) for x in c]

    def bound(t):
        return mp.fsum(cm[k] * t ** (k - 1) for k in range(m + 1, len(cm)))

    lo, hi = mp.mpf(0), mp.mpf(1)
    while bound(hi) <= tol:
        lo, hi = hi, 2 * hi
    for _ in range(100):
        mid = (lo + hi) / 2
        if bound(mid) <= tol:
            lo = mid
        else:
            hi = mid
    return lo


def main():
    rows = []
    for name, m, prods, f in SCHEMES:
        p = f()
        dev = max(abs(float(p.c[k] * factorial(k)) - 1) for k in range(m + 1))
        c, g0 = log_series(p, 150)
        c2, _ = log_series(p, 200)
        th = {}
        for tag, tol in (("f64", mp.mpf(2) ** -53), ("f32", mp.mpf(2) ** -24)):
            a, b = theta(c, m, tol), theta(c2, m, tol)
            assert abs(a - b) / b < mp.mpf(10) ** -12, (name, tag, a, b)
            th[tag] = b
        lead = float(c2[m + 1])
        rows.append((name, m, prods, len(p.c) - 1, dev, th["f64"], th["f32"], lead))
        print(f"{name:4} order {m:2} degree {len(p.c) - 1:2} products {prods}  "
              f"max|p_k k! - 1| (k<=m) = {dev:.1e}  theta_f64 = {mp.nstr(th['f64'], 16)}  "
              f"theta_f32 = {mp.nstr(th['f32'], 16)}  c_(m+1) = {lead:.6e}")
    print("\n// name, order, products, θ (f64), θ (f32), |c_{m+1}|")
    for name, m, prods, deg, dev, t64, t32, lead in rows:
        print(f"    ({m}, {prods}, {mp.nstr(t64, 16)}, {mp.nstr(t32, 16)}, {abs(lead):.16e}), // {name}")


if __name__ == "__main__":
    main()
