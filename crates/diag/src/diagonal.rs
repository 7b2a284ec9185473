//! `diag(d)` (n×1 → n×n diagonal matrix) and `diag_part(X)` (n×n → n×1): adjoint pairs.
//!
//! VJPs: `diag`: `d̄ᵢ = X̄ᵢᵢ`; `diag_part`: `X̄ = Diag(ḡ)`.
use expgrad_tape::{Op, Real, TapeError, Var};
use faer::{Mat, MatRef};

/// The op behind [`diag`].
pub struct Diag;

impl<T: Real> Op<T> for Diag {
    type Residual = ();
    expgrad_tape::linear_rules!(T);
    fn name(&self) -> &'static str {
        "diag"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        let d = x[0];
        if d.ncols() != 1 {
            return Err(TapeError::ShapeMismatch {
                op: "diag",
                lhs: d.shape(),
                rhs: (d.nrows(), 1),
            });
        }
        let n = d.nrows();
        Ok((
            Mat::from_fn(n, n, |i, j| if i == j { d[(i, 0)] } else { T::zero() }),
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
        Ok(vec![
            needs[0].then(|| Mat::from_fn(x[0].nrows(), 1, |i, _| g[(i, i)])),
        ])
    }
}

/// The op behind [`diag_part`].
pub struct DiagPart;

impl<T: Real> Op<T> for DiagPart {
    type Residual = ();
    expgrad_tape::linear_rules!(T);
    fn name(&self) -> &'static str {
        "diag_part"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        let a = x[0];
        if a.nrows() != a.ncols() {
            return Err(TapeError::NotSquare {
                op: "diag_part",
                shape: a.shape(),
            });
        }
        Ok((Mat::from_fn(a.nrows(), 1, |i, _| a[(i, i)]), ()))
    }
    fn vjp(
        &self,
        _: &(),
        x: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        g: MatRef<'_, T>,
        needs: &[bool],
    ) -> Result<Vec<Option<Mat<T>>>, TapeError> {
        let n = x[0].nrows();
        Ok(vec![needs[0].then(|| {
            Mat::from_fn(n, n, |i, j| if i == j { g[(i, 0)] } else { T::zero() })
        })])
    }
}

/// The n×n diagonal matrix with `d` (n×1) on its diagonal. Panics naming the shape if `d` is
/// not a column.
#[track_caller]
pub fn diag<T: Real>(d: Var<'_, T>) -> Var<'_, T> {
    d.apply(Diag, &[])
}

/// Fallible [`diag`]: `ShapeMismatch` unless `d` is a column.
pub fn try_diag<T: Real>(d: Var<'_, T>) -> Result<Var<'_, T>, TapeError> {
    d.try_apply(Diag, &[])
}

/// The diagonal of a square `X` as an n×1 column. Panics naming the shape if `X` is not square.
#[track_caller]
pub fn diag_part<T: Real>(x: Var<'_, T>) -> Var<'_, T> {
    x.apply(DiagPart, &[])
}

/// Fallible [`diag_part`]: `NotSquare` unless `x` is square.
pub fn try_diag_part<T: Real>(x: Var<'_, T>) -> Result<Var<'_, T>, TapeError> {
    x.try_apply(DiagPart, &[])
}
