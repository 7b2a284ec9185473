//! The fit_diag model: recovers d on seeded cases (noise-free: ≤ 1e-6 relative error; noisy:
//! within the noise, every seed, never a panic), gives an honest verdict on degenerate data,
//! and names the file, the observation and the op when an evaluation fails.
#[allow(dead_code)]
#[path = "../fit_diag/main.rs"]
mod fit_diag;

use clap::{CommandFactory, Parser};
use fit_diag::{Args, exit_code, model, run};

#[test]
fn recovers_d_noise_free() {
    let p = model::synthetic(10, 6, 0.0, 7);
    let r = model::fit(&p, vec![1.0; 10], &model::FitOptions::default(), |_| {}).unwrap();
    let err = model::relative_error(&r.x, p.d_true.as_ref().unwrap());
    assert!(r.converged(), "{}: ‖∇‖ = {:e}", r.reason(), r.grad_norm);
    assert!(err <= 1e-6, "relative error {err:e}");
}

/// Trust-region Newton–CG on exact Hessian-vector products reaches the same `d` as L-BFGS,
/// on both routes of the exponential.
#[test]
fn newton_cg_recovers_d() {
    for route in [model::Route::Pade, model::Route::Action] {
        let mut p = model::synthetic(10, 6, 0.0, 7);
        p.route = route;
        let r =
            model::fit_newton(&p, vec![1.0; 10], &model::NewtonOptions::default(), |_| {}).unwrap();
        let err = model::relative_error(&r.x, p.d_true.as_ref().unwrap());
        assert!(
            r.converged(),
            "{route:?}: {}: ‖∇‖ = {:e}",
            r.reason(),
            r.grad_norm
        );
        assert!(err <= 1e-8, "{route:?}: relative error {err:e}");
        assert!(
            r.hvps > 0 && r.iters < 40,
            "{route:?}: {} iterations",
            r.iters
        );
    }
}

/// The model's Hessian-vector product against central differences of its gradient.
#[test]
fn hvp_matches_differences_of_gradients() {
    let p = model::synthetic(5, 3, 0.01, 3);
    let d: Vec<f64> = (0..5).map(|i| 0.8 + 0.1 * i as f64).collect();
    let u: Vec<f64> = (0..5).map(|i| 1.0 - 0.3 * i as f64).collect();
    let hu = p.hvp(&d, &u).unwrap();
    let h = 1e-5;
    let at = |s: f64| {
        let x: Vec<f64> = d.iter().zip(&u).map(|(a, b)| a + s * b).collect();
        p.loss_and_grad(&x).unwrap().1
    };
    let (gp, gm) = (at(h), at(-h));
    for k in 0..5 {
        let fd = (gp[k] - gm[k]) / (2.0 * h);
        assert!(
            (hu[k] - fd).abs() <= 1e-6 * (1.0 + fd.abs()),
            "entry {k}: {} vs {fd}",
            hu[k]
        );
    }
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

#[test]
fn noisy_data_every_seed_fits_within_the_noise() {
    for seed in 1..=3 {
        for noise in [0.01, 0.05, 0.1] {
            let p = model::synthetic(10, 6, noise, seed);
            let r = model::fit(&p, vec![1.0; 10], &model::FitOptions::default(), |_| {})
                .unwrap_or_else(|e| panic!("seed {seed}, noise {noise}: {e}"));
            assert!(r.converged(), "seed {seed}, noise {noise}: {}", r.reason());
            let err = model::relative_error(&r.x, p.d_true.as_ref().unwrap());
            // The error of a least-squares fit grows like the noise; 5× is generous for this
            // well-posed case (measured 0.3–1.2× the noise) and far below a failed fit's ~0.3.
            assert!(
                err <= 5.0 * noise,
                "seed {seed}, noise {noise}: relative error {err:e}"
            );
        }
    }
}

#[test]
fn both_routes_give_the_same_loss_and_gradient() {
    let mut p = model::synthetic(6, 3, 0.01, 4);
    let d: Vec<f64> = (0..6).map(|i| 0.7 + 0.1 * i as f64).collect();
    p.route = model::Route::Pade;
    let (lp, gp) = p.loss_and_grad(&d).unwrap();
    p.route = model::Route::Action;
    let (la, ga) = p.loss_and_grad(&d).unwrap();
    assert!((lp - la).abs() <= 1e-12 * lp.abs().max(1.0));
    for (a, b) in gp.iter().zip(&ga) {
        assert!((a - b).abs() <= 1e-10 * a.abs().max(1.0), "{a} vs {b}");
    }
}

fn data(a: Vec<Vec<f64>>, t: f64, v: Vec<f64>, w: Vec<f64>) -> model::Problem {
    model::Problem::from_data(
        model::DataFile {
            a,
            observations: vec![model::Observation { t, v, w }],
            d_true: None,
        },
        0.0,
    )
    .unwrap()
}

#[test]
fn a_zero_or_huge_generator_is_not_fitted() {
    // A = [[0]]: the loss does not depend on d at all.
    let p = data(vec![vec![0.0]], 1.0, vec![1.0], vec![2.0]);
    let r = model::fit(&p, vec![1.0], &model::FitOptions::default(), |_| {}).unwrap();
    assert_eq!(r.verdict, expgrad::optim::Verdict::FlatStart);
    assert!(!r.converged() && r.iters == 0);
    // A scaled by 1e6: exp(t·Diag(d)·A)·v underflows to 0, so does the gradient.
    let mut s = model::synthetic(4, 2, 0.0, 1);
    s.a = &s.a * faer::Scale(1e6);
    s.a_shared = std::sync::Arc::new(s.a.clone().into());
    match model::fit(&s, vec![1.0; 4], &model::FitOptions::default(), |_| {}) {
        Ok(r) => assert!(!r.converged(), "{}", r.reason()),
        Err(e) => assert!(e.contains("observation"), "{e}"),
    }
}

#[test]
fn overflowing_observations_are_named_not_panicked() {
    let mut p = model::synthetic(3, 2, 0.0, 1);
    p.source = "obs.json".into();
    p.obs[1].w[0] = 1e160;
    let e = model::fit(&p, vec![1.0; 3], &model::FitOptions::default(), |_| {}).unwrap_err();
    assert!(e.contains("obs.json") && e.contains("observation 1"), "{e}");
    let mut p = model::synthetic(3, 2, 0.0, 1);
    p.source = "obs.json".into();
    p.obs[0].t = -1e4;
    let e = model::fit(&p, vec![1.0; 3], &model::FitOptions::default(), |_| {}).unwrap_err();
    assert!(
        e.contains("observation 0") && e.contains("t = -10000") && e.contains("overflow"),
        "{e}"
    );
}

/// The exit code of `fit_diag ARGS` (run in-process).
fn exit_of(args: &[&str]) -> u8 {
    let argv = std::iter::once("fit_diag").chain(args.iter().copied());
    exit_code(run(Args::try_parse_from(argv).expect("valid arguments")))
}

#[test]
fn the_program_exits_0_1_or_2_never_panics() {
    let dir = std::env::temp_dir().join(format!("expgrad-fit-diag-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Noisy synthetic data: fitted.
    assert_eq!(
        exit_of(&[
            "--quiet", "--n", "8", "--m", "4", "--noise", "0.1", "--seed", "2"
        ]),
        0
    );
    // A = [[0]]: not fitted (flat start), exit 1.
    let flat = dir.join("flat.json");
    std::fs::write(
        &flat,
        r#"{"A": [[0.0]], "observations": [{"t": 1.0, "v": [1.0], "w": [2.0]}]}"#,
    )
    .unwrap();
    assert_eq!(exit_of(&["--quiet", "--data", flat.to_str().unwrap()]), 1);
    // An overflow at the start: exit 1 with a message (not a panic).
    let hot = dir.join("hot.json");
    std::fs::write(
        &hot,
        r#"{"A": [[1.0]], "observations": [{"t": 1e4, "v": [1.0], "w": [2.0]}]}"#,
    )
    .unwrap();
    let err = run(
        Args::try_parse_from(["fit_diag", "--quiet", "--data", hot.to_str().unwrap()]).unwrap(),
    )
    .unwrap_err();
    assert_eq!(err.0, 1);
    assert!(
        err.1.contains("hot.json") && err.1.contains("observation 0"),
        "{}",
        err.1
    );
    // Bad input: exit 2, before any fit.
    assert_eq!(
        exit_of(&["--data", dir.join("missing.json").to_str().unwrap()]),
        2
    );
    assert_eq!(exit_of(&["--noise", "-1"]), 2);
    assert_eq!(
        exit_of(&["--plot", dir.join("no/such/dir/x.svg").to_str().unwrap()]),
        2
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn help_opens_with_what_the_program_does() {
    let help = Args::command().render_help().to_string();
    assert!(help.starts_with("Fit the diagonal d"), "{help}");
    assert!(help.contains("--route"));
}
