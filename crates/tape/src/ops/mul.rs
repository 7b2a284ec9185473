//! Elementwise (Hadamard) product `a ∘ b`. VJP: `ā = ḡ ∘ conj(b)`, `b̄ = ḡ ∘ conj(a)`.
use super::same_shape;
use crate::{IntoVar, Op, Scalar, TapeError, Var};
use faer::{Mat, MatRef, unzip, zip};

/// Elementwise (Hadamard) product `a ∘ b`. VJP: `ā = ḡ ∘ b`, `b̄ = ḡ ∘ a`.
pub struct Mul;

impl<T: Scalar> Op<T> for Mul {
    type Residual = ();
    crate::multilinear_rules!(T);
    fn name(&self) -> &'static str {
        "mul"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        same_shape("mul", x[0], x[1])?;
        Ok((zip!(x[0], x[1]).map(|unzip!(a, b)| *a * *b), ()))
    }
    #[allow(unused_variables)]
    fn vjp(
        &self,
        _: &(),
        x: &[MatRef<'_, T>],
        out: MatRef<'_, T>,
        g: MatRef<'_, T>,
        needs: &[bool],
    ) -> Result<Vec<Option<Mat<T>>>, TapeError> {
        Ok(vec![
            needs[0].then(|| zip!(g, x[1]).map(|unzip!(g, b)| *g * b.conjugate())),
            needs[1].then(|| zip!(g, x[0]).map(|unzip!(g, a)| *g * a.conjugate())),
        ])
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// Elementwise (Hadamard) product `a ∘ b`. VJP: `ā = ḡ ∘ b`, `b̄ = ḡ ∘ a`. Panics naming both shapes if they differ.
    // Named like the std::ops method on purpose (API contract); the operator traits are
    // implemented too (var.rs) and call this.
    #[allow(clippy::should_implement_trait)]
    #[track_caller]
    pub fn mul(self, other: impl IntoVar<'t, T>) -> Var<'t, T> {
        self.apply(Mul, &[other.into_var(self.tape)])
    }
    /// Fallible [`Var::mul`].
    pub fn try_mul(self, other: impl IntoVar<'t, T>) -> Result<Var<'t, T>, TapeError> {
        self.try_apply(Mul, &[other.into_var(self.tape)])
    }
}
