//! A linear combination of constant matrices with tracked weights, `Σ_j u_j·M_j` (`u` a
//! J×1 variable): how real controls enter a Hamiltonian `H(u) = H₀ + Σ_j u_j H_j`.
//! VJP: `ū_j = tr(M_jᴴ ḡ)` (`⟨M_j, ḡ⟩` for real scalars). For a real parameter in a complex
//! model, the real part of `ū_j` is its derivative (`Gradients::wrt_real`).
//!
//! Tests: `crates/tape/tests/complex.rs`.
use super::frobenius_conj;
use crate::{Op, Scalar, TapeError, Var};
use faer::{Mat, MatRef};
use std::sync::Arc;

/// `Σ_j u_j·M_j` for the constant matrices `M_j` (all of one shape) and a J×1 input `u`.
/// VJP: `ū_j = tr(M_jᴴ ḡ)`.
pub struct Lincomb<T> {
    mats: Arc<[Mat<T>]>,
}

impl<T: Scalar> Lincomb<T> {
    /// The op for the matrices `mats` (shared, so that many slices reuse one copy); errors
    /// (`ShapeMismatch`) are reported when it is applied.
    pub fn new(mats: Arc<[Mat<T>]>) -> Self {
        Self { mats }
    }
}

impl<T: Scalar> Op<T> for Lincomb<T> {
    type Residual = ();
    fn name(&self) -> &'static str {
        "lincomb"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        let u = x[0];
        let shape = self.mats.first().map_or((0, 0), |m| m.shape());
        if u.shape() != (self.mats.len(), 1) {
            return Err(TapeError::ShapeMismatch {
                op: "lincomb",
                lhs: u.shape(),
                rhs: (self.mats.len(), 1),
            });
        }
        if let Some(m) = self.mats.iter().find(|m| m.shape() != shape) {
            return Err(TapeError::ShapeMismatch {
                op: "lincomb",
                lhs: shape,
                rhs: m.shape(),
            });
        }
        let mut out = Mat::<T>::zeros(shape.0, shape.1);
        for (j, m) in self.mats.iter().enumerate() {
            let w = u[(j, 0)];
            faer::zip!(&mut out, m).for_each(|faer::unzip!(o, m)| *o += w * *m);
        }
        Ok((out, ()))
    }
    fn vjp(
        &self,
        _: &(),
        _: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        g: MatRef<'_, T>,
        needs: &[bool],
    ) -> Result<Vec<Option<Mat<T>>>, TapeError> {
        Ok(vec![needs[0].then(|| {
            Mat::from_fn(self.mats.len(), 1, |j, _| frobenius_conj(self.mats[j].as_ref(), g))
        })])
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// `Σ_j self_j·M_j` for a J×1 `self` and J constant matrices of one shape, one node.
    /// Panics naming the shapes if `self` is not J×1 or the matrices differ in shape.
    ///
    /// ```
    /// use faer::{c64, Mat};
    /// use std::sync::Arc;
    /// let x = faer::mat![[c64::new(0.0, 0.0), c64::new(1.0, 0.0)], [c64::new(1.0, 0.0), c64::new(0.0, 0.0)]];
    /// let z = faer::mat![[c64::new(1.0, 0.0), c64::new(0.0, 0.0)], [c64::new(0.0, 0.0), c64::new(-1.0, 0.0)]];
    /// let controls: Arc<[Mat<c64>]> = vec![x, z].into();
    /// let tape = expgrad_tape::Tape::<c64>::new();
    /// let u = tape.real_var(faer::mat![[0.5], [2.0]]);
    /// let h = u.lincomb(&controls);                     // 0.5·X + 2·Z
    /// assert_eq!(h.value()[(1, 1)], c64::new(-2.0, 0.0));
    /// let du = h.trace().real().backward().wrt_real(u); // tr H = 0.5·0 + 2·0
    /// assert_eq!((du[(0, 0)], du[(1, 0)]), (0.0, 0.0));
    /// ```
    #[track_caller]
    pub fn lincomb(self, mats: &Arc<[Mat<T>]>) -> Var<'t, T> {
        self.apply(Lincomb::new(Arc::clone(mats)), &[])
    }

    /// Fallible [`Var::lincomb`].
    pub fn try_lincomb(self, mats: &Arc<[Mat<T>]>) -> Result<Var<'t, T>, TapeError> {
        self.try_apply(Lincomb::new(Arc::clone(mats)), &[])
    }
}
