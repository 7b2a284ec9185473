//! `X = Diag(d)·A`: row scaling. `Xᵢⱼ = dᵢ Aᵢⱼ`.
//!
//! VJP: `d̄ᵢ = Σⱼ X̄ᵢⱼ Aᵢⱼ` (row sums of `X̄ ∘ A`), `Ā = Diag(d)·X̄`. O(nm) each, and only for
//! tracked operands; `Diag(d)` is never formed.
use crate::check_diag;
use expgrad_tape::{IntoVar, Op, Scalar, TapeError, Var};
use faer::{Mat, MatRef};

/// The op behind [`diag_mul`].
pub struct DiagMul;

impl<T: Scalar> Op<T> for DiagMul {
    type Residual = ();
    fn name(&self) -> &'static str {
        "diag_mul"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        let (d, a) = (x[0], x[1]);
        check_diag("diag_mul", d, a.nrows(), a.shape())?;
        Ok((
            Mat::from_fn(a.nrows(), a.ncols(), |i, j| d[(i, 0)] * a[(i, j)]),
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
        let (d, a) = (x[0], x[1]);
        let d_bar = needs[0].then(|| {
            let mut out = Mat::<T>::zeros(d.nrows(), 1);
            for j in 0..a.ncols() {
                for i in 0..a.nrows() {
                    out[(i, 0)] += g[(i, j)] * a[(i, j)];
                }
            }
            out
        });
        let a_bar =
            needs[1].then(|| Mat::from_fn(a.nrows(), a.ncols(), |i, j| d[(i, 0)] * g[(i, j)]));
        Ok(vec![d_bar, a_bar])
    }
}

/// `Diag(d)·A` for `d` n×1 and `A` n×m. Panics naming both shapes if they do not fit.
///
/// ```
/// use expgrad_tape::Tape;
/// let tape = Tape::new();
/// let d = tape.var(faer::mat![[2.0], [3.0f64]]);
/// let a = tape.constant(faer::mat![[1.0, 1.0], [1.0, -1.0]]);
/// let x = expgrad_diag::diag_mul(d, a);
/// assert_eq!(x.value(), faer::mat![[2.0, 2.0], [3.0, -3.0]]);
/// // d̄ = rowsum(X̄ ∘ A) with X̄ = 1: [2, 0]
/// assert_eq!(x.sum().backward().wrt(d), faer::mat![[2.0], [0.0]]);
/// ```
#[track_caller]
pub fn diag_mul<'t, T: Scalar>(d: Var<'t, T>, a: impl IntoVar<'t, T>) -> Var<'t, T> {
    d.apply(DiagMul, &[a.into_var(d.tape())])
}

/// Fallible [`diag_mul`].
pub fn try_diag_mul<'t, T: Scalar>(
    d: Var<'t, T>,
    a: impl IntoVar<'t, T>,
) -> Result<Var<'t, T>, TapeError> {
    d.try_apply(DiagMul, &[a.into_var(d.tape())])
}
