//! A first look at expgrad's matrix exponential: `exp(A)`, its Fréchet derivative, and the
//! gradient of a scalar loss `ℓ(A) = cᵀ exp(A) v` through the factored `Expm`.
//!
//! Run: `cargo run --release --example expm` (`-- --help` for what it prints).
use clap::Parser;
use expgrad::linalg::{Expm, LinalgError, expm_frechet_block, norm1, try_expm, try_expm_frechet};
use faer::Mat;
use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

#[macro_use]
#[path = "common/cli.rs"]
pub mod cli;

use cli::Failure;

/// A first look at expgrad's matrix exponential: exp(A) of a fixed non-normal 6×6 matrix,
/// its Fréchet derivative, and the gradient of ℓ(A) = cᵀ·exp(A)·v from the factored Expm.
///
/// Prints exp(A) with its Padé degree and number of squarings, one gradient entry beside a
/// central difference, the structured Fréchet derivative beside the 2n×2n block
/// construction, and the timings. Takes no options besides --help and --version. Exit code 0
/// on success, 1 if an evaluation fails.
#[derive(Parser, Debug)]
#[command(version)]
pub struct Args {}

/// A kernel error as an exit-code-1 failure naming the step.
fn step(what: &'static str) -> impl Fn(LinalgError) -> Failure {
    move |e| Failure::run(format!("{what}: {e}"))
}

/// The example: prints its report to `out`.
pub fn run(_: &Args, out: &mut impl Write) -> Result<(), Failure> {
    let n = 6;
    // A non-normal test matrix: a rotation-dominated part plus a strictly upper shear.
    let a = Mat::<f64>::from_fn(n, n, |i, j| match (i as i64 - j as i64).signum() {
        0 => -0.5 + 0.1 * i as f64,
        -1 => 1.5 / (j - i) as f64,
        _ => -0.8 / (i - j) as f64,
    });
    let v = Mat::<f64>::from_fn(n, 1, |i, _| 1.0 / (1.0 + i as f64));
    let c = Mat::<f64>::from_fn(n, 1, |i, _| if i % 2 == 0 { 1.0 } else { -0.5 });

    let t0 = Instant::now();
    let f = Expm::try_new(a.as_ref()).map_err(step("exp(A)"))?;
    let t_fwd = t0.elapsed();
    let (m, s) = f.params();
    say!(
        out,
        "‖A‖₁ = {:.3}, {} approximant of degree m = {m}, squarings s = {s}, {} products",
        norm1(a.as_ref()),
        f.approximant(),
        f.forward_products()
    );
    say!(out, "exp(A) =\n{:?}", f.value());

    // ℓ(A) = cᵀ e^A v; its gradient is L(Aᵀ, c vᵀ) (the VJP of exp with cotangent c vᵀ).
    let loss = (c.transpose() * f.value() * &v)[(0, 0)];
    let t1 = Instant::now();
    let grad = f
        .try_frechet_adjoint((&c * v.transpose()).as_ref())
        .map_err(step("the gradient L(Aᵀ, c·vᵀ)"))?;
    let t_grad = t1.elapsed();
    say!(out, "ℓ(A) = {loss:.12}");

    // Check one gradient entry by central differences, and the structured Fréchet derivative
    // against the literal 2n×2n block construction.
    let (i, j, h) = (1, 4, 1e-6);
    let mut e = Mat::<f64>::zeros(n, n);
    e[(i, j)] = 1.0;
    let ep = try_expm((&a + &e * faer::Scale(h)).as_ref()).map_err(step("exp(A + hE)"))?;
    let em = try_expm((&a - &e * faer::Scale(h)).as_ref()).map_err(step("exp(A − hE)"))?;
    let lp = (c.transpose() * ep * &v)[(0, 0)];
    let lm = (c.transpose() * em * &v)[(0, 0)];
    say!(
        out,
        "∂ℓ/∂A[{i},{j}]: adjoint {:.10}, central difference {:.10}",
        grad[(i, j)],
        (lp - lm) / (2.0 * h)
    );
    let (_, l) = try_expm_frechet(a.as_ref(), e.as_ref()).map_err(step("L(A, E)"))?;
    let (_, lb) = expm_frechet_block(a.as_ref(), e.as_ref());
    say!(
        out,
        "‖L(A,E) − L_block(A,E)‖_max = {:.2e}",
        (&l - &lb).norm_max()
    );
    say!(out, "forward {t_fwd:?}, gradient from the cache {t_grad:?}");
    Ok(())
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    match run(&args, &mut std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => cli::report(&f),
    }
}
