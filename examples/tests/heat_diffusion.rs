//! The heat-diffusion example on the sparse action `expm_multiply_diag`: its loss and
//! gradient equal the dense route's (`diag_mul → expm → matmul`) to rounding, it recovers κ
//! from noise-free snapshots (≤ 1e-6 relative), and its command line takes negative numbers
//! and bad values to its own messages and exit code 2, never to a panic.
#[allow(dead_code)]
#[path = "../heat_diffusion/main.rs"]
mod heat_diffusion;

use clap::CommandFactory;
use expgrad::diag::diag_mul;
use expgrad::tape::Tape;
use faer::Mat;
use heat_diffusion::{Args, cli, model};

fn parse(args: &[&str]) -> Args {
    let argv = std::iter::once("heat_diffusion").chain(args.iter().copied());
    cli::try_parse_from::<Args, _, _>(argv).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// Runs the example on `args`; the failure, and what it printed before failing.
fn fails(args: &[&str]) -> (cli::Failure, String) {
    let mut out = Vec::new();
    let err = heat_diffusion::run(&parse(args), &mut out).expect_err("should fail");
    (err, String::from_utf8(out).unwrap())
}

#[test]
fn recovers_kappa_noise_free() {
    let truth = model::kappa_true(3, 4);
    let s = model::simulate(3, 4, &truth, 2, &[0.05, 0.2], 0.0, 3).unwrap();
    let fit = model::fit(
        &s,
        vec![0.0; 12],
        &model::FitOptions {
            gtol: 1e-11,
            max_iters: 2000,
            ..Default::default()
        },
        |_| {},
    )
    .unwrap();
    assert!(fit.converged(), "{}", fit.reason());
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
    let l = model::grid_laplacian(3, 5).to_dense();
    for i in 0..15 {
        assert_eq!((0..15).map(|j| l[(i, j)]).sum::<f64>(), 0.0);
        assert_eq!(
            l[(i, i)],
            (0..15).filter(|&j| j != i && l[(i, j)] != 0.0).count() as f64
        );
        for j in 0..15 {
            assert_eq!(l[(i, j)], l[(j, i)]);
        }
    }
}

/// The dense route the example used before: `½Σₖ‖exp(−tₖ Diag(κ) L) U₀ − Uₖ‖²` through
/// `diag_mul → expm → matmul`, and its gradient w.r.t. θ = log κ.
fn dense_loss_and_grad(s: &model::Snapshots, theta: &[f64]) -> (f64, Vec<f64>) {
    let n = theta.len();
    let l = model::grid_laplacian(s.rows, s.cols).to_dense();
    let tape = Tape::new();
    let th = tape.var(Mat::from_fn(n, 1, |i, _| theta[i]));
    let kappa = th.exp();
    let terms: Vec<_> = s
        .times
        .iter()
        .zip(&s.u)
        .map(|(&t, obs)| {
            let r = diag_mul(kappa, &l * faer::Scale(-t))
                .expm()
                .matmul(&s.u0)
                .sub(obs);
            r.dot(r).scale(0.5)
        })
        .collect();
    let loss = expgrad::tape::add_n(&terms);
    let g = loss.backward().wrt(th);
    (loss.item(), (0..n).map(|i| g[(i, 0)]).collect())
}

/// The sparse action and the dense exponential are both accurate to a few ulps of the
/// snapshots, so loss and gradient agree far below the bounds 1e-12 (loss) and 1e-11
/// (gradient, relative to ‖∇‖∞) — measured: 2.3e-15 and 6.2e-15 — while a wrong sign of t,
/// a transposed L or a dropped snapshot gives O(1).
#[test]
fn sparse_route_matches_dense_route() {
    let (rows, cols) = (4, 5);
    let truth = model::kappa_true(rows, cols);
    let s = model::simulate(rows, cols, &truth, 2, &[0.05, 0.3, 1.0], 0.01, 9).unwrap();
    let theta: Vec<f64> = truth
        .iter()
        .enumerate()
        .map(|(i, k)| k.ln() + 0.4 * ((i * 7 % 11) as f64 / 11.0 - 0.5))
        .collect();
    let (f, g) = model::loss_and_grad(&s, &theta).unwrap();
    let (fd, gd) = dense_loss_and_grad(&s, &theta);
    assert!(
        f > 0.0 && (f - fd).abs() <= 1e-12 * fd,
        "loss {f:e} vs {fd:e}"
    );
    let scale = gd.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let err = g
        .iter()
        .zip(&gd)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        scale > 0.0 && err <= 1e-11 * scale,
        "‖∇ − ∇_dense‖∞ = {err:e}, ‖∇‖∞ = {scale:e}"
    );
}

/// One evaluation at the 30×30 grid of the issue (n = 900) is milliseconds on the sparse
/// action (the dense route took seconds); bounded loosely to stay robust on a loaded machine.
#[test]
fn thirty_by_thirty_evaluation_is_fast() {
    let truth = model::kappa_true(30, 30);
    let s = model::simulate(30, 30, &truth, 3, &[0.05, 0.15, 0.4], 0.0, 1).unwrap();
    let start = std::time::Instant::now();
    let (f, g) = model::loss_and_grad(&s, &vec![0.0; 900]).unwrap();
    let secs = start.elapsed().as_secs_f64();
    assert!(f > 0.0 && g.iter().all(|x| x.is_finite()));
    assert!(secs < 1.0, "one evaluation took {secs:.3} s");
}

#[test]
fn help_starts_with_what_the_example_does() {
    let help = Args::command().render_long_help().to_string();
    assert!(
        help.starts_with("Fit per-node diffusivities κ on a grid graph"),
        "{help}"
    );
    assert!(!help.contains("first-class primitive"), "{help}");
}

#[test]
fn lists_take_commas_spaces_and_negative_numbers() {
    assert_eq!(parse(&["--times", "0.1,0.2"]).times, [0.1, 0.2]);
    assert_eq!(
        parse(&["--times", "0.1", "0.2", "--k", "2"]).times,
        [0.1, 0.2]
    );
    assert_eq!(parse(&[]).times, [0.05, 0.15, 0.4]);
    for (arg, first) in [
        ("-1", -1.0),
        ("-1,2", -1.0),
        ("-1e-3", -1e-3),
        ("-.5", -0.5),
        ("-inf", f64::NEG_INFINITY),
    ] {
        let a = parse(&["--times", arg, "--seed", "4"]);
        assert_eq!((a.times[0], a.seed), (first, 4), "--times {arg}");
    }
    assert_eq!(parse(&["--noise", "-0.1"]).noise, -0.1);
    // An unsigned option gets clap's reason, not “unexpected argument '-1'”.
    let e = cli::try_parse_from::<Args, _, _>(["heat_diffusion", "--rows", "-1"]).unwrap_err();
    assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation, "{e}");
}

#[test]
fn bad_values_are_usage_errors_before_any_work() {
    for (args, says) in [
        (
            &["--times", "-1"][..],
            "--times: t = -1.0 (time 0) must be positive",
        ),
        (&["--times", "0.1,-2"], "t = -2.0 (time 1)"),
        (&["--times", "nan"], "t = NaN"),
        (&["--times", "-inf"], "t = -inf"),
        (&["--noise", "-0.1"], "--noise -0.1"),
        (&["--noise", "nan"], "--noise NaN"),
        (&["--k", "0"], "--k 0"),
        (&["--rows", "1", "--cols", "1"], "≥ 2 nodes"),
        (&["--rows", "100000", "--cols", "100000"], "at most"),
        (&["--k", "100000000"], "stored values"),
    ] {
        let (e, printed) = fails(args);
        assert_eq!(e.code, 2, "{args:?}: {e}");
        assert!(e.message.contains(says), "{args:?}: {e}");
        assert!(printed.is_empty(), "{args:?} printed {printed}");
    }
    // A time so large that the snapshot is the equilibrium is refused naming the snapshot.
    let (e, _) = fails(&["--times", "0.1,1e300"]);
    assert_eq!(e.code, 2, "{e}");
    assert!(e.message.contains("snapshot 1"), "{e}");
}

/// Noise so large that the misfit overflows: an error naming the snapshot and the op (exit
/// code 1), not a panic.
#[test]
fn overflowing_data_is_an_error_naming_the_snapshot_and_op() {
    let (e, _) = fails(&["--noise", "1e300", "--rows", "3", "--cols", "3"]);
    assert_eq!(e.code, 1, "{e}");
    assert!(
        e.message.contains("snapshot 0 (t = 0.05)") && e.message.contains("dot"),
        "{e}"
    );
}

#[test]
fn runs_end_to_end() {
    let mut out = Vec::new();
    let converged = heat_diffusion::run(&parse(&["--rows", "3", "--cols", "4"]), &mut out).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(converged, "{out}");
    assert!(
        out.starts_with("heat_diffusion: 3×4 grid (n = 12, 46 Laplacian nonzeros)"),
        "{out}"
    );
}
