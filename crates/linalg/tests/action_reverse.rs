//! Tests of `ExpmAction::vjp` (the exact full-degree discrete adjoint of the action
//! `exp(tX)·V`) and its cotangent sinks (`DiagCotangent` through `cotangent()`,
//! `DenseCotangent`, `SparsePatternCotangent`, a custom `ActionCotangent`): against the dense
//! Fréchet route (`expm`, `Expm::frechet_adjoint`) for `Diag(d)·A` and `A·Diag(d)`, against
//! Daleckii–Krein and a plain re-implementation (the full-degree Horner), and against the
//! forward-mode augmented system at n = 10 000.
//!
//! Tolerances: `(2m·s + 3n)·u·κ` against the dense route (the forward and reverse recurrences
//! and the dense reference, amplified by the condition number `κ` of the action, `action_cond`
//! in `common/action.rs`); rounding-level bounds elsewhere, derived at each assertion.
#[path = "common/action.rs"]
mod helpers;

use expgrad_linalg::*;
use expgrad_testkit::laplacian::{Boundary, neg_laplacian_1d, neg_laplacian_2d};
use expgrad_testkit::{csc, csr, randn, random_sparse, rng};
use faer::{Mat, MatRef, Scale};
use helpers::*;
use rand::Rng;

/// Records the identity term `γ` (the gradient through the trace shift) and forwards to a
/// dense accumulator.
struct Recording {
    dense: DenseCotangent<f64>,
    gamma: f64,
    terms: usize,
}

impl ActionCotangent<f64> for Recording {
    fn add_rank_one(&mut self, term: LowRankTerm<'_, f64>) {
        self.terms += 1;
        self.dense.add_rank_one(term);
    }
    fn add_identity(&mut self, scale: f64) {
        self.gamma += scale;
        self.dense.add_identity(scale);
    }
}

/// One gradient case: the reverse pass against the dense Fréchet route, for `Diag(d)·A` or
/// `A·Diag(d)` (`d̄` through [`DiagCotangent`], and `X̄` through a dense sink). Tolerance
/// `(2m·s + 3n)·u·κ`: the forward and the reverse recurrences (`m·s` products each) and the
/// dense reference, amplified by the condition number of the action.
fn check_gradients(name: &str, a: &Mat<f64>, d: &[f64], side: Side, t: f64, k: usize, seed: u64) {
    let mut r = rng(seed);
    let n = a.nrows();
    let a_csc = csc(a.as_ref());
    let op = DiagScaled::new(d, &a_csc, side);
    let x = dense(&op);
    let v = randn(&mut r, n, k);
    let wbar = randn(&mut r, n, k);
    let reference = dense_route(x.as_ref(), t, v.as_ref(), wbar.as_ref());
    let act = ExpmAction::new(&op, t, v.as_ref(), ExpmActionOptions::default());
    let mut sink = op.cotangent();
    let (vbar, tbar) = act.vjp(wbar.as_ref(), &mut sink);
    // The same through a dense X̄, recording the shift term γ.
    let mut rec = Recording {
        dense: DenseCotangent::new(n),
        gamma: 0.0,
        terms: 0,
    };
    let (vbar2, tbar2) = act.vjp(wbar.as_ref(), &mut rec);
    assert_eq!(
        (&vbar, tbar),
        (&vbar2, tbar2),
        "{name}: the reverse pass is not deterministic"
    );
    let rows = side == Side::Left;
    let dbar_ref = hadamard_sums(reference.xbar.as_ref(), a.as_ref(), rows);
    let dbar_dense = hadamard_sums(rec.dense.value(), a.as_ref(), rows);
    let scale_d: Vec<f64> = dbar_ref.iter().map(|x| x.abs()).collect();
    let e_d = scaled_err(sink.value(), &dbar_ref, &scale_d);
    let e_dd = scaled_err(&dbar_dense, &dbar_ref, &scale_d);
    // Without the shift term: d̄ᵢ − γ·Aᵢᵢ.
    let no_shift: Vec<f64> = (0..n)
        .map(|i| sink.value()[i] - rec.gamma * a[(i, i)])
        .collect();
    let e_ns = scaled_err(&no_shift, &dbar_ref, &scale_d);
    let e_x = (rec.dense.value() - &reference.xbar).norm_l2() / reference.xbar.norm_l2();
    let e_v = (&vbar - &reference.vbar).norm_l2() / reference.vbar.norm_l2();
    let xw = &x * &reference.w;
    let e_t = (tbar - reference.tbar).abs() / (wbar.norm_l2() * xw.norm_l2());
    let e_w = (act.value() - &reference.w).norm_l2() / reference.w.norm_l2();
    let (m, s) = act.params();
    let tol = (2.0 * (m * s) as f64 + 3.0 * n as f64) * U * action_cond(x.as_ref(), t, v.as_ref());
    eprintln!(
        "{name:>26}: (m,s)=({m},{s}) j={:?} | w {e_w:.1e} V̄ {e_v:.1e} t̄ {e_t:.1e} X̄ {e_x:.1e} \
         d̄ {e_d:.1e} (via X̄ {e_dd:.1e}; without γ {e_ns:.1e}, γ = {:.1e}) tol {tol:.1e}",
        act.terms(),
        rec.gamma
    );
    // The gradient through the shift μ = tr(X)/n (γ·I) is O(u): with or without it, d̄ is
    // within the same tolerance (the library keeps it: the exact derivative of what it computed).
    assert!(e_ns <= tol, "{name}: d̄ without the shift term: {e_ns:.2e}");
    for (what, e) in [
        ("w", e_w),
        ("V̄", e_v),
        ("t̄", e_t),
        ("X̄", e_x),
        ("d̄", e_d),
        ("d̄ via X̄", e_dd),
    ] {
        assert!(e <= tol, "{name}: {what} error {e:.2e} > {tol:.2e}");
    }
    // The sink saw one term per forward product, and t̄ = ⟨w̄, X·w⟩ of the computed w.
    assert_eq!(rec.terms, act.terms().iter().sum::<usize>());
    let xw_hat = &x * act.value();
    let e_t2 =
        (tbar - inner(wbar.as_ref(), xw_hat.as_ref())).abs() / (wbar.norm_l2() * xw.norm_l2());
    assert!(e_t2 <= tol, "{name}: t̄ vs ⟨w̄, Xw⟩: {e_t2:.2e}");
}

#[test]
fn gradients_match_the_dense_frechet_route() {
    let mut r = rng(11);
    let lap = neg_laplacian_1d(80, Boundary::Dirichlet).dense();
    let sparse = random_sparse(&mut r, 100, 3);
    let mut d: Vec<f64> = (0..100).map(|_| r.random_range(0.5..1.5)).collect();
    for i in (0..100).step_by(7) {
        d[i] = 0.0;
    }
    for (side, sname) in [(Side::Left, "left"), (Side::Right, "right")] {
        for t in [2.0, -1.0, 20.0] {
            check_gradients(
                &format!("laplacian {sname} t={t}"),
                &lap,
                &d[..80],
                side,
                t,
                2,
                3,
            );
            check_gradients(
                &format!("sparse {sname} t={t}"),
                &sparse,
                &d,
                side,
                t / 4.0,
                1,
                4,
            );
        }
    }
}

/// A plain re-implementation of the forward pass and of its reverse pass for a dense `X` and
/// k = 1, whose Horner recurrence starts at `m` (as the library) or at `j_i` (the naive
/// reading of the early-terminated loop). Returns `(w, V̄, X̄)`.
fn reference_adjoint(
    x: &Mat<f64>,
    t: f64,
    v: &Mat<f64>,
    wbar: &Mat<f64>,
    (m, s): (usize, usize),
    mu: f64,
    from_j: bool,
) -> (Mat<f64>, Mat<f64>, Mat<f64>) {
    let n = x.nrows();
    let tau = t / s as f64;
    let eta = (tau * mu).exp();
    let xs = Mat::from_fn(n, n, |i, j| x[(i, j)] - if i == j { mu } else { 0.0 });
    let ninf = |b: &Mat<f64>| b.col(0).iter().fold(0.0f64, |a, x| a.max(x.abs()));
    let mut u = v.clone();
    let mut tape = Vec::new();
    for _ in 0..s {
        let mut f = u.clone();
        let mut b = u.clone();
        let mut bs = Vec::new();
        let mut c1 = ninf(&b);
        for k in 1..=m {
            let next = (&xs * &b) * Scale(tau / k as f64);
            bs.push(core::mem::replace(&mut b, next));
            f += &b;
            let c2 = ninf(&b);
            if c1 + c2 <= U * ninf(&f) {
                break;
            }
            c1 = c2;
        }
        tape.push((u.clone(), bs));
        u = f * Scale(eta);
    }
    let w = u;
    let mut ubar = wbar.clone();
    let mut xbar = Mat::<f64>::zeros(n, n);
    let mut mubar = 0.0;
    for i in (0..s).rev() {
        let u_out = if i + 1 == s {
            w.clone()
        } else {
            tape[i + 1].0.clone()
        };
        mubar += tau * inner(ubar.as_ref(), u_out.as_ref());
        let fbar = &ubar * Scale(eta);
        let bs = &tape[i].1;
        let j = bs.len();
        let mut bbar = fbar.clone();
        for k in (1..=if from_j { j } else { m }).rev() {
            let c = tau / k as f64;
            if k <= j {
                xbar += (&bbar * bs[k - 1].transpose()) * Scale(c);
                mubar -= c * inner(bbar.as_ref(), bs[k - 1].as_ref());
            }
            bbar = &fbar + (xs.transpose() * &bbar) * Scale(c);
        }
        ubar = bbar;
    }
    for i in 0..n {
        xbar[(i, i)] += mubar / n as f64;
    }
    (w, ubar, xbar)
}

/// `(X̄, V̄)` with `X̄ = t·L(tXᵀ, w̄Vᵀ)`, `V̄ = e^{tXᵀ}w̄` for `X = Diag(d)·A`, `D^{1/2}AD^{1/2} = QΛQᵀ`, by the
/// Daleckii–Krein formula: `Xᵀ = D^{−1/2}QΛQᵀD^{1/2}`, so
/// `L(tXᵀ, G) = D^{−1/2}Q [Φ ∘ (QᵀD^{1/2} G D^{−1/2}Q)] QᵀD^{1/2}` with
/// `Φᵢⱼ = (e^{tλᵢ} − e^{tλⱼ})/(tλᵢ − tλⱼ)` (Higham, *Functions of Matrices*, Thm 3.11): an
/// independent reference, accurate to `u·κ(Q) = u` (d is well conditioned).
fn daleckii_krein(
    d: &[f64],
    eig: &faer::linalg::solvers::SelfAdjointEigen<f64>,
    t: f64,
    v: &Mat<f64>,
    wbar: &Mat<f64>,
) -> (Mat<f64>, Mat<f64>) {
    let n = d.len();
    let q = eig.U();
    let lam: Vec<f64> = (0..n).map(|i| t * eig.S().column_vector()[i]).collect();
    let dd = |a: f64, b: f64| {
        let x = 0.5 * (a - b);
        if x.abs() <= 1.0 {
            (0.5 * (a + b)).exp() * if x == 0.0 { 1.0 } else { x.sinh() / x }
        } else {
            (a.exp() - b.exp()) / (a - b)
        }
    };
    let g = wbar * v.transpose();
    let inner_g = Mat::from_fn(n, n, |i, j| d[i].sqrt() * g[(i, j)] / d[j].sqrt());
    let h = q.transpose() * &inner_g * q;
    let h = Mat::from_fn(n, n, |i, j| h[(i, j)] * dd(lam[i], lam[j]));
    let l = q * &h * q.transpose();
    let xbar = Mat::from_fn(n, n, |i, j| t * l[(i, j)] / d[i].sqrt() * d[j].sqrt());
    // V̄ = e^{tXᵀ}w̄ = D^{−1/2}Q e^{tΛ} QᵀD^{1/2} w̄.
    let y = q.transpose() * Mat::from_fn(n, wbar.ncols(), |i, c| d[i].sqrt() * wbar[(i, c)]);
    let y = Mat::from_fn(n, y.ncols(), |i, c| lam[i].exp() * y[(i, c)]);
    let z = q * &y;
    let vbar = Mat::from_fn(n, z.ncols(), |i, c| z[(i, c)] / d[i].sqrt());
    (xbar, vbar)
}

#[test]
fn eigenvector_input_needs_the_full_degree_horner() {
    // X = Diag(d)·A with A symmetric and d > 0 is similar to D^{1/2} A D^{1/2}: its
    // eigenvectors are D^{1/2} q. With V such an eigenvector the forward series converges
    // after a few terms (j_i ≪ m), while the adjoint vector F̄ (from a generic w̄) needs the
    // operator-level degree m.
    let mut r = rng(5);
    let n = 24;
    let g = randn(&mut r, n, n);
    let a = (&g + g.transpose()) * Scale(0.5);
    let d: Vec<f64> = (0..n).map(|_| r.random_range(0.5..2.0)).collect();
    let sq = Mat::from_fn(n, n, |i, j| d[i].sqrt() * a[(i, j)] * d[j].sqrt());
    let eig = sq.self_adjoint_eigen(faer::Side::Lower).unwrap();
    let x = Mat::from_fn(n, n, |i, j| d[i] * a[(i, j)]);
    let mu = LinOp::trace(&x.as_ref()) / n as f64;
    // The eigenvalue closest to the shift: the shifted series converges fastest.
    let lam: Vec<f64> = (0..n).map(|i| eig.S().column_vector()[i]).collect();
    let pick = (0..n)
        .min_by(|&p, &q| {
            (lam[p] - mu)
                .abs()
                .partial_cmp(&(lam[q] - mu).abs())
                .unwrap()
        })
        .unwrap();
    let v = Mat::from_fn(n, 1, |i, _| d[i].sqrt() * eig.U()[(i, pick)]);
    let wbar = randn(&mut r, n, 1);
    let a_op = a.as_ref();
    for target in [5.0, 50.0] {
        let t = target / helpers::norm1(x.as_ref());
        let op = DiagScaled::left(&d, a_op);
        let act = ExpmAction::new(&op, t, v.as_ref(), ExpmActionOptions::default());
        let mut sink = op.cotangent();
        let (vbar, _) = act.vjp(wbar.as_ref(), &mut sink);
        // Two references: the dense Padé–Fréchet route, and Daleckii–Krein (accurate to u).
        let reference = dense_route(x.as_ref(), t, v.as_ref(), wbar.as_ref());
        let (xbar_dk, vbar_dk) = daleckii_krein(&d, &eig, t, &v, &wbar);
        let dref = hadamard_sums(xbar_dk.as_ref(), a.as_ref(), true);
        let scale: Vec<f64> = dref.iter().map(|x| x.abs()).collect();
        let d_pade = hadamard_sums(reference.xbar.as_ref(), a.as_ref(), true);
        let rel_v = |vb: &Mat<f64>| (vb - &vbar_dk).norm_l2() / vbar_dk.norm_l2();
        let (pade_d, pade_v) = (scaled_err(&d_pade, &dref, &scale), rel_v(&reference.vbar));
        let (e_d, e_v) = (scaled_err(sink.value(), &dref, &scale), rel_v(&vbar));
        // The plain re-implementation reproduces the library (Horner from m) ...
        let (m, s) = act.params();
        let (_, vb_m, xb_m) = reference_adjoint(&x, t, &v, &wbar, (m, s), act.shift(), false);
        let d_m = hadamard_sums(xb_m.as_ref(), a.as_ref(), true);
        // ... and shows what starting the Horner at j_i costs.
        let (_, vb_j, xb_j) = reference_adjoint(&x, t, &v, &wbar, (m, s), act.shift(), true);
        let d_j = hadamard_sums(xb_j.as_ref(), a.as_ref(), true);
        let (e_dm, e_vm) = (scaled_err(&d_m, &dref, &scale), rel_v(&vb_m));
        let (e_dj, e_vj) = (scaled_err(&d_j, &dref, &scale), rel_v(&vb_j));
        eprintln!(
            "‖tX‖₁ = {target}: (m, s) = ({m}, {s}), j = {:?}; errors vs Daleckii–Krein: \
             library d̄ {e_d:.1e} V̄ {e_v:.1e}; dense Padé route d̄ {pade_d:.1e} V̄ {pade_v:.1e}; \
             re-implementation, Horner from m: d̄ {e_dm:.1e} V̄ {e_vm:.1e}, from j_i: d̄ {e_dj:.1e} \
             V̄ {e_vj:.1e}",
            act.terms()
        );
        assert!(
            act.terms().iter().all(|&j| j < m / 2),
            "V is not an eigenvector"
        );
        // As accurate as the dense route (within 2×, floor 64u), and 1e-12 at the most.
        let tol_d = (2.0 * pade_d).clamp(64.0 * U, 1e-12);
        let tol_v = (2.0 * pade_v).clamp(64.0 * U, 1e-12);
        assert!(
            e_d <= tol_d && e_v <= tol_v,
            "library: d̄ {e_d:.2e}, V̄ {e_v:.2e}"
        );
        assert!(
            e_dm <= tol_d && e_vm <= tol_v,
            "re-implementation: {e_dm:.2e} {e_vm:.2e}"
        );
        // Starting at j_i is wrong by far more than rounding.
        assert!(e_dj > 1e4 * e_d.max(1e-16) && e_vj > 1e4 * e_v.max(1e-16));
    }
}

/// The block operator `[[X, E], [0, X]]` (2n×2n) of two n×n operators, never formed.
struct Augmented<'a, Op> {
    x: &'a Op,
    e: &'a Op,
}

impl<Op: LinOp<f64>> LinOp<f64> for Augmented<'_, Op> {
    fn dim(&self) -> usize {
        2 * self.x.dim()
    }
    fn apply(&self, out: faer::MatMut<'_, f64>, z: MatRef<'_, f64>) {
        let n = self.x.dim();
        let (mut top, bot) = out.split_at_row_mut(n);
        let (zt, zb) = z.split_at_row(n);
        self.x.apply(bot, zb);
        self.x.apply(top.as_mut(), zt);
        let mut tmp = Mat::zeros(n, z.ncols());
        self.e.apply(tmp.as_mut(), zb);
        top += &tmp;
    }
    fn apply_transpose(&self, out: faer::MatMut<'_, f64>, z: MatRef<'_, f64>) {
        let n = self.x.dim();
        let (top, mut bot) = out.split_at_row_mut(n);
        let (zt, zb) = z.split_at_row(n);
        self.x.apply_transpose(top, zt);
        self.x.apply_transpose(bot.as_mut(), zb);
        let mut tmp = Mat::zeros(n, z.ncols());
        self.e.apply_transpose(tmp.as_mut(), zt);
        bot += &tmp;
    }
    fn trace(&self) -> f64 {
        2.0 * self.x.trace()
    }
    fn diagonal(&self) -> Option<Vec<f64>> {
        let d = self.x.diagonal()?;
        Some(d.iter().chain(&d).copied().collect())
    }
    fn abs_apply(&self, z: &[f64], transpose: bool) -> Option<Vec<f64>> {
        let n = self.x.dim();
        let (zt, zb) = z.split_at(n);
        let add =
            |a: Vec<f64>, b: Vec<f64>| a.iter().zip(&b).map(|(x, y)| x + y).collect::<Vec<_>>();
        Some(if transpose {
            let top = self.x.abs_apply(zt, true)?;
            let bot = add(self.e.abs_apply(zt, true)?, self.x.abs_apply(zb, true)?);
            top.into_iter().chain(bot).collect()
        } else {
            let top = add(self.x.abs_apply(zt, false)?, self.e.abs_apply(zb, false)?);
            top.into_iter()
                .chain(self.x.abs_apply(zb, false)?)
                .collect()
        })
    }
}

#[test]
fn reverse_pass_matches_the_augmented_system_jvp_at_n_10000() {
    // X = Diag(d)·A, A = −L (2-D, 100×100 grid), direction E = Diag(e)·A:
    // ⟨d̄, e⟩ = ⟨X̄, E⟩ = ⟨w̄, L(tX, tE)·V⟩ = ⟨w̄, top of exp(t[[X, E], [0, X]])·[0; V]⟩.
    let mut r = rng(77);
    let a = neg_laplacian_2d(100, Boundary::Dirichlet).csr();
    let n = 10_000;
    let d: Vec<f64> = (0..n).map(|_| r.random_range(0.5..1.5)).collect();
    let x = DiagScaled::left(&d, &a);
    let norm_x = x.norm1().unwrap();
    let e_raw: Vec<f64> = (0..n).map(|_| r.random_range(-1.0..1.0)).collect();
    let e_norm = DiagScaled::left(&e_raw, &a).norm1().unwrap();
    // ‖E‖₁ = ‖X‖₁/8: the block's parameters stay close to those of X.
    let e: Vec<f64> = e_raw.iter().map(|v| v * norm_x / (8.0 * e_norm)).collect();
    let eop = DiagScaled::left(&e, &a);
    let v = randn(&mut r, n, 1);
    let wbar = randn(&mut r, n, 1);
    for target in [2.0, 20.0] {
        let t = target / norm_x;
        let act = ExpmAction::new(&x, t, v.as_ref(), ExpmActionOptions::default());
        let mut sink = x.cotangent();
        let (vbar, tbar) = act.vjp(wbar.as_ref(), &mut sink);
        let lhs: f64 = sink.value().iter().zip(&e).map(|(g, e)| g * e).sum();
        let lhs_mag: f64 = sink
            .value()
            .iter()
            .zip(&e)
            .map(|(g, e)| (g * e).abs())
            .sum();
        let block = Augmented { x: &x, e: &eop };
        let z = Mat::from_fn(2 * n, 1, |i, _| if i < n { 0.0 } else { v[(i - n, 0)] });
        let (big, stats) = expm_multiply_params(&block, t, z.as_ref(), ActionParams::Auto);
        let top = big.submatrix(0, 0, n, 1);
        let rhs = inner(wbar.as_ref(), top);
        let w_bottom = big.submatrix(n, 0, n, 1);
        // V̄ by its own dot-product test: ⟨V̄, δV⟩ = ⟨w̄, exp(tX)·δV⟩.
        let dv = randn(&mut r, n, 1);
        let v_lhs = inner(vbar.as_ref(), dv.as_ref());
        let v_rhs = inner(wbar.as_ref(), expm_multiply(&x, t, dv.as_ref()).as_ref());
        // t̄ = ⟨w̄, X·w⟩.
        let mut xw = Mat::zeros(n, 1);
        x.apply(xw.as_mut(), act.value());
        let t_rhs = inner(wbar.as_ref(), xw.as_ref());
        let (m, s) = act.params();
        let e_d = (lhs - rhs).abs() / lhs_mag;
        let e_v = (v_lhs - v_rhs).abs() / (vbar.norm_l2() * dv.norm_l2());
        let e_t = (tbar - t_rhs).abs() / (wbar.norm_l2() * xw.norm_l2());
        let e_w = (w_bottom - act.value()).norm_l2() / act.value().norm_l2();
        eprintln!(
            "n = {n}, ‖tX‖₁ = {target}: (m, s) = ({m}, {s}), block ({}, {}): ⟨d̄, e⟩ {lhs:.6e} vs \
             JVP {rhs:.6e}: {e_d:.1e}; V̄ {e_v:.1e}; t̄ {e_t:.1e}; block bottom vs w {e_w:.1e}",
            stats.m, stats.s
        );
        // Both sides are sums of m·s (reverse) and m'·s' (augmented forward) products whose
        // rounding errors accumulate at most linearly; the terms of the sums are bounded by
        // the magnitudes used as scales (the problem is normal-like: X is similar to a
        // symmetric matrix with a well-conditioned similarity).
        let tol = ((2 * m * s + stats.m * stats.s) as f64) * U;
        assert!(
            e_d <= tol && e_v <= tol && e_t <= tol && e_w <= tol,
            "tol {tol:.1e}"
        );
    }
}

#[test]
fn sparse_pattern_cotangent_is_the_dense_gradient_on_the_pattern() {
    let mut r = rng(31);
    let n = 40;
    let xd = random_sparse(&mut r, n, 3);
    let (xc, xr) = (csc(xd.as_ref()), csr(xd.as_ref()));
    let v = randn(&mut r, n, 2);
    let wbar = randn(&mut r, n, 2);
    let t = 1.4;
    let act = ExpmAction::new(&xc, t, v.as_ref(), ExpmActionOptions::default());
    let mut dense_sink = DenseCotangent::new(n);
    let mut pc = SparsePatternCotangent::from_csc(xc.as_ref());
    let mut pr = SparsePatternCotangent::from_csr(xr.as_ref());
    act.vjp(wbar.as_ref(), &mut dense_sink);
    act.vjp(wbar.as_ref(), &mut pc);
    act.vjp(wbar.as_ref(), &mut pr);
    let g = dense_sink.value();
    let scale = g.norm_max();
    for (j, col) in (0..n).map(|j| (j, xc.as_ref().symbolic().col_range(j))) {
        for p in col {
            let i = xc.as_ref().symbolic().row_idx()[p];
            assert!((pc.value()[p] - g[(i, j)]).abs() <= 16.0 * U * scale);
        }
    }
    for i in 0..n {
        for p in xr.as_ref().symbolic().row_range(i) {
            let j = xr.as_ref().symbolic().col_idx()[p];
            assert!((pr.value()[p] - g[(i, j)]).abs() <= 16.0 * U * scale);
        }
    }
    // Ā of Diag(d)·A on A's pattern: Diag(d)·X̄.
    let d: Vec<f64> = (0..n).map(|_| r.random_range(-1.0..1.0)).collect();
    let op = DiagScaled::left(&d, &xc);
    let act = ExpmAction::new(&op, t, v.as_ref(), ExpmActionOptions::default());
    let mut xbar = DenseCotangent::new(n);
    let mut abar = SparsePatternCotangent::from_csc(xc.as_ref()).with_scaling(&d, Side::Left);
    act.vjp(wbar.as_ref(), &mut xbar);
    act.vjp(wbar.as_ref(), &mut abar);
    let scale = xbar.value().norm_max();
    for j in 0..n {
        for p in xc.as_ref().symbolic().col_range(j) {
            let i = xc.as_ref().symbolic().row_idx()[p];
            assert!((abar.value()[p] - d[i] * xbar.value()[(i, j)]).abs() <= 16.0 * U * scale);
        }
    }
}
