//! The action of the exponential under its work and memory budget ([`ActionBudget`]): a huge
//! `|t|·‖X‖` is refused with a typed [`LinalgError::Budget`] before any work or allocation —
//! never a panic, a "capacity overflow" or an abort — and inputs at the edges (NaN/∞ in every
//! argument, n = 0, k = 0) get typed errors or empty results.
use expgrad_linalg::{
    ActionBudget, ActionParams, DiagScaled, ExpmAction, ExpmActionOptions, LinalgError, Side,
    StorePolicy, expm, try_expm_multiply, try_expm_multiply_with,
};
use faer::Mat;

/// A 5×5 matrix with ‖X‖₁ ≈ 3.
fn x5() -> Mat<f64> {
    Mat::from_fn(5, 5, |i, j| {
        if i == j {
            -1.5
        } else {
            0.1 * ((i + 2 * j) as f64).sin()
        }
    })
}

fn is_budget(e: &LinalgError) -> bool {
    matches!(e, LinalgError::Budget { .. })
}

#[test]
fn huge_t_is_refused_by_the_budget_not_aborted() {
    let x = x5();
    let v = Mat::<f64>::from_fn(5, 2, |i, j| (i + j) as f64);
    for t in [1e8, 1e12, 1e20, 1e100, 1e300, -1e8, -1e300, f64::MAX] {
        let e = try_expm_multiply(&x, t, v.as_ref()).unwrap_err();
        assert!(is_budget(&e), "t = {t:e}: {e}");
        let e = ExpmAction::try_new(&x, t, v.as_ref(), ExpmActionOptions::default()).unwrap_err();
        assert!(is_budget(&e), "t = {t:e}: {e}");
    }
}

#[test]
fn the_budget_error_names_op_norm_and_limits() {
    let x = x5();
    let v = Mat::<f64>::ones(5, 1);
    let e = try_expm_multiply(&x, 1e20, v.as_ref()).unwrap_err();
    let LinalgError::Budget {
        op,
        norm,
        products,
        max_products,
        max_bytes,
        ..
    } = e.clone()
    else {
        panic!("{e}")
    };
    assert_eq!(op, "expm_multiply");
    // ν = |t|·min(‖X − μI‖₁, ‖X − μI‖∞) with μ = tr(X)/n = −1.5: the off-diagonal sums.
    assert!(norm > 1e19 && norm < 1e21, "{norm:e}");
    assert!(products > max_products as f64);
    assert_eq!(
        (max_products, max_bytes),
        (
            ActionBudget::default().products,
            ActionBudget::default().bytes
        )
    );
    let msg = e.to_string();
    assert!(
        msg.starts_with("expm_multiply: ") && msg.contains("budget"),
        "{msg}"
    );
}

#[test]
fn a_stiff_24x24_at_t_1e9_is_refused_quickly() {
    // The reported abort: a stiff symmetric 24×24 operator, t = 1e9, Diag(d)·A.
    let n = 24;
    let a = Mat::<f64>::from_fn(n, n, |i, j| match i.abs_diff(j) {
        0 => -2.0 * (1.0 + i as f64),
        1 => 1.0,
        _ => 0.0,
    });
    let d = vec![1.0; n];
    let x = DiagScaled::new(&d, a.as_ref(), Side::Left);
    let v = Mat::<f64>::ones(n, 1);
    let start = std::time::Instant::now();
    let e = ExpmAction::try_new(&x, 1e9, v.as_ref(), ExpmActionOptions::default()).unwrap_err();
    assert!(is_budget(&e), "{e}");
    // Refused from the plan, before any product: far below a second even on a loaded machine.
    assert!(start.elapsed().as_secs_f64() < 5.0);
}

#[test]
fn moderate_t_runs_within_the_default_budget() {
    let x = x5();
    let v = Mat::<f64>::ones(5, 1);
    // ‖tX‖ ≈ 3·10⁴: about 10⁴ products, well inside the default budget.
    let t = 1e4 / 3.0;
    let w = try_expm_multiply(&x, t, v.as_ref()).unwrap();
    let dense = expm((&x * faer::Scale(t)).as_ref()) * &v;
    // Both are tiny (a stable X at a long horizon) and agree in absolute terms.
    assert!((&w - &dense).norm_max() <= 1e-12);
}

#[test]
fn the_budget_is_configurable() {
    let x = x5();
    let v = Mat::<f64>::ones(5, 1);
    let tight = ExpmActionOptions::default().budget(ActionBudget::default().products(10));
    let e = try_expm_multiply_with(&x, 20.0, v.as_ref(), tight).unwrap_err();
    assert!(is_budget(&e), "{e}");
    assert!(try_expm_multiply_with(&x, 20.0, v.as_ref(), ExpmActionOptions::default()).is_ok());
    // Fixed parameters are checked too (norm reported as NaN: none was computed).
    let fixed = ExpmActionOptions::default().params(ActionParams::Fixed {
        m: 10,
        s: usize::MAX,
    });
    let e = try_expm_multiply_with(&x, 1.0, v.as_ref(), fixed).unwrap_err();
    assert!(
        matches!(e, LinalgError::Budget { norm, .. } if norm.is_nan()),
        "{e}"
    );
    // Bytes: storing every Taylor vector of a long horizon exceeds a small byte budget, and
    // the taped forward says so instead of allocating.
    let opts = ExpmActionOptions::default()
        .store(StorePolicy::All)
        .budget(ActionBudget::default().bytes(1 << 10));
    let e = ExpmAction::try_new(&x, 100.0, v.as_ref(), opts).unwrap_err();
    assert!(
        matches!(e, LinalgError::Budget { bytes, .. } if bytes > 1024.0),
        "{e}"
    );
    let unlimited = ExpmActionOptions::default().budget(ActionBudget::unlimited());
    assert!(ExpmAction::try_new(&x, 100.0, v.as_ref(), unlimited).is_ok());
}

#[test]
fn non_finite_inputs_and_empty_shapes() {
    let x = x5();
    let v = Mat::<f64>::ones(5, 1);
    let nf = |e: LinalgError| matches!(e, LinalgError::NonFinite { .. });
    for t in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert!(nf(try_expm_multiply(&x, t, v.as_ref()).unwrap_err()));
        assert!(nf(ExpmAction::try_new(
            &x,
            t,
            v.as_ref(),
            ExpmActionOptions::default()
        )
        .unwrap_err()));
    }
    for bad in [f64::NAN, f64::INFINITY] {
        let mut xb = x.clone();
        xb[(2, 3)] = bad;
        assert!(nf(try_expm_multiply(&xb, 1.0, v.as_ref()).unwrap_err()));
        let mut vb = v.clone();
        vb[(4, 0)] = bad;
        assert!(nf(try_expm_multiply(&x, 1.0, vb.as_ref()).unwrap_err()));
        let d = [1.0, bad, 1.0, 1.0, 1.0];
        let ds = DiagScaled::new(d, x.as_ref(), Side::Right);
        assert!(nf(try_expm_multiply(&ds, 1.0, v.as_ref()).unwrap_err()));
        let act = ExpmAction::new(&x, 1.0, v.as_ref(), ExpmActionOptions::default());
        let mut wbar = v.clone();
        wbar[(0, 0)] = bad;
        assert!(nf(act
            .try_vjp(wbar.as_ref(), &mut act.cotangent())
            .unwrap_err()));
    }
    // n = 0 and k = 0: empty results, no error, also at a huge t.
    let x0 = Mat::<f64>::zeros(0, 0);
    let v0 = Mat::<f64>::zeros(0, 3);
    assert_eq!(
        try_expm_multiply(&x0, 1e300, v0.as_ref()).unwrap().shape(),
        (0, 3)
    );
    let vk0 = Mat::<f64>::zeros(5, 0);
    assert_eq!(
        try_expm_multiply(&x, 1e300, vk0.as_ref()).unwrap().shape(),
        (5, 0)
    );
    let act = ExpmAction::new(&x, 1e300, vk0.as_ref(), ExpmActionOptions::default());
    let (vbar, tbar) = act.vjp(vk0.as_ref(), &mut act.cotangent());
    assert_eq!((vbar.shape(), tbar), ((5, 0), 0.0));
}
