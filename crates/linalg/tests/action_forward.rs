//! Tests of `expm_multiply` / `try_expm_multiply_with` / `ExpmAction` (the action of the
//! exponential `exp(tX)·V`, Al-Mohy & Higham 2011), forward values and parameters: every
//! operator kind (dense, CSC, CSR, `DiagScaled`) against the dense `expm`, `t < 0`, the choice
//! of `(m, s)` (`ActionParams`, `ActionStats`) and a switch of it, the trace shift, `t = 0`,
//! and `f32`.
//!
//! Tolerances: `(m·s + 3n)·u·κ` relative for a value (`forward_tol`; `(2m·s + 3n)·u·κ` where a
//! reverse pass is also compared), `κ` the condition number of the action (`action_cond` in
//! `common/action.rs`).
#[path = "common/action.rs"]
mod helpers;

use expgrad_linalg::*;
use expgrad_testkit::laplacian::{Boundary, neg_laplacian_1d};
use expgrad_testkit::{csc, csr, markov_dense, randn, random_sparse, rng, triplets};
use faer::{Mat, MatRef, Scale};
use helpers::*;

/// The forward tolerance: `(m·s + 3n)·u·κ` relative, as `common::tol_exp`: `m·s` products
/// of the recurrence (each a backward perturbation of `X` of order `u`), `3n·u` for the dense
/// reference, amplified by the condition number `κ` of the action (`action_cond`).
fn forward_tol(x: MatRef<'_, f64>, t: f64, v: MatRef<'_, f64>, m: usize, s: usize) -> f64 {
    ((m * s) as f64 + 3.0 * x.nrows() as f64) * U * action_cond(x, t, v)
}

#[test]
fn forward_matches_dense_expm_for_every_operator_kind() {
    let mut r = rng(7);
    let lap = neg_laplacian_1d(200, Boundary::Dirichlet).dense();
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
        ("markov generator", markov_dense(&mut r, 120), 2.0),
        ("laplacian", lap.clone(), 5.0),
        ("laplacian t<0", lap, -1.5),
        ("sparse", random_sparse(&mut r, 150, 3), -2.5),
    ];
    for (name, x, t) in cases {
        let n = x.nrows();
        let v = randn(&mut r, n, 3);
        let want = expm((&x * Scale(t)).as_ref()) * &v;
        let (a, b) = (csc(x.as_ref()), csr(x.as_ref()));
        let (wd, sd) = expm_multiply_params(&x, t, v.as_ref(), ActionParams::Auto);
        let (wc, sc) = expm_multiply_params(&a, t, v.as_ref(), ActionParams::Auto);
        let (wr, sr) = expm_multiply_params(&b, t, v.as_ref(), ActionParams::Auto);
        let (_, sn) = expm_multiply_params(&a, t, v.as_ref(), ActionParams::NormOnly);
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

#[test]
fn crossing_a_parameter_switch_is_smooth() {
    // ν = |t|·‖X_s‖ crosses a boundary of m·⌈ν/θ_m⌉: bracket the t where (m, s) changes
    // between two adjacent floats and compare both sides.
    let mut r = rng(9);
    let n = 50;
    let (a, d) = sparse_and_scaling(&mut r, n);
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
        let (mut gl, mut gh) = (op.cotangent(), op.cotangent());
        let (vl, tl) = al.vjp(wbar.as_ref(), &mut gl);
        let (vh, th) = ah.vjp(wbar.as_ref(), &mut gh);
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

#[test]
fn t_zero_returns_v_and_the_gradient_is_still_right() {
    let mut r = rng(3);
    let n = 30;
    let x = random_sparse(&mut r, n, 3);
    let v = randn(&mut r, n, 2);
    let wbar = randn(&mut r, n, 2);
    assert_eq!(expm_multiply(&x, 0.0, v.as_ref()), v);
    let act = ExpmAction::new(&x, 0.0, v.as_ref(), ExpmActionOptions::default());
    assert_eq!(act.value(), v.as_ref());
    assert_eq!(act.params(), (2, 1)); // two zero terms: the second derivative in t
    let mut xbar = DenseCotangent::new(n);
    let (vbar, tbar) = act.vjp(wbar.as_ref(), &mut xbar);
    // w = exp(0·X)V = V for every X: V̄ = w̄, X̄ = 0, t̄ = ⟨w̄, X·V⟩.
    assert_eq!(vbar, wbar);
    assert!(xbar.value().norm_max() == 0.0);
    let want = inner(wbar.as_ref(), (&x * &v).as_ref());
    assert!((tbar - want).abs() <= 4.0 * n as f64 * U * want.abs().max(1.0));
}

#[test]
fn scalar_with_zero_shifted_part_keeps_taylor_terms() {
    // n = 1, X = d·a: X − μI = 0, yet ∂w/∂d = t·a·e^{tda}·v ≠ 0, also at d = 0.
    let a = faer::mat![[1.7f64]];
    let v = faer::mat![[0.6f64]];
    let wbar = faer::mat![[-1.3f64]];
    for (dv, t) in [(0.0, 0.8), (0.0, -2.0), (0.5, 1.5), (-1.2, 3.0)] {
        let d = [dv];
        let op = DiagScaled::left(d, a.as_ref());
        let act = ExpmAction::new(&op, t, v.as_ref(), ExpmActionOptions::default());
        assert_eq!(act.params(), (2, 1)); // degree ≥ 2: the second derivative
        let w = (t * dv * 1.7f64).exp() * 0.6;
        // The argument x = t·d·a is rounded differently (≤ 2u|x|, amplified by 1 through
        // exp), then exp and the products round: (2|x| + 8)·u relative.
        let tol = (2.0 * (t * dv * 1.7f64).abs() + 8.0) * U;
        assert!((act.value()[(0, 0)] - w).abs() <= tol * w.abs());
        let mut g = op.cotangent();
        let (vbar, tbar) = act.vjp(wbar.as_ref(), &mut g);
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
        let op = DiagScaled::right(d, a.as_ref());
        let act = ExpmAction::new(&op, t, v.as_ref(), ExpmActionOptions::default());
        let mut g = op.cotangent();
        act.vjp(wbar.as_ref(), &mut g);
        assert!((g.value()[0] - want_d).abs() <= tol * want_d.abs());
    }
}

#[test]
fn parameter_choice() {
    let lap = neg_laplacian_1d(100, Boundary::Dirichlet).csc();
    let v = Mat::<f64>::ones(100, 1);
    let stats = |t: f64, p: ActionParams| expm_multiply_params(&lap, t, v.as_ref(), p).1;
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
    // X = cI: X − μI = 0, degree 2 (both terms zero; they carry the derivatives), exact.
    let c = Mat::<f64>::identity(5, 5) * Scale(-3.0);
    let (w, st) =
        expm_multiply_params(&c, 2.0, Mat::<f64>::ones(5, 1).as_ref(), ActionParams::Auto);
    assert_eq!((st.m, st.s, st.shifted), (2, 1, true));
    assert!((w[(0, 0)] - (-6.0f64).exp()).abs() <= 2.0 * U * (-6.0f64).exp());
}

#[test]
fn f32_smoke() {
    let u32_ = f32::EPSILON as f64 / 2.0;
    let n = 64;
    let a64 = neg_laplacian_1d(n, Boundary::Dirichlet).csc();
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
    let (mut g32, mut g64) = (op32.cotangent(), op64.cotangent());
    let (vb32, tb32) = act32.vjp(wbar32.as_ref(), &mut g32);
    let (vb64, tb64) = act64.vjp(wbar64.as_ref(), &mut g64);
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
