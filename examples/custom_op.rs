//! Adding a primitive from outside the tape crate: `sinh` elementwise, through the public
//! `Op` trait (forward, VJP, JVP and the second-order rule), then checked with `gradcheck`,
//! `jvpcheck` and `hvpcheck` exactly like a built-in op.
//!
//! Run: `cargo run --release --example custom_op` (`-- --help` for what it prints).
use clap::Parser;
use expgrad::tape::{
    DualCotangent, Op, Tangents, Tape, TapeError, Var, gradcheck, hvpcheck, jvpcheck,
};
use faer::{Mat, MatRef, unzip, zip};
use std::io::Write;
use std::process::ExitCode;

#[macro_use]
#[path = "common/cli.rs"]
pub mod cli;

use cli::Failure;

/// Add a primitive from outside the tape crate: an elementwise sinh written against the
/// public Op trait, differentiated through ℓ(X) = tr(exp(sinh(X))) and checked with
/// gradcheck exactly like a built-in op.
///
/// Prints the loss, its gradient, the tape and the gradcheck report. Takes no options
/// besides --help and --version. Exit code 0 when the gradient check passes, 1 otherwise.
#[derive(Parser, Debug)]
#[command(version)]
pub struct Args {}

/// `y = sinh(x)` elementwise. VJP: `x̄ = ȳ ∘ cosh(x)`; JVP: `ẏ = cosh(x) ∘ ẋ`; second order:
/// `ẋ̄ = ġ ∘ cosh(x) + ḡ ∘ sinh(x) ∘ ẋ`. No residuals: the rules read the input.
struct Sinh;

impl Op<f64> for Sinh {
    type Residual = ();
    fn name(&self) -> &'static str {
        "sinh"
    }
    fn forward(&self, x: &[MatRef<'_, f64>]) -> Result<(Mat<f64>, ()), TapeError> {
        Ok((x[0].map(|v| v.sinh()), ()))
    }
    fn vjp(
        &self,
        _: &(),
        x: &[MatRef<'_, f64>],
        _: MatRef<'_, f64>,
        g: MatRef<'_, f64>,
        needs: &[bool],
    ) -> Result<Vec<Option<Mat<f64>>>, TapeError> {
        Ok(vec![
            needs[0].then(|| zip!(g, x[0]).map(|unzip!(g, x)| *g * x.cosh())),
        ])
    }
    fn jvp(
        &self,
        _: &(),
        x: &[MatRef<'_, f64>],
        _: MatRef<'_, f64>,
        t: &[Option<MatRef<'_, f64>>],
    ) -> Result<Mat<f64>, TapeError> {
        let t = t[0].expect("the tape passes a tangent");
        Ok(zip!(t, x[0]).map(|unzip!(t, x)| *t * x.cosh()))
    }
    fn vjp_jvp(
        &self,
        _: &(),
        at: &Tangents<'_, f64>,
        g: MatRef<'_, f64>,
        gd: Option<MatRef<'_, f64>>,
        needs: &[bool],
    ) -> Result<Vec<Option<DualCotangent<f64>>>, TapeError> {
        if !needs[0] {
            return Ok(vec![None]);
        }
        let x = at.inputs[0];
        let bar = zip!(g, x).map(|unzip!(g, x)| *g * x.cosh());
        let mut dot = match gd {
            Some(gd) => zip!(gd, x).map(|unzip!(g, x)| *g * x.cosh()),
            None => Mat::zeros(x.nrows(), x.ncols()),
        };
        if let Some(xd) = at.tangent(0) {
            zip!(&mut dot, g, x, xd).for_each(|unzip!(d, g, x, t)| *d += *g * x.sinh() * *t);
        }
        Ok(vec![Some((bar, Some(dot)))])
    }
}

/// The user-facing function, as the built-in ops have: the panicking form (for gradcheck's
/// closure) and the `try_` form.
fn sinh<'t>(x: Var<'t, f64>) -> Var<'t, f64> {
    x.apply(Sinh, &[])
}

/// Fallible [`sinh`].
fn try_sinh<'t>(x: Var<'t, f64>) -> Result<Var<'t, f64>, TapeError> {
    x.try_apply(Sinh, &[])
}

/// The example: prints its report to `out`; a failed gradient check is a failure.
pub fn run(_: &Args, out: &mut impl Write) -> Result<(), Failure> {
    let x0 = Mat::<f64>::from_fn(3, 3, |i, j| 0.3 * (i as f64) - 0.2 * (j as f64));
    let tape = Tape::new();
    let fail = |e: TapeError| Failure::run(format!("ℓ(X) = tr(exp(sinh(X))): {e}"));
    let x = tape.try_var(x0.clone()).map_err(fail)?;
    // ℓ(X) = tr(exp(sinh(X)))
    let loss = try_sinh(x)
        .and_then(|s| s.try_expm())
        .and_then(|e| e.try_trace())
        .map_err(fail)?;
    let g = loss.try_backward().map_err(fail)?.wrt(x);
    say!(out, "loss = {:.12}", loss.item());
    say!(out, "dloss/dX =\n{g:?}");
    say!(out, "{tape:?}");
    let report = gradcheck(|xs| sinh(xs[0]).expm().trace(), std::slice::from_ref(&x0));
    say!(out, "{report}");
    let forward = jvpcheck(|xs| sinh(xs[0]).expm(), std::slice::from_ref(&x0));
    say!(out, "{forward}");
    let second = hvpcheck(|xs| sinh(xs[0]).expm().trace(), &[x0]);
    say!(out, "{second}");
    if report.passed && forward.passed && second.passed {
        Ok(())
    } else {
        Err(Failure::run("a derivative check of sinh failed"))
    }
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    match run(&args, &mut std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => cli::report(&f),
    }
}
