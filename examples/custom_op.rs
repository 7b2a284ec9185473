//! Adding a primitive from outside the tape crate: `sinh` elementwise, through the public
//! `Op` trait, then checked with `gradcheck` exactly like a built-in op.
//!
//! Run: `cargo run --release --example custom_op`
use expgrad::tape::{Op, Tape, TapeError, Var, gradcheck};
use faer::{Mat, MatRef, unzip, zip};

/// `y = sinh(x)` elementwise. VJP: `x̄ = ȳ ∘ cosh(x)`. No residuals: the VJP reads the input.
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
}

/// The user-facing function, as the built-in ops have.
fn sinh<'t>(x: Var<'t, f64>) -> Var<'t, f64> {
    x.apply(Sinh, &[])
}

fn main() {
    let x0 = Mat::<f64>::from_fn(3, 3, |i, j| 0.3 * (i as f64) - 0.2 * (j as f64));
    let tape = Tape::new();
    let x = tape.var(x0.clone());
    // ℓ(X) = tr(exp(sinh(X)))
    let loss = sinh(x).expm().trace();
    let g = loss.backward().wrt(x);
    println!("loss = {:.12}", loss.item());
    println!("dloss/dX =\n{g:?}");
    println!("{tape:?}");
    let report = gradcheck(|xs| sinh(xs[0]).expm().trace(), &[x0]);
    println!("{report}");
    assert!(report.passed);
}
