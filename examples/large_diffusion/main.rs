//! Recover a per-node diffusivity field κ on a 316×316 grid (n ≈ 10⁵) from a few noisy
//! snapshots `u(t) = exp(−t·Diag(κ)·L)·u₀`, with L-BFGS and gradients from one
//! `expm_multiply_diag` tape node per snapshot; writes an SVG of true against recovered κ.
//!
//! The model is documented in `model.rs`. Small and fast: `--grid 40`.
//!
//! Run: `cargo run --release --example large_diffusion -- --help`
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

mod model;
mod plot;

/// Recover a diffusivity field κ on a G×G grid from noisy heat snapshots (L-BFGS).
#[derive(Parser, Debug)]
#[command(version, long_about = None)]
struct Args {
    /// Grid side G (n = G² unknowns).
    #[arg(long, default_value_t = 316)]
    grid: usize,
    /// Number of initial fields u₀ (columns; the cost is linear in it).
    #[arg(long, default_value_t = 1)]
    fields: usize,
    /// Snapshot times (comma separated, increasing).
    #[arg(long, value_delimiter = ',', default_values_t = vec![0.4, 1.0, 1.6])]
    times: Vec<f64>,
    /// Standard deviation of the Gaussian noise on the snapshots (u₀ has unit RMS).
    #[arg(long, default_value_t = 0.01)]
    noise: f64,
    /// Weight λ of the smoothness regulariser λ·½Σ_edges (θ_p − θ_q)², θ = log κ
    /// [default: 0.02·G², which keeps the continuum balance of data and prior as G changes].
    #[arg(long)]
    lambda: Option<f64>,
    /// RNG seed (initial fields and noise).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// L-BFGS iteration cap.
    #[arg(long, default_value_t = 300)]
    iters: u64,
    /// Converged when ‖∇loss‖ ≤ rtol·‖∇loss(θ₀)‖.
    #[arg(long, default_value_t = 1e-6)]
    rtol: f64,
    /// Print progress every this many iterations.
    #[arg(long, default_value_t = 5)]
    every: u64,
    /// Write the SVG (true κ, recovered κ, relative difference) here.
    #[arg(long, default_value = "docs/large_diffusion.svg")]
    out: PathBuf,
}

fn run(args: Args) -> Result<bool, (u8, String)> {
    let bad = |e: String| (2u8, e);
    if args.grid < 2
        || args.fields == 0
        || args.every == 0
        || args.rtol.is_nan()
        || args.rtol <= 0.0
    {
        return Err(bad(
            "need --grid ≥ 2, --fields ≥ 1, --every ≥ 1 and --rtol > 0".into(),
        ));
    }
    let lambda = args.lambda.unwrap_or(0.02 * (args.grid * args.grid) as f64);
    let start = Instant::now();
    let problem = model::simulate(
        args.grid,
        args.fields,
        &args.times,
        args.noise,
        lambda,
        args.seed,
    )
    .map_err(bad)?;
    let n = args.grid * args.grid;
    let pc = problem.products;
    println!(
        "large_diffusion: {g}×{g} grid (n = {n}), {} field(s), times {:?}, noise {}, λ = {:.4}, seed {}",
        args.fields,
        args.times,
        args.noise,
        lambda,
        args.seed,
        g = args.grid,
    );
    println!(
        "data simulated in {:.2} s; one evaluation ≈ {} forward + {} norm-estimate + {} reverse operator products (at the true κ)",
        start.elapsed().as_secs_f64(),
        pc.forward,
        pc.norm,
        pc.reverse
    );
    let theta0 = vec![0.0; n];
    let err0 = model::relative_error(&vec![1.0; n], &problem.kappa_true);
    println!("initial guess κ ≡ 1: relative error {err0:.4}");
    println!(
        "{:>5}  {:>13}  {:>10}  {:>10}  {:>9}",
        "iter", "loss", "‖∇loss‖", "κ rel err", "elapsed"
    );
    let every = args.every;
    let opts = model::FitOptions {
        max_iters: args.iters,
        tol: args.rtol,
        ..Default::default()
    };
    let fit = model::fit(&problem, theta0, &opts, move |p, err| {
        if p.iter % every == 0 {
            println!(
                "{:>5}  {:>13.6e}  {:>10.3e}  {:>10}  {:>8.1}s",
                p.iter,
                p.loss,
                p.grad_norm,
                err.map_or("—".to_string(), |e| format!("{e:.4}")),
                p.elapsed.as_secs_f64()
            );
        }
    })
    .map_err(|e| (1u8, e))?;
    let kappa: Vec<f64> = fit.x.iter().map(|t| t.exp()).collect();
    let err = model::relative_error(&kappa, &problem.kappa_true);
    println!(
        "done: {} iterations, {} evaluations ({:.2} s each), fit {:.1} s; loss {:.6e}, ‖∇‖ {:.2e} ({})",
        fit.iters,
        fit.evals,
        fit.elapsed.as_secs_f64() / (fit.evals + 2) as f64,
        fit.elapsed.as_secs_f64(),
        fit.loss,
        fit.grad_norm,
        if fit.converged {
            fit.reason.clone()
        } else {
            format!("NOT converged: {}", fit.reason)
        }
    );
    println!(
        "relative error ‖κ − κ_true‖/‖κ_true‖ = {err:.4} (initial guess {err0:.4}, {:.1}× smaller)",
        err0 / err
    );
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| bad(format!("{}: cannot create: {e}", dir.display())))?;
    }
    plot::svg(&args.out, args.grid, &problem.kappa_true, &kappa, err)
        .map_err(|e| bad(format!("{}: cannot plot: {e}", args.out.display())))?;
    let bytes = std::fs::metadata(&args.out).map_or(0, |m| m.len());
    println!(
        "wrote {} ({:.1} MB); total wall time {:.1} s",
        args.out.display(),
        bytes as f64 / 1e6,
        start.elapsed().as_secs_f64()
    );
    Ok(fit.converged)
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!(
                "error: the fit stopped at the iteration cap before ‖∇‖ ≤ rtol·‖∇₀‖; raise --iters"
            );
            ExitCode::from(1)
        }
        Err((code, msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(code)
        }
    }
}
