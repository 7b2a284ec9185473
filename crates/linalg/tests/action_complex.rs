//! The action of the exponential `exp(tX)·V` and its exact reverse pass over complex scalars
//! (`c64`, `c32`): complex dense `X` against the dense `expm` for real, negative, imaginary and
//! complex `t`; Hermitian sparse `H` (a tight-binding chain with Peierls phases and a random
//! sparse Hermitian, CSR and CSC) with `t = −iτ`, the propagator, whose result keeps the norm
//! of `V`; the reverse pass (`V̄`, `t̄`, a dense `X̄`, `X̄` on a sparse pattern, `d̄` and `Ā` of
//! `Diag(d)·A` for complex `d`) against the dense route and against central differences of
//! `ℓ = Re⟨C, W⟩` in the real and imaginary parts separately; c32 against c64; real input
//! as complex against the real path; typed errors.
//!
//! The cotangents are those of the real inner product `⟨A, B⟩ = Re tr(Aᴴ B)`: for
//! `ℓ = Re⟨C, W⟩`, `W = exp(tX)·V`, the dense route is `V̄ = exp(tX)ᴴ·C`,
//! `X̄ = conj(t)·L((tX)ᴴ, C·Vᴴ)` (`Expm::frechet_adjoint` of `tX`), `t̄ = ⟨X·W, C⟩`, and for
//! `X = Diag(d)·A`, `d̄ᵢ = Σⱼ X̄ᵢⱼ·conj(Aᵢⱼ)` (docs/math.md §8, "The action over complex
//! scalars").
//!
//! Tolerances, derived from the condition number as in `action_forward.rs` and
//! `action_reverse.rs`: `(m·s + 3n)·u·κ` relative for a value against the dense reference
//! (`m·s` products of the recurrence, each a backward perturbation of order `u`, `3n·u` for
//! the dense reference), `(2m·s + 3n)·u·κ` for a gradient (the reverse recurrence adds `m·s`
//! products), where `κ = 2‖L(tX,·)‖·‖tX‖·‖V‖/‖w‖ + ‖e^{tX}‖·‖V‖/‖w‖` (Frobenius norms) is the
//! relative condition number of the action, `‖L‖` from the power method on `L*L` with
//! `L* = L((tX)ᴴ, ·)` (a lower bound, hence the 2). For a skew-Hermitian `tH` the condition is
//! known exactly: `L(tH, E) = ∫₀¹ e^{σtH}·E·e^{(1−σ)tH} dσ` with unitary factors, so
//! `‖L(tH,·)‖₂ ≤ 1`, and `κ ≤ ‖tH‖₂ + 1 ≤ ‖tH‖₁ + 1` (`‖H‖₂ ≤ ‖H‖₁` for Hermitian `H`).
//! Central differences: the error of `(f(h) − f(−h))/2h` is at most `h²M₃/6 + 2ε/h`, with `M₃`
//! a bound on `|f'''|` (derived at each use from the series of the exponential) and `ε` the
//! evaluation error of `ℓ` (the forward tolerance times `‖C‖·‖W‖`), at the step
//! `h = (6ε/M₃)^{1/3}` that minimises it; plus the gradient's own tolerance.

use expgrad_linalg::*;
use expgrad_testkit::{crandn, rng};
use faer::sparse::{SparseColMat, SparseRowMat, Triplet};
use faer::{Mat, MatRef, Scale, c32, c64};
use rand::Rng;
use rand::rngs::StdRng;

const U: f64 = f64::EPSILON / 2.0;
const U32: f64 = f32::EPSILON as f64 / 2.0;

fn cz(re: f64, im: f64) -> c64 {
    c64::new(re, im)
}

fn scaled(a: MatRef<'_, c64>, s: c64) -> Mat<c64> {
    a * Scale(s)
}

/// `⟨A, B⟩ = tr(Aᴴ B) = Σ conj(Aᵢⱼ)·Bᵢⱼ` (complex; its real part is the real inner product).
fn cinner(a: MatRef<'_, c64>, b: MatRef<'_, c64>) -> c64 {
    let mut s = cz(0.0, 0.0);
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            s += a[(i, j)].conj() * b[(i, j)];
        }
    }
    s
}

/// `‖a − b‖_F / ‖b‖_F`.
fn crel(a: MatRef<'_, c64>, b: MatRef<'_, c64>) -> f64 {
    (a - b).norm_l2() / b.norm_l2().max(1e-300)
}

/// The dense matrix of an operator.
fn dense<Op: LinOp<c64> + ?Sized>(op: &Op) -> Mat<c64> {
    let n = op.dim();
    let mut out = Mat::zeros(n, n);
    op.apply(out.as_mut(), Mat::<c64>::identity(n, n).as_ref());
    out
}

/// `‖L(A, ·)‖` (Frobenius to Frobenius) from 12 steps of the power method on `L*L`,
/// `L* = L(Aᴴ, ·)`, from a fixed start: a lower bound.
fn frechet_norm(f: &Expm<c64>) -> f64 {
    let n = f.dim();
    let mut z = Mat::<c64>::from_fn(n, n, |i, j| {
        cz(
            1.0 + ((i * 7 + j * 3) % 5) as f64,
            ((i + 2 * j) % 3) as f64 - 1.0,
        )
    });
    let mut norm = 0.0;
    for _ in 0..12 {
        z = scaled(z.as_ref(), cz(1.0 / z.norm_l2(), 0.0));
        let y = f.frechet(z.as_ref());
        norm = y.norm_l2();
        if norm == 0.0 {
            break;
        }
        z = f.frechet_adjoint(scaled(y.as_ref(), cz(1.0 / norm, 0.0)).as_ref());
    }
    norm
}

/// The dense route for `ℓ = Re⟨C, W⟩`, `W = exp(tX)·V`, and the condition number `κ` of the
/// action (module doc).
struct Route {
    w: Mat<c64>,
    vbar: Mat<c64>,
    xbar: Mat<c64>,
    tbar: c64,
    /// `‖X·W‖_F`, the scale of `t̄`.
    xw_norm: f64,
    /// `‖e^{tX}‖_F`.
    e_norm: f64,
    cond: f64,
}

fn dense_route(x: MatRef<'_, c64>, t: c64, v: MatRef<'_, c64>, c: MatRef<'_, c64>) -> Route {
    let tx = scaled(x, t);
    let f = Expm::new(tx.as_ref());
    let w = f.value() * v;
    let vbar = f.value().adjoint() * c;
    let xbar = scaled(
        f.frechet_adjoint((c * v.adjoint()).as_ref()).as_ref(),
        t.conj(),
    );
    let xw = x * &w;
    let tbar = cinner(xw.as_ref(), c);
    let (nv, nw) = (v.norm_l2(), w.norm_l2());
    let e_norm = f.value().norm_l2();
    let cond = 2.0 * frechet_norm(&f) * tx.norm_l2() * nv / nw + e_norm * nv / nw;
    Route {
        w,
        vbar,
        xbar,
        tbar,
        xw_norm: xw.norm_l2(),
        e_norm,
        cond,
    }
}

/// `(m·s + 3n)·u·κ`.
fn forward_tol(u: f64, n: usize, (m, s): (usize, usize), cond: f64) -> f64 {
    ((m * s) as f64 + 3.0 * n as f64) * u * cond
}

/// `(2m·s + 3n)·u·κ`.
fn gradient_tol(u: f64, n: usize, (m, s): (usize, usize), cond: f64) -> f64 {
    ((2 * m * s) as f64 + 3.0 * n as f64) * u * cond
}

/// The central difference of `f` at 0 and its error bound `h²M₃/6 + 2ε/h` at the step
/// `h = (6ε/M₃)^{1/3}` (`h = 1`, bound `2ε`, for an affine `f`, `M₃ = 0`). The callers' `M₃`
/// hold for `|h| ≤ 10⁻²`.
fn central_difference(f: impl Fn(f64) -> f64, eps: f64, m3: f64) -> (f64, f64) {
    let h = if m3 > 0.0 {
        (6.0 * eps / m3).cbrt()
    } else {
        1.0
    };
    assert!(
        m3 == 0.0 || h <= 1e-2,
        "step {h:.2e} outside the range of M₃"
    );
    let fd = (f(h) - f(-h)) / (2.0 * h);
    (fd, h * h * m3 / 6.0 + 2.0 * eps / h)
}

/// A tight-binding chain `H = Σ wᵢ|i⟩⟨i| + e^{iφᵢ}|i⟩⟨i+1| + h.c.` with on-site energies
/// `wᵢ ∈ [−1, 1)` and Peierls phases `φᵢ` (so that `H` is genuinely complex), as triplets.
fn chain(r: &mut StdRng, n: usize) -> Vec<Triplet<usize, usize, c64>> {
    let mut trip = Vec::new();
    for i in 0..n {
        trip.push(Triplet::new(i, i, cz(r.random_range(-1.0..1.0), 0.0)));
        if i + 1 < n {
            let phi: f64 = r.random_range(-3.0..3.0);
            let hop = cz(phi.cos(), phi.sin());
            trip.push(Triplet::new(i, i + 1, hop));
            trip.push(Triplet::new(i + 1, i, hop.conj()));
        }
    }
    trip
}

/// A random sparse Hermitian matrix, `(A + Aᴴ)/2` for `A` with about `per_row` complex
/// normal entries per row, as triplets.
fn random_hermitian(r: &mut StdRng, n: usize, per_row: usize) -> Vec<Triplet<usize, usize, c64>> {
    let mut a = Mat::<c64>::zeros(n, n);
    for i in 0..n {
        for _ in 0..per_row {
            let j = r.random_range(0..n);
            a[(i, j)] = cz(r.random_range(-1.0..1.0), r.random_range(-1.0..1.0));
        }
    }
    let h = scaled((&a + a.adjoint()).as_ref(), cz(0.5, 0.0));
    let mut trip = Vec::new();
    for j in 0..n {
        for i in 0..n {
            if h[(i, j)] != cz(0.0, 0.0) {
                trip.push(Triplet::new(i, j, h[(i, j)]));
            }
        }
    }
    trip
}

fn csr(n: usize, trip: &[Triplet<usize, usize, c64>]) -> SparseRowMat<usize, c64> {
    SparseRowMat::try_new_from_triplets(n, n, trip).unwrap()
}

fn csc(n: usize, trip: &[Triplet<usize, usize, c64>]) -> SparseColMat<usize, c64> {
    SparseColMat::try_new_from_triplets(n, n, trip).unwrap()
}

/// The times of the dense tests: positive and negative real, imaginary, complex.
fn times() -> [c64; 6] {
    [
        cz(0.8, 0.0),
        cz(-1.5, 0.0),
        cz(0.0, -3.0),
        cz(1.2, -0.9),
        cz(-0.4, 2.0),
        cz(0.0, 1e-3),
    ]
}

#[test]
fn dense_complex_matches_expm() {
    let mut worst: f64 = 0.0;
    for (n, norm, seed) in [
        (4usize, 1.0, 1u64),
        (17, 3.0, 2),
        (30, 8.0, 3),
        (60, 1.0, 4),
    ] {
        let mut r = rng(seed);
        // ‖X‖₂ ≈ 2·norm for a complex Gaussian scaled by 1/√n, plus a complex multiple of I
        // (so that the trace shift is at work).
        let x = scaled(
            crandn(&mut r, n, n).as_ref(),
            cz(norm / (n as f64).sqrt(), 0.0),
        ) + Mat::<c64>::identity(n, n) * Scale(cz(0.5, -1.0));
        for k in [1usize, 3] {
            let v = crandn(&mut r, n, k);
            let c = crandn(&mut r, n, k);
            for t in times() {
                let route = dense_route(x.as_ref(), t, v.as_ref(), c.as_ref());
                for params in [ActionParams::Auto, ActionParams::NormOnly] {
                    let opts = ExpmActionOptions::default().params(params);
                    let (w, st) = try_expm_multiply_with(&x, t, v.as_ref(), opts).unwrap();
                    let tol = forward_tol(U, n, (st.m, st.s), route.cond);
                    let err = crel(w.as_ref(), route.w.as_ref());
                    worst = worst.max(err / tol);
                    assert!(
                        err <= tol,
                        "n = {n}, k = {k}, t = {t}, {params:?}: {err:.2e} > {tol:.2e} ({}, {})",
                        st.m,
                        st.s
                    );
                    // The taped forward gives the untaped value bitwise.
                    let act = ExpmAction::new(&x, t, v.as_ref(), opts);
                    assert_eq!(act.value(), w.as_ref());
                    assert_eq!(act.params(), (st.m, st.s));
                }
            }
        }
    }
    println!("dense complex: worst error / tolerance {worst:.3}");
}

#[test]
fn nonnormal_complex_estimates_the_powers() {
    // 2×2 Jordan-like blocks [[λₖ, β], [0, λₖ]] with |β| = 500 ≫ |λₖ|: ‖X‖₁ ≈ 500 while
    // ‖X^p‖₁^{1/p} ≈ (p·|β|·|λ|^{p−1})^{1/p} is far smaller, so with ν = |t|·‖X_s‖₁ above the
    // skip bound Auto estimates the powers (complex sign vectors, products with Xᵀ conjugated
    // for Bᴴ) and takes fewer Taylor products than NormOnly.
    let n = 40;
    let beta = cz(300.0, 400.0);
    let x = Mat::<c64>::from_fn(n, n, |i, j| {
        let k = (i / 2) as f64;
        if i == j {
            cz(-0.5 + 0.05 * k, 0.3 * (i / 2 % 4) as f64)
        } else if j == i + 1 && i % 2 == 0 {
            beta
        } else {
            cz(0.0, 0.0)
        }
    });
    let mut r = rng(21);
    let v = crandn(&mut r, n, 1);
    let c = crandn(&mut r, n, 1);
    for t in [cz(1.0, 0.0), cz(0.0, 1.0), cz(-0.6, 0.8)] {
        let route = dense_route(x.as_ref(), t, v.as_ref(), c.as_ref());
        let auto = ExpmActionOptions::default();
        let (w, st) = try_expm_multiply_with(&x, t, v.as_ref(), auto).unwrap();
        let norm_only = auto.params(ActionParams::NormOnly);
        let (w_n, st_n) = try_expm_multiply_with(&x, t, v.as_ref(), norm_only).unwrap();
        assert!(st.norm_products > 0, "t = {t}: no power was estimated");
        assert!(st.m * st.s < st_n.m * st_n.s, "t = {t}: {st:?} vs {st_n:?}");
        for (name, w, st) in [("Auto", &w, st), ("NormOnly", &w_n, st_n)] {
            let tol = forward_tol(U, n, (st.m, st.s), route.cond);
            let err = crel(w.as_ref(), route.w.as_ref());
            assert!(
                err <= tol,
                "t = {t}, {name}: {err:.2e} > {tol:.2e} ({st:?})"
            );
        }
    }
}

#[test]
fn hermitian_sparse_propagator_is_unitary() {
    // W = exp(−iτH)·V with H Hermitian: ‖W e_j‖ = ‖V e_j‖ for every column. The defect is at
    // most the forward error, `(m·s + n)·u·κ` relative with κ ≤ 1 + ‖τH‖₁ (module doc; `n·u`
    // for the norms' sums instead of a dense reference).
    let mut r = rng(31);
    let (mut worst, mut largest): (f64, f64) = (0.0, 0.0);
    let cases = [
        ("chain", 400usize, chain(&mut r, 400)),
        ("random Hermitian", 300, random_hermitian(&mut r, 300, 4)),
    ];
    for (name, n, trip) in cases {
        let (h_r, h_c) = (csr(n, &trip), csc(n, &trip));
        let h_norm = LinOp::norm1(&h_r).unwrap();
        assert_eq!(LinOp::norm1(&h_c), Some(h_norm));
        let v = crandn(&mut r, n, 2);
        for tau in [0.5, 10.0, 100.0] {
            let t = cz(0.0, -tau);
            let (w_r, st) =
                try_expm_multiply_with(&h_r, t, v.as_ref(), ExpmActionOptions::default()).unwrap();
            let w_c = expm_multiply(&h_c, t, v.as_ref());
            let tol = ((st.m * st.s) as f64 + n as f64) * U * (1.0 + tau * h_norm);
            for (storage, w) in [("CSR", &w_r), ("CSC", &w_c)] {
                for j in 0..v.ncols() {
                    let defect = (w.col(j).norm_l2() / v.col(j).norm_l2() - 1.0).abs();
                    worst = worst.max(defect / tol);
                    largest = largest.max(defect / (n as f64 * U * tau * h_norm));
                    assert!(
                        defect <= tol,
                        "{name} {storage}, τ = {tau}: |‖w‖/‖v‖ − 1| = {defect:.2e} > {tol:.2e} \
                         ({}, {})",
                        st.m,
                        st.s
                    );
                }
            }
            // Both storages apply the same operator: the same result to rounding.
            assert!(crel(w_c.as_ref(), w_r.as_ref()) <= tol);
        }
    }
    println!(
        "unitarity: worst defect / tolerance {worst:.3}, largest defect / (n·u·‖τH‖₁) {largest:.3}"
    );
}

#[test]
fn hermitian_sparse_against_dense_and_its_gradient() {
    // A chain small enough for the dense route: the value, V̄, t̄ for t = −iτ, and X̄ on the
    // pattern (the gradient with respect to the stored values), CSR and CSC.
    let n = 60;
    let mut r = rng(41);
    let trip = chain(&mut r, n);
    let (h_r, h_c) = (csr(n, &trip), csc(n, &trip));
    let h = dense(&h_r);
    let v = crandn(&mut r, n, 2);
    let c = crandn(&mut r, n, 2);
    for tau in [0.7, 6.0] {
        let t = cz(0.0, -tau);
        let route = dense_route(h.as_ref(), t, v.as_ref(), c.as_ref());
        let opts = ExpmActionOptions::default();
        // CSR.
        let act = ExpmAction::new(&h_r, t, v.as_ref(), opts);
        let mn = act.params();
        let mut g = act.cotangent();
        let (vbar, tbar) = act.vjp(c.as_ref(), &mut g);
        let ftol = forward_tol(U, n, mn, route.cond);
        let gtol = gradient_tol(U, n, mn, route.cond);
        assert!(crel(act.value(), route.w.as_ref()) <= ftol);
        assert!(crel(vbar.as_ref(), route.vbar.as_ref()) <= gtol);
        let dt = (tbar - route.tbar).norm();
        assert!(
            dt <= gtol * c.norm_l2() * route.xw_norm,
            "τ = {tau}: Δt̄ = {dt:.2e}"
        );
        // X̄ on the pattern: the restriction of the dense X̄.
        let want = mask(h.as_ref(), route.xbar.as_ref());
        let g_r = faer::sparse::SparseRowMatRef::new(h_r.symbolic(), g.value()).to_dense();
        let err = crel(g_r.as_ref(), want.as_ref());
        assert!(err <= gtol, "CSR X̄ on the pattern: {err:.2e} > {gtol:.2e}");
        // CSC, same quantities.
        let act_c = ExpmAction::new(&h_c, t, v.as_ref(), opts);
        let mut g_c = act_c.cotangent();
        let (vbar_c, tbar_c) = act_c.vjp(c.as_ref(), &mut g_c);
        assert!(crel(vbar_c.as_ref(), vbar.as_ref()) <= gtol);
        assert!((tbar_c - tbar).norm() <= gtol * c.norm_l2() * route.xw_norm);
        let g_cd = faer::sparse::SparseColMatRef::new(h_c.symbolic(), g_c.value()).to_dense();
        let err = crel(g_cd.as_ref(), want.as_ref());
        assert!(err <= gtol, "CSC X̄ on the pattern: {err:.2e} > {gtol:.2e}");
    }
}

/// `B` where `A ≠ 0`, else 0.
fn mask(a: MatRef<'_, c64>, b: MatRef<'_, c64>) -> Mat<c64> {
    Mat::from_fn(a.nrows(), a.ncols(), |i, j| {
        if a[(i, j)] != cz(0.0, 0.0) {
            b[(i, j)]
        } else {
            cz(0.0, 0.0)
        }
    })
}

/// `ℓ = Re⟨C, exp(tX)·V⟩` through the action itself.
fn loss<Op: LinOp<c64> + ?Sized>(op: &Op, t: c64, v: MatRef<'_, c64>, c: MatRef<'_, c64>) -> f64 {
    cinner(c, expm_multiply(op, t, v).as_ref()).re
}

#[test]
fn reverse_pass_matches_the_dense_route_and_central_differences() {
    let cases = [
        (12usize, 1.0, 11u64, cz(0.9, 0.0)),
        (20, 2.0, 12, cz(-1.3, 0.0)),
        (25, 1.5, 13, cz(0.7, -1.1)),
        (16, 1.0, 14, cz(0.0, -2.5)),
        (30, 3.0, 15, cz(-0.2, 1.6)),
    ];
    let (mut worst_route, mut worst_fd): (f64, f64) = (0.0, 0.0);
    for (n, norm, seed, t) in cases {
        let mut r = rng(seed);
        let x = scaled(
            crandn(&mut r, n, n).as_ref(),
            cz(norm / (n as f64).sqrt(), 0.0),
        ) + Mat::<c64>::identity(n, n) * Scale(cz(1.5, -2.0));
        let v = crandn(&mut r, n, 2);
        let c = crandn(&mut r, n, 2);
        let route = dense_route(x.as_ref(), t, v.as_ref(), c.as_ref());
        let opts = ExpmActionOptions::default();
        let act = ExpmAction::new(&x, t, v.as_ref(), opts);
        assert!(
            act.shift() != cz(0.0, 0.0),
            "n = {n}: the trace shift is not at work"
        );
        let mut xbar: DenseCotangent<c64> = act.cotangent();
        let (vbar, tbar) = act.vjp(c.as_ref(), &mut xbar);
        // The checkpointed reverse pass gives the same bits.
        let act_cp = ExpmAction::new(&x, t, v.as_ref(), opts.store(StorePolicy::Checkpoint));
        let mut xbar_cp = act_cp.cotangent();
        let (vbar_cp, tbar_cp) = act_cp.vjp(c.as_ref(), &mut xbar_cp);
        assert_eq!((vbar_cp.as_ref(), tbar_cp), (vbar.as_ref(), tbar));
        assert_eq!(xbar_cp.value(), xbar.value());

        // Against the dense route.
        let mn = act.params();
        let gtol = gradient_tol(U, n, mn, route.cond);
        let e_v = crel(vbar.as_ref(), route.vbar.as_ref());
        let e_x = crel(xbar.value(), route.xbar.as_ref());
        let e_t = (tbar - route.tbar).norm() / (c.norm_l2() * route.xw_norm);
        worst_route = worst_route.max(e_v.max(e_x).max(e_t) / gtol);
        assert!(
            e_v <= gtol && e_x <= gtol && e_t <= gtol,
            "n = {n}, t = {t}: V̄ {e_v:.2e} X̄ {e_x:.2e} t̄ {e_t:.2e} > {gtol:.2e} {mn:?}"
        );

        // Central differences of ℓ = Re⟨C, W⟩ in the real and imaginary parts separately:
        // ∂ℓ/∂Re z = Re z̄, ∂ℓ/∂Im z = Im z̄ for the cotangent z̄ under Re tr(Aᴴ B).
        let (cn, wn, xn) = (c.norm_l2(), route.w.norm_l2(), x.norm_l2());
        let eps = forward_tol(U, n, mn, route.cond) * cn * wn;
        for (part, dir) in [("Re", cz(1.0, 0.0)), ("Im", cz(0.0, 1.0))] {
            // t: f(h) = Re⟨C, e^{(t+h·dir)X}V⟩, |f'''| ≤ ‖C‖‖X‖³e^{h‖X‖}‖W‖ (X commutes with
            // e^{tX}); h ≤ 1e-2 below, so e^{h‖X‖} ≤ e^{0.01‖X‖}.
            let m3 = cn * xn.powi(3) * (0.01 * xn).exp() * wn;
            let (fd, fd_tol) =
                central_difference(|h| loss(&x, t + dir * h, v.as_ref(), c.as_ref()), eps, m3);
            let got = if part == "Re" { tbar.re } else { tbar.im };
            let tol = fd_tol + gtol * cn * route.xw_norm;
            worst_fd = worst_fd.max((got - fd).abs() / tol);
            assert!(
                (got - fd).abs() <= tol,
                "n = {n}, t = {t}: {part} t̄ = {got} vs central difference {fd} (tol {tol:.2e})"
            );
            // V: ℓ is affine in V (M₃ = 0, h = 1); ε at V ± E_ij, ‖W ± e^{tX}E_ij‖ ≤ ‖W‖ + ‖e^{tX}‖.
            let eps_v = forward_tol(U, n, mn, route.cond) * cn * (wn + route.e_norm);
            for &(i, j) in &[(0usize, 0usize), (n / 2, 1), (n - 1, 1)] {
                let (fd, fd_tol) = central_difference(
                    |h| {
                        let mut vp = v.clone();
                        vp[(i, j)] += dir * h;
                        loss(&x, t, vp.as_ref(), c.as_ref())
                    },
                    eps_v,
                    0.0,
                );
                let got = if part == "Re" {
                    vbar[(i, j)].re
                } else {
                    vbar[(i, j)].im
                };
                let tol = fd_tol + gtol * route.vbar.norm_l2();
                worst_fd = worst_fd.max((got - fd).abs() / tol);
                assert!(
                    (got - fd).abs() <= tol,
                    "n = {n}, t = {t}: {part} V̄[{i},{j}] = {got} vs {fd} (tol {tol:.2e})"
                );
            }
        }
    }
    println!(
        "reverse pass: worst error / tolerance {worst_route:.3} (dense route), \
         {worst_fd:.3} (central differences)"
    );
}

#[test]
fn diagonal_scaling_with_complex_d() {
    // X = Diag(d)·A (left) or A·Diag(d) (right), A sparse complex, d complex: d̄ against
    // d̄ᵢ = Σⱼ X̄ᵢⱼ·conj(Aᵢⱼ) (left; Σᵢ for the right side) with the dense X̄, and against central
    // differences in Re dᵢ and Im dᵢ; Ā on A's pattern (SparsePatternCotangent::with_scaling)
    // against conj(dᵢ)·X̄ᵢⱼ (left) and X̄ᵢⱼ·conj(dⱼ) (right).
    let n = 30;
    let mut r = rng(51);
    let trip: Vec<_> = random_hermitian(&mut r, n, 3)
        .into_iter()
        .map(|e| {
            Triplet::new(
                e.row,
                e.col,
                e.val * cz(1.0, 0.3 * (e.row as f64 - e.col as f64)),
            )
        })
        .collect();
    let a_c = csc(n, &trip);
    let a_r = csr(n, &trip);
    let a = dense(&a_c);
    let d: Vec<c64> = (0..n)
        .map(|_| cz(r.random_range(0.5..1.5), r.random_range(-0.5..0.5)))
        .collect();
    let t = cz(0.8, -1.2);
    // k = 1 (the sink's contiguous path) and k = 2, each side.
    let blocks: Vec<_> = [1usize, 2]
        .into_iter()
        .map(|k| (crandn(&mut r, n, k), crandn(&mut r, n, k)))
        .collect();
    for ((v, c), side) in blocks
        .iter()
        .flat_map(|b| [(b.clone(), Side::Left), (b.clone(), Side::Right)])
    {
        let op_c = DiagScaled::new(&d, &a_c, side);
        let op_r = DiagScaled::new(&d, &a_r, side);
        let x = dense(&op_c);
        let route = dense_route(x.as_ref(), t, v.as_ref(), c.as_ref());
        let act = ExpmAction::new(&op_c, t, v.as_ref(), ExpmActionOptions::default());
        let mn = act.params();
        let gtol = gradient_tol(U, n, mn, route.cond);
        let mut dbar = act.cotangent();
        let (vbar, tbar) = act.vjp(c.as_ref(), &mut dbar);
        assert!(crel(vbar.as_ref(), route.vbar.as_ref()) <= gtol);
        assert!((tbar - route.tbar).norm() <= gtol * c.norm_l2() * route.xw_norm);
        let want: Vec<c64> = (0..n)
            .map(|i| {
                (0..n).fold(cz(0.0, 0.0), |s, j| {
                    let (p, q) = if side == Side::Left { (i, j) } else { (j, i) };
                    s + route.xbar[(p, q)] * a[(p, q)].conj()
                })
            })
            .collect();
        // |Δd̄ᵢ| ≤ Σⱼ |ΔX̄ᵢⱼ|·|Aᵢⱼ| ≤ ‖ΔX̄‖_F·‖A‖_F.
        let scale = route.xbar.norm_l2() * a.norm_l2();
        for (i, (&got, &w)) in dbar.value().iter().zip(&want).enumerate() {
            assert!(
                (got - w).norm() <= gtol * scale,
                "{side:?}: d̄[{i}] = {got} vs {w} (tol {:.2e})",
                gtol * scale
            );
        }
        // The same action on CSR storage: the same d̄ to rounding.
        let act_r = ExpmAction::new(&op_r, t, v.as_ref(), ExpmActionOptions::default());
        let mut dbar_r = act_r.cotangent();
        act_r.vjp(c.as_ref(), &mut dbar_r);
        for (&g1, &g2) in dbar.value().iter().zip(dbar_r.value()) {
            assert!((g1 - g2).norm() <= gtol * scale);
        }
        // Central differences in Re dᵢ and Im dᵢ: X(h) = X + h·E with ‖E‖_F = ‖row (column) i
        // of A‖, |f'''| ≤ ‖C‖‖V‖|t|³‖E‖³e^{|t|(‖X‖ + h‖E‖)} (the series of the exponential).
        let (cn, wn, xn) = (c.norm_l2(), route.w.norm_l2(), x.norm_l2());
        let eps = forward_tol(U, n, mn, route.cond) * cn * wn;
        for i in [0usize, n / 2, n - 1] {
            let e_norm = if side == Side::Left {
                a.row(i).norm_l2()
            } else {
                a.col(i).norm_l2()
            };
            let tn = t.norm();
            let m3 = cn * v.norm_l2() * (tn * e_norm).powi(3) * (tn * (xn + 0.01 * e_norm)).exp();
            for (part, dir) in [("Re", cz(1.0, 0.0)), ("Im", cz(0.0, 1.0))] {
                let (fd, fd_tol) = central_difference(
                    |h| {
                        let mut dp = d.clone();
                        dp[i] += dir * h;
                        loss(&DiagScaled::new(&dp, &a_c, side), t, v.as_ref(), c.as_ref())
                    },
                    eps,
                    m3,
                );
                let got = if part == "Re" {
                    dbar.value()[i].re
                } else {
                    dbar.value()[i].im
                };
                let tol = fd_tol + gtol * scale;
                assert!(
                    (got - fd).abs() <= tol,
                    "{side:?}: {part} d̄[{i}] = {got} vs {fd} (tol {tol:.2e})"
                );
            }
        }
        // Ā on A's pattern: Diag(d)ᴴ·X̄ (left), X̄·Diag(d)ᴴ (right).
        let mut abar = SparsePatternCotangent::from_csc(a_c.as_ref()).with_scaling(&d, side);
        act.vjp(c.as_ref(), &mut abar);
        let got = faer::sparse::SparseColMatRef::new(a_c.symbolic(), abar.value()).to_dense();
        let want = Mat::from_fn(n, n, |i, j| {
            let f = if side == Side::Left { d[i] } else { d[j] };
            route.xbar[(i, j)] * f.conj()
        });
        let want = mask(a.as_ref(), want.as_ref());
        let err = crel(got.as_ref(), want.as_ref());
        assert!(
            err <= gtol,
            "{side:?}: Ā on the pattern {err:.2e} > {gtol:.2e}"
        );
    }
}

#[test]
fn sinks_add_the_conjugate_of_their_contraction() {
    // The sink contract over complex scalars: a term c·L·Rᵀ and γ·I of the bilinear sum B
    // give X̄ += conj(c·L·Rᵀ), conj(γ)·I; d̄ᵢ += conj(c·Σ_col Lᵢ(A·R)ᵢ + γ·Aᵢᵢ) (left),
    // d̄ⱼ += conj(c·Σ_col (Aᵀ·L)ⱼRⱼ + γ·Aⱼⱼ) (right); Ā += conj(Diag(d)·B) or conj(B·Diag(d)) on
    // the pattern. (The shift's γ is too small in a real evaluation for an accuracy test to
    // see its conjugation.) Each value is a handful of roundings: tolerance 8u·(its scale).
    let n = 6;
    let mut r = rng(91);
    let a = Mat::<c64>::from_fn(n, n, |i, j| {
        if (i + 2 * j) % 3 == 0 || i == j {
            cz(r.random_range(-1.0..1.0), r.random_range(-1.0..1.0))
        } else {
            cz(0.0, 0.0)
        }
    });
    let mut trip = Vec::new();
    for j in 0..n {
        for i in 0..n {
            if a[(i, j)] != cz(0.0, 0.0) {
                trip.push(Triplet::new(i, j, a[(i, j)]));
            }
        }
    }
    let a_c = csc(n, &trip);
    let d: Vec<c64> = (0..n).map(|i| cz(1.0 + i as f64, 0.5 - i as f64)).collect();
    let (l, rr) = (crandn(&mut r, n, 2), crandn(&mut r, n, 2));
    let (c, gamma) = (cz(0.3, -0.7), cz(-0.2, 0.9));
    let b = scaled((&l * rr.transpose()).as_ref(), c) + Mat::<c64>::identity(n, n) * Scale(gamma);
    let tol = 8.0
        * U
        * b.norm_l2()
        * (1.0 + a.norm_l2())
        * (1.0 + d.iter().map(|z| z.norm()).fold(0.0, f64::max));
    let close = |got: MatRef<'_, c64>, want: MatRef<'_, c64>, what: &str| {
        let err = (got - want).norm_l2();
        assert!(err <= tol, "{what}: {err:.2e} > {tol:.2e}");
    };
    let conj = |m: &Mat<c64>| m.map(|z| z.conj());
    // Dense.
    let mut dense_sink = DenseCotangent::<c64>::new(n);
    fn term<'a>(
        c: c64,
        l: &'a Mat<c64>,
        r: &'a Mat<c64>,
        raw: Option<&'a Mat<c64>>,
        raw_transpose: Option<&'a Mat<c64>>,
    ) -> LowRankTerm<'a, c64> {
        LowRankTerm {
            scale: c,
            left: l.as_ref(),
            right: r.as_ref(),
            raw: raw.map(Mat::as_ref),
            raw_transpose: raw_transpose.map(Mat::as_ref),
        }
    }
    dense_sink.add_rank_one(term(c, &l, &rr, None, None));
    dense_sink.add_identity(gamma);
    close(dense_sink.value(), conj(&b).as_ref(), "dense X̄");
    for side in [Side::Left, Side::Right] {
        // Pattern with scaling.
        let mut pat = SparsePatternCotangent::from_csc(a_c.as_ref()).with_scaling(&d, side);
        pat.add_rank_one(term(c, &l, &rr, None, None));
        pat.add_identity(gamma);
        let got = faer::sparse::SparseColMatRef::new(a_c.symbolic(), pat.value()).to_dense();
        let scaled_b = Mat::from_fn(n, n, |i, j| {
            b[(i, j)] * if side == Side::Left { d[i] } else { d[j] }
        });
        close(
            got.as_ref(),
            mask(a.as_ref(), conj(&scaled_b).as_ref()).as_ref(),
            "pattern Ā",
        );
        // d̄ of Diag(d)·A (left: raw = A·R), A·Diag(d) (right: raw_transpose = Aᵀ·L).
        let op = DiagScaled::new(&d, &a_c, side);
        let mut sink = op.cotangent();
        let raw = &a * &rr;
        let raw_t = a.transpose() * &l;
        match side {
            Side::Left => sink.add_rank_one(term(c, &l, &rr, Some(&raw), None)),
            Side::Right => sink.add_rank_one(term(c, &l, &rr, None, Some(&raw_t))),
        }
        sink.add_identity(gamma);
        let want = Mat::from_fn(n, 1, |i, _| {
            (0..n)
                .fold(cz(0.0, 0.0), |s, j| {
                    let (p, q) = if side == Side::Left { (i, j) } else { (j, i) };
                    s + b[(p, q)] * a[(p, q)]
                })
                .conj()
        });
        let got = Mat::from_fn(n, 1, |i, _| sink.value()[i]);
        close(got.as_ref(), want.as_ref(), "d̄");
    }
}

#[test]
fn single_precision_matches_double() {
    // The same problem in c32 and c64 (the c64 inputs are the c32 ones, widened): w, V̄, t̄ and
    // X̄ agree to (2m·s + 3n)·u₃₂·κ.
    for (n, norm, seed, t) in [
        (8usize, 1.0, 61u64, cz(1.1, -0.6)),
        (24, 2.0, 62, cz(0.0, -4.0)),
    ] {
        let mut r = rng(seed);
        let to32 = |m: &Mat<c64>| m.map(|z| c32::new(z.re as f32, z.im as f32));
        let to64 = |m: &Mat<c32>| m.map(|z| cz(z.re as f64, z.im as f64));
        let x32 = to32(&scaled(
            crandn(&mut r, n, n).as_ref(),
            cz(norm / (n as f64).sqrt(), 0.0),
        ));
        let v32 = to32(&crandn(&mut r, n, 2));
        let c32m = to32(&crandn(&mut r, n, 2));
        let t32 = c32::new(t.re as f32, t.im as f32);
        let (x, v, c) = (to64(&x32), to64(&v32), to64(&c32m));
        let t = cz(t32.re as f64, t32.im as f64);
        let route = dense_route(x.as_ref(), t, v.as_ref(), c.as_ref());
        let opts = ExpmActionOptions::default();
        let act = ExpmAction::new(&x32, t32, v32.as_ref(), opts);
        let mut xbar = act.cotangent();
        let (vbar, tbar) = act.vjp(c32m.as_ref(), &mut xbar);
        let act64 = ExpmAction::new(&x, t, v.as_ref(), opts);
        let mut xbar64 = act64.cotangent();
        let (vbar64, tbar64) = act64.vjp(c.as_ref(), &mut xbar64);
        let mn = act.params();
        let tol = gradient_tol(U32, n, mn, route.cond);
        let e_w = crel(to64(&act.value().to_owned()).as_ref(), act64.value());
        let e_v = crel(to64(&vbar).as_ref(), vbar64.as_ref());
        let e_x = crel(to64(&xbar.value().to_owned()).as_ref(), xbar64.value());
        let tbar = cz(tbar.re as f64, tbar.im as f64);
        let e_t = (tbar - tbar64).norm() / (c.norm_l2() * route.xw_norm);
        assert!(
            e_w <= tol && e_v <= tol && e_x <= tol && e_t <= tol,
            "n = {n}: w {e_w:.1e} V̄ {e_v:.1e} X̄ {e_x:.1e} t̄ {e_t:.1e} > {tol:.1e} {mn:?}"
        );
    }
}

#[test]
fn real_input_as_complex_matches_the_real_path() {
    // A real X, V, w̄ and t embedded in c64: the same (m, s) (exact norms, NormOnly) and the
    // same values to twice the forward (gradient) tolerance — two evaluations of one
    // algorithm that differ only in rounding.
    let n = 20;
    let mut r = rng(71);
    let x = expgrad_testkit::randn(&mut r, n, n) * Scale(0.4);
    let v = expgrad_testkit::randn(&mut r, n, 2);
    let wbar = expgrad_testkit::randn(&mut r, n, 2);
    let up = |m: &Mat<f64>| m.map(|&a| cz(a, 0.0));
    let (xc, vc, wc) = (up(&x), up(&v), up(&wbar));
    let opts = ExpmActionOptions::default().params(ActionParams::NormOnly);
    for t in [1.3, -2.0] {
        let route = dense_route(xc.as_ref(), cz(t, 0.0), vc.as_ref(), wc.as_ref());
        let real = ExpmAction::new(&x, t, v.as_ref(), opts);
        let mut xbar = real.cotangent();
        let (vbar, tbar) = real.vjp(wbar.as_ref(), &mut xbar);
        let cplx = ExpmAction::new(&xc, cz(t, 0.0), vc.as_ref(), opts);
        let mut xbar_c = cplx.cotangent();
        let (vbar_c, tbar_c) = cplx.vjp(wc.as_ref(), &mut xbar_c);
        assert_eq!(real.params(), cplx.params());
        assert_eq!(real.terms(), cplx.terms());
        let tol = 2.0 * gradient_tol(U, n, real.params(), route.cond);
        assert!(crel(up(&real.value().to_owned()).as_ref(), cplx.value()) <= tol);
        assert!(crel(up(&vbar).as_ref(), vbar_c.as_ref()) <= tol);
        assert!(crel(up(&xbar.value().to_owned()).as_ref(), xbar_c.value()) <= tol);
        assert!((cz(tbar, 0.0) - tbar_c).norm() <= tol * wbar.norm_l2() * route.xw_norm);
        // Real data stay real: the imaginary parts are exactly zero.
        assert!(
            cplx.value()
                .col_iter()
                .all(|c| c.iter().all(|z| z.im == 0.0))
        );
        assert_eq!(tbar_c.im, 0.0);
        // A purely imaginary V: W = i·exp(tX)·V, with the same early termination (the stopping
        // test is on moduli, so the zero real parts do not end the series after one term).
        // k = 2 and k = 1 (the step kernel's one-pass norms).
        for vr in [v.clone(), v.subcols(0, 1).to_owned()] {
            let real = ExpmAction::new(&x, t, vr.as_ref(), opts);
            let vi = vr.map(|&a| cz(0.0, a));
            let imag = ExpmAction::new(&xc, cz(t, 0.0), vi.as_ref(), opts);
            assert_eq!(real.terms(), imag.terms());
            let want = real.value().map(|&a| cz(0.0, a));
            assert!(crel(imag.value(), want.as_ref()) <= tol);
        }
    }
}

#[test]
fn zero_time_and_typed_errors() {
    let n = 5;
    let mut r = rng(81);
    let x = crandn(&mut r, n, n);
    let v = crandn(&mut r, n, 1);
    let c = crandn(&mut r, n, 1);
    // t = 0: W = V, and the (zero) Taylor terms give t̄ = ⟨X·V, C⟩, V̄ = C, X̄ = conj(0)·… = 0.
    let act = ExpmAction::new(&x, cz(0.0, 0.0), v.as_ref(), ExpmActionOptions::default());
    assert_eq!(act.value(), v.as_ref());
    let mut xbar = act.cotangent();
    let (vbar, tbar) = act.vjp(c.as_ref(), &mut xbar);
    assert_eq!(vbar, c);
    let want = cinner((&x * &v).as_ref(), c.as_ref());
    assert!((tbar - want).norm() <= 4.0 * n as f64 * U * x.norm_l2() * v.norm_l2() * c.norm_l2());
    assert!(xbar.value().norm_l2() == 0.0);
    // Typed errors, no panic.
    let mut bad = v.clone();
    bad[(2, 0)] = cz(0.0, f64::NAN);
    assert!(matches!(
        try_expm_multiply(&x, cz(1.0, 0.0), bad.as_ref()),
        Err(LinalgError::NonFinite { .. })
    ));
    let mut bad_x = x.clone();
    bad_x[(1, 3)] = cz(1.0, f64::INFINITY);
    assert!(matches!(
        try_expm_multiply(&bad_x, cz(1.0, 0.0), v.as_ref()),
        Err(LinalgError::NonFinite { .. })
    ));
    assert!(matches!(
        try_expm_multiply(&x, cz(0.0, f64::NAN), v.as_ref()),
        Err(LinalgError::NonFinite { .. })
    ));
    assert!(matches!(
        try_expm_multiply(&x, cz(0.0, 1e20), v.as_ref()),
        Err(LinalgError::Budget { .. })
    ));
    let mut bad_c = c.clone();
    bad_c[(0, 0)] = cz(f64::INFINITY, 0.0);
    assert!(matches!(
        act.try_vjp(bad_c.as_ref(), &mut NoCotangent),
        Err(LinalgError::NonFinite { .. })
    ));
}
