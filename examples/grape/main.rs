//! GRAPE: gate synthesis with piecewise-constant controls on qubits, by L-BFGS on the exact
//! gradient of the gate fidelity through expgrad's complex tape.
//!
//! ```text
//! cargo run --release --example grape                          # CNOT on 2 qubits (n = 4)
//! cargo run --release --example grape -- --gate toffoli        # 3 qubits (n = 8)
//! cargo run --release --example grape -- --gate chain --qubits 4 --time 12
//! ```
//!
//! The model (`model.rs`): a Heisenberg chain `H₀` (J = 1) with X and Y controls on every
//! qubit, `X_k = −iΔt·(H₀ + Σ_j u_jk H_j)`, `U = exp(X_{N−1})···exp(X₀)`, the fidelity
//! `F = |tr(Tᴴ·U)|²/n²` up to a global phase. Its gradient w.r.t. all N·J controls costs one
//! cached forward and one Fréchet adjoint per slice (never one Fréchet derivative per control
//! per slice). Writes an SVG of the pulses and of the infidelity against iteration.
#[path = "../common/cli.rs"]
pub mod cli;
pub mod model;
pub mod plot;

use clap::Parser;
use cli::Failure;
use expgrad::optim::{LbfgsOptions, lbfgs};
use faer::{Mat, c64};
use model::{Gate, Problem};
use rand::{Rng, SeedableRng};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// GRAPE gate optimisation with expgrad's complex tape.
#[derive(Parser, Debug)]
#[command(version, about)]
pub struct Args {
    /// Target gate.
    #[arg(long, value_enum, default_value_t = Gate::Cnot)]
    pub gate: Gate,
    /// Qubits of the chain (`--gate chain`: 2 to 8, default 3; `--gate transfer`: 2 to 14,
    /// default 12).
    #[arg(long)]
    pub qubits: Option<usize>,
    /// Time slices N (default: 40 for CNOT, 80 for Toffoli, 20 per qubit for the chain).
    #[arg(long)]
    pub slices: Option<usize>,
    /// Total time T in units of 1/J (default: 4 for CNOT, 8 for Toffoli, 3 per qubit for the chain).
    #[arg(long, allow_negative_numbers = true)]
    pub time: Option<f64>,
    /// Seed of the random initial pulses (uniform in ±0.5).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Iteration cap of L-BFGS.
    #[arg(long, default_value_t = 2000)]
    pub max_iters: u64,
    /// Stop once the infidelity 1 − F is at most this.
    #[arg(long, default_value_t = 1e-12)]
    pub target: f64,
    /// Where to write the SVG (default target/examples/grape.svg).
    #[arg(long)]
    pub svg: Option<PathBuf>,
    /// Print a JSON summary instead of the report.
    #[arg(long)]
    pub json: bool,
    /// No progress lines.
    #[arg(long)]
    pub quiet: bool,
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => cli::report(&f),
    }
}

/// The outcome of a run, for the report and `--json`.
#[derive(serde::Serialize)]
struct Summary {
    gate: String,
    qubits: usize,
    n: usize,
    slices: usize,
    controls: usize,
    time: f64,
    infidelity: f64,
    iterations: u64,
    evaluations: usize,
    seconds: f64,
    unitarity_error: f64,
    svg: String,
}

/// L-BFGS on the infidelity `1 − F` from `x0`, given `F` and `∂F/∂x`; once `1 − F` is at most
/// the target the gradient is reported as zero, which stops L-BFGS at that iterate. Returns
/// the result and the history (iteration, 1 − F).
fn optimise(
    args: &Args,
    x0: Vec<f64>,
    mut fidelity: impl FnMut(&[f64]) -> Result<(f64, Vec<f64>), String>,
) -> Result<(expgrad::optim::OptimResult, Vec<(u64, f64)>), Failure> {
    let mut history: Vec<(u64, f64)> = Vec::new();
    let opts = LbfgsOptions {
        max_iters: args.max_iters,
        gtol: 0.0,
        memory: 20,
        ..LbfgsOptions::default()
    };
    let target = args.target;
    let quiet = args.quiet || args.json;
    let result = lbfgs(
        |x: &[f64]| -> Result<(f64, Vec<f64>), String> {
            let (f, g) = fidelity(x)?;
            let loss = 1.0 - f;
            let grad = if loss <= target {
                vec![0.0; x.len()]
            } else {
                g.iter().map(|v| -v).collect()
            };
            Ok((loss, grad))
        },
        x0,
        &opts,
        |pr| {
            history.push((pr.iter, pr.loss));
            if !quiet && (pr.iter % 10 == 0 || pr.loss <= target) {
                eprintln!(
                    "iter {:>5}  1 − F = {:.3e}  ‖∇‖ = {:.2e}  {:.2} s",
                    pr.iter,
                    pr.loss,
                    pr.grad_norm,
                    pr.elapsed.as_secs_f64()
                );
            }
        },
    )
    .map_err(|e| Failure::run(format!("grape: {e}")))?;
    Ok((result, history))
}

/// The large variant: state transfer along a sparse XY chain (`model::Transfer`).
fn transfer(
    args: &Args,
    q: usize,
    slices: usize,
    time: f64,
    svg: &std::path::Path,
) -> Result<(), Failure> {
    let p =
        model::Transfer::new(q, slices, time).map_err(|e| Failure::run(format!("grape: {e}")))?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(args.seed);
    let x0: Vec<f64> = (0..q * slices)
        .map(|_| rng.random_range(-0.5..0.5))
        .collect();
    let unflatten = |x: &[f64]| Mat::from_fn(q, slices, |r, c| x[r + c * q]);
    if !args.quiet && !args.json {
        eprintln!(
            "state transfer |10…0⟩ → |0…01⟩ on an XY chain of {q} qubits (n = {}, sparse), {slices} \
             slices of Δt = {:.4}, a Z field per site ({} parameters)",
            p.n,
            p.dt,
            q * slices
        );
    }
    let (result, history) = optimise(args, x0, |x| {
        let (f, g) = p.fidelity(&unflatten(x)).map_err(|e| e.to_string())?;
        Ok((f, (0..x.len()).map(|i| g[(i % q, i / q)]).collect()))
    })?;
    let names: Vec<String> = (0..q).map(|k| format!("Z{k}")).collect();
    plot::svg(svg, &names, p.dt, &unflatten(&result.x), &history)
        .map_err(|e| Failure::run(format!("cannot write {}: {e}", svg.display())))?;
    finish(
        args,
        "transfer",
        q,
        p.n,
        slices,
        q,
        time,
        &result,
        f64::NAN,
        svg,
    )
}

/// Runs the example: the report on stdout, progress on stderr.
pub fn run(args: &Args) -> Result<(), Failure> {
    let q = match args.gate {
        Gate::Cnot => 2,
        Gate::Toffoli => 3,
        Gate::Chain => args.qubits.unwrap_or(3),
        Gate::Transfer => args.qubits.unwrap_or(12),
    };
    let max_q = if args.gate == Gate::Transfer { 14 } else { 8 };
    if !(2..=max_q).contains(&q) {
        return Err(Failure::usage(format!(
            "--qubits {q} is outside 2..={max_q}"
        )));
    }
    let slices = args.slices.unwrap_or(match args.gate {
        Gate::Cnot => 40,
        Gate::Toffoli => 80,
        Gate::Chain => 20 * q,
        Gate::Transfer => 20,
    });
    let time = args.time.unwrap_or(match args.gate {
        Gate::Cnot => 4.0,
        Gate::Toffoli => 8.0,
        Gate::Chain => 3.0 * q as f64,
        Gate::Transfer => q as f64,
    });
    if slices == 0 || !(time.is_finite() && time > 0.0) {
        return Err(Failure::usage(
            "--slices must be positive and --time positive and finite",
        ));
    }
    if !(args.target.is_finite() && args.target >= 0.0) {
        return Err(Failure::usage(
            "--target must be a finite non-negative number",
        ));
    }
    let svg = cli::prepare_output(args.svg.as_deref(), "grape.svg")?;
    if args.gate == Gate::Transfer {
        return transfer(args, q, slices, time, &svg);
    }
    let p = Problem::new(args.gate, q, slices, time);
    let j = p.controls();
    let mut rng = rand::rngs::StdRng::seed_from_u64(args.seed);
    let x0: Vec<f64> = (0..j * slices)
        .map(|_| rng.random_range(-0.5..0.5))
        .collect();
    let unflatten = |x: &[f64]| Mat::from_fn(j, slices, |r, c| x[r + c * j]);
    if !args.quiet && !args.json {
        eprintln!(
            "GRAPE {:?}: {} qubits (n = {}), {} slices of Δt = {:.4}, {} controls ({} parameters)",
            args.gate,
            q,
            p.n,
            slices,
            p.dt,
            j,
            j * slices
        );
    }
    let (result, history) = optimise(args, x0, |x| {
        let (f, g) = p.fidelity(&unflatten(x)).map_err(|e| e.to_string())?;
        Ok((f, (0..x.len()).map(|i| g[(i % j, i / j)]).collect()))
    })?;
    let u = unflatten(&result.x);
    let prop = p
        .propagator(&u)
        .map_err(|e| Failure::run(format!("grape: {e}")))?;
    let unitarity = (prop.adjoint() * &prop - Mat::<c64>::identity(p.n, p.n)).norm_l2();
    plot::svg(&svg, &p.names, p.dt, &u, &history)
        .map_err(|e| Failure::run(format!("cannot write {}: {e}", svg.display())))?;
    let gate = format!("{:?}", args.gate).to_lowercase();
    finish(
        args, &gate, q, p.n, slices, j, time, &result, unitarity, &svg,
    )
}

/// The report (or `--json`), and a run failure when the target was not reached.
#[allow(clippy::too_many_arguments)]
fn finish(
    args: &Args,
    gate: &str,
    q: usize,
    n: usize,
    slices: usize,
    controls: usize,
    time: f64,
    result: &expgrad::optim::OptimResult,
    unitarity: f64,
    svg: &std::path::Path,
) -> Result<(), Failure> {
    let summary = Summary {
        gate: gate.to_string(),
        qubits: q,
        n,
        slices,
        controls,
        time,
        infidelity: result.loss,
        iterations: result.iters,
        evaluations: result.evals,
        seconds: result.elapsed.as_secs_f64(),
        unitarity_error: unitarity,
        svg: svg.display().to_string(),
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        let text = serde_json::to_string_pretty(&summary).expect("serialisable");
        writeln!(out, "{text}").map_err(Failure::stdout)?;
    } else {
        writeln!(
            out,
            "{} on {} qubits (n = {}): infidelity 1 − F = {:.3e} after {} iterations ({} evaluations) in {:.2} s",
            summary.gate, q, n, summary.infidelity, summary.iterations, summary.evaluations, summary.seconds,
        )
        .map_err(Failure::stdout)?;
        if unitarity.is_finite() {
            writeln!(out, "‖UᴴU − I‖_F = {unitarity:.1e}").map_err(Failure::stdout)?;
        }
        writeln!(out, "pulses and convergence in {}", summary.svg).map_err(Failure::stdout)?;
    }
    if result.loss > args.target {
        return Err(Failure::run(format!(
            "grape: the infidelity {:.3e} is above the target {:.1e} after {} iterations \
             (try more --slices or a longer --time)",
            result.loss, args.target, result.iters
        )));
    }
    Ok(())
}
