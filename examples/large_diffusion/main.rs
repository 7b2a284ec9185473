//! Recover a per-node diffusivity field κ on a 316×316 grid (n ≈ 10⁵) from a few noisy
//! snapshots `u(t) = exp(−t·Diag(κ)·L)·u₀`, with L-BFGS and gradients from ONE
//! `expm_multiply_diag_times` tape node for all snapshots (one stepping over the span, the
//! snapshots read off each substep's Taylor vectors, one reverse sweep); writes an SVG of true
//! against recovered κ. `--compare-nodes` times it against one chained node per snapshot.
//!
//! The model is documented in `model.rs`. Small and fast: `--grid 40`.
//!
//! Run: `cargo run --release --example large_diffusion -- --help`
use clap::Parser;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[macro_use]
#[path = "../common/cli.rs"]
pub mod cli;
pub mod model;
pub mod plot;

use cli::Failure;

/// The file name of the SVG under `target/examples/` when `--plot` is not given.
pub const DEFAULT_PLOT: &str = "large_diffusion.svg";
/// Largest grid side accepted (n = G² unknowns).
pub const MAX_GRID: usize = 3000;
/// Largest number of stored values `G²·fields·(times + 1)`.
pub const MAX_VALUES: usize = 100_000_000;

/// Recover a diffusivity field κ on a G×G grid (n = G², about 10⁵ by default) from a few
/// noisy heat snapshots u(t) = exp(−t·Diag(κ)·L)·u₀, by L-BFGS, and plot true against
/// recovered κ.
///
/// Gradients come from one `expm_multiply_diag_times` tape node for all snapshots (sparse
/// action, never an n×n matrix; --compare-nodes times it against one node per snapshot). The SVG goes to target/examples/large_diffusion.svg under the current
/// directory unless --plot gives a path (whose directory must exist; it is checked before
/// the fit). Small and fast: --grid 40. Exit code 0 when the fit converged, 1 when it did not
/// or failed, 2 for bad options.
#[derive(Parser, Debug)]
#[command(version)]
pub struct Args {
    /// Grid side G (n = G² unknowns).
    #[arg(long, default_value_t = 316, allow_negative_numbers = true)]
    pub grid: usize,
    /// Number of initial fields u₀ (columns; the cost is linear in it).
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    pub fields: usize,
    /// Snapshot times, positive and increasing: comma or space separated (0.4,1,1.6 or 0.4 1 1.6).
    #[arg(
        long,
        num_args = 1..,
        value_delimiter = ',',
        default_value = "0.4,1.0,1.6",
        allow_negative_numbers = true
    )]
    pub times: Vec<f64>,
    /// Standard deviation of the Gaussian noise on the snapshots (u₀ has unit RMS; ≥ 0).
    #[arg(long, default_value_t = 0.01, allow_negative_numbers = true)]
    pub noise: f64,
    /// Weight λ ≥ 0 of the smoothness regulariser λ·½Σ_edges (θ_p − θ_q)², θ = log κ
    /// [default: 0.02·G², which keeps the continuum balance of data and prior as G changes].
    #[arg(long, allow_negative_numbers = true)]
    pub lambda: Option<f64>,
    /// RNG seed (initial fields and noise).
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    pub seed: u64,
    /// L-BFGS iteration cap.
    #[arg(long, default_value_t = 300, allow_negative_numbers = true)]
    pub iters: u64,
    /// Converged when ‖∇loss‖ ≤ rtol·‖∇loss(θ₀)‖ (rtol > 0).
    #[arg(long, default_value_t = 1e-6, allow_negative_numbers = true)]
    pub rtol: f64,
    /// Print progress every this many iterations (≥ 1).
    #[arg(long, default_value_t = 5, allow_negative_numbers = true)]
    pub every: u64,
    /// Before the fit, time one evaluation (value + gradient at κ ≡ 1) through the one
    /// many-times node and through one chained `expm_multiply_diag` node per snapshot.
    #[arg(long)]
    pub compare_nodes: bool,
    /// Write the SVG (true κ, recovered κ, relative difference) here; its directory must
    /// exist [default: target/examples/large_diffusion.svg, creating target/examples/].
    #[arg(long, visible_alias = "out", value_name = "PATH")]
    pub plot: Option<PathBuf>,
}

/// The checks of the options and of the output path, before any work: a usage error (exit
/// code 2) naming the option or the path. Returns the SVG's path.
pub fn check(args: &Args) -> Result<PathBuf, Failure> {
    if args.grid < 2 || args.grid > MAX_GRID {
        return Err(Failure::usage(format!(
            "--grid {}: need 2 ≤ G ≤ {MAX_GRID}",
            args.grid
        )));
    }
    if args.fields == 0 {
        return Err(Failure::usage("--fields 0: need ≥ 1 field"));
    }
    if args.every == 0 {
        return Err(Failure::usage("--every 0: need ≥ 1"));
    }
    if !(args.rtol > 0.0 && args.rtol.is_finite()) {
        return Err(Failure::usage(format!(
            "--rtol {}: must be positive and finite",
            args.rtol
        )));
    }
    if args.times.is_empty() {
        return Err(Failure::usage("--times: need ≥ 1 time"));
    }
    let values = (args.grid * args.grid)
        .checked_mul(args.fields)
        .and_then(|v| v.checked_mul(args.times.len() + 1));
    if values.is_none_or(|v| v > MAX_VALUES) {
        return Err(Failure::usage(format!(
            "--grid {} --fields {} with {} times: more than {MAX_VALUES} stored values",
            args.grid,
            args.fields,
            args.times.len()
        )));
    }
    for (i, &t) in args.times.iter().enumerate() {
        if !(t.is_finite() && t > 0.0) {
            return Err(Failure::usage(format!(
                "--times: t = {t:?} (time {i}) must be positive and finite (diffusion runs forward in time)"
            )));
        }
        if i > 0 && t <= args.times[i - 1] {
            return Err(Failure::usage(format!(
                "--times: t = {t:?} (time {i}) must be larger than the time before it, {:?}",
                args.times[i - 1]
            )));
        }
    }
    if !(args.noise.is_finite() && args.noise >= 0.0) {
        return Err(Failure::usage(format!(
            "--noise {}: must be finite and ≥ 0",
            args.noise
        )));
    }
    if let Some(l) = args.lambda.filter(|l| !(l.is_finite() && *l >= 0.0)) {
        return Err(Failure::usage(format!(
            "--lambda {l}: must be finite and ≥ 0"
        )));
    }
    cli::prepare_output(args.plot.as_deref(), DEFAULT_PLOT)
}

/// The example: checks the options and the output path, simulates the data, fits κ, writes
/// the SVG and prints the report to `out` (progress lines go to stdout). `Ok(converged)`, or
/// the failure with its exit code.
pub fn run(args: &Args, out: &mut impl Write) -> Result<bool, Failure> {
    let plot_path = check(args)?;
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
    .map_err(|e| Failure::usage(format!("simulating the data: {e}")))?;
    let n = args.grid * args.grid;
    let pc = problem.products;
    say!(
        out,
        "large_diffusion: {g}×{g} grid (n = {n}), {} field(s), times {:?}, noise {}, λ = {:.4}, seed {}",
        args.fields,
        args.times,
        args.noise,
        lambda,
        args.seed,
        g = args.grid,
    );
    say!(
        out,
        "data simulated in {:.2} s; one evaluation ≈ {} forward + {} norm-estimate + {} reverse operator products (at the true κ)",
        start.elapsed().as_secs_f64(),
        pc.forward,
        pc.norm,
        pc.reverse
    );
    let theta0 = vec![0.0; n];
    if args.compare_nodes {
        let time = |obj: model::Objective<'_>| -> Result<f64, Failure> {
            let t = Instant::now();
            obj.misfit_and_grad(&theta0).map_err(Failure::usage)?;
            Ok(t.elapsed().as_secs_f64())
        };
        let one = time(model::Objective::new(&problem))?;
        let chained = time(model::Objective::chained(&problem))?;
        say!(
            out,
            "one evaluation at κ ≡ 1: {one:.3} s with one expm_multiply_diag_times node for the {} snapshots, {chained:.3} s with {} chained expm_multiply_diag nodes ({:.2}×)",
            args.times.len(),
            args.times.len(),
            chained / one
        );
    }
    let err0 = model::relative_error(&vec![1.0; n], &problem.kappa_true);
    say!(out, "initial guess κ ≡ 1: relative error {err0:.4}");
    say!(
        out,
        "{:>5}  {:>13}  {:>10}  {:>10}  {:>9}",
        "iter",
        "loss",
        "‖∇loss‖",
        "κ rel err",
        "elapsed"
    );
    out.flush().map_err(Failure::stdout)?;
    let every = args.every;
    let opts = model::FitOptions {
        max_iters: args.iters,
        gtol: args.rtol,
        ..Default::default()
    };
    let fit = model::fit(&problem, theta0, &opts, move |p, err| {
        if p.iter % every == 0 {
            // Progress only: a closed stdout is reported by the final report's write.
            let _ = writeln!(
                std::io::stdout(),
                "{:>5}  {:>13.6e}  {:>10.3e}  {:>10}  {:>8.1}s",
                p.iter,
                p.loss,
                p.grad_norm,
                err.map_or("—".to_string(), |e| format!("{e:.4}")),
                p.elapsed.as_secs_f64()
            );
        }
    })
    .map_err(|e| Failure::run(format!("the fit failed: {e}")))?;
    let kappa: Vec<f64> = fit.x.iter().map(|t| t.exp()).collect();
    let err = model::relative_error(&kappa, &problem.kappa_true);
    say!(
        out,
        "done: {} iterations, {} evaluations ({:.2} s each), fit {:.1} s; loss {:.6e}, ‖∇‖ {:.2e} ({})",
        fit.iters,
        fit.evals,
        fit.elapsed.as_secs_f64() / (fit.evals + 2) as f64,
        fit.elapsed.as_secs_f64(),
        fit.loss,
        fit.grad_norm,
        if fit.converged() {
            fit.reason()
        } else {
            format!("NOT converged: {}", fit.reason())
        }
    );
    say!(
        out,
        "relative error ‖κ − κ_true‖/‖κ_true‖ = {err:.4e} (initial guess {err0:.4}, {:.1}× smaller)",
        err0 / err
    );
    plot::svg(&plot_path, args.grid, &problem.kappa_true, &kappa, err).map_err(|e| {
        Failure::run(format!(
            "{}: cannot write the plot: {e}",
            plot_path.display()
        ))
    })?;
    let bytes = std::fs::metadata(&plot_path).map_or(0, |m| m.len());
    say!(
        out,
        "wrote {} ({:.1} MB); total wall time {:.1} s",
        plot_path.display(),
        bytes as f64 / 1e6,
        start.elapsed().as_secs_f64()
    );
    Ok(fit.converged())
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    match run(&args, &mut std::io::stdout().lock()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => cli::report(&Failure::run(
            "the fit stopped at the iteration cap before ‖∇‖ ≤ rtol·‖∇₀‖; raise --iters",
        )),
        Err(f) => cli::report(&f),
    }
}
