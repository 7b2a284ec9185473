//! Imaginary part `Im a`, entrywise, as a matrix of the same scalar type (zeros for real scalars). VJP: `ā = i·Re ḡ`.
//!
//! Tests: `crates/tape/tests/complex.rs`.
use crate::{Op, Scalar, TapeError, Var};
use faer::traits::ComplexField;
use faer::{Mat, MatRef};

/// Imaginary part `Im a`, entrywise, as a matrix of the same scalar type (zeros for real scalars). VJP: `ā = i·Re ḡ`.
pub struct ImagPart;

impl<T: Scalar> Op<T> for ImagPart {
    type Residual = ();
    crate::linear_rules!(T);
    fn name(&self) -> &'static str {
        "imag"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        Ok((x[0].map(|v| T::from_real(v.im())), ()))
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
            g.map(|v| T::from_parts(T::Real::zero_impl(), v.re()))
        })])
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// Imaginary part `Im a`, entrywise, as a matrix of the same scalar type (zeros for real scalars). VJP: `ā = i·Re ḡ`.
    ///
    /// ```
    /// use faer::c64;
    /// let tape = expgrad_tape::Tape::<c64>::new();
    /// let z = tape.var(faer::mat![[c64::new(1.0, 2.0)]]);
    /// let g = z.imag().sum().backward().wrt(z);
    /// assert_eq!(g[(0, 0)], c64::new(0.0, 1.0));
    /// ```
    #[track_caller]
    pub fn imag(self) -> Var<'t, T> {
        self.apply(ImagPart, &[])
    }

    /// Fallible [`Var::imag`]: never fails on a recorded `Var` (for uniformity).
    pub fn try_imag(self) -> Result<Var<'t, T>, TapeError> {
        self.try_apply(ImagPart, &[])
    }
}
