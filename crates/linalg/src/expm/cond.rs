//! Conditioning of the exponential, from the cached [`Expm`].
//!
//! Tests: `crates/linalg/tests/{properties,degrees}.rs`.

use crate::Real;
use crate::expm::Expm;
use faer::{Mat, Scale};

impl<T: Real> Expm<T> {
    /// `‖L(A, ·)‖₂`, the norm of the Fréchet derivative as an operator on matrices with the
    /// Frobenius norm, by `iters` steps of power iteration on `L*L` (`L* = L(Aᵀ, ·)`), from
    /// a fixed start: a lower bound that converges to the largest singular value of the
    /// n²×n² Kronecker form. Each step costs one `frechet` and one `frechet_adjoint`.
    ///
    /// ```
    /// use expgrad_linalg::Expm;
    /// // Normal A: ‖L(A, ·)‖ = max |(e^λᵢ − e^λⱼ)/(λᵢ − λⱼ)| = e^1 here.
    /// let f = Expm::new(faer::mat![[1.0, 0.0], [0.0, -1.0f64]].as_ref());
    /// assert!((f.frechet_norm(30) - 1f64.exp()).abs() < 1e-12);
    /// ```
    pub fn frechet_norm(&self, iters: usize) -> T {
        let n = self.dim();
        if n == 0 {
            return T::zero();
        }
        let mut z = Mat::<T>::from_fn(n, n, |i, j| T::from(1 + (i * 7 + j * 3) % 5).unwrap());
        let mut sigma = T::zero();
        for _ in 0..iters.max(1) {
            z = &z * Scale(T::one() / z.norm_l2());
            let y = self.frechet(z.as_ref());
            sigma = y.norm_l2();
            if sigma == T::zero() {
                break;
            }
            // Normalise before the adjoint: ‖L‖² can overflow where ‖L‖ does not.
            z = self.frechet_adjoint((&y * Scale(T::one() / sigma)).as_ref());
        }
        sigma
    }

    /// Relative condition number of exp at `A` in the Frobenius norm,
    /// `κ = ‖L(A, ·)‖ ‖A‖_F / ‖e^A‖_F` (Higham, *Functions of Matrices*, eq. 3.2), with
    /// `‖L(A, ·)‖` from [`Expm::frechet_norm`] (30 steps).
    pub fn cond(&self, a_norm_frobenius: T) -> T {
        self.frechet_norm(30) * a_norm_frobenius / self.value().norm_l2()
    }
}
