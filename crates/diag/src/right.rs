//! `X = A·Diag(d)`: column scaling. `Xᵢⱼ = Aᵢⱼ dⱼ`.
//!
//! VJP: `d̄ⱼ = Σᵢ X̄ᵢⱼ Aᵢⱼ` (column sums of `X̄ ∘ A`), `Ā = X̄·Diag(d)`. O(nm) each.
use crate::check_diag;
use expgrad_tape::{IntoVar, Op, Real, TapeError, Var};
use faer::{Mat, MatRef};

/// The op behind [`mul_diag`].
pub struct MulDiag;

impl<T: Real> Op<T> for MulDiag {
    type Residual = ();
    expgrad_tape::multilinear_rules!(T);
    fn name(&self) -> &'static str {
        "mul_diag"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        let (a, d) = (x[0], x[1]);
        check_diag("mul_diag", d, a.ncols(), a.shape())?;
        Ok((
            Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[(i, j)] * d[(j, 0)]),
            (),
        ))
    }
    fn vjp(
        &self,
        _: &(),
        x: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        g: MatRef<'_, T>,
        needs: &[bool],
    ) -> Result<Vec<Option<Mat<T>>>, TapeError> {
        let (a, d) = (x[0], x[1]);
        let a_bar =
            needs[0].then(|| Mat::from_fn(a.nrows(), a.ncols(), |i, j| g[(i, j)] * d[(j, 0)]));
        let d_bar = needs[1].then(|| {
            Mat::from_fn(a.ncols(), 1, |j, _| {
                (0..a.nrows()).fold(T::zero(), |s, i| s + g[(i, j)] * a[(i, j)])
            })
        });
        Ok(vec![a_bar, d_bar])
    }
}

/// `A·Diag(d)` for `A` n×m and `d` m×1. Panics naming both shapes if they do not fit.
///
/// ```
/// use expgrad_tape::Tape;
/// let tape = Tape::new();
/// let a = tape.constant(faer::mat![[1.0, 1.0], [1.0, -1.0f64]]);
/// let d = tape.var(faer::mat![[2.0], [3.0]]);
/// let x = expgrad_diag::mul_diag(a, d);
/// assert_eq!(x.value(), faer::mat![[2.0, 3.0], [2.0, -3.0]]);
/// assert_eq!(x.sum().backward().wrt(d), faer::mat![[2.0], [0.0]]);
/// ```
#[track_caller]
pub fn mul_diag<'t, T: Real>(a: impl IntoVar<'t, T>, d: Var<'t, T>) -> Var<'t, T> {
    a.into_var(d.tape()).apply(MulDiag, &[d])
}

/// Fallible [`mul_diag`].
pub fn try_mul_diag<'t, T: Real>(
    a: impl IntoVar<'t, T>,
    d: Var<'t, T>,
) -> Result<Var<'t, T>, TapeError> {
    a.into_var(d.tape()).try_apply(MulDiag, &[d])
}
