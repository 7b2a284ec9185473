//! Estimate the exit rates of a continuous-time Markov chain from transition counts, with
//! standard errors.
//!
//! `Q = Diag(r)·(P − I)`, `P` known, `r = exp(θ)` unknown. Data are simulated from the true
//! chain (seeded Gillespie runs). The log-likelihood `Σ Nᵢⱼ log [exp(tQ)]ᵢⱼ` is maximised with
//! L-BFGS using expgrad gradients; standard errors come from the exact observed Fisher
//! information (one Hessian-vector product per rate, forward over reverse through `expm`),
//! shown beside the one from central differences of gradients.
//!
//! Run: `cargo run --release --example ctmc_rates -- --help`
use clap::Parser;
use std::io::Write;
use std::process::ExitCode;

#[macro_use]
#[path = "../common/cli.rs"]
pub mod cli;
pub mod model;

use cli::Failure;

/// Largest number of states accepted (each evaluation exponentiates dense k×k matrices).
pub const MAX_STATES: usize = 500;
/// Largest expected number of simulated jumps (the Gillespie runs' cost).
pub const MAX_JUMPS: f64 = 2e8;

/// Estimate the exit rates of a continuous-time Markov chain, with standard errors, from
/// simulated transition counts.
///
/// The generator is Q = Diag(r)·(P − I) with a known jump matrix P and unknown rates
/// r = exp(θ). Counts of chains seen in state i at time 0 and in state j after each interval
/// t are simulated (seeded Gillespie runs) from a known chain; the log-likelihood
/// Σ N·log exp(tQ) is maximised by L-BFGS with expgrad gradients, and the standard errors
/// come from the observed Fisher information. Exit code 0 on success, 1 when the fit fails
/// or does not converge, 2 for bad options.
#[derive(Parser, Debug)]
#[command(version)]
pub struct Args {
    /// Number of states (≥ 2).
    #[arg(long, default_value_t = 5, allow_negative_numbers = true)]
    pub states: usize,
    /// Chains simulated per starting state and interval (≥ 1).
    #[arg(long, default_value_t = 2000, allow_negative_numbers = true)]
    pub per_state: usize,
    /// Observation intervals t > 0: comma or space separated (0.25,1,3 or 0.25 1 3).
    #[arg(
        long,
        num_args = 1..,
        value_delimiter = ',',
        default_value = "0.25,1,3",
        allow_negative_numbers = true
    )]
    pub intervals: Vec<f64>,
    /// RNG seed.
    #[arg(long, default_value_t = 7, allow_negative_numbers = true)]
    pub seed: u64,
    /// Iteration cap.
    #[arg(long, default_value_t = 500, allow_negative_numbers = true)]
    pub max_iters: u64,
}

/// The checks of the options, before any work: a usage error (exit code 2) naming the
/// option. Returns the example chain.
pub fn check(args: &Args) -> Result<model::Chain, Failure> {
    if args.states < 2 || args.states > MAX_STATES {
        return Err(Failure::usage(format!(
            "--states {}: need 2 ≤ states ≤ {MAX_STATES}",
            args.states
        )));
    }
    if args.per_state == 0 {
        return Err(Failure::usage("--per-state 0: need ≥ 1 chain"));
    }
    if args.intervals.is_empty() {
        return Err(Failure::usage("--intervals: need ≥ 1 interval"));
    }
    if let Some((i, t)) = args
        .intervals
        .iter()
        .enumerate()
        .find(|(_, t)| !(t.is_finite() && **t > 0.0))
    {
        return Err(Failure::usage(format!(
            "--intervals: t = {t:?} (interval {i}) must be positive and finite"
        )));
    }
    let chain = model::Chain::example(args.states, args.seed);
    let jumps = chain.expected_jumps(&args.intervals, args.per_state);
    if jumps.is_nan() || jumps > MAX_JUMPS {
        return Err(Failure::usage(format!(
            "--states {} --per-state {} --intervals {:?}: the simulation would take about {jumps:.1e} jumps (at most {MAX_JUMPS:e}); use fewer chains or shorter intervals",
            args.states, args.per_state, args.intervals
        )));
    }
    Ok(chain)
}

/// The example: checks the options, simulates the counts, fits the rates and prints the
/// report to `out` (progress lines go to stdout). `Ok(())`, or the failure with its exit
/// code (a fit that did not converge is a failure).
pub fn run(args: &Args, out: &mut impl Write) -> Result<(), Failure> {
    let chain = check(args)?;
    let data = chain.simulate(&args.intervals, args.per_state, args.seed.wrapping_add(1));
    let total: f64 = data.iter().map(|c| c.n.sum()).sum();
    say!(
        out,
        "ctmc_rates: {} states, intervals {:?}, {} simulated chains",
        args.states,
        args.intervals,
        total as u64
    );
    out.flush().map_err(Failure::stdout)?;
    let opts = model::FitOptions {
        max_iters: args.max_iters,
        gtol: 1e-10,
        ..Default::default()
    };
    let fit = model::fit(&chain.p, &data, vec![0.0; args.states], &opts, |p| {
        // Progress only: a closed stdout is reported by the final report's write.
        let _ = writeln!(
            std::io::stdout(),
            "{:>4}  mean −loglik {:>14.10}  ‖∇‖ {:>9.2e}  {:>7.3}s",
            p.iter,
            p.loss,
            p.grad_norm,
            p.elapsed.as_secs_f64()
        );
    })
    .map_err(|e| Failure::run(format!("the fit failed: {e}")))?;
    say!(
        out,
        "done: {} iterations, {:.3} s ({})",
        fit.iters,
        fit.elapsed.as_secs_f64(),
        fit.reason()
    );
    if !fit.converged() {
        return Err(Failure::run(
            "the fit did not converge; the rates are not reliable (raise --max-iters)",
        ));
    }
    let t0 = std::time::Instant::now();
    let info = model::observed_information(&chain.p, &data, &fit.x)
        .map_err(|e| Failure::run(format!("standard errors: {e}")))?;
    let exact_time = t0.elapsed();
    let se = model::standard_errors_from(&info, &fit.x)
        .map_err(|e| Failure::run(format!("standard errors: {e}")))?;
    let t1 = std::time::Instant::now();
    let info_fd = model::observed_information_fd(&chain.p, &data, &fit.x)
        .map_err(|e| Failure::run(format!("standard errors: {e}")))?;
    let fd_time = t1.elapsed();
    let se_fd = model::standard_errors_from(&info_fd, &fit.x).ok();
    say!(
        out,
        "\nstate   true rate   estimate   std. error   (estimate − true)/SE"
    );
    for (i, (se, rate)) in se.iter().zip(&chain.rates).enumerate() {
        let est = fit.x[i].exp();
        say!(
            out,
            "{i:>5}   {rate:>9.4}   {est:>8.4}   {se:>10.4}   {:>+8.2}",
            (est - rate) / se
        );
    }
    let info_gap = (&info - &info_fd).norm_max() / info.norm_max();
    say!(
        out,
        "(standard errors: exact observed Fisher information, {} Hessian-vector products, {:.1} ms;",
        args.states,
        exact_time.as_secs_f64() * 1e3
    );
    match se_fd {
        Some(se_fd) => {
            let gap = se
                .iter()
                .zip(&se_fd)
                .map(|(a, b)| ((a - b) / a).abs())
                .fold(0.0, f64::max);
            say!(
                out,
                " central differences of gradients ({} gradients, {:.1} ms) agree to {info_gap:.1e} in the information, {gap:.1e} in the errors)",
                2 * args.states,
                fd_time.as_secs_f64() * 1e3
            );
        }
        None => say!(
            out,
            " the finite-difference information is not positive definite: differences {info_gap:.1e})"
        ),
    }
    if let Some((i, se)) = se.iter().enumerate().find(|(_, se)| !se.is_finite()) {
        return Err(Failure::run(format!(
            "state {i}: the standard error is {se}: the counts carry no information on its rate (intervals too short to see a jump?)"
        )));
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    match run(&args, &mut std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => cli::report(&f),
    }
}
