//! `X = Diag(l)·A·Diag(r)`: similarity scaling and balancing. `Xᵢⱼ = lᵢ Aᵢⱼ rⱼ`.
//!
//! VJP: `l̄ᵢ = Σⱼ X̄ᵢⱼ Aᵢⱼ rⱼ`, `r̄ⱼ = Σᵢ X̄ᵢⱼ lᵢ Aᵢⱼ`, `Ā = Diag(l)·X̄·Diag(r)`. O(nm).
use crate::check_diag;
use expgrad_tape::{Op, Real, TapeError, Var};
use faer::{Mat, MatRef};

/// The op behind [`diag_mul_diag`].
pub struct DiagMulDiag;

impl<T: Real> Op<T> for DiagMulDiag {
    type Residual = ();
    expgrad_tape::multilinear_rules!(T);
    fn name(&self) -> &'static str {
        "diag_mul_diag"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        let (l, a, r) = (x[0], x[1], x[2]);
        check_diag("diag_mul_diag", l, a.nrows(), a.shape())?;
        check_diag("diag_mul_diag", r, a.ncols(), a.shape())?;
        Ok((
            Mat::from_fn(a.nrows(), a.ncols(), |i, j| {
                l[(i, 0)] * a[(i, j)] * r[(j, 0)]
            }),
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
        let (l, a, r) = (x[0], x[1], x[2]);
        let (n, m) = a.shape();
        let l_bar = needs[0].then(|| {
            Mat::from_fn(n, 1, |i, _| {
                (0..m).fold(T::zero(), |s, j| s + g[(i, j)] * a[(i, j)] * r[(j, 0)])
            })
        });
        let a_bar = needs[1].then(|| Mat::from_fn(n, m, |i, j| l[(i, 0)] * g[(i, j)] * r[(j, 0)]));
        let r_bar = needs[2].then(|| {
            Mat::from_fn(m, 1, |j, _| {
                (0..n).fold(T::zero(), |s, i| s + g[(i, j)] * l[(i, 0)] * a[(i, j)])
            })
        });
        Ok(vec![l_bar, a_bar, r_bar])
    }
}

/// `Diag(l)·A·Diag(r)` for `A` n×m, `l` n×1, `r` m×1. Panics naming the shapes if they do
/// not fit.
#[track_caller]
pub fn diag_mul_diag<'t, T: Real>(l: Var<'t, T>, a: Var<'t, T>, r: Var<'t, T>) -> Var<'t, T> {
    l.apply(DiagMulDiag, &[a, r])
}

/// Fallible [`diag_mul_diag`].
pub fn try_diag_mul_diag<'t, T: Real>(
    l: Var<'t, T>,
    a: Var<'t, T>,
    r: Var<'t, T>,
) -> Result<Var<'t, T>, TapeError> {
    l.try_apply(DiagMulDiag, &[a, r])
}
