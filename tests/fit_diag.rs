//! The fit_diag model recovers d on a small seeded case (noise-free: ≤ 1e-6 relative error).
#[path = "../examples/fit_diag/model.rs"]
mod model;

#[test]
fn recovers_d_noise_free() {
    let p = model::synthetic(10, 6, 0.0, 7);
    let r = model::fit(&p, vec![1.0; 10], &model::FitOptions::default(), |_| {}).unwrap();
    let err = model::relative_error(&r.x, p.d_true.as_ref().unwrap());
    assert!(r.converged, "{}: ‖∇‖ = {:e}", r.reason, r.grad_norm);
    assert!(err <= 1e-6, "relative error {err:e}");
}

#[test]
fn gradient_matches_differences() {
    let p = model::synthetic(5, 3, 0.01, 3);
    let d: Vec<f64> = (0..5).map(|i| 0.8 + 0.1 * i as f64).collect();
    let (_, g) = p.loss_and_grad(&d).unwrap();
    for k in 0..5 {
        let h = 1e-5;
        let (mut dp, mut dm) = (d.clone(), d.clone());
        dp[k] += h;
        dm[k] -= h;
        let fd = (p.loss_and_grad(&dp).unwrap().0 - p.loss_and_grad(&dm).unwrap().0) / (2.0 * h);
        assert!(
            (fd - g[k]).abs() <= 1e-7 * g[k].abs().max(1.0),
            "k={k}: {fd} vs {}",
            g[k]
        );
    }
}

#[test]
fn bad_data_is_named() {
    let mut data = model::synthetic(3, 2, 0.0, 1).to_data();
    data.a[1].pop();
    assert_eq!(
        model::Problem::from_data(data, 0.0).unwrap_err(),
        "A is not square: row 1 has 2 entries, expected 3"
    );
    let mut data = model::synthetic(3, 2, 0.0, 1).to_data();
    data.observations[1].w[2] = f64::NAN;
    assert_eq!(
        model::Problem::from_data(data, 0.0).unwrap_err(),
        "observation 1: w[2] is not a finite number"
    );
    let mut data = model::synthetic(3, 2, 0.0, 1).to_data();
    data.observations[0].v.push(1.0);
    assert_eq!(
        model::Problem::from_data(data, 0.0).unwrap_err(),
        "observation 0: v has length 4, expected n = 3"
    );
}
