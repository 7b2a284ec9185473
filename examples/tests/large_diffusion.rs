//! The large_diffusion example's model at a small grid: the operator, the exact gradient of
//! the full objective (tape misfit + hand-written regulariser) against finite differences,
//! and a short fit that recovers κ. Its command line: the SVG goes under `target/examples/`
//! by default (never over the tracked `docs/large_diffusion.svg`), a `--plot` into a missing
//! directory fails before any work, negative numbers reach the example's own checks, and
//! the colour bars label tiny ranges.
#[allow(dead_code)]
#[path = "../large_diffusion/main.rs"]
mod large_diffusion;

use clap::CommandFactory;
use large_diffusion::{Args, cli, model, plot};
use std::path::{Path, PathBuf};

fn parse(args: &[&str]) -> Args {
    let argv = std::iter::once("large_diffusion").chain(args.iter().copied());
    cli::try_parse_from::<Args, _, _>(argv).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// A fresh empty directory under the system's temporary directory.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "expgrad-test-large-diffusion-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

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
            gtol: 1e-12,
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
            gtol: 1e-10,
            ..Default::default()
        },
        |_, _| {},
    )
    .unwrap();
    let kappa: Vec<f64> = fit.x.iter().map(|t| t.exp()).collect();
    let err = model::relative_error(&kappa, &p.kappa_true);
    assert!(fit.converged(), "{}", fit.reason());
    assert!(err <= 1e-6, "relative κ error {err:e}");
}

#[test]
fn help_starts_with_what_the_example_does() {
    let help = Args::command().render_long_help().to_string();
    assert!(
        help.starts_with("Recover a diffusivity field κ on a G×G grid"),
        "{help}"
    );
    assert!(!help.contains("first-class primitive"), "{help}");
}

/// Without `--plot`, the SVG goes to `target/examples/large_diffusion.svg` (relative to the
/// working directory, which `check` creates), not to `docs/`.
#[test]
fn default_plot_goes_under_target_examples() {
    let args = parse(&["--grid", "8"]);
    assert_eq!(args.plot, None);
    let path = large_diffusion::check(&args).unwrap();
    assert_eq!(path, Path::new("target/examples/large_diffusion.svg"));
    assert!(Path::new("target/examples").is_dir());
    // `--out` is kept as an alias of `--plot`.
    let dir = scratch("alias");
    let file = dir.join("k.svg");
    let args = parse(&["--out", file.to_str().unwrap()]);
    assert_eq!(large_diffusion::check(&args).unwrap(), file);
    std::fs::remove_dir_all(dir).unwrap();
}

/// A `--plot` into a missing directory is refused (exit code 2, naming the path) before the
/// data are simulated or the fit starts: nothing is printed, nothing is created, and at the
/// default G = 316 (a fit of minutes) the answer is immediate.
#[test]
fn plot_into_missing_directory_fails_before_the_fit() {
    let dir = scratch("missing");
    let file = dir.join("no/such/dir/k.svg");
    let args = parse(&["--plot", file.to_str().unwrap()]);
    let mut out = Vec::new();
    let start = std::time::Instant::now();
    let e = large_diffusion::run(&args, &mut out).unwrap_err();
    assert_eq!(e.code, 2, "{e}");
    assert!(e.message.contains(file.to_str().unwrap()), "{e}");
    assert!(e.message.contains("does not exist"), "{e}");
    assert!(out.is_empty(), "printed {}", String::from_utf8_lossy(&out));
    assert!(start.elapsed().as_secs_f64() < 1.0);
    assert!(!dir.join("no").exists());
    // A directory given as the file is refused the same way.
    let args = parse(&["--plot", dir.to_str().unwrap()]);
    let e = large_diffusion::run(&args, &mut Vec::new()).unwrap_err();
    assert!(e.code == 2 && e.message.contains("is a directory"), "{e}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn negative_and_bad_values_get_the_examples_own_messages() {
    assert_eq!(parse(&["--times", "-1,2"]).times, [-1.0, 2.0]);
    assert_eq!(
        parse(&["--times", "0.4", "1", "--grid", "9"]).times,
        [0.4, 1.0]
    );
    assert_eq!(parse(&["--lambda", "-1e-3"]).lambda, Some(-1e-3));
    for (args, says) in [
        (
            &["--times", "-1"][..],
            "--times: t = -1.0 (time 0) must be positive",
        ),
        (&["--times", "1,0.5"], "t = 0.5 (time 1) must be larger"),
        (&["--times", "nan"], "t = NaN"),
        (&["--lambda", "-1"], "--lambda -1"),
        (&["--rtol", "-1"], "--rtol -1"),
        (&["--noise", "-inf"], "--noise -inf"),
        (&["--grid", "100000"], "--grid 100000"),
        (&["--fields", "0"], "--fields 0"),
        (&["--every", "0"], "--every 0"),
    ] {
        let mut out = Vec::new();
        let e = large_diffusion::run(&parse(args), &mut out).unwrap_err();
        assert_eq!(e.code, 2, "{args:?}: {e}");
        assert!(e.message.contains(says), "{args:?}: {e}");
        assert!(out.is_empty(), "{args:?}");
    }
    // A time that would flatten the field is refused naming the snapshot, before the fit.
    let dir = scratch("times");
    let file = dir.join("k.svg");
    let args = parse(&[
        "--grid",
        "8",
        "--times",
        "1,1e6",
        "--plot",
        file.to_str().unwrap(),
    ]);
    let e = large_diffusion::run(&args, &mut Vec::new()).unwrap_err();
    assert!(e.code == 2 && e.message.contains("snapshot 1"), "{e}");
    assert!(!file.exists());
    std::fs::remove_dir_all(dir).unwrap();
}

/// Data so noisy that the misfit overflows: an error naming the snapshots (the one
/// many-times node) or, chained, the snapshot, and the op.
#[test]
fn overflowing_misfit_is_an_error_naming_the_snapshot_and_op() {
    let p = model::simulate(6, 1, &[0.4, 1.0], 1e300, 0.0, 1).unwrap();
    let e = model::Objective::new(&p)
        .loss_and_grad(&vec![0.0; 36])
        .unwrap_err();
    assert!(e.contains("snapshots") && e.contains("dot"), "{e}");
    let e = model::Objective::chained(&p)
        .loss_and_grad(&vec![0.0; 36])
        .unwrap_err();
    assert!(
        e.contains("snapshot 0 (t = 0.4)") && e.contains("dot"),
        "{e}"
    );
}

/// The one many-times node and the chained nodes give the same objective and gradient.
#[test]
fn one_node_matches_chained_nodes() {
    let p = model::simulate(12, 2, &[0.1, 0.25, 0.26, 0.7, 1.3], 0.01, 0.5, 3).unwrap();
    let theta: Vec<f64> = (0..144).map(|i| 0.2 * (i as f64 * 0.3).sin()).collect();
    let (l1, g1) = model::Objective::new(&p).loss_and_grad(&theta).unwrap();
    let (l2, g2) = model::Objective::chained(&p).loss_and_grad(&theta).unwrap();
    assert!((l1 - l2).abs() <= 1e-11 * l2.abs(), "{l1} vs {l2}");
    let gmax = g2.iter().fold(0.0f64, |m, g| m.max(g.abs()));
    let err = g1
        .iter()
        .zip(&g2)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    assert!(err <= 1e-9 * gmax, "gradient error {err:e} (max {gmax:e})");
}

/// The colour-bar labels tell ticks apart at any scale: a noise-free fit's relative
/// difference spans about ±1e-9, which the fixed 8-decimal labels printed as `0.00000000`.
#[test]
fn colour_bar_labels_reach_tiny_ranges() {
    let f = plot::tick_formatter(-2e-12, 2e-12);
    let labels: Vec<String> = [-2e-12, -1e-12, 0.0, 1e-12, 2e-12].map(&f).to_vec();
    assert_eq!(
        labels,
        ["-2.00e-12", "-1.00e-12", "0", "1.00e-12", "2.00e-12"]
    );
    let f = plot::tick_formatter(0.5, 2.5);
    assert_eq!([f(0.5), f(1.0), f(2.5)], ["0.50", "1.00", "2.50"]);
}

/// The texts of an SVG, in order.
fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = &t[t.find('>')? + 1..];
            Some(body[..body.find("</text>")?].trim().to_string())
        })
        .collect()
}

/// End to end on a small noise-free grid: the SVG is written where `--plot` says, and the
/// difference panel (κ̂ − κ)/κ, which spans about ±2e-9 here, has distinct labels (the fixed
/// 8-decimal labels printed `-0.00000000 … 0.00000000`).
#[test]
fn writes_the_plot_where_asked_with_labelled_bars() {
    let dir = scratch("plot");
    let file = dir.join("k.svg");
    let args = parse(&[
        "--grid",
        "12",
        "--fields",
        "2",
        "--noise",
        "0",
        "--lambda",
        "0",
        "--iters",
        "3000",
        "--rtol",
        "1e-10",
        "--every",
        "1000",
        "--plot",
        file.to_str().unwrap(),
    ]);
    let mut out = Vec::new();
    let converged = large_diffusion::run(&args, &mut out).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(converged, "{out}");
    assert!(out.contains(&format!("wrote {}", file.display())), "{out}");
    let texts = svg_texts(&std::fs::read_to_string(&file).unwrap());
    let at = texts.iter().position(|t| t == "(κ̂ − κ)/κ").unwrap();
    let labels = &texts[at + 1..];
    assert!(labels.len() >= 3, "{texts:?}");
    for (i, a) in labels.iter().enumerate() {
        assert!(
            a == "0" || !a.trim_start_matches(['-', '0', '.']).is_empty(),
            "{labels:?}"
        );
        assert!(!labels[..i].contains(a), "repeated label in {labels:?}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}
