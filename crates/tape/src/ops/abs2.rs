//! Squared modulus `|a|²`, entrywise (real values in the scalar type). VJP: `ā = 2·Re(ḡ)·a`.
//!
//! Tests: `crates/tape/tests/complex.rs`.
use crate::{Op, Scalar, TapeError, Var};
use faer::{Mat, MatRef};

/// Squared modulus `|a|²`, entrywise (real values in the scalar type). VJP: `ā = 2·Re(ḡ)·a`.
pub struct Abs2;

impl<T: Scalar> Op<T> for Abs2 {
    type Residual = ();
    fn name(&self) -> &'static str {
        "abs2"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        Ok((x[0].map(|v| T::from_real(v.modulus_sq())), ()))
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
        Ok(vec![needs[0].then(|| {
            faer::zip!(g, x[0]).map(|faer::unzip!(g, a)| a.scale_real(g.re() + g.re()))
        })])
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// Squared modulus `|a|²`, entrywise (real values in the scalar type). VJP: `ā = 2·Re(ḡ)·a`.
    ///
    /// PyTorch's convention: the gradient of `|z|²` is `2z` (JAX's `grad` returns `2·conj(z)`).
    ///
    /// ```
    /// use faer::c64;
    /// let tape = expgrad_tape::Tape::<c64>::new();
    /// let z = tape.var(faer::mat![[c64::new(3.0, -4.0)]]);
    /// let loss = z.abs2().sum();
    /// assert_eq!(loss.value()[(0, 0)], c64::new(25.0, 0.0));
    /// assert_eq!(loss.backward().wrt(z)[(0, 0)], c64::new(6.0, -8.0));
    /// ```
    #[track_caller]
    pub fn abs2(self) -> Var<'t, T> {
        self.apply(Abs2, &[])
    }

    /// Fallible [`Var::abs2`]: never fails on a recorded `Var` (for uniformity).
    pub fn try_abs2(self) -> Result<Var<'t, T>, TapeError> {
        self.try_apply(Abs2, &[])
    }
}
