//! Recover per-node diffusivities κ on a grid graph from heat snapshots
//! `u(t) = exp(−t·Diag(κ)·L)·u₀`, each snapshot one sparse `expm_multiply_diag` node.
//!
//! Run: `cargo run --release --example heat_diffusion -- --help`
use clap::Parser;
use std::io::Write;
use std::process::ExitCode;

#[macro_use]
#[path = "../common/cli.rs"]
pub mod cli;
pub mod model;

use cli::Failure;

/// Largest number of grid nodes accepted.
pub const MAX_NODES: usize = 1_000_000;
/// Largest number of stored values (initial conditions and snapshots, `n·k·(times + 1)`).
pub const MAX_VALUES: usize = 50_000_000;

/// Fit per-node diffusivities κ on a grid graph from snapshots of heat diffusion,
/// u(t) = exp(−t·Diag(κ)·L)·u₀ (L the sparse grid Laplacian), by L-BFGS.
///
/// Each snapshot is one `expm_multiply_diag` tape node on the constant CSR Laplacian: the
/// action of the exponential, O(nnz) per product, never an n×n matrix; a 30×30 grid
/// (n = 900) fits in seconds. The data are simulated from a known κ, which the fit is
/// compared with. Exit code 0 when the fit converged, 1 when it did not or failed, 2 for bad
/// options.
#[derive(Parser, Debug)]
#[command(version)]
pub struct Args {
    /// Grid rows.
    #[arg(long, default_value_t = 6, allow_negative_numbers = true)]
    pub rows: usize,
    /// Grid columns.
    #[arg(long, default_value_t = 6, allow_negative_numbers = true)]
    pub cols: usize,
    /// Number of initial conditions.
    #[arg(long, default_value_t = 3, allow_negative_numbers = true)]
    pub k: usize,
    /// Snapshot times, positive: comma or space separated (0.05,0.15,0.4 or 0.05 0.15 0.4).
    #[arg(
        long,
        num_args = 1..,
        value_delimiter = ',',
        default_value = "0.05,0.15,0.4",
        allow_negative_numbers = true
    )]
    pub times: Vec<f64>,
    /// Standard deviation of the noise on the snapshots (≥ 0).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub noise: f64,
    /// RNG seed.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    pub seed: u64,
    /// Iteration cap.
    #[arg(long, default_value_t = 1000, allow_negative_numbers = true)]
    pub max_iters: u64,
}

/// The checks of the options, before any work: a usage error (exit code 2) naming the option.
pub fn check(args: &Args) -> Result<usize, Failure> {
    let n = args
        .rows
        .checked_mul(args.cols)
        .filter(|&n| n <= MAX_NODES)
        .ok_or_else(|| {
            Failure::usage(format!(
                "--rows {} --cols {}: at most {MAX_NODES} grid nodes",
                args.rows, args.cols
            ))
        })?;
    if n < 2 {
        return Err(Failure::usage(format!(
            "--rows {} --cols {}: need a grid of ≥ 2 nodes",
            args.rows, args.cols
        )));
    }
    if args.k == 0 {
        return Err(Failure::usage("--k 0: need ≥ 1 initial condition"));
    }
    if args.times.is_empty() {
        return Err(Failure::usage("--times: need ≥ 1 time"));
    }
    let values = n
        .checked_mul(args.k)
        .and_then(|v| v.checked_mul(args.times.len() + 1));
    if values.is_none_or(|v| v > MAX_VALUES) {
        return Err(Failure::usage(format!(
            "--rows {} --cols {} --k {} with {} times: more than {MAX_VALUES} stored values",
            args.rows,
            args.cols,
            args.k,
            args.times.len()
        )));
    }
    if let Some((i, t)) = args
        .times
        .iter()
        .enumerate()
        .find(|(_, t)| !(t.is_finite() && **t > 0.0))
    {
        return Err(Failure::usage(format!(
            "--times: t = {t:?} (time {i}) must be positive and finite (diffusion runs forward in time)"
        )));
    }
    if !(args.noise.is_finite() && args.noise >= 0.0) {
        return Err(Failure::usage(format!(
            "--noise {}: must be finite and ≥ 0",
            args.noise
        )));
    }
    Ok(n)
}

/// The example: checks the options, simulates the snapshots, fits κ and prints the report
/// to `out` (progress lines go to stdout). `Ok(converged)`, or the failure with its exit code.
pub fn run(args: &Args, out: &mut impl Write) -> Result<bool, Failure> {
    let n = check(args)?;
    let truth = model::kappa_true(args.rows, args.cols);
    let snaps = model::simulate(
        args.rows,
        args.cols,
        &truth,
        args.k,
        &args.times,
        args.noise,
        args.seed,
    )
    .map_err(|e| Failure::usage(format!("simulating the data: {e}")))?;
    say!(
        out,
        "heat_diffusion: {}×{} grid (n = {n}, {} Laplacian nonzeros), {} initial conditions, times {:?}, noise {}",
        args.rows,
        args.cols,
        snaps.nnz,
        args.k,
        args.times,
        args.noise
    );
    out.flush().map_err(Failure::stdout)?;
    let opts = model::FitOptions {
        max_iters: args.max_iters,
        gtol: 1e-10,
        ..Default::default()
    };
    let fit = model::fit(&snaps, vec![0.0; n], &opts, |p| {
        if p.iter % 10 == 0 {
            // Progress only: a closed stdout is reported by the final report's write.
            let _ = writeln!(
                std::io::stdout(),
                "{:>5}  loss {:>12.4e}  ‖∇‖ {:>9.2e}  {:>7.3}s",
                p.iter,
                p.loss,
                p.grad_norm,
                p.elapsed.as_secs_f64()
            );
        }
    })
    .map_err(|e| Failure::run(format!("the fit failed: {e}")))?;
    let kappa: Vec<f64> = fit.x.iter().map(|t| t.exp()).collect();
    let rel = kappa
        .iter()
        .zip(&truth)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        .sqrt()
        / truth.iter().map(|x| x * x).sum::<f64>().sqrt();
    say!(
        out,
        "done: {} iterations, {:.3} s, loss {:.3e}, ‖∇‖ {:.2e} ({})",
        fit.iters,
        fit.elapsed.as_secs_f64(),
        fit.loss,
        fit.grad_norm,
        fit.reason()
    );
    say!(out, "relative error ‖κ − κ_true‖/‖κ_true‖ = {rel:.3e}");
    say!(out, "fitted κ (true κ) by grid row:");
    for r in 0..args.rows {
        let row: Vec<String> = (0..args.cols)
            .map(|c| {
                format!(
                    "{:.3} ({:.3})",
                    kappa[r * args.cols + c],
                    truth[r * args.cols + c]
                )
            })
            .collect();
        say!(out, "  {}", row.join("  "));
    }
    Ok(fit.converged())
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    match run(&args, &mut std::io::stdout().lock()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => cli::report(&Failure::run(
            "the fit did not converge; κ is not reliable (raise --max-iters)",
        )),
        Err(f) => cli::report(&f),
    }
}
