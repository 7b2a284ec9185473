//! The large_diffusion example's model at a small grid: the operator, the exact gradient of
//! the full objective (tape misfit + hand-written regulariser) against finite differences,
//! and a short fit that recovers κ.
#[path = "../examples/large_diffusion/model.rs"]
mod model;

/// Maximum absolute difference of two vectors.
fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn minus_laplacian_is_a_symmetric_neumann_generator() {
    let g = 5;
    let a = model::minus_laplacian(g).to_dense();
    for i in 0..g * g {
        let (r, c) = (i / g, i % g);
        let deg = [r > 0, r + 1 < g, c > 0, c + 1 < g]
            .iter()
            .filter(|&&b| b)
            .count();
        assert_eq!(a[(i, i)], -(deg as f64));
        assert_eq!((0..g * g).map(|j| a[(i, j)]).sum::<f64>(), 0.0);
        for j in 0..g * g {
            assert_eq!(a[(i, j)], a[(j, i)]);
        }
    }
}

#[test]
fn regulariser_is_half_lambda_theta_l_theta() {
    let g = 4;
    let theta: Vec<f64> = (0..g * g).map(|i| (i as f64 * 0.7).sin()).collect();
    let lambda = 2.5;
    let (value, grad) = model::regulariser(g, &theta, lambda);
    let l = model::minus_laplacian(g).to_dense() * faer::Scale(-1.0);
    let lt: Vec<f64> = (0..g * g)
        .map(|i| (0..g * g).map(|j| l[(i, j)] * theta[j]).sum())
        .collect();
    let qf: f64 = theta.iter().zip(&lt).map(|(a, b)| a * b).sum();
    assert!((value - 0.5 * lambda * qf).abs() <= 1e-13 * value);
    let want: Vec<f64> = lt.iter().map(|x| lambda * x).collect();
    assert!(max_diff(&grad, &want) <= 1e-13);
}

/// The full objective's gradient (tape adjoint of the chained `expm_multiply_diag` nodes plus
/// the regulariser) against central differences in every one of the 144 components.
///
/// Step `h = 1e-4` in θ: a central difference errs by `h²/6·|∂³f|` (truncation) plus about
/// `ε·|f|/h` (rounding), both far below 1e-6·‖∇f‖∞ for this smooth objective (measured:
/// max |∇f − fd| ≈ 6e-9·‖∇f‖∞), while any real adjoint bug (a dropped term, a wrong sign,
/// a missing chain from one snapshot to the next) gives an O(1) relative error.
#[test]
fn gradient_matches_central_differences() {
    let g = 12;
    let p = model::simulate(g, 2, &[0.3, 0.8, 1.5], 0.02, 0.7, 7).unwrap();
    let obj = model::Objective::new(&p);
    // A point away from the truth and from κ ≡ 1.
    let theta: Vec<f64> = p
        .kappa_true
        .iter()
        .enumerate()
        .map(|(i, k)| k.ln() + 0.3 * ((i * 7 % 11) as f64 / 11.0 - 0.5))
        .collect();
    let (f, grad) = obj.loss_and_grad(&theta).unwrap();
    assert!(f.is_finite() && f > 0.0);
    let h = 1e-4;
    let fd: Vec<f64> = (0..theta.len())
        .map(|i| {
            let mut tp = theta.clone();
            let mut tm = theta.clone();
            tp[i] += h;
            tm[i] -= h;
            (obj.loss_and_grad(&tp).unwrap().0 - obj.loss_and_grad(&tm).unwrap().0) / (2.0 * h)
        })
        .collect();
    let scale = grad.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let err = max_diff(&grad, &fd);
    assert!(
        err <= 1e-6 * scale,
        "max |∇f − fd| = {err:e}, ‖∇f‖∞ = {scale:e}"
    );
    // The tape's misfit gradient is a nontrivial part of it (the check is not only of the
    // regulariser).
    let (_, misfit_grad) = obj.misfit_and_grad(&theta).unwrap();
    assert!(misfit_grad.iter().fold(0.0f64, |m, x| m.max(x.abs())) > 0.1 * scale);
}

/// From κ ≡ 1 on noise-free data with three initial fields, a short capped fit (60 L-BFGS
/// iterations) cuts the relative κ error at least 20× (measured: about 56×, 0.273 → 4.9e-3).
#[test]
fn short_fit_reduces_kappa_error() {
    let g = 12;
    let p = model::simulate(g, 3, &[0.4, 1.0, 1.6], 0.0, 0.0, 3).unwrap();
    let n = g * g;
    let err0 = model::relative_error(&vec![1.0; n], &p.kappa_true);
    let fit = model::fit(
        &p,
        vec![0.0; n],
        &model::FitOptions {
            max_iters: 60,
            tol: 1e-12,
            ..Default::default()
        },
        |_, _| {},
    )
    .unwrap();
    let kappa: Vec<f64> = fit.x.iter().map(|t| t.exp()).collect();
    let err = model::relative_error(&kappa, &p.kappa_true);
    assert!(err <= err0 / 20.0, "κ error {err0:.4} → {err:.3e}");
    // The progress history is unscaled: the loss decreased from its start.
    let first = fit.history.first().unwrap().loss;
    assert!(fit.loss < 1e-3 * first, "loss {first:e} → {:e}", fit.loss);
}

/// Noise-free and unregularised, κ is identifiable from one field: the fit runs to its
/// (relative) gradient tolerance and recovers κ to ≤ 1e-6 (measured: 4.7e-9 after 649
/// iterations; slow because the problem is ill-conditioned where `L·u` stays small).
#[test]
fn recovers_kappa_noise_free() {
    let g = 12;
    let p = model::simulate(g, 2, &[0.4, 1.0, 1.6], 0.0, 0.0, 3).unwrap();
    let n = g * g;
    let fit = model::fit(
        &p,
        vec![0.0; n],
        &model::FitOptions {
            max_iters: 3000,
            tol: 1e-10,
            ..Default::default()
        },
        |_, _| {},
    )
    .unwrap();
    let kappa: Vec<f64> = fit.x.iter().map(|t| t.exp()).collect();
    let err = model::relative_error(&kappa, &p.kappa_true);
    assert!(fit.converged, "{}", fit.reason);
    assert!(err <= 1e-6, "relative κ error {err:e}");
}
