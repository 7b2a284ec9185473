//! Real part `Re a`, entrywise, as a matrix of the same scalar type (zero imaginary parts; the identity for real scalars). VJP: `ā = Re ḡ` (the cotangent of a real-valued output is its real part).
//!
//! Tests: `crates/tape/tests/complex.rs`.
use crate::{Op, Scalar, TapeError, Var};
use faer::{Mat, MatRef};

/// Real part `Re a`, entrywise, as a matrix of the same scalar type (zero imaginary parts; the identity for real scalars). VJP: `ā = Re ḡ` (the cotangent of a real-valued output is its real part).
pub struct RealPart;

impl<T: Scalar> Op<T> for RealPart {
    type Residual = ();
    crate::linear_rules!(T);
    fn name(&self) -> &'static str {
        "real"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        Ok((x[0].map(|v| T::from_real(v.re())), ()))
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
        Ok(vec![needs[0].then(|| g.map(|v| T::from_real(v.re())))])
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// Real part `Re a`, entrywise, as a matrix of the same scalar type (zero imaginary parts; the identity for real scalars). VJP: `ā = Re ḡ` (the cotangent of a real-valued output is its real part).
    ///
    /// ```
    /// use faer::c64;
    /// let tape = expgrad_tape::Tape::<c64>::new();
    /// let z = tape.var(faer::mat![[c64::new(1.0, 2.0)]]);
    /// let g = z.real().sum().backward().wrt(z);
    /// assert_eq!(g[(0, 0)], c64::new(1.0, 0.0)); // ∂Re z/∂x + i·∂Re z/∂y
    /// ```
    #[track_caller]
    pub fn real(self) -> Var<'t, T> {
        self.apply(RealPart, &[])
    }

    /// Fallible [`Var::real`]: never fails on a recorded `Var` (for uniformity).
    pub fn try_real(self) -> Result<Var<'t, T>, TapeError> {
        self.try_apply(RealPart, &[])
    }
}
