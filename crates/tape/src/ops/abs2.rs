//! Squared modulus `|a|²`, entrywise (real values in the scalar type). VJP: `ā = 2·Re(ḡ)·a`.
//!
//! Tests: `crates/tape/tests/complex.rs`.
use crate::{Op, Scalar, TapeError, Var};
use faer::{Mat, MatRef};

/// Squared modulus `|a|²`, entrywise (real values in the scalar type). VJP: `ā = 2·Re(ḡ)·a`.
pub struct Abs2;

impl<T: Scalar> Op<T> for Abs2 {
    type Residual = ();
    /// `ẏ = 2 Re(conj(x) ẋ)`.
    fn jvp(
        &self,
        _: &(),
        x: &[MatRef<'_, T>],
        y: MatRef<'_, T>,
        t: &[Option<MatRef<'_, T>>],
    ) -> Result<Mat<T>, TapeError> {
        let _ = y;
        Ok(
            faer::zip!(x[0], t[0].expect("a tangent")).map(|faer::unzip!(x, t)| {
                T::from_real({
                    let r = (x.conjugate() * *t).re();
                    r + r
                })
            }),
        )
    }
    /// `x̄ = 2 Re(ḡ) x`, `ẋ̄ = 2 Re(ġ) x + 2 Re(ḡ) ẋ`.
    fn vjp_jvp(
        &self,
        _: &(),
        at: &crate::Tangents<'_, T>,
        g: MatRef<'_, T>,
        gd: Option<MatRef<'_, T>>,
        needs: &[bool],
    ) -> Result<Vec<Option<crate::DualCotangent<T>>>, TapeError> {
        if !needs[0] {
            return Ok(vec![None]);
        }
        let x = at.inputs[0];
        let term = |g: MatRef<'_, T>, x: MatRef<'_, T>| {
            faer::zip!(g, x).map(|faer::unzip!(g, a)| a.scale_real(g.re() + g.re()))
        };
        let bar = term(g, x);
        let dot = super::sum_terms([
            gd.map(|gd| term(gd, x)),
            at.tangent(0).map(|xd| term(g, xd)),
        ]);
        Ok(vec![Some((bar, dot))])
    }
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
