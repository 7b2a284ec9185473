//! Multiplication by a tracked scalar, `s·a` with `s` a 1×1 variable. VJP: `ā = conj(s) ḡ`,
//! `s̄ = Σ conj(aᵢⱼ) ḡᵢⱼ`.
//!
//! Tests: `crates/tape/tests/ergonomics.rs`.
use super::frobenius_conj;
use crate::{Op, Scalar, TapeError};
use faer::{Mat, MatRef};

/// `s·a` (inputs `[a, s]`, `s` 1×1). VJP: `ā = s ḡ`, `s̄ = ⟨ḡ, a⟩`. Reached through
/// [`Var::scale`](crate::Var::scale) with a `Var` factor.
pub struct ScaleBy;

impl<T: Scalar> Op<T> for ScaleBy {
    type Residual = ();
    crate::multilinear_rules!(T);
    fn name(&self) -> &'static str {
        "scale"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        if x[1].shape() != (1, 1) {
            return Err(TapeError::ShapeMismatch {
                op: "scale",
                lhs: x[0].shape(),
                rhs: x[1].shape(),
            });
        }
        Ok((x[0] * faer::Scale(x[1][(0, 0)]), ()))
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
            needs[0].then(|| g * faer::Scale(x[1][(0, 0)].conjugate())),
            needs[1].then(|| {
                let s = frobenius_conj(x[0], g);
                Mat::from_fn(1, 1, |_, _| s)
            }),
        ])
    }
}
