//! Frobenius inner product `⟨a, b⟩ = Σ aᵢⱼ bᵢⱼ` (1×1). VJP: `ā = ḡ b`, `b̄ = ḡ a`.
use super::{frobenius, same_shape};
use crate::{IntoVar, Op, Scalar, TapeError, Var};
use faer::{Mat, MatRef, Scale};

/// Frobenius inner product `⟨a, b⟩ = Σ aᵢⱼ bᵢⱼ`, a 1×1 result. VJP: `ā = ḡ b`, `b̄ = ḡ a`.
pub struct Dot;

impl<T: Scalar> Op<T> for Dot {
    type Residual = ();
    fn name(&self) -> &'static str {
        "dot"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        same_shape("dot", x[0], x[1])?;
        let s = frobenius(x[0], x[1]);
        Ok((Mat::from_fn(1, 1, |_, _| s), ()))
    }
    fn vjp(
        &self,
        _: &(),
        x: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        g: MatRef<'_, T>,
        needs: &[bool],
    ) -> Result<Vec<Option<Mat<T>>>, TapeError> {
        let g = g[(0, 0)];
        Ok(vec![
            needs[0].then(|| x[1] * Scale(g)),
            needs[1].then(|| x[0] * Scale(g)),
        ])
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// Frobenius inner product `⟨self, other⟩` (1×1). Panics naming both shapes if they differ.
    #[track_caller]
    pub fn dot(self, other: impl IntoVar<'t, T>) -> Var<'t, T> {
        self.apply(Dot, &[other.into_var(self.tape)])
    }
    /// Fallible [`Var::dot`].
    pub fn try_dot(self, other: impl IntoVar<'t, T>) -> Result<Var<'t, T>, TapeError> {
        self.try_apply(Dot, &[other.into_var(self.tape)])
    }
}
