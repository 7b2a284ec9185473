//! The question expgrad was built to answer: for `w = exp(Diag(d)·A)·v`, what is `∂w/∂d`?
//!
//! Prints the Jacobian of a 4×4 case by three routes side by side — generic backprop through
//! the tape, Fréchet columns `L(X, eₖaₖᵀ)v`, and the Kronecker closed form — with their
//! differences and timings, then the gradient of a scalar loss.
//!
//! Run: `cargo run --release --example seed_question` (`-- --help` for what it prints).
use clap::Parser;
use expgrad::diag::try_diag_mul;
use expgrad::reference;
use expgrad::tape::Tape;
use faer::Mat;
use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

#[macro_use]
#[path = "common/cli.rs"]
pub mod cli;

use cli::Failure;

/// Answer the question expgrad was built for: for w = exp(Diag(d)·A)·v, what is ∂w/∂d?
///
/// Prints the Jacobian of a fixed 4×4 continuous-time Markov chain case (A = P − I, exit
/// rates d) by three routes side by side — generic backprop through the tape, Fréchet
/// columns L(X, eₖaₖᵀ)·v, and the Kronecker closed form — with their differences and
/// timings, then the gradient of a scalar loss ½‖w − w_obs‖². Takes no options besides
/// --help and --version. Exit code 0 on success, 1 if an evaluation fails.
#[derive(Parser, Debug)]
#[command(version)]
pub struct Args {}

fn show(out: &mut impl Write, name: &str, m: &Mat<f64>) -> Result<(), Failure> {
    say!(out, "{name}:");
    for i in 0..m.nrows() {
        let row: Vec<String> = (0..m.ncols())
            .map(|j| format!("{:>14.10}", m[(i, j)]))
            .collect();
        say!(out, "  {}", row.join(" "));
    }
    Ok(())
}

/// A tape error as an exit-code-1 failure naming the step.
fn step(what: &'static str) -> impl Fn(expgrad::tape::TapeError) -> Failure {
    move |e| Failure::run(format!("{what}: {e}"))
}

/// The example: prints the three Jacobians, their differences and the gradient to `out`.
pub fn run(_: &Args, out: &mut impl Write) -> Result<(), Failure> {
    let n = 4;
    // A continuous-time Markov chain: Q = Diag(d)·(P − I), exit rates d, jump matrix P.
    let p = faer::mat![
        [0.0, 0.5, 0.3, 0.2],
        [0.6, 0.0, 0.1, 0.3],
        [0.2, 0.2, 0.0, 0.6],
        [0.4, 0.4, 0.2, 0.0f64],
    ];
    let a = &p - Mat::<f64>::identity(n, n);
    let d = faer::mat![[0.8], [1.5], [0.3], [2.0f64]];
    let v = faer::mat![[1.0], [0.0], [0.0], [0.0f64]];
    let x = Mat::<f64>::from_fn(n, n, |i, j| d[(i, 0)] * a[(i, j)]);

    // 1. Generic backprop: one tape, n reverse sweeps over the recorded forward.
    let t = Instant::now();
    let tape = Tape::new();
    let dv = tape.try_var(d.clone()).map_err(step("d"))?;
    let w = try_diag_mul(dv, &a)
        .and_then(|x| x.try_expm())
        .and_then(|e| e.try_matmul(&v))
        .map_err(step("w = exp(Diag(d)·A)·v"))?;
    let j_tape = w
        .try_jacobian(dv)
        .map_err(step("the Jacobian by backprop"))?;
    let t_tape = t.elapsed();

    // 2. Fréchet columns: ∂w/∂dₖ = L(X, eₖaₖᵀ)·v, one factored forward for all k
    //    (expgrad::reference::frechet_columns_jacobian: n calls of Expm::frechet).
    let t = Instant::now();
    let j_frechet = reference::frechet_columns_jacobian(d.as_ref(), a.as_ref(), v.as_ref());
    let t_frechet = t.elapsed();

    // 3. The Kronecker closed form: exponentiate a 2n²×2n² block, O(n⁶)
    //    (expgrad::reference::kronecker_jacobian).
    let t = Instant::now();
    let j_kron = reference::kronecker_jacobian(d.as_ref(), a.as_ref(), v.as_ref());
    let t_kron = t.elapsed();

    say!(
        out,
        "w = exp(Diag(d)·(P − I))·v = {:?}\n",
        (0..n).map(|i| w.value()[(i, 0)]).collect::<Vec<_>>()
    );
    show(out, "J by backprop (tape.jacobian)", &j_tape)?;
    show(out, "J by Fréchet columns", &j_frechet)?;
    show(out, "J by the Kronecker closed form", &j_kron)?;
    say!(
        out,
        "\nmax |backprop − Fréchet| = {:.1e}, max |backprop − Kronecker| = {:.1e}",
        (&j_tape - &j_frechet).norm_max(),
        (&j_tape - &j_kron).norm_max()
    );
    say!(
        out,
        "time: backprop {t_tape:?}, Fréchet {t_frechet:?}, Kronecker {t_kron:?}"
    );
    let identity = (&j_tape * &d - &x * w.value()).norm_max();
    say!(
        out,
        "check J·d = X·w (exact identity): max difference {identity:.1e}"
    );

    // The gradient of a scalar loss ℓ = ½‖w − w_obs‖²: one forward, one backward.
    let w_obs = faer::mat![[0.4], [0.3], [0.2], [0.1f64]];
    let tape = Tape::new();
    let dv = tape.try_var(d.clone()).map_err(step("d"))?;
    let loss = try_diag_mul(dv, a)
        .and_then(|x| x.try_expm())
        .and_then(|e| e.try_matmul(v))
        .and_then(|w| w.try_sub(w_obs))
        .and_then(|r| r.try_dot(r))
        .and_then(|l| l.try_scale(0.5))
        .map_err(step("ℓ(d) = ½‖w − w_obs‖²"))?;
    let g = loss
        .try_backward()
        .map_err(step("the gradient of ℓ"))?
        .wrt(dv);
    say!(out, "\nℓ(d) = ½‖w − w_obs‖² = {:.12}", loss.item());
    say!(
        out,
        "∂ℓ/∂d = {:?}",
        (0..n).map(|i| g[(i, 0)]).collect::<Vec<_>>()
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    match run(&args, &mut std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => cli::report(&f),
    }
}
