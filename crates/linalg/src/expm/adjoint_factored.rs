//! The adjoint Fréchet derivative for a factored cotangent, `X̄ = L(Xᵀ, Ū·Vᵀ)`, in
//! O(2ˢ·m·k·n²) instead of O(n³).
//!
//! This is what reverse mode needs for `W = exp(X)·V` (V n×k): the cotangent of `exp(X)` is
//! `W̄·Vᵀ`, of rank ≤ k. Transposing the structured derivative of [`crate::structured`]
//! (`L(X, E)v = q⁻¹ Σ_j R₀^{N−1−j} Σ_i B^i (2⁻ˢE) H_{ij}`), for each column pair (ū, v):
//!
//! ```text
//! ⟨ū, L(X, E)v⟩ = 2⁻ˢ Σ_j Σ_{i<m} ⟨(Bᵀ)^i z_j H_{ij}ᵀ, E⟩,   z_j = (R₀ᵀ)^{N−1−j} q⁻ᵀ ū
//! ```
//!
//! so `X̄ = 2⁻ˢ Z Hᵀ` with `Z = [(Bᵀ)^i z_j]` and `H = [H_{ij}]`, both n×(N·m·k): one product
//! with inner dimension N·m·k, after O(N·m·k) matrix–vector products. The `z_j` are built
//! down the transposed squaring tree. It is the exact adjoint of the computed approximant
//! (equal to Algorithm 6.4 in exact arithmetic). When N·m·k is not small against n (huge ‖X‖
//! or many columns) it falls back to `frechet_adjoint(Ū·Vᵀ)`.
//!
//! Tests: `crates/linalg/tests/adjoint_factored.rs` (and tape/tests/ops.rs).

use crate::Scalar;
use crate::error::{LinalgError, unwrap_or_panic};
use crate::expm::frechet::finite;
use crate::expm::structured::{Approx, Structured, hstack, product};
use crate::expm::taylor::schemes::schemes;
use crate::expm::{Expm, Kind, all_finite};
use crate::kernels::{conjugated, gemm, matmul_into, par_for};
use crate::scalar::pow2;
use faer::{Accum, Mat, MatRef};

impl<T: Scalar> Expm<T> {
    /// `L(Xᴴ, U·Vᴴ)` (`L(Xᵀ, U·Vᵀ)` for real `X`) for this factorisation of `exp(X)`, with
    /// the cotangent given by its factors `u`, `v` (both n×k): the VJP of `W = exp(X)·V` is
    /// `X̄ = L(Xᴴ, W̄·Vᴴ)`. For small
    /// k it costs O(2ˢ·m·k·n²) rather than the O(n³) of [`Expm::frechet_adjoint`]. Panics with
    /// the [`LinalgError`] message on bad shapes, non-finite input or overflow.
    ///
    /// ```
    /// use expgrad_linalg::Expm;
    /// use faer::mat;
    /// let x = mat![[0.1, -2.0, 0.3], [1.0, 0.2, 0.0], [0.5, 0.4, -1.0f64]];
    /// let (u, v) = (mat![[1.0], [0.5], [-1.0f64]], mat![[0.3], [-2.0], [1.0f64]]);
    /// let f = Expm::new(x.as_ref());
    /// let fast = f.frechet_adjoint_factored(u.as_ref(), v.as_ref());
    /// let full = f.frechet_adjoint((&u * v.transpose()).as_ref());
    /// assert!((&fast - &full).norm_max() < 1e-13 * full.norm_max());
    /// ```
    #[track_caller]
    pub fn frechet_adjoint_factored(&self, u: MatRef<'_, T>, v: MatRef<'_, T>) -> Mat<T> {
        unwrap_or_panic(self.try_frechet_adjoint_factored(u, v))
    }

    /// Fallible [`Expm::frechet_adjoint_factored`]: `ShapeMismatch` unless `u` and `v` are
    /// both n×k, `NonFinite`, or `Overflow`.
    pub fn try_frechet_adjoint_factored(
        &self,
        u: MatRef<'_, T>,
        v: MatRef<'_, T>,
    ) -> Result<Mat<T>, LinalgError> {
        const OP: &str = "expm_frechet_adjoint";
        let n = self.dim();
        if u.nrows() != n || u.shape() != v.shape() {
            return Err(LinalgError::ShapeMismatch {
                op: OP,
                lhs: u.shape(),
                rhs: v.shape(),
            });
        }
        if !all_finite(u) || !all_finite(v) {
            return Err(LinalgError::NonFinite { op: OP });
        }
        if let Kind::Hermitian(h) = &self.kind {
            // Q·(conj(Φ) ∘ (QᴴU)(QᴴV)ᴴ)·Qᴴ directly (docs/math.md §17).
            return finite(OP, h.adjoint_factored(u, v));
        }
        if T::IS_COMPLEX {
            // L(Xᴴ, U·Vᴴ) = conj(L(Xᵀ, conj(U)·Vᵀ)), as in `try_frechet_adjoint`.
            let uc = conjugated(u);
            return self
                .adjoint_factored_transposed(uc.as_ref(), v)
                .map(|g| conjugated(g.as_ref()));
        }
        self.adjoint_factored_transposed(u, v)
    }

    /// `L(Xᵀ, U·Vᵀ)` (the transpose, also for complex `X`) for checked `u`, `v`.
    fn adjoint_factored_transposed(
        &self,
        u: MatRef<'_, T>,
        v: MatRef<'_, T>,
    ) -> Result<Mat<T>, LinalgError> {
        const OP: &str = "expm_frechet_adjoint";
        let n = self.dim();
        let g = match &self.kind {
            Kind::Small(t) => t.adjoint_factored(u, v)?,
            Kind::Pade(p) if !self.transposed && factored_pays(&**p, 15, n, u.ncols()) => {
                factored(&**p, u, v)
            }
            Kind::Taylor(t)
                if !self.transposed
                    && factored_pays(&**t, 2 * schemes()[t.id].products, n, u.ncols()) =>
            {
                factored(&**t, u, v)
            }
            _ => {
                let mut g = Mat::<T>::zeros(n, n);
                matmul_into(g.as_mut(), u, v.transpose(), par_for(n));
                return self.derivative(OP, g.as_ref(), !self.transposed);
            }
        };
        if all_finite(g.as_ref()) {
            Ok(g)
        } else {
            Err(LinalgError::Overflow { op: OP })
        }
    }
}

/// Vector work ~ 4·N·m·k·n², the final product 2·N·m·k·n²; the dense adjoint ~
/// 2·(`full` + 2s)·n³ (`full` = 15 products for Padé's Algorithm 6.4, twice the scheme's
/// products for Taylor).
fn factored_pays<T: Scalar, P: Approx<T>>(p: &P, full: usize, n: usize, k: usize) -> bool {
    let s = p.s() as usize;
    let m = p.p().len() - 1;
    Structured::<T, P>::squares_cached(p)
        && s < 24
        && 3 * (1usize << s) * m * k <= (full + 2 * s) * n
}

fn factored<T: Scalar, P: Approx<T>>(p: &P, u: MatRef<'_, T>, v: MatRef<'_, T>) -> Mat<T> {
    let n = u.nrows();
    let st = Structured::new(p);
    let (m, s, k) = (st.m, p.s() as usize, u.ncols());
    // All 2ˢ·k vectors side by side: U = [R₀^j v_c], Z = [(R₀ᵀ)^{N−1−j} q⁻ᵀ ū_c].
    let mut top = u.to_owned();
    p.solve_q_transpose(top.as_mut());
    let (mut us, mut zs) = (Vec::new(), Vec::new());
    for c in 0..k {
        us.extend(st.forward_vectors(v.subcols(c, 1)));
        zs.extend(st.adjoint_vectors(top.subcols(c, 1).to_owned()));
    }
    let (us, z0) = (hstack(&us), hstack(&zs));
    let cols = us.ncols();
    // R₀·u_j, for the denominator's Horner vectors (Padé only).
    let w = if p.has_q() {
        product(p.squares()[0].as_ref(), us.as_ref())
    } else {
        Mat::new()
    };
    let mut h = Mat::<T>::zeros(n, m * cols);
    st.horner(us.as_ref(), w.as_ref(), h.as_mut());
    // Z_i = (Bᵀ)^i Z₀ in column block i, matching H's blocks.
    let mut z = Mat::<T>::zeros(n, m * cols);
    z.as_mut().subcols_mut(0, cols).copy_from(z0.as_ref());
    for i in 1..m {
        let (prev, next) = z.as_mut().split_at_col_mut(i * cols);
        matmul_into(
            next.subcols_mut(0, cols),
            p.scaled().transpose(),
            prev.as_ref().subcols((i - 1) * cols, cols),
            par_for(n),
        );
    }
    let mut g = Mat::<T>::zeros(n, n);
    let scale = pow2::<T>(-(s as i32));
    gemm(
        g.as_mut(),
        Accum::Replace,
        z.as_ref(),
        h.transpose(),
        scale,
        par_for(n),
    );
    g
}
