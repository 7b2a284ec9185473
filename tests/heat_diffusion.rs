//! The heat-diffusion example recovers κ from noise-free snapshots (≤ 1e-6 relative).
#[path = "../examples/heat_diffusion/model.rs"]
mod model;

#[test]
fn recovers_kappa_noise_free() {
    let truth = model::kappa_true(3, 4);
    let s = model::simulate(3, 4, &truth, 2, &[0.05, 0.2], 0.0, 3);
    let fit = model::fit(
        &s,
        vec![0.0; 12],
        &model::FitOptions {
            tol: 1e-11,
            max_iters: 2000,
            ..Default::default()
        },
        |_| {},
    )
    .unwrap();
    assert!(fit.converged, "{}", fit.reason);
    let rel = fit
        .x
        .iter()
        .zip(&truth)
        .map(|(t, k)| (t.exp() - k).powi(2))
        .sum::<f64>()
        .sqrt()
        / truth.iter().map(|k| k * k).sum::<f64>().sqrt();
    assert!(rel <= 1e-6, "relative error {rel:e}");
}

#[test]
fn laplacian_rows_sum_to_zero() {
    let l = model::grid_laplacian(3, 5);
    for i in 0..15 {
        assert_eq!((0..15).map(|j| l[(i, j)]).sum::<f64>(), 0.0);
        assert_eq!(
            l[(i, i)],
            (0..15).filter(|&j| j != i && l[(i, j)] != 0.0).count() as f64
        );
    }
}
