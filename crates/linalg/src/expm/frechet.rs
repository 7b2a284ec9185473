//! The Fréchet derivative `L(A, E)` of the exponential and its adjoint, from the [`Expm`] cache.
//!
//! Algorithm 6.4 of Al-Mohy & Higham, *Computing the Fréchet derivative of the matrix
//! exponential, with an application to condition number estimation*, SIAM J. Matrix Anal.
//! Appl. 30(4), 2009. Every polynomial `p` of the block `[[A, E], [0, A]]` is
//! `[[p(A), L_p], [0, p(A)]]`, so each block product costs 3 n×n products, not 8:
//!
//! * `M₂ = AE + EA`, `M_{2j} = A^{2j−2}M₂ + M_{2j−2}A²` (derivatives of the even powers);
//! * `L_u = A·(Σ b_{2j+1} M_{2j}) + E·W` and `L_v = Σ b_{2j} M_{2j}` (degree 13 nests them as
//!   the forward does);
//! * `L_r = q⁻¹(L_u + L_v + (L_u − L_v) R₀)`, with the LU of `q` from the forward pass;
//! * each squaring `L ← R_i L + L R_i`.
//!
//! `E` is scaled by the same `2⁻ˢ` as `A`, and `s` comes from `A` alone (the derivative is
//! linear in `E`; scaling by the norm of the whole block would over-scale). `s` and `m` are
//! those of the new scaling algorithm (Al-Mohy & Higham 2009): if `r_m(2⁻ˢA)^{2^s} =
//! e^{A+ΔA}` then the computed derivative is exactly `L(A + ΔA, E)` (their Theorem 6.2), so
//! the forward pass's backward-error guarantee carries over.
//!
//! The adjoint `L(Aᵀ, G)` runs the same recurrence on transposed views of the cache.
//!
//! Tests: `crates/linalg/tests/{closed_forms,degrees,published,properties,extreme,errors,precision}.rs`.

use crate::Scalar;
use crate::error::{LinalgError, unwrap_or_panic};
use crate::expm::pade::{OddEven, odd_even};
use crate::expm::{Expm, Kind, Pade, all_finite, check_finite, exp_divided_difference, scale_pow2};
use crate::kernels::{conjugated, matmul_acc, matmul_into, par_for, product};
use faer::{Mat, MatRef, unzip, zip};

/// `(exp(A), L(A, E))`. Panics with the [`LinalgError`] message on bad input or overflow.
///
/// ```
/// use faer::mat;
/// // Commuting E: L(A, E) = E e^A.
/// let a = mat![[1.0, 2.0], [0.0, 1.0f64]];
/// let (ea, l) = expgrad_linalg::expm_frechet(a.as_ref(), a.as_ref());
/// assert!((&l - &a * &ea).norm_max() < 1e-14);
/// ```
#[track_caller]
pub fn expm_frechet<T: Scalar>(a: MatRef<'_, T>, e: MatRef<'_, T>) -> (Mat<T>, Mat<T>) {
    unwrap_or_panic(try_expm_frechet(a, e))
}

/// `(exp(A), L(A, E))`, or an error for a non-square `A`, an `E` of another shape, a
/// non-finite entry, or an overflowing result.
pub fn try_expm_frechet<T: Scalar>(
    a: MatRef<'_, T>,
    e: MatRef<'_, T>,
) -> Result<(Mat<T>, Mat<T>), LinalgError> {
    const OP: &str = "expm_frechet";
    check_direction(OP, a.shape(), e)?;
    let f = Expm::try_new(a).map_err(|err| err.with_op(OP))?;
    let l = f.try_frechet(e).map_err(|err| err.with_op(OP))?;
    Ok((f.into_value(), l))
}

pub(crate) fn check_direction<T: Scalar>(
    op: &'static str,
    shape: (usize, usize),
    e: MatRef<'_, T>,
) -> Result<(), LinalgError> {
    if shape.0 != shape.1 {
        return Err(LinalgError::NotSquare { op, shape });
    }
    if e.shape() != shape {
        return Err(LinalgError::ShapeMismatch {
            op,
            lhs: shape,
            rhs: e.shape(),
        });
    }
    check_finite(op, e)
}

impl<T: Scalar> Expm<T> {
    /// `L(A, E)`, the Fréchet derivative of exp at `A` in direction `E`. Panics with the
    /// [`LinalgError`] message if `E` is not n×n, has a non-finite entry, or `L` overflows.
    #[track_caller]
    pub fn frechet(&self, e: MatRef<'_, T>) -> Mat<T> {
        unwrap_or_panic(self.try_frechet(e))
    }

    /// `L(Aᴴ, G) = L(A, Gᴴ)ᴴ` (`L(Aᵀ, G)` for real `A`): the vector–Jacobian product of exp
    /// (for `F = e^A` and a cotangent `F̄ = G`, `Ā = L(Aᴴ, G)`), the adjoint of `E ↦ L(A, E)`
    /// under the real inner product `⟨X, Y⟩ = Re tr(Xᴴ Y)`. Panics like [`Expm::frechet`].
    ///
    /// ```
    /// use expgrad_linalg::Expm;
    /// use faer::{c64, Mat};
    /// let a = Mat::from_fn(3, 3, |i, j| c64::new(0.3 * i as f64 - 0.2, 0.1 * j as f64 + 0.4));
    /// let e = Mat::from_fn(3, 3, |i, j| c64::new((i + 2 * j) as f64 * 0.1, -0.2));
    /// let g = Mat::from_fn(3, 3, |i, j| c64::new(0.5 - j as f64 * 0.3, i as f64 * 0.2));
    /// let f = Expm::new(a.as_ref());
    /// // ⟨G, L(A, E)⟩ = ⟨L(Aᴴ, G), E⟩ with ⟨X, Y⟩ = Re tr(Xᴴ Y)
    /// let dot = |x: &Mat<c64>, y: &Mat<c64>| (x.adjoint() * y).diagonal().column_vector().sum().re;
    /// let lhs = dot(&g, &f.frechet(e.as_ref()));
    /// let rhs = dot(&f.frechet_adjoint(g.as_ref()), &e);
    /// assert!((lhs - rhs).abs() < 1e-13 * lhs.abs().max(1.0));
    /// ```
    #[track_caller]
    pub fn frechet_adjoint(&self, g: MatRef<'_, T>) -> Mat<T> {
        unwrap_or_panic(self.try_frechet_adjoint(g))
    }

    /// Fallible [`Expm::frechet`].
    pub fn try_frechet(&self, e: MatRef<'_, T>) -> Result<Mat<T>, LinalgError> {
        self.derivative("expm_frechet", e, self.transposed)
    }

    /// Fallible [`Expm::frechet_adjoint`].
    pub fn try_frechet_adjoint(&self, g: MatRef<'_, T>) -> Result<Mat<T>, LinalgError> {
        const OP: &str = "expm_frechet_adjoint";
        if let Kind::Hermitian(h) = &self.kind {
            // L(Xᴴ, G) = Q·(conj(Φ) ∘ QᴴGQ)·Qᴴ directly (docs/math.md §17).
            check_direction(OP, (self.dim(), self.dim()), g)?;
            return finite(OP, h.frechet(g, true));
        }
        if T::IS_COMPLEX {
            // L(Aᴴ, G) = conj(L(Aᵀ, conj G)): the approximant has real coefficients, so
            // conjugation commutes with it and the transposed-view recurrence serves both.
            let gc = conjugated(g);
            self.derivative(OP, gc.as_ref(), !self.transposed)
                .map(|l| conjugated(l.as_ref()))
        } else {
            self.derivative(OP, g, !self.transposed)
        }
    }

    /// `L(Ã, E)` where `Ã` is the cached matrix, transposed when `tr`.
    pub(crate) fn derivative(
        &self,
        op: &'static str,
        e: MatRef<'_, T>,
        tr: bool,
    ) -> Result<Mat<T>, LinalgError> {
        let n = self.dim();
        check_direction(op, (n, n), e)?;
        let l = match &self.kind {
            Kind::Diagonal(d) => {
                Mat::from_fn(n, n, |i, j| e[(i, j)] * exp_divided_difference(d[i], d[j]))
            }
            Kind::Pade(p) => p.frechet(e, tr),
            Kind::Taylor(t) => {
                let l = t.frechet_approximant(e, tr);
                squarings_derivative(&t.squares, t.s, l, tr, |r, i| t.square(r, i))
            }
            Kind::Small(t) => t.frechet(e, tr),
            // L(Xᵀ, E) = conj(L(Xᴴ, conj E)).
            Kind::Hermitian(h) if tr => {
                conjugated(h.frechet(conjugated(e).as_ref(), true).as_ref())
            }
            Kind::Hermitian(h) => h.frechet(e, false),
        };
        finite(op, l)
    }
}

/// `l`, or `Overflow` if an entry is not finite.
pub(crate) fn finite<T: Scalar>(op: &'static str, l: Mat<T>) -> Result<Mat<T>, LinalgError> {
    if all_finite(l.as_ref()) {
        Ok(l)
    } else {
        Err(LinalgError::Overflow { op })
    }
}

impl<T: Scalar> Pade<T> {
    /// Algorithm 6.4 on the cached (scaled) pieces, on transposed views when `tr`.
    #[allow(non_snake_case)]
    fn frechet(&self, e: MatRef<'_, T>, tr: bool) -> Mat<T> {
        let n = e.nrows();
        let par = par_for(n);
        fn view<T>(m: &Mat<T>, tr: bool) -> MatRef<'_, T> {
            if tr { m.transpose() } else { m.as_ref() }
        }
        let b = &self.b;
        let A = view(&self.a, tr);
        let mut E = e.to_owned();
        scale_pow2(&mut E, -(self.s as i32));
        let prod = |x: MatRef<'_, T>, y: MatRef<'_, T>| product(x, y, par);
        // M[k] = derivative of the power pows[k] = A^{2k+2}.
        let a2 = view(&self.pows[0], tr);
        let mut M: Vec<Mat<T>> = Vec::with_capacity(self.pows.len());
        let mut m2 = prod(A, E.as_ref());
        matmul_acc(m2.as_mut(), E.as_ref(), A, T::one_impl(), par);
        M.push(m2);
        for k in 1..self.pows.len() {
            let mut mk = prod(view(&self.pows[k - 1], tr), M[0].as_ref());
            matmul_acc(mk.as_mut(), M[k - 1].as_ref(), a2, T::one_impl(), par);
            M.push(mk);
        }
        // The derivative of U = A·W and V (product rule on the shared odd/even assembly):
        // Lw = Σ b M (+ A⁶ Lw₁ + M₆ W₁ for m = 13), Lu = A Lw + E W, Lv likewise.
        let ms: Vec<MatRef<'_, T>> = M.iter().map(Mat::as_ref).collect();
        let OddEven {
            odd: mut lw,
            even: mut lv,
            high,
        } = odd_even(b, &ms, false);
        if let (Some((lw1, lz1)), Some((w1, z1))) = (&high, &self.w1z1) {
            let (a6, m6) = (view(&self.pows[2], tr), M[2].as_ref());
            matmul_acc(lw.as_mut(), a6, lw1.as_ref(), T::one_impl(), par);
            matmul_acc(lw.as_mut(), m6, view(w1, tr), T::one_impl(), par);
            matmul_acc(lv.as_mut(), a6, lz1.as_ref(), T::one_impl(), par);
            matmul_acc(lv.as_mut(), m6, view(z1, tr), T::one_impl(), par);
        }
        let mut lu = prod(A, lw.as_ref());
        matmul_acc(
            lu.as_mut(),
            E.as_ref(),
            view(&self.w, tr),
            T::one_impl(),
            par,
        );
        // L_r = q⁻¹ (Lu + Lv + (Lu − Lv) R₀), in place: (lu, lv) ← (Lu + Lv, Lu − Lv).
        zip!(&mut lu, &mut lv).for_each(|unzip!(u, v)| {
            let (uu, vv) = (*u, *v);
            *u = uu + vv;
            *v = uu - vv;
        });
        let mut rhs = lu;
        matmul_acc(
            rhs.as_mut(),
            lv.as_ref(),
            view(&self.squares[0], tr),
            T::one_impl(),
            par,
        );
        if tr {
            self.lu.solve_transpose_in_place(rhs.as_mut());
        } else {
            self.lu.solve_in_place(rhs.as_mut());
        }
        squarings_derivative(&self.squares, self.s, rhs, tr, |r, i| self.square(r, i))
    }
}

/// The squaring phase of the derivative: `L ← R_i L + L R_i` for i = 0..s−1 (on transposed
/// views when `tr`), with `R_i` from the cache, or recomputed by `square` (bitwise as the
/// forward did) when the memory cap kept only `R₀`. Shared by both families.
pub(crate) fn squarings_derivative<T: Scalar>(
    squares: &[Mat<T>],
    s: u32,
    mut l: Mat<T>,
    tr: bool,
    square: impl Fn(&Mat<T>, u32) -> Mat<T>,
) -> Mat<T> {
    let n = l.nrows();
    let par = par_for(n);
    fn view<T>(m: &Mat<T>, tr: bool) -> MatRef<'_, T> {
        if tr { m.transpose() } else { m.as_ref() }
    }
    let mut tmp = Mat::<T>::zeros(n, n);
    let mut recomputed: Option<Mat<T>> = None;
    for i in 0..s as usize {
        if i >= squares.len() {
            let next = match recomputed.take() {
                Some(prev) => square(&prev, (i - 1) as u32),
                None => square(&squares[i - 1], (i - 1) as u32),
            };
            recomputed = Some(next);
        }
        let r_i = squares.get(i).or(recomputed.as_ref()).unwrap();
        matmul_into(tmp.as_mut(), view(r_i, tr), l.as_ref(), par);
        matmul_acc(tmp.as_mut(), l.as_ref(), view(r_i, tr), T::one_impl(), par);
        core::mem::swap(&mut l, &mut tmp);
    }
    l
}
