//! `ExpmAction::try_jvp` / `try_vjp_jvp` directly: the same results under both store
//! policies (to rounding: the stored-vector sweep skips the products with `X` on `b`), the JVP against the dense Fréchet route, the dot-product identity
//! between the JVP and the reverse pass for a sparse operator, the tangent of `V̄` against
//! central differences of the reverse pass, and errors (shapes, non-finite, the byte budget)
//! instead of panics.
use expgrad_linalg::{
    ActionBudget, ActionTangent, DenseCotangent, Expm, ExpmAction, ExpmActionOptions, LinalgError,
    NoCotangent, StorePolicy,
};
use expgrad_testkit::{csr, uniform_mat};
use faer::Mat;

fn dot(a: &Mat<f64>, b: &Mat<f64>) -> f64 {
    (0..a.ncols())
        .flat_map(|j| (0..a.nrows()).map(move |i| (i, j)))
        .map(|(i, j)| a[(i, j)] * b[(i, j)])
        .sum()
}

#[test]
fn store_policies_agree_bitwise_and_match_frechet() {
    let n = 12;
    let x = uniform_mat(1, n, n, -1.0..1.0);
    let v = uniform_mat(2, n, 2, -1.0..1.0);
    let xd = uniform_mat(3, n, n, -1.0..1.0);
    let vd = uniform_mat(4, n, 2, -1.0..1.0);
    let g = uniform_mat(5, n, 2, -1.0..1.0);
    let gd = uniform_mat(6, n, 2, -1.0..1.0);
    let (t, td) = (-3.1, 0.4);
    let mut out = Vec::new();
    for store in [StorePolicy::All, StorePolicy::Checkpoint] {
        let act = ExpmAction::new(
            x.clone(),
            t,
            v.as_ref(),
            ExpmActionOptions::default().store(store),
        );
        assert!(act.params().1 > 1);
        let dir = ActionTangent {
            x: Some(&xd),
            v: Some(vd.as_ref()),
            t: td,
        };
        let wd = act.try_jvp(dir).unwrap();
        let (mut s, mut sd) = (act.cotangent(), act.cotangent());
        let r = act
            .try_vjp_jvp(g.as_ref(), Some(gd.as_ref()), dir, &mut s, &mut sd)
            .unwrap();
        // x̄ is the reverse pass's.
        let mut s0: DenseCotangent<f64> = act.cotangent();
        let (vbar, tbar) = act.vjp(g.as_ref(), &mut s0);
        assert!((&vbar - &r.v_bar).norm_max() <= 1e-15 * vbar.norm_max());
        assert!((tbar - r.t_bar).abs() <= 1e-15 * tbar.abs());
        assert!((s0.value() - s.value()).norm_max() <= 1e-15 * s0.value().norm_max());
        out.push((wd, r.v_bar_dot, r.t_bar_dot, sd.into_value()));
    }
    // The stored-vector sweep uses (τ̇/τ)·b_k where the checkpointed one recomputes
    // ċ_k(X b_{k−1} − μ b_{k−1}): the same to rounding.
    let close = |a: &Mat<f64>, b: &Mat<f64>| (a - b).norm_max() <= 1e-13 * b.norm_max();
    assert!(close(&out[0].0, &out[1].0));
    assert!(close(&out[0].1, &out[1].1));
    assert!((out[0].2 - out[1].2).abs() <= 1e-13 * out[1].2.abs());
    assert!(close(&out[0].3, &out[1].3));
    // Against L(tX, ṫX + tẊ)·V + e^{tX}·V̇.
    let f = Expm::new((&x * faer::Scale(t)).as_ref());
    let e = &x * faer::Scale(td) + &xd * faer::Scale(t);
    let want = f.frechet(e.as_ref()) * &v + f.value() * &vd;
    let err = (&out[0].0 - &want).norm_max() / want.norm_max();
    assert!(err < 1e-13, "{err:.2e}");
}

#[test]
fn sparse_identity_and_vbar_tangent_against_differences() {
    let n = 30;
    // A sparse, non-normal X with a nonzero trace (the shift applies).
    let dense = Mat::from_fn(n, n, |i, j| match (i as isize - j as isize, i % 3) {
        (0, _) => -2.0 - 0.1 * i as f64,
        (1, _) => 1.3,
        (-1, 0) => 0.4,
        (-5, _) => 0.2,
        _ => 0.0,
    });
    let x = csr(dense.as_ref());
    let xd_dense = Mat::from_fn(n, n, |i, j| {
        if dense[(i, j)] != 0.0 {
            ((i * 7 + j * 3) % 5) as f64 - 2.5
        } else {
            0.0
        }
    });
    let xd = csr(xd_dense.as_ref());
    let v = uniform_mat(11, n, 1, -1.0..1.0);
    let vd = uniform_mat(12, n, 1, -1.0..1.0);
    let g = uniform_mat(13, n, 1, -1.0..1.0);
    let (t, td) = (2.5, -0.7);
    let act = ExpmAction::new(&x, t, v.as_ref(), ExpmActionOptions::default());
    assert!(act.shift() != 0.0);
    let dir = ActionTangent {
        x: Some(&xd),
        v: Some(vd.as_ref()),
        t: td,
    };
    let wd = act.try_jvp(dir).unwrap();
    let mut xbar = act.cotangent();
    let (vbar, tbar) = act.vjp(g.as_ref(), &mut xbar);
    let lhs = dot(&g, &wd);
    let xd_vals = xd.val();
    let rhs = xbar
        .value()
        .iter()
        .zip(xd_vals)
        .map(|(a, b)| a * b)
        .sum::<f64>()
        + dot(&vbar, &vd)
        + tbar * td;
    let rel = (lhs - rhs).abs() / lhs.abs().max(rhs.abs());
    assert!(rel < 1e-13, "identity {rel:.2e}");
    // V̄̇ with ġ = 0 against central differences of V̄ along the direction.
    let r = act
        .try_vjp_jvp(g.as_ref(), None, dir, &mut NoCotangent, &mut NoCotangent)
        .unwrap();
    let vbar_at = |h: f64| {
        let xh = csr((&dense + &xd_dense * faer::Scale(h)).as_ref());
        let vh = &v + &vd * faer::Scale(h);
        let a = ExpmAction::new(&xh, t + h * td, vh.as_ref(), ExpmActionOptions::default());
        a.vjp(g.as_ref(), &mut NoCotangent)
    };
    let h = 1e-4;
    let ((vp, tp), (vm, tm)) = (vbar_at(h), vbar_at(-h));
    let fd = (vp - vm) * faer::Scale(0.5 / h);
    let err = (&r.v_bar_dot - &fd).norm_max() / fd.norm_max();
    assert!(err < 1e-6, "V̄̇ {err:.2e}");
    let fdt = (tp - tm) / (2.0 * h);
    assert!((r.t_bar_dot - fdt).abs() < 1e-6 * fdt.abs().max(1.0));
}

#[test]
fn errors_not_panics() {
    let n = 6;
    let x = uniform_mat(1, n, n, -1.0..1.0);
    let v = uniform_mat(2, n, 1, -1.0..1.0);
    let act = ExpmAction::new(x.clone(), 1.0, v.as_ref(), ExpmActionOptions::default());
    let bad = Mat::<f64>::zeros(n + 1, n + 1);
    let dir = ActionTangent {
        x: Some(&bad),
        v: None,
        t: 0.0,
    };
    assert!(matches!(
        act.try_jvp(dir),
        Err(LinalgError::ShapeMismatch { .. })
    ));
    let nan = Mat::from_fn(n, 1, |_, _| f64::NAN);
    let dir = ActionTangent {
        x: None,
        v: Some(nan.as_ref()),
        t: 0.0,
    };
    assert!(matches!(
        act.try_jvp(dir),
        Err(LinalgError::NonFinite { .. })
    ));
    // A byte budget that fits the forward's checkpoints but not the second-order pass.
    let big = &x * faer::Scale(40.0);
    let opts = ExpmActionOptions::default()
        .store(StorePolicy::Checkpoint)
        .budget(ActionBudget::default().bytes(5_000));
    let act = ExpmAction::try_new(big, 1.0, v.as_ref(), opts).unwrap();
    let dir = ActionTangent {
        x: None,
        v: None,
        t: 1.0,
    };
    assert!(act.try_jvp(dir).is_ok());
    let r = act.try_vjp_jvp(v.as_ref(), None, dir, &mut NoCotangent, &mut NoCotangent);
    assert!(matches!(r, Err(LinalgError::Budget { .. })), "{r:?}");
}
