//! The Jacobian of `exp(X)·v` over row-rank-one directions, `J[:, k] = L(X, e_k a_kᵀ)·v`, in
//! O(n³) from one [`Expm`].
//!
//! For `X = Diag(d)·A`, `∂X/∂d_k = e_k a_kᵀ` (a_kᵀ the k-th row of A), so `J = ∂(exp(X)v)/∂d`.
//! Taking n Fréchet derivatives (or n reverse sweeps) costs O(n⁴). The structure gives O(n³):
//!
//! Write `𝓛_F(u)` for the n×n matrix whose column k is `L_F(e_k a_kᵀ)·u`, for any matrix
//! function `F` of `X` and vector `u`. Then
//!
//! * `𝓛_X(u) = Diag(A u)` and, for a polynomial `p(B) = Σ c_j B^j` at `B = 2⁻ˢX`,
//!   `𝓛_p(u)[:, k] = 2⁻ˢ Σ_{i<m} (B^i)[:, k] · (A h_i)_k` with the Horner vectors
//!   `h_{m−1} = c_m u`, `h_{i−1} = c_i u + B h_i` — O(m n²) given the powers of `B`;
//! * the Padé approximant `r = q⁻¹p`: `𝓛_r(u) = q⁻¹(𝓛_p(u) − 𝓛_q(r u))`;
//! * each squaring `R_{i+1} = R_i²`: `𝓛_{R_{i+1}}(u) = 𝓛_{R_i}(R_i u) + R_i 𝓛_{R_i}(u)`.
//!
//! Unrolled, `J = Σ_{j<2ˢ} R₀^{2ˢ−1−j} 𝓛_r(R₀^j v)`, summed as a binary tree over the cached
//! squares (`M_{i+1}[j] = M_i[2j+1] + R_i M_i[2j]`, streamed so that at most s+1 matrices are
//! alive), and since `q⁻¹` commutes with every `R_i` it is applied once, at the end. Cost:
//! the missing powers `B³ … B^{m−1}` (≤ 8 products), `2ˢ − 1` tree products and one solve
//! with n right-hand sides — about one more exponential. This is exactly the derivative of the
//! computed scaling-and-squaring approximant (the same quantity as Algorithm 6.4 in exact
//! arithmetic), not a quadrature or an eigendecomposition, so it inherits the forward's
//! backward-error guarantee. When `2ˢ` exceeds what n separate derivatives would cost (huge
//! ‖X‖), it falls back to n Fréchet derivatives from the cache.
//!
//! Tests: `crates/linalg/tests/jacobian.rs` (and diag/tests/jacobian.rs).

use crate::Real;
use crate::error::{LinalgError, unwrap_or_panic};
use crate::expm::structured::{Approx, Structured, hstack, product};
use crate::expm::{Expm, ExpmFamily, Kind, all_finite, exp_divided_difference};
use crate::kernels::{matmul_acc, matmul_into, par_for};
use faer::{Mat, MatRef};

/// The Jacobian `∂(exp(Diag(d)·A)·v)/∂d` (n×n; d, v n×1, A n×n) in O(n³): one
/// [`Expm`] of `Diag(d)·A` and [`Expm::frechet_row_jacobian`]. The one Jacobian route of the
/// library: `expgrad_diag::expm_jacobian` calls it. Errors: [`LinalgError::NotSquare`] (`a`),
/// [`LinalgError::ShapeMismatch`] (`d` or `v` not n×1), [`LinalgError::NonFinite`],
/// [`LinalgError::Overflow`].
///
/// ```
/// use expgrad_linalg::{try_expm_diag_jacobian, Expm};
/// let a = faer::mat![[-1.0, 0.5], [0.25, -2.0f64]];
/// let (d, v) = (faer::mat![[0.5], [1.5f64]], faer::mat![[1.0], [-1.0f64]]);
/// let j = try_expm_diag_jacobian(d.as_ref(), a.as_ref(), v.as_ref())?;
/// // Column k is L(X, e_k a_kᵀ)·v.
/// let x = faer::Mat::from_fn(2, 2, |i, k| d[(i, 0)] * a[(i, k)]);
/// let e1 = faer::Mat::from_fn(2, 2, |i, k| if i == 1 { a[(1, k)] } else { 0.0 });
/// let col = Expm::new(x.as_ref()).frechet(e1.as_ref()) * &v;
/// assert!((j[(0, 1)] - col[(0, 0)]).abs() < 1e-14 && (j[(1, 1)] - col[(1, 0)]).abs() < 1e-14);
/// # Ok::<(), expgrad_linalg::LinalgError>(())
/// ```
pub fn try_expm_diag_jacobian<T: Real>(
    d: MatRef<'_, T>,
    a: MatRef<'_, T>,
    v: MatRef<'_, T>,
) -> Result<Mat<T>, LinalgError> {
    const OP: &str = "expm_jacobian";
    let n = a.nrows();
    if a.ncols() != n {
        return Err(LinalgError::NotSquare {
            op: OP,
            shape: a.shape(),
        });
    }
    for x in [d, v] {
        if x.shape() != (n, 1) {
            return Err(LinalgError::ShapeMismatch {
                op: OP,
                lhs: a.shape(),
                rhs: x.shape(),
            });
        }
    }
    let x = Mat::from_fn(n, n, |i, j| d[(i, 0)] * a[(i, j)]);
    // Padé: its structured Jacobian needs the powers B⁰…B^{m−1} up to m = 13, a Taylor
    // scheme's up to its degree (24 or 30).
    let f = Expm::try_new_with(x.as_ref(), ExpmFamily::Pade).map_err(|e| e.with_op(OP))?;
    f.try_frechet_row_jacobian(a, v).map_err(|e| e.with_op(OP))
}

impl<T: Real> Expm<T> {
    /// For this factorisation of `exp(X)`, the n×n matrix `J` whose k-th column is
    /// `L(X, e_k a_kᵀ)·v`, where `a_kᵀ` is the k-th row of `a` (n×n) and `v` is n×1. When
    /// `X = Diag(d)·A` this is the Jacobian `∂(exp(X)v)/∂d`, computed in O(n³) (see the module
    /// docs). Panics with the [`LinalgError`] message on a shape mismatch or non-finite input.
    ///
    /// ```
    /// use expgrad_linalg::Expm;
    /// use faer::{Mat, mat};
    /// let a = mat![[0.3, -1.0], [2.0, 0.5f64]];
    /// let d = [1.5, 0.7];
    /// let v = mat![[1.0], [-2.0f64]];
    /// let x = Mat::from_fn(2, 2, |i, j| d[i] * a[(i, j)]);
    /// let j = Expm::new(x.as_ref()).frechet_row_jacobian(a.as_ref(), v.as_ref());
    /// // Column 0 against a central difference in d₀.
    /// let w = |h: f64| {
    ///     let x = Mat::from_fn(2, 2, |i, k| (d[i] + if i == 0 { h } else { 0.0 }) * a[(i, k)]);
    ///     expgrad_linalg::expm(x.as_ref()) * &v
    /// };
    /// let fd = (w(1e-6) - w(-1e-6)) * 5e5;
    /// assert!((fd[(0, 0)] - j[(0, 0)]).abs() < 1e-8 && (fd[(1, 0)] - j[(1, 0)]).abs() < 1e-8);
    /// ```
    #[track_caller]
    pub fn frechet_row_jacobian(&self, a: MatRef<'_, T>, v: MatRef<'_, T>) -> Mat<T> {
        unwrap_or_panic(self.try_frechet_row_jacobian(a, v))
    }

    /// Fallible [`Expm::frechet_row_jacobian`]: `ShapeMismatch` unless `a` is n×n and `v`
    /// n×1, `NonFinite` for non-finite entries, `Overflow` if the result overflows.
    pub fn try_frechet_row_jacobian(
        &self,
        a: MatRef<'_, T>,
        v: MatRef<'_, T>,
    ) -> Result<Mat<T>, LinalgError> {
        const OP: &str = "frechet_row_jacobian";
        let n = self.dim();
        for (shape, want) in [(a.shape(), (n, n)), (v.shape(), (n, 1))] {
            if shape != want {
                return Err(LinalgError::ShapeMismatch {
                    op: OP,
                    lhs: (n, n),
                    rhs: shape,
                });
            }
        }
        if !all_finite(a) || !all_finite(v) {
            return Err(LinalgError::NonFinite { op: OP });
        }
        let j = match &self.kind {
            Kind::Diagonal(x) => diagonal(x, a, v),
            Kind::Pade(p) if !self.transposed && fused_pays(&**p, n) => fused(&**p, a, v),
            Kind::Taylor(t) if !self.transposed && fused_pays(&**t, n) => fused(&**t, a, v),
            _ => self.by_columns(a, v),
        };
        if all_finite(j.as_ref()) {
            Ok(j)
        } else {
            Err(LinalgError::Overflow { op: OP })
        }
    }

    /// n Fréchet derivatives from the cache: the O(n⁴) route.
    fn by_columns(&self, a: MatRef<'_, T>, v: MatRef<'_, T>) -> Mat<T> {
        let n = self.dim();
        let mut j = Mat::<T>::zeros(n, n);
        let mut e = Mat::<T>::zeros(n, n);
        for k in 0..n {
            for c in 0..n {
                e[(k, c)] = a[(k, c)];
            }
            let l = self.frechet(e.as_ref());
            matmul_into(j.as_mut().subcols_mut(k, 1), l.as_ref(), v, par_for(n));
            for c in 0..n {
                e[(k, c)] = T::zero();
            }
        }
        j
    }
}

/// `X = Diag(x)`: `L(X, E)_{ij} = E_{ij}·(e^{x_i} − e^{x_j})/(x_i − x_j)`, and `E = e_k a_kᵀ`
/// only has row k, so `J` is diagonal.
fn diagonal<T: Real>(x: &[T], a: MatRef<'_, T>, v: MatRef<'_, T>) -> Mat<T> {
    let n = x.len();
    let mut j = Mat::<T>::zeros(n, n);
    for k in 0..n {
        j[(k, k)] = (0..n).fold(T::zero(), |acc, c| {
            acc + a[(k, c)] * exp_divided_difference(x[k], x[c]) * v[(c, 0)]
        });
    }
    j
}

/// The fused route costs about `m + 2ˢ` products; n Fréchet derivatives about `n·(m/2 + 2s)`.
/// It also needs every square cached (they are unless s·n² is huge).
fn fused_pays<T: Real, P: Approx<T>>(p: &P, n: usize) -> bool {
    let s = p.s() as usize;
    let m = p.p().len() - 1;
    Structured::<T, P>::squares_cached(p)
        && s < usize::BITS as usize - 1
        && (1usize << s) <= n * (m / 2 + 2 * s + 2)
}

fn fused<T: Real, P: Approx<T>>(p: &P, a: MatRef<'_, T>, v: MatRef<'_, T>) -> Mat<T> {
    let n = a.nrows();
    let st = Structured::new(p);
    let (m, s) = (st.m, p.s() as usize);
    let b = p.scaled().as_ref();
    // B⁰ … B^{m−1}: the powers the forward cached, the rest by one product each.
    let mut powers: Vec<Mat<T>> = vec![Mat::identity(n, n), b.to_owned()];
    for i in 2..m {
        let next = match p.cached_power(i) {
            Some(pw) => pw.clone(),
            None => product(b, powers[i - 1].as_ref()),
        };
        powers.push(next);
    }
    let us = hstack(&st.forward_vectors(v));
    let big_n = us.ncols();
    let w = if p.has_q() {
        product(p.squares()[0].as_ref(), us.as_ref())
    } else {
        Mat::new()
    };
    // 𝓛_p(u_j) − 𝓛_q(r·u_j) = 2⁻ˢ Σ_i B^i Diag(A H_i[:, j]), all j at once.
    let mut h = Mat::<T>::zeros(n, m * big_n);
    st.horner(us.as_ref(), w.as_ref(), h.as_mut());
    let g = product(a, h.as_ref());
    let scale = T::from(2.0).unwrap().powi(-(s as i32));
    let mut stack: Vec<(usize, Mat<T>)> = Vec::with_capacity(s + 1);
    for j in 0..big_n {
        let mut y = Mat::<T>::zeros(n, n);
        for (i, pw) in powers.iter().enumerate() {
            for k in 0..n {
                let gk = g[(k, i * big_n + j)] * scale;
                if gk != T::zero() {
                    let col = pw.col(k);
                    for r in 0..n {
                        y[(r, k)] += gk * col[r];
                    }
                }
            }
        }
        // Binary-counter merge: M_{l+1} = M_l[odd] + R_l·M_l[even].
        let mut cur = (0usize, y);
        while let Some((level, _)) = stack.last() {
            if *level != cur.0 {
                break;
            }
            let (level, even) = stack.pop().unwrap();
            let mut odd = cur.1;
            matmul_acc(
                odd.as_mut(),
                p.squares()[level].as_ref(),
                even.as_ref(),
                T::one(),
                par_for(n),
            );
            cur = (level + 1, odd);
        }
        stack.push(cur);
    }
    let (level, mut j) = stack.pop().expect("at least one vector");
    debug_assert!(level == s && stack.is_empty());
    p.solve_q(j.as_mut());
    j
}
