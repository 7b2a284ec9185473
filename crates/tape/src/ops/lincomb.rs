//! Linear combinations of constant matrices with tracked weights, one block per column of the
//! weights: `W_k = M₀ + Σ_j u_jk·M_j` for a J×K input `u`, the K blocks side by side
//! (r × cK). How real controls enter piecewise-constant Hamiltonians, `X_k = −iΔt·(H₀ +
//! Σ_j u_jk H_j)`, all slices in one node. VJP: `ū_jk = tr(M_jᴴ·W̄_k)` (`⟨M_j, W̄_k⟩` for real
//! scalars); for a real parameter in a complex model its real part is the derivative
//! ([`Gradients::wrt_real`](crate::Gradients::wrt_real)).
//!
//! Tests: `crates/tape/tests/complex.rs`.
use super::frobenius_conj;
use crate::{Op, Scalar, TapeError, Var};
use faer::reborrow::ReborrowMut;
use faer::{Mat, MatRef};
use std::sync::Arc;

/// `[M₀ + Σ_j u_jk·M_j]_k` side by side for a J×K input `u` and constant r×c matrices
/// (`M₀` optional). VJP: `ū_jk = tr(M_jᴴ·W̄_k)`.
pub struct Lincomb<T> {
    offset: Option<Arc<Mat<T>>>,
    mats: Arc<[Mat<T>]>,
}

impl<T: Scalar> Lincomb<T> {
    /// The op for the matrices `mats` and an optional constant `offset` (shared, so that many
    /// nodes reuse one copy); shapes are checked when it is applied.
    pub fn new(offset: Option<Arc<Mat<T>>>, mats: Arc<[Mat<T>]>) -> Self {
        Self { offset, mats }
    }

    fn block_shape(&self) -> (usize, usize) {
        self.offset
            .as_deref()
            .or(self.mats.first())
            .map_or((0, 0), |m| m.shape())
    }
}

impl<T: Scalar> Op<T> for Lincomb<T> {
    type Residual = ();
    /// Affine in `u`: `Ẇ_k = Σ_j u̇_jk M_j` (the offset's tangent is zero).
    fn jvp(
        &self,
        _: &(),
        _: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        t: &[Option<MatRef<'_, T>>],
    ) -> Result<Mat<T>, TapeError> {
        let linear = Lincomb::new(None, Arc::clone(&self.mats));
        Ok(linear.forward(&[t[0].expect("a tangent")])?.0)
    }
    /// The VJP does not depend on `u`: `ū = vjp(ḡ)`, `u̇̄ = vjp(ġ)`.
    fn vjp_jvp(
        &self,
        r: &(),
        at: &crate::Tangents<'_, T>,
        g: MatRef<'_, T>,
        gd: Option<MatRef<'_, T>>,
        needs: &[bool],
    ) -> Result<Vec<Option<crate::DualCotangent<T>>>, TapeError> {
        crate::linear_vjp_jvp(self, r, at, g, gd, needs)
    }
    fn name(&self) -> &'static str {
        "lincomb"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        let u = x[0];
        let (r, c) = self.block_shape();
        if u.nrows() != self.mats.len() {
            return Err(TapeError::ShapeMismatch {
                op: "lincomb",
                lhs: u.shape(),
                rhs: (self.mats.len(), u.ncols()),
            });
        }
        let other = self.mats.iter().chain(self.offset.as_deref());
        if let Some(m) = other.into_iter().find(|m| m.shape() != (r, c)) {
            return Err(TapeError::ShapeMismatch {
                op: "lincomb",
                lhs: (r, c),
                rhs: m.shape(),
            });
        }
        let mut out = Mat::<T>::zeros(r, c * u.ncols());
        for k in 0..u.ncols() {
            let mut block = out.as_mut().submatrix_mut(0, k * c, r, c);
            if let Some(m0) = &self.offset {
                block.copy_from(m0.as_ref());
            }
            for (j, m) in self.mats.iter().enumerate() {
                let w = u[(j, k)];
                faer::zip!(block.rb_mut(), m).for_each(|faer::unzip!(o, m)| *o += w * *m);
            }
        }
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
        let (r, c) = self.block_shape();
        Ok(vec![needs[0].then(|| {
            Mat::from_fn(self.mats.len(), x[0].ncols(), |j, k| {
                frobenius_conj(self.mats[j].as_ref(), g.submatrix(0, k * c, r, c))
            })
        })])
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// `[Σ_j self_jk·M_j]_k`: for a J×K `self` and J constant matrices of one shape r×c, the
    /// K combinations side by side (r × cK), one node. Panics naming the shapes if `self` does
    /// not have J rows or the matrices differ in shape.
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
    /// let du = h.dot(h).real().backward().wrt_real(u); // Σ h² = 2·(0.5² + 2²)
    /// assert_eq!((du[(0, 0)], du[(1, 0)]), (2.0, 8.0));
    /// ```
    #[track_caller]
    pub fn lincomb(self, mats: &Arc<[Mat<T>]>) -> Var<'t, T> {
        self.apply(Lincomb::new(None, Arc::clone(mats)), &[])
    }

    /// Fallible [`Var::lincomb`].
    pub fn try_lincomb(self, mats: &Arc<[Mat<T>]>) -> Result<Var<'t, T>, TapeError> {
        self.try_apply(Lincomb::new(None, Arc::clone(mats)), &[])
    }

    /// [`Var::lincomb`] plus a constant `offset` in every block: `[M₀ + Σ_j self_jk·M_j]_k`.
    #[track_caller]
    pub fn lincomb_offset(self, offset: &Arc<Mat<T>>, mats: &Arc<[Mat<T>]>) -> Var<'t, T> {
        self.apply(
            Lincomb::new(Some(Arc::clone(offset)), Arc::clone(mats)),
            &[],
        )
    }

    /// Fallible [`Var::lincomb_offset`].
    pub fn try_lincomb_offset(
        self,
        offset: &Arc<Mat<T>>,
        mats: &Arc<[Mat<T>]>,
    ) -> Result<Var<'t, T>, TapeError> {
        self.try_apply(
            Lincomb::new(Some(Arc::clone(offset)), Arc::clone(mats)),
            &[],
        )
    }
}
