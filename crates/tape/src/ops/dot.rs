//! Frobenius inner product `⟨a, b⟩ = Σ aᵢⱼ bᵢⱼ` (1×1, bilinear: no conjugation, also for
//! complex scalars). VJP: `ā = ḡ conj(b)`, `b̄ = ḡ conj(a)`.
use super::{frobenius, same_shape};
use crate::{Cotangent, IntoVar, Op, Scalar, TapeError, Var};
use expgrad_linalg::kernels;
use faer::{Mat, MatRef, unzip, zip};

/// Frobenius inner product `⟨a, b⟩ = Σ aᵢⱼ bᵢⱼ`, a 1×1 result. VJP: `ā = ḡ b`, `b̄ = ḡ a`.
pub struct Dot;

impl<T: Scalar> Op<T> for Dot {
    type Residual = ();
    crate::multilinear_rules!(T);
    fn name(&self) -> &'static str {
        "dot"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        same_shape("dot", x[0], x[1])?;
        let mut out = kernels::small_scratch::<T>(1, 1);
        out[(0, 0)] = frobenius(x[0], x[1]);
        Ok((out, ()))
    }
    fn vjp(
        &self,
        _: &(),
        x: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        g: MatRef<'_, T>,
        needs: &[bool],
    ) -> Result<Vec<Option<Mat<T>>>, TapeError> {
        Ok(cotangents(x, g[(0, 0)], needs).into())
    }
    fn vjp_into(
        &self,
        r: &(),
        x: &[MatRef<'_, T>],
        y: MatRef<'_, T>,
        g: &Cotangent<T>,
        needs: &[bool],
        out: &mut Vec<Option<Cotangent<T>>>,
    ) -> Result<(), TapeError> {
        // A 1×1 cotangent is never held factored.
        let Cotangent::Dense(g) = g else {
            out.extend(self.vjp_factored(r, x, y, g, needs)?);
            return Ok(());
        };
        out.extend(cotangents(x, g[(0, 0)], needs).map(|c| c.map(Cotangent::Dense)));
        Ok(())
    }
}

/// `(ḡ b, ḡ a)` where needed.
fn cotangents<T: Scalar>(x: &[MatRef<'_, T>], g: T, needs: &[bool]) -> [Option<Mat<T>>; 2] {
    let scaled = |m: MatRef<'_, T>| {
        let mut out = kernels::small_scratch::<T>(m.nrows(), m.ncols());
        zip!(&mut out, m).for_each(|unzip!(o, m)| *o = m.conjugate() * g);
        out
    };
    [
        needs[0].then(|| scaled(x[1])),
        needs[1].then(|| scaled(x[0])),
    ]
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
