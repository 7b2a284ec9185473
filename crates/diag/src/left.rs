//! `X = Diag(d)·A`: row scaling. `Xᵢⱼ = dᵢ Aᵢⱼ`.
//!
//! VJP: `d̄ᵢ = Σⱼ X̄ᵢⱼ Aᵢⱼ` (row sums of `X̄ ∘ A`), `Ā = Diag(d)·X̄`. O(nm) each, and only for
//! tracked operands; `Diag(d)` is never formed.
use crate::check_diag;
use expgrad_linalg::kernels;
use expgrad_tape::{Cotangent, IntoVar, Op, Real, TapeError, Var};
use faer::{Mat, MatRef};

/// The op behind [`diag_mul`].
pub struct DiagMul;

impl<T: Real> Op<T> for DiagMul {
    type Residual = ();
    expgrad_tape::multilinear_rules!(T);
    fn name(&self) -> &'static str {
        "diag_mul"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        let (d, a) = (x[0], x[1]);
        check_diag("diag_mul", d, a.nrows(), a.shape())?;
        Ok((scale_rows(d, a), ()))
    }
    fn vjp(
        &self,
        _: &(),
        x: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        g: MatRef<'_, T>,
        needs: &[bool],
    ) -> Result<Vec<Option<Mat<T>>>, TapeError> {
        Ok(cotangents(x, g, needs).into())
    }
    /// Without the default's `Vec`s, for a dense `X̄`.
    fn vjp_into(
        &self,
        r: &(),
        x: &[MatRef<'_, T>],
        y: MatRef<'_, T>,
        g: &Cotangent<T>,
        needs: &[bool],
        out: &mut Vec<Option<Cotangent<T>>>,
    ) -> Result<(), TapeError> {
        let Cotangent::Dense(g) = g else {
            out.extend(self.vjp_factored(r, x, y, g, needs)?);
            return Ok(());
        };
        out.extend(cotangents(x, g.as_ref(), needs).map(|c| c.map(Cotangent::Dense)));
        Ok(())
    }
}

/// `(d̄, Ā)` where needed.
fn cotangents<T: Real>(
    x: &[MatRef<'_, T>],
    g: MatRef<'_, T>,
    needs: &[bool],
) -> [Option<Mat<T>>; 2] {
    let (d, a) = (x[0], x[1]);
    let d_bar = needs[0].then(|| {
        let mut out = kernels::small_scratch::<T>(d.nrows(), 1);
        out.fill(T::zero());
        for j in 0..a.ncols() {
            for i in 0..a.nrows() {
                out[(i, 0)] += g[(i, j)] * a[(i, j)];
            }
        }
        out
    });
    let a_bar = needs[1].then(|| scale_rows(d, g));
    [d_bar, a_bar]
}

/// `Diag(d)·m`, in a matrix from the pool of small matrices when `m` is small.
fn scale_rows<T: Real>(d: MatRef<'_, T>, m: MatRef<'_, T>) -> Mat<T> {
    let mut out = kernels::small_scratch::<T>(m.nrows(), m.ncols());
    for j in 0..m.ncols() {
        for i in 0..m.nrows() {
            out[(i, j)] = d[(i, 0)] * m[(i, j)];
        }
    }
    out
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
pub fn diag_mul<'t, T: Real>(d: Var<'t, T>, a: impl IntoVar<'t, T>) -> Var<'t, T> {
    d.apply(DiagMul, &[a.into_var(d.tape())])
}

/// Fallible [`diag_mul`].
pub fn try_diag_mul<'t, T: Real>(
    d: Var<'t, T>,
    a: impl IntoVar<'t, T>,
) -> Result<Var<'t, T>, TapeError> {
    d.try_apply(DiagMul, &[a.into_var(d.tape())])
}
