//! Elementwise sum `a + b`. VJP: `ā = ḡ`, `b̄ = ḡ`.
use super::same_shape;
use crate::{Cotangent, IntoVar, Op, Scalar, TapeError, Var};
use faer::{Mat, MatRef};

/// Elementwise sum `a + b`. VJP: `ā = ḡ`, `b̄ = ḡ`.
pub struct Add;

impl<T: Scalar> Op<T> for Add {
    type Residual = ();
    crate::linear_rules!(T);
    fn name(&self) -> &'static str {
        "add"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        same_shape("add", x[0], x[1])?;
        Ok((x[0] + x[1], ()))
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
            needs[0].then(|| g.to_owned()),
            needs[1].then(|| g.to_owned()),
        ])
    }
    /// Passes a factored cotangent through to both sides.
    fn vjp_factored(
        &self,
        _: &(),
        _: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        g: &Cotangent<T>,
        needs: &[bool],
    ) -> Result<Vec<Option<Cotangent<T>>>, TapeError> {
        Ok(vec![
            needs[0].then(|| g.clone()),
            needs[1].then(|| g.clone()),
        ])
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// Elementwise sum `a + b`. VJP: `ā = ḡ`, `b̄ = ḡ`. Panics naming both shapes if they differ.
    // Named like the std::ops method on purpose (API contract); the operator traits are
    // implemented too (var.rs) and call this.
    #[allow(clippy::should_implement_trait)]
    #[track_caller]
    pub fn add(self, other: impl IntoVar<'t, T>) -> Var<'t, T> {
        self.apply(Add, &[other.into_var(self.tape)])
    }
    /// Fallible [`Var::add`].
    pub fn try_add(self, other: impl IntoVar<'t, T>) -> Result<Var<'t, T>, TapeError> {
        self.try_apply(Add, &[other.into_var(self.tape)])
    }
}

/// The sum of several variables of one shape, `Σᵢ xᵢ` (a chain of [`Var::add`]). Panics
/// naming the shapes if they differ, or if `xs` is empty.
///
/// ```
/// let tape = expgrad_tape::Tape::new();
/// let xs: Vec<_> = (1..=3).map(|k| tape.scalar_var(k as f64)).collect();
/// let s = expgrad_tape::add_n(&xs);
/// assert_eq!(s.item(), 6.0);
/// assert_eq!(s.backward().wrt(xs[2])[(0, 0)], 1.0);
/// ```
#[track_caller]
pub fn add_n<'t, T: Scalar>(xs: &[Var<'t, T>]) -> Var<'t, T> {
    crate::error::unwrap_or_panic(try_add_n(xs))
}

/// Fallible [`add_n`]: `ShapeMismatch` for differing shapes; `Domain` for an empty list.
pub fn try_add_n<'t, T: Scalar>(xs: &[Var<'t, T>]) -> Result<Var<'t, T>, TapeError> {
    let (first, rest) = xs.split_first().ok_or(TapeError::Domain {
        op: "add_n",
        what: "the list of terms is empty",
    })?;
    rest.iter().try_fold(*first, |acc, &x| acc.try_add(x))
}
