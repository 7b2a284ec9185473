//! `X_b = Diag(d_b)·A_b` for a batch side by side: `d` n×B, `A` n×(m·B) (block `b` in columns
//! `b·m..(b+1)·m`), `X[i, bm+j] = d[i,b]·A[i, bm+j]`.
//!
//! VJP: `d̄[i,b] = Σ_j X̄[i,bm+j]·A[i,bm+j]`, `Ā = d ∘ X̄` blockwise. O(n·m·B) each.
use expgrad_tape::{IntoVar, Op, Real, TapeError, Var};
use faer::{Mat, MatRef};

/// The op behind [`diag_mul_batch`].
pub struct DiagMulBatch;

/// Columns per block, or the shape error naming both operands.
fn block_cols<T>(d: MatRef<'_, T>, a: MatRef<'_, T>) -> Result<usize, TapeError> {
    match a.ncols().checked_div(d.ncols()) {
        Some(m) if d.nrows() == a.nrows() && m * d.ncols() == a.ncols() => Ok(m),
        _ => Err(TapeError::ShapeMismatch {
            op: "diag_mul_batch",
            lhs: d.shape(),
            rhs: a.shape(),
        }),
    }
}

impl<T: Real> Op<T> for DiagMulBatch {
    type Residual = ();
    expgrad_tape::multilinear_rules!(T);
    fn name(&self) -> &'static str {
        "diag_mul_batch"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        let (d, a) = (x[0], x[1]);
        let m = block_cols(d, a)?;
        Ok((
            Mat::from_fn(a.nrows(), a.ncols(), |i, j| d[(i, j / m)] * a[(i, j)]),
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
        let m = block_cols(d, a)?;
        let d_bar = needs[0].then(|| {
            let mut out = Mat::<T>::zeros(d.nrows(), d.ncols());
            for j in 0..a.ncols() {
                for i in 0..a.nrows() {
                    out[(i, j / m)] += g[(i, j)] * a[(i, j)];
                }
            }
            out
        });
        let a_bar =
            needs[1].then(|| Mat::from_fn(a.nrows(), a.ncols(), |i, j| d[(i, j / m)] * g[(i, j)]));
        Ok(vec![d_bar, a_bar])
    }
}

/// `[Diag(d_1)·A_1 … Diag(d_B)·A_B]` for `d` n×B (column `b` is `d_b`) and `A` n×(m·B):
/// the batched [`diag_mul`](crate::diag_mul). Panics naming both shapes if they do not fit.
///
/// ```
/// use expgrad_tape::Tape;
/// let tape = Tape::new();
/// let d = tape.var(faer::mat![[2.0, 10.0], [3.0, 100.0f64]]);
/// let a = tape.constant(faer::mat![[1.0, 1.0], [1.0, -1.0]]); // two 2×1 blocks
/// let x = expgrad_diag::diag_mul_batch(d, a);
/// assert_eq!(x.value(), faer::mat![[2.0, 10.0], [3.0, -100.0]]);
/// ```
#[track_caller]
pub fn diag_mul_batch<'t, T: Real>(d: Var<'t, T>, a: impl IntoVar<'t, T>) -> Var<'t, T> {
    d.apply(DiagMulBatch, &[a.into_var(d.tape())])
}

/// Fallible [`diag_mul_batch`].
pub fn try_diag_mul_batch<'t, T: Real>(
    d: Var<'t, T>,
    a: impl IntoVar<'t, T>,
) -> Result<Var<'t, T>, TapeError> {
    d.try_apply(DiagMulBatch, &[a.into_var(d.tape())])
}
