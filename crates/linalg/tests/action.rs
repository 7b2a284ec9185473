//! The action of the exponential `exp(tX)·V` (Al-Mohy & Higham 2011) and its discrete-adjoint
//! reverse pass, against the dense route (`expm`, `Expm::frechet_adjoint`) and against
//! forward-mode (augmented-system) derivatives.
//!
//! Tolerances come from a first-order componentwise rounding analysis of the Taylor
//! recurrence (helpers in `common/action.rs`): every Taylor vector and partial sum is bounded
//! entrywise by the corresponding term of `M_w = e^{tμ}·exp(|t|·|X_s|)·|V|`, and each of the
//! `m·s` products adds at most `(q + 3)` roundings (q = largest row count of `X`, plus the
//! scaling by `τ/k`, the shift and the partial sum) — so the recurrence errs by at most
//! `m·s·(q+3)·u·M_w`; the truncation (θ_m, backward error `u‖tX_s‖`) adds
//! `u·‖tX_s‖₁·M_w`; the dense reference (backward error `≲ 3n·u`) adds `3n·u·M_w`. The same
//! for `V̄` (with `Xᵀ`, `|w̄|`) and for `X̄`, whose magnitude is `|t|·e^{−tμ}·M_v̄·M_wᵀ`.
mod common;
#[path = "common/action.rs"]
mod helpers;

use expgrad_linalg::*;
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
    fn add_rank_one(&mut self, term: RankOne<'_, f64>) {
        self.terms += 1;
        self.dense.add_rank_one(term);
    }
    fn add_identity(&mut self, scale: f64) {
        self.gamma += scale;
        self.dense.add_identity(scale);
    }
}

fn randn(r: &mut rand::rngs::StdRng, m: usize, n: usize) -> Mat<f64> {
    common::randn(r, m, n)
}

/// A sparse nonsymmetric matrix with about `per_row` entries per row (plus the diagonal).
fn random_sparse(r: &mut rand::rngs::StdRng, n: usize, per_row: usize) -> Mat<f64> {
    let mut a = Mat::<f64>::zeros(n, n);
    for i in 0..n {
        a[(i, i)] = r.random_range(-1.0..1.0);
        for _ in 0..per_row {
            let j = r.random_range(0..n);
            a[(i, j)] = r.random_range(-1.0..1.0);
        }
    }
    a
}

/// A Markov generator: nonnegative rates off the diagonal, rows summing to zero.
fn markov_generator(r: &mut rand::rngs::StdRng, n: usize) -> Mat<f64> {
    let mut q = Mat::<f64>::zeros(n, n);
    for i in 0..n {
        for _ in 0..4 {
            let j = r.random_range(0..n);
            if j != i {
                q[(i, j)] = r.random_range(0.0..2.0);
            }
        }
        let s: f64 = (0..n).filter(|&j| j != i).map(|j| q[(i, j)]).sum();
        q[(i, i)] = -s;
    }
    q
}

/// The forward tolerance: `(m·s + 3n)·u·κ` relative, as `common::tol_exp`: `m·s` products
/// of the recurrence (each a backward perturbation of `X` of order `u`), `3n·u` for the dense
/// reference, amplified by the condition number `κ` of the action (`action_cond`).
fn forward_tol(x: MatRef<'_, f64>, t: f64, v: MatRef<'_, f64>, m: usize, s: usize) -> f64 {
    ((m * s) as f64 + 3.0 * x.nrows() as f64) * U * action_cond(x, t, v)
}

#[test]
fn forward_matches_dense_expm_for_every_operator_kind() {
    let mut r = common::rng(7);
    let lap = dense(&neg_laplacian_1d(200));
    let nonnormal = {
        let mut a = randn(&mut r, 50, 50);
        for j in 0..50 {
            for i in j + 1..50 {
                a[(i, j)] = 0.0;
            }
            a[(j, j)] = -0.1 * j as f64;
        }
        a
    };
    let cases: Vec<(&str, Mat<f64>, f64)> = vec![
        ("gaussian", randn(&mut r, 60, 60) * Scale(0.2), 1.3),
        ("gaussian t<0", randn(&mut r, 60, 60) * Scale(0.2), -1.3),
        ("non-normal triangular", nonnormal, 0.9),
        ("markov generator", markov_generator(&mut r, 120), 2.0),
        ("laplacian", lap.clone(), 5.0),
        ("laplacian t<0", lap, -1.5),
        ("sparse", random_sparse(&mut r, 150, 3), -2.5),
    ];
    for (name, x, t) in cases {
        let n = x.nrows();
        let v = randn(&mut r, n, 3);
        let want = expm((&x * Scale(t)).as_ref()) * &v;
        let (a, b) = (csc(x.as_ref()), csr(x.as_ref()));
        let (wd, sd) = try_expm_multiply_with(&x, t, v.as_ref(), ActionParams::Auto).unwrap();
        let (wc, sc) = try_expm_multiply_with(&a, t, v.as_ref(), ActionParams::Auto).unwrap();
        let (wr, sr) = try_expm_multiply_with(&b, t, v.as_ref(), ActionParams::Auto).unwrap();
        let (_, sn) = try_expm_multiply_with(&a, t, v.as_ref(), ActionParams::NormOnly).unwrap();
        eprintln!(
            "{name:>22}: NormOnly ({}, {}) {} products; Auto ({}, {}) {} + {} for norms",
            sn.m, sn.s, sn.products, sc.m, sc.s, sc.products, sc.norm_products
        );
        // The estimation stops once it has cost k·m·s of the best choice so far (≤ NormOnly's);
        // one estimate of ‖X^p‖₁ costs at most 5 iterations × 2 products × 2 columns × p
        // matvecs, and d₂, d₃ and the last power are estimated regardless: + 20·(2 + 3 + 9).
        assert!(
            sc.norm_products <= 3 * sn.m * sn.s + 20 * 14,
            "{name}: estimation too costly"
        );
        assert_eq!(
            (sd.m, sd.s),
            (sc.m, sc.s),
            "{name}: dense and CSC chose differently"
        );
        assert_eq!(
            (sd.m, sd.s),
            (sr.m, sr.s),
            "{name}: dense and CSR chose differently"
        );
        let tol = forward_tol(x.as_ref(), t, v.as_ref(), sd.m, sd.s);
        for (kind, w) in [("dense", &wd), ("csc", &wc), ("csr", &wr)] {
            let err = (w - &want).norm_l2() / want.norm_l2();
            eprintln!(
                "{name:>22} {kind:>5}: (m, s) = ({}, {}) products {} (+{} for norms) \
                 rel err {err:.2e}  tol {tol:.2e}",
                sd.m, sd.s, sd.products, sd.norm_products,
            );
            assert!(err <= tol, "{name} ({kind}): error {err:.3e} > {tol:.3e}");
        }
    }
}

/// One gradient case: the reverse pass against the dense Fréchet route, for `Diag(d)·A` or
/// `A·Diag(d)` (`d̄` through [`DiagCotangent`], and `X̄` through a dense sink). Tolerance
/// `(2m·s + 3n)·u·κ`: the forward and the reverse recurrences (`m·s` products each) and the
/// dense reference, amplified by the condition number of the action.
fn check_gradients(name: &str, a: &Mat<f64>, d: &[f64], side: Side, t: f64, k: usize, seed: u64) {
    let mut r = common::rng(seed);
    let n = a.nrows();
    let a_csc = csc(a.as_ref());
    let op = DiagScaled::new(d, &a_csc, side);
    let x = dense(&op);
    let v = randn(&mut r, n, k);
    let wbar = randn(&mut r, n, k);
    let reference = dense_route(x.as_ref(), t, v.as_ref(), wbar.as_ref());
    let act = ExpmAction::new(&op, t, v.as_ref(), ExpmActionOptions::default());
    let mut sink = DiagCotangent::new(&op);
    let (vbar, tbar) = act.vjp(&op, wbar.as_ref(), &mut sink);
    // The same through a dense X̄, recording the shift term γ.
    let mut rec = Recording {
        dense: DenseCotangent::new(n),
        gamma: 0.0,
        terms: 0,
    };
    let (vbar2, tbar2) = act.vjp(&op, wbar.as_ref(), &mut rec);
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
    let mut r = common::rng(11);
    let lap = dense(&neg_laplacian_1d(80));
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

#[test]
fn store_policies_give_bitwise_equal_gradients() {
    let mut r = common::rng(21);
    let n = 60;
    let a = csr(random_sparse(&mut r, n, 4).as_ref());
    let d: Vec<f64> = (0..n)
        .map(|i| {
            if i % 5 == 0 {
                0.0
            } else {
                r.random_range(0.2..2.0)
            }
        })
        .collect();
    let v = randn(&mut r, n, 2);
    let wbar = randn(&mut r, n, 2);
    for side in [Side::Left, Side::Right] {
        let op = DiagScaled::new(&d, &a, side);
        let t = -3.0;
        let run = |store: StorePolicy| {
            let act = ExpmAction::new(
                &op,
                t,
                v.as_ref(),
                ExpmActionOptions::default().store(store),
            );
            let mut sink = DiagCotangent::new(&op);
            let mut dense_sink = DenseCotangent::new(n);
            let (vbar, tbar) = act.vjp(&op, wbar.as_ref(), &mut sink);
            act.vjp(&op, wbar.as_ref(), &mut dense_sink);
            (act, vbar, tbar, sink.into_value(), dense_sink.into_value())
        };
        let all = run(StorePolicy::All);
        let cp = run(StorePolicy::Checkpoint);
        let (m, s) = all.0.params();
        assert!(s >= 2, "the test needs several steps, got s = {s}");
        assert_eq!(all.0.store_policy(), StorePolicy::All);
        assert_eq!(cp.0.store_policy(), StorePolicy::Checkpoint);
        assert_eq!(all.0.value(), cp.0.value());
        assert_eq!(all.0.value(), expm_multiply(&op, t, v.as_ref()));
        assert_eq!((&all.1, all.2, &all.3, &all.4), (&cp.1, cp.2, &cp.3, &cp.4));
        // Memory: checkpoints are the s step inputs; the full tape holds every b_{k−1} (and,
        // for the left scaling, every raw product A·b_{k−1}).
        let terms: usize = all.0.terms().iter().sum();
        assert_eq!(cp.0.stored_values(), s * n * 2);
        let raw = if side == Side::Left { 2 } else { 1 };
        assert_eq!(all.0.stored_values(), raw * terms * n * 2);
        assert_eq!(all.0.reverse_products(), m * s * 2);
        assert_eq!(cp.0.reverse_products(), m * s * 2 + all.0.products());
        // Auto: below the budget → All, above → Checkpoint.
        let auto = |b| {
            let o = ExpmActionOptions::default().store(StorePolicy::Auto { budget_bytes: b });
            ExpmAction::new(&op, t, v.as_ref(), o).store_policy()
        };
        assert_eq!(auto(DEFAULT_STORE_BUDGET_BYTES), StorePolicy::All);
        assert_eq!(auto(1000), StorePolicy::Checkpoint);
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
    let mut r = common::rng(5);
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
        let mut sink = DiagCotangent::new(&op);
        let (vbar, _) = act.vjp(&op, wbar.as_ref(), &mut sink);
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

#[test]
fn crossing_a_parameter_switch_is_smooth() {
    // ν = |t|·‖X_s‖ crosses a boundary of m·⌈ν/θ_m⌉: bracket the t where (m, s) changes
    // between two adjacent floats and compare both sides.
    let mut r = common::rng(9);
    let n = 50;
    let a = csc(random_sparse(&mut r, n, 3).as_ref());
    let d: Vec<f64> = (0..n).map(|_| r.random_range(0.5..1.5)).collect();
    let op = DiagScaled::left(&d, &a);
    let x = dense(&op);
    let v = randn(&mut r, n, 1);
    let wbar = randn(&mut r, n, 1);
    let params = |t: f64| {
        let opts = ExpmActionOptions::default().params(ActionParams::NormOnly);
        ExpmAction::new(&op, t, v.as_ref(), opts).params()
    };
    let mut switches = 0;
    let mut t_prev = 0.5;
    for step in 1..=40 {
        let t_next = 0.5 + 0.25 * step as f64;
        if params(t_prev) == params(t_next) {
            t_prev = t_next;
            continue;
        }
        let (mut lo, mut hi) = (t_prev, t_next);
        loop {
            let mid = 0.5 * (lo + hi);
            if mid == lo || mid == hi {
                break; // lo and hi are adjacent floats
            }
            if params(mid) == params(lo) {
                lo = mid
            } else {
                hi = mid
            }
        }
        let opts = ExpmActionOptions::default().params(ActionParams::NormOnly);
        let (al, ah) = (
            ExpmAction::new(&op, lo, v.as_ref(), opts),
            ExpmAction::new(&op, hi, v.as_ref(), opts),
        );
        // Values: the change is (hi − lo)·X·w to first order (one ulp of t).
        let xw = &x * al.value();
        let dw = (ah.value() - al.value() - &xw * Scale(hi - lo)).norm_l2() / al.value().norm_l2();
        let (mut gl, mut gh) = (DiagCotangent::new(&op), DiagCotangent::new(&op));
        let (vl, tl) = al.vjp(&op, wbar.as_ref(), &mut gl);
        let (vh, th) = ah.vjp(&op, wbar.as_ref(), &mut gh);
        let scale: Vec<f64> = gl.value().iter().map(|x| x.abs()).collect();
        let e_d = scaled_err(gh.value(), gl.value(), &scale);
        let e_v = (&vh - &vl).norm_l2() / vl.norm_l2();
        let e_t = (th - tl).abs() / (wbar.norm_l2() * xw.norm_l2());
        eprintln!(
            "switch at t ≈ {lo:.6}: {:?} → {:?}: Δw {dw:.1e}, Δd̄ {e_d:.1e}, ΔV̄ {e_v:.1e}, Δt̄ {e_t:.1e}",
            al.params(),
            ah.params()
        );
        // t moved by one ulp, so both sides differ by their rounding errors only (the
        // truncation error is below u on both sides by the choice of θ_m): two independent
        // random walks of m·s roundings for w, 2·m·s for the derivatives (forward and
        // reverse), i.e. 2·√(m·s)·u and 2·√(2m·s)·u relative.
        let (m, s) = al.params().max(ah.params());
        let tol_w = 2.0 * ((m * s) as f64).sqrt() * U;
        let tol = 2.0 * ((2 * m * s) as f64).sqrt() * U;
        assert!(dw <= tol_w, "Δw = {dw:.2e} > {tol_w:.2e}");
        assert!(
            e_d <= tol && e_v <= tol && e_t <= tol,
            "derivatives jump: {e_d:.2e} {e_v:.2e} {e_t:.2e}"
        );
        switches += 1;
        t_prev = t_next;
    }
    assert!(switches >= 3, "only {switches} switches crossed");
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
    let mut r = common::rng(77);
    let a = neg_laplacian_2d(100);
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
        let mut sink = DiagCotangent::new(&x);
        let (vbar, tbar) = act.vjp(&x, wbar.as_ref(), &mut sink);
        let lhs: f64 = sink.value().iter().zip(&e).map(|(g, e)| g * e).sum();
        let lhs_mag: f64 = sink
            .value()
            .iter()
            .zip(&e)
            .map(|(g, e)| (g * e).abs())
            .sum();
        let block = Augmented { x: &x, e: &eop };
        let z = Mat::from_fn(2 * n, 1, |i, _| if i < n { 0.0 } else { v[(i - n, 0)] });
        let (big, stats) =
            try_expm_multiply_with(&block, t, z.as_ref(), ActionParams::Auto).unwrap();
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
fn t_zero_returns_v_and_the_gradient_is_still_right() {
    let mut r = common::rng(3);
    let n = 30;
    let x = random_sparse(&mut r, n, 3);
    let v = randn(&mut r, n, 2);
    let wbar = randn(&mut r, n, 2);
    assert_eq!(expm_multiply(&x, 0.0, v.as_ref()), v);
    let act = ExpmAction::new(&x, 0.0, v.as_ref(), ExpmActionOptions::default());
    assert_eq!(act.value(), v.as_ref());
    assert_eq!(act.params(), (1, 1));
    let mut xbar = DenseCotangent::new(n);
    let (vbar, tbar) = act.vjp(&x, wbar.as_ref(), &mut xbar);
    // w = exp(0·X)V = V for every X: V̄ = w̄, X̄ = 0, t̄ = ⟨w̄, X·V⟩.
    assert_eq!(vbar, wbar);
    assert!(xbar.value().norm_max() == 0.0);
    let want = inner(wbar.as_ref(), (&x * &v).as_ref());
    assert!((tbar - want).abs() <= 4.0 * n as f64 * U * want.abs().max(1.0));
}

#[test]
fn empty_problems() {
    let x = Mat::<f64>::zeros(0, 0);
    let v = Mat::<f64>::zeros(0, 3);
    assert_eq!(expm_multiply(&x, 1.0, v.as_ref()).shape(), (0, 3));
    let act = ExpmAction::new(&x, 1.0, v.as_ref(), ExpmActionOptions::default());
    assert_eq!(
        (act.value().shape(), act.params(), act.products()),
        ((0, 3), (0, 0), 0)
    );
    let (vbar, tbar) = act.vjp(&x, v.as_ref(), &mut DenseCotangent::new(0));
    assert_eq!((vbar.shape(), tbar), ((0, 3), 0.0));
    // k = 0.
    let x = Mat::<f64>::identity(4, 4);
    let v = Mat::<f64>::zeros(4, 0);
    assert_eq!(expm_multiply(&x, 2.0, v.as_ref()).shape(), (4, 0));
    let act = ExpmAction::new(&x, 2.0, v.as_ref(), ExpmActionOptions::default());
    let (vbar, tbar) = act.vjp(&x, v.as_ref(), &mut NoCotangent);
    assert_eq!((vbar.shape(), tbar, act.stored_values()), ((4, 0), 0.0, 0));
}

#[test]
fn scalar_with_zero_shifted_part_keeps_one_taylor_term() {
    // n = 1, X = d·a: X − μI = 0, yet ∂w/∂d = t·a·e^{tda}·v ≠ 0, also at d = 0.
    let a = faer::mat![[1.7f64]];
    let v = faer::mat![[0.6f64]];
    let wbar = faer::mat![[-1.3f64]];
    for (dv, t) in [(0.0, 0.8), (0.0, -2.0), (0.5, 1.5), (-1.2, 3.0)] {
        let d = [dv];
        let op = DiagScaled::left(&d, a.as_ref());
        let act = ExpmAction::new(&op, t, v.as_ref(), ExpmActionOptions::default());
        assert_eq!(act.params(), (1, 1));
        let w = (t * dv * 1.7f64).exp() * 0.6;
        // The argument x = t·d·a is rounded differently (≤ 2u|x|, amplified by 1 through
        // exp), then exp and the products round: (2|x| + 8)·u relative.
        let tol = (2.0 * (t * dv * 1.7f64).abs() + 8.0) * U;
        assert!((act.value()[(0, 0)] - w).abs() <= tol * w.abs());
        let mut g = DiagCotangent::new(&op);
        let (vbar, tbar) = act.vjp(&op, wbar.as_ref(), &mut g);
        let e = (t * dv * 1.7f64).exp();
        let want_d = -1.3 * t * 1.7 * e * 0.6;
        let want_t = -1.3 * dv * 1.7 * w;
        assert!(
            (g.value()[0] - want_d).abs() <= tol * want_d.abs(),
            "d={dv} t={t}: {} vs {want_d}",
            g.value()[0]
        );
        assert!((vbar[(0, 0)] - (-1.3 * e)).abs() <= tol * e * 1.3);
        assert!((tbar - want_t).abs() <= tol * want_t.abs());
        // Right scaling: same scalar.
        let op = DiagScaled::right(&d, a.as_ref());
        let act = ExpmAction::new(&op, t, v.as_ref(), ExpmActionOptions::default());
        let mut g = DiagCotangent::new(&op);
        act.vjp(&op, wbar.as_ref(), &mut g);
        assert!((g.value()[0] - want_d).abs() <= tol * want_d.abs());
    }
}

#[test]
fn bad_input_gives_typed_errors() {
    let x = faer::mat![[-1.0, 0.5], [0.25, -2.0f64]];
    let v = faer::mat![[1.0], [2.0f64]];
    let op = "expm_multiply";
    let err = |r: Result<Mat<f64>, LinalgError>| r.unwrap_err();
    assert_eq!(
        err(try_expm_multiply(&x, f64::NAN, v.as_ref())),
        LinalgError::NonFinite { op }
    );
    assert_eq!(
        err(try_expm_multiply(&x, f64::INFINITY, v.as_ref())),
        LinalgError::NonFinite { op }
    );
    let vnan = faer::mat![[1.0], [f64::NAN]];
    assert_eq!(
        err(try_expm_multiply(&x, 1.0, vnan.as_ref())),
        LinalgError::NonFinite { op }
    );
    let xinf = faer::mat![[-1.0, f64::INFINITY], [0.25, -2.0f64]];
    assert_eq!(
        err(try_expm_multiply(&xinf, 1.0, v.as_ref())),
        LinalgError::NonFinite { op }
    );
    let sp = csc(faer::mat![[1.0, f64::NAN], [0.0, 1.0]].as_ref());
    assert_eq!(
        err(try_expm_multiply(&sp, 1.0, v.as_ref())),
        LinalgError::NonFinite { op }
    );
    let dn = [1.0, f64::NAN];
    let ds = DiagScaled::left(&dn, x.as_ref());
    assert_eq!(
        err(try_expm_multiply(&ds, 1.0, v.as_ref())),
        LinalgError::NonFinite { op }
    );
    let v3 = Mat::<f64>::zeros(3, 1);
    assert_eq!(
        err(try_expm_multiply(&x, 1.0, v3.as_ref())),
        LinalgError::ShapeMismatch {
            op,
            lhs: (2, 2),
            rhs: (3, 1)
        }
    );
    let rect = Mat::<f64>::zeros(2, 3);
    assert_eq!(
        err(try_expm_multiply(&rect.as_ref(), 1.0, v.as_ref())),
        LinalgError::NotSquare { op, shape: (2, 3) }
    );
    // Overflow: e^{1000} is not representable.
    let big = faer::mat![[1000.0, 0.0], [0.0, 1.0f64]];
    assert_eq!(
        err(try_expm_multiply(&big, 1.0, v.as_ref())),
        LinalgError::Overflow { op }
    );
    // DiagScaled shapes.
    let d3 = [1.0, 2.0, 3.0];
    assert_eq!(
        DiagScaled::try_new(&d3, x.as_ref(), Side::Left).unwrap_err(),
        LinalgError::ShapeMismatch {
            op: "DiagScaled",
            lhs: (3, 1),
            rhs: (2, 2)
        }
    );
    // The taped form and its reverse pass.
    let o = ExpmActionOptions::default();
    assert!(matches!(
        ExpmAction::try_new(&x, f64::NAN, v.as_ref(), o),
        Err(LinalgError::NonFinite { op: "ExpmAction" })
    ));
    let act = ExpmAction::new(&x, 1.0, v.as_ref(), o);
    let mut sink = DenseCotangent::new(2);
    assert_eq!(
        act.try_vjp(&x, Mat::<f64>::zeros(2, 2).as_ref(), &mut sink)
            .unwrap_err(),
        LinalgError::ShapeMismatch {
            op: "ExpmAction::vjp",
            lhs: (2, 1),
            rhs: (2, 2)
        }
    );
    assert_eq!(
        act.try_vjp(&x, vnan.as_ref(), &mut sink).unwrap_err(),
        LinalgError::NonFinite {
            op: "ExpmAction::vjp"
        }
    );
    let x3 = Mat::<f64>::identity(3, 3);
    assert!(matches!(
        act.try_vjp(&x3, v.as_ref(), &mut sink),
        Err(LinalgError::ShapeMismatch { rhs: (3, 3), .. })
    ));
}

#[test]
#[should_panic(expected = "expm_multiply: shape mismatch: 2x2 vs 3x1")]
fn panicking_form_names_the_op_and_shapes() {
    let x = Mat::<f64>::identity(2, 2);
    expm_multiply(&x, 1.0, Mat::<f64>::zeros(3, 1).as_ref());
}

#[test]
fn parameter_choice() {
    let lap = neg_laplacian_1d(100);
    let v = Mat::<f64>::ones(100, 1);
    let stats = |t: f64, p: ActionParams| try_expm_multiply_with(&lap, t, v.as_ref(), p).unwrap().1;
    // |t| enters every norm: t and −t choose the same (m, s).
    for t in [0.3, 4.0, 40.0] {
        let (a, b) = (stats(t, ActionParams::Auto), stats(-t, ActionParams::Auto));
        assert_eq!((a.m, a.s), (b.m, b.s));
    }
    // Exact norms: NormOnly costs no product; Auto estimates only above the skip bound
    // 4θ₅₅·p_max(p_max+3)/m_max ≈ 63 (k = 1): ν = |t|·‖X_s‖ = 2|t| for this Laplacian.
    assert_eq!(stats(40.0, ActionParams::NormOnly).norm_products, 0);
    assert_eq!(stats(30.0, ActionParams::Auto).norm_products, 0);
    let above = stats(40.0, ActionParams::Auto);
    assert!(above.norm_products > 0 && above.shifted);
    // Fixed parameters are honoured.
    let f = stats(1.0, ActionParams::Fixed { m: 7, s: 3 });
    assert_eq!((f.m, f.s), (7, 3));
    assert!(f.products <= 7 * 3);
    // NormOnly minimises m·⌈ν/θ_m⌉ (ν = 2|t|).
    let s = stats(10.0, ActionParams::NormOnly);
    assert!(s.products <= s.m * s.s);
    // X = cI: X − μI = 0, one Taylor term, exact.
    let c = Mat::<f64>::identity(5, 5) * Scale(-3.0);
    let (w, st) =
        try_expm_multiply_with(&c, 2.0, Mat::<f64>::ones(5, 1).as_ref(), ActionParams::Auto)
            .unwrap();
    assert_eq!((st.m, st.s, st.shifted), (1, 1, true));
    assert!((w[(0, 0)] - (-6.0f64).exp()).abs() <= 2.0 * U * (-6.0f64).exp());
}

#[test]
fn sparse_pattern_cotangent_is_the_dense_gradient_on_the_pattern() {
    let mut r = common::rng(31);
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
    act.vjp(&xc, wbar.as_ref(), &mut dense_sink);
    act.vjp(&xc, wbar.as_ref(), &mut pc);
    act.vjp(&xr, wbar.as_ref(), &mut pr);
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
    act.vjp(&op, wbar.as_ref(), &mut xbar);
    act.vjp(&op, wbar.as_ref(), &mut abar);
    let scale = xbar.value().norm_max();
    for j in 0..n {
        for p in xc.as_ref().symbolic().col_range(j) {
            let i = xc.as_ref().symbolic().row_idx()[p];
            assert!((abar.value()[p] - d[i] * xbar.value()[(i, j)]).abs() <= 16.0 * U * scale);
        }
    }
}

#[test]
fn f32_smoke() {
    let u32_ = f32::EPSILON as f64 / 2.0;
    let n = 64;
    let a64 = neg_laplacian_1d(n);
    let a32 = faer::sparse::SparseColMat::<usize, f32>::try_new_from_triplets(
        n,
        n,
        &triplets(dense(&a64).as_ref())
            .iter()
            .map(|t| faer::sparse::Triplet::new(t.row, t.col, t.val as f32))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let d64: Vec<f64> = (0..n).map(|i| 0.5 + (i % 3) as f64 * 0.25).collect();
    let d32: Vec<f32> = d64.iter().map(|&x| x as f32).collect();
    let v32 = Mat::<f32>::from_fn(n, 1, |i, _| ((i as f32) * 0.3).sin());
    let v64 = Mat::<f64>::from_fn(n, 1, |i, _| v32[(i, 0)] as f64);
    let wbar32 = Mat::<f32>::from_fn(n, 1, |i, _| ((i as f32) * 0.7).cos());
    let wbar64 = Mat::<f64>::from_fn(n, 1, |i, _| wbar32[(i, 0)] as f64);
    let t = 3.0;
    let op32 = DiagScaled::left(&d32, &a32);
    let op64 = DiagScaled::left(&d64, &a64);
    let act32 = ExpmAction::new(&op32, t as f32, v32.as_ref(), ExpmActionOptions::default());
    let act64 = ExpmAction::new(&op64, t, v64.as_ref(), ExpmActionOptions::default());
    let (mut g32, mut g64) = (DiagCotangent::new(&op32), DiagCotangent::new(&op64));
    let (vb32, tb32) = act32.vjp(&op32, wbar32.as_ref(), &mut g32);
    let (vb64, tb64) = act64.vjp(&op64, wbar64.as_ref(), &mut g64);
    let to64 =
        |m: MatRef<'_, f32>| Mat::<f64>::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)] as f64);
    let (m, s) = act32.params();
    // The f64 run is exact to f32 precision; the f32 run errs by (2m·s + 3n)·u₃₂·κ as above.
    let x = dense(&op64);
    let tol =
        (2.0 * (m * s) as f64 + 3.0 * n as f64) * u32_ * action_cond(x.as_ref(), t, v64.as_ref());
    let e_w = (to64(act32.value()) - act64.value()).norm_l2() / act64.value().norm_l2();
    let e_v = (to64(vb32.as_ref()) - &vb64).norm_l2() / vb64.norm_l2();
    let gd: Vec<f64> = g32.value().iter().map(|&x| x as f64).collect();
    let e_d = scaled_err(
        &gd,
        g64.value(),
        &g64.value().iter().map(|x| x.abs()).collect::<Vec<_>>(),
    );
    let mut xw = Mat::zeros(n, 1);
    op64.apply(xw.as_mut(), act64.value());
    let e_t = (tb32 as f64 - tb64).abs() / (wbar64.norm_l2() * xw.norm_l2());
    eprintln!(
        "f32: (m, s) = ({m}, {s}) vs f64 {:?}: w {e_w:.1e} V̄ {e_v:.1e} d̄ {e_d:.1e} t̄ {e_t:.1e} (tol {tol:.1e})",
        act64.params()
    );
    assert!(
        m * s < act64.params().0 * act64.params().1,
        "f32 uses its own θ table"
    );
    assert!(e_w <= tol && e_v <= tol && e_d <= tol && e_t <= tol);
}

#[test]
fn recycled_workspace_gives_bitwise_the_same_results() {
    let mut r = common::rng(41);
    let n = 50;
    let a = csc(random_sparse(&mut r, n, 3).as_ref());
    let d: Vec<f64> = (0..n).map(|_| r.random_range(0.5..1.5)).collect();
    let op = DiagScaled::left(&d, &a);
    let v = randn(&mut r, n, 2);
    let wbar = randn(&mut r, n, 2);
    let mut ws = ActionWorkspace::new();
    for store in [StorePolicy::All, StorePolicy::Checkpoint, StorePolicy::All] {
        let o = ExpmActionOptions::default().store(store);
        let fresh = ExpmAction::new(&op, -2.5, v.as_ref(), o);
        let reused = ExpmAction::new_in(&op, -2.5, v.as_ref(), o, &mut ws);
        assert_eq!(fresh.value(), reused.value());
        let (mut g1, mut g2) = (DiagCotangent::new(&op), DiagCotangent::new(&op));
        let r1 = fresh.vjp(&op, wbar.as_ref(), &mut g1);
        let r2 = reused.vjp(&op, wbar.as_ref(), &mut g2);
        assert_eq!((r1, g1.value()), (r2, g2.value()));
        reused.recycle(&mut ws);
        assert!(ws.blocks() > 0);
    }
}
