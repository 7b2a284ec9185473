//! Forward mode and second order of [`ExpmTimes`]: the tangent of its forward program and the
//! tangent of its reverse pass (docs/math.md, second order).
//!
//! The forward is a straight-line program: the powers `Q^k = Q^{k−1}·Q`, the coefficients
//! `C_kb = τ_b^k/k!` (`τ_b = 2^{−s_b}t_b`), the combinations `R_b = Σ_k C_kb·Q^k` and `s_b`
//! squarings. Its tangent along `(Q̇, ṫ)` differentiates each step (`Ċ_kb = C_{k−1,b}·τ̇_b`,
//! the same expression the reverse pass uses for `t̄`). The tangent of the reverse pass
//! differentiates [`ExpmTimes::try_adjoint`] step by step along `(Q̇, ṫ, Ġ)`, which is what
//! a forward-over-reverse Hessian-vector product needs.
//!
//! Tests: `crates/linalg/tests/batch.rs`.

use super::{ExpmTimes, col};
use crate::Real;
use crate::error::LinalgError;
use crate::finite::check_finite;
use faer::{Mat, MatRef};

/// The tangent of the reverse pass: `(Q̄, t̄, Q̄̇, ṫ̄)`.
pub type TimesAdjointTangent<T> = (Mat<T>, Vec<T>, Mat<T>, Vec<T>);

impl<T: Real> ExpmTimes<T> {
    fn power(&self, k: usize) -> MatRef<'_, T> {
        let nn = self.n * self.n;
        MatRef::from_column_major_slice(col(&self.powers, nn, k), self.n, self.n)
    }

    fn coef(&self, k: usize, b: usize) -> T {
        self.coef[b * (self.m + 1) + k]
    }

    fn scale(&self, b: usize) -> T {
        T::from(0.5f64.powi(self.s[b] as i32)).unwrap()
    }

    fn check_direction(
        &self,
        op: &'static str,
        qdot: MatRef<'_, T>,
        tdot: &[T],
    ) -> Result<(), LinalgError> {
        let n = self.n;
        if qdot.shape() != (n, n) {
            return Err(LinalgError::ShapeMismatch {
                op,
                lhs: (n, n),
                rhs: qdot.shape(),
            });
        }
        if tdot.len() != self.len() {
            return Err(LinalgError::ShapeMismatch {
                op,
                lhs: (self.len(), 1),
                rhs: (tdot.len(), 1),
            });
        }
        check_finite(op, qdot)?;
        if tdot.iter().any(|x| !x.is_finite()) {
            return Err(LinalgError::NonFinite { op });
        }
        Ok(())
    }

    /// The tangents of the powers, `Ṗ_k` for k = 0..=m.
    fn power_tangents(&self, qdot: MatRef<'_, T>) -> Vec<Mat<T>> {
        let n = self.n;
        let mut pd = vec![Mat::<T>::zeros(n, n), qdot.to_owned()];
        for k in 2..=self.m {
            let next = &pd[k - 1] * self.power(1) + self.power(k - 1) * qdot;
            pd.push(next);
        }
        pd.truncate(self.m + 1);
        pd
    }

    /// `(X_i, Ẋ_i)` for i = 0..s_b: the squaring chain of time `b` and its tangent.
    fn chain(&self, b: usize, pd: &[Mat<T>], tdot: &[T]) -> (Vec<Mat<T>>, Vec<Mat<T>>) {
        let n = self.n;
        let nn = n * n;
        let taud = tdot[b] * self.scale(b);
        let mut rd = Mat::<T>::zeros(n, n);
        for (k, p) in pd.iter().enumerate() {
            rd += p * faer::Scale(self.coef(k, b));
            if k >= 1 {
                rd += self.power(k) * faer::Scale(self.coef(k - 1, b) * taud);
            }
        }
        let sb = self.s[b] as usize;
        let root = if sb > 0 {
            MatRef::from_column_major_slice(col(&self.roots, nn, b), n, n).to_owned()
        } else {
            self.value(b).to_owned()
        };
        let (mut xs, mut xds) = (vec![root], vec![rd]);
        for i in 0..sb {
            let (x, xd) = (&xs[i], &xds[i]);
            let next_d = xd * x + x * xd;
            let next = x * x;
            xs.push(next);
            xds.push(next_d);
        }
        (xs, xds)
    }

    /// The tangent of every `exp(t_b·Q)` along `(Q̇, ṫ)`, side by side (n×(n·B)): the exact
    /// derivative of the computed values. Panics like [`ExpmTimes::try_jvp`].
    #[track_caller]
    pub fn jvp(&self, qdot: MatRef<'_, T>, tdot: &[T]) -> Mat<T> {
        crate::error::unwrap_or_panic(self.try_jvp(qdot, tdot))
    }

    /// [`ExpmTimes::jvp`]; `Err` for a direction of the wrong shape, non-finite, or a
    /// tangent that overflows.
    ///
    /// ```
    /// use expgrad_linalg::{ExpmTimes, expm_frechet};
    /// let q = faer::mat![[-1.0, 1.0], [0.5, -0.5f64]];
    /// let qd = faer::mat![[0.2, -0.2], [0.0, 0.0f64]];
    /// let p = ExpmTimes::new(q.as_ref(), &[0.7]);
    /// let tangent = p.jvp(qd.as_ref(), &[0.0]);
    /// let (_, l) = expm_frechet((&q * faer::Scale(0.7)).as_ref(), (&qd * faer::Scale(0.7)).as_ref());
    /// assert!((&tangent - &l).norm_max() < 1e-14);
    /// ```
    pub fn try_jvp(&self, qdot: MatRef<'_, T>, tdot: &[T]) -> Result<Mat<T>, LinalgError> {
        const OP: &str = "expm_times jvp";
        self.check_direction(OP, qdot, tdot)?;
        let n = self.n;
        let pd = self.power_tangents(qdot);
        let mut out = Mat::<T>::zeros(n, n * self.len());
        for b in 0..self.len() {
            let (_, mut xds) = self.chain(b, &pd, tdot);
            out.as_mut()
                .submatrix_mut(0, b * n, n, n)
                .copy_from(xds.pop().expect("the chain has its root"));
        }
        if !crate::expm::all_finite(out.as_ref()) {
            return Err(LinalgError::Overflow { op: OP });
        }
        Ok(out)
    }

    /// The reverse pass and its tangent along `(Q̇, ṫ)` and the cotangent's tangent `Ġ`:
    /// `(Q̄, t̄, Q̄̇, ṫ̄)` with `(Q̄, t̄)` those of [`ExpmTimes::try_adjoint`] and the dots their
    /// exact derivatives; what a Hessian-vector product through `exp(t_b·Q)` needs. `Err` like
    /// [`ExpmTimes::try_adjoint`] and [`ExpmTimes::try_jvp`].
    pub fn try_adjoint_jvp(
        &self,
        g: MatRef<'_, T>,
        qdot: MatRef<'_, T>,
        tdot: &[T],
        gdot: Option<MatRef<'_, T>>,
    ) -> Result<TimesAdjointTangent<T>, LinalgError> {
        const OP: &str = "expm_times adjoint jvp";
        let (n, nb, m) = (self.n, self.len(), self.m);
        self.check_direction(OP, qdot, tdot)?;
        for gm in core::iter::once(g).chain(gdot) {
            if gm.shape() != (n, n * nb) {
                return Err(LinalgError::ShapeMismatch {
                    op: OP,
                    lhs: (n, n * nb),
                    rhs: gm.shape(),
                });
            }
            check_finite(OP, gm)?;
        }
        let (qbar, tbar) = self.try_adjoint(g)?;
        let pd = self.power_tangents(qdot);
        let rows = m + 1;
        // Per time: R̄_b and its tangent through the squarings, then the dots of H, I.
        let mut h_dot: Vec<Mat<T>> = (0..rows).map(|_| Mat::zeros(n, n)).collect();
        let mut h: Vec<Mat<T>> = (0..rows).map(|_| Mat::zeros(n, n)).collect();
        let mut tbar_dot = vec![T::zero(); nb];
        for b in 0..nb {
            let (xs, xds) = self.chain(b, &pd, tdot);
            let sb = self.s[b] as usize;
            let mut ybar = g.submatrix(0, b * n, n, n).to_owned();
            let mut ybar_d = match gdot {
                Some(gd) => gd.submatrix(0, b * n, n, n).to_owned(),
                None => Mat::zeros(n, n),
            };
            for i in (0..sb).rev() {
                let (x, xd) = (&xs[i], &xds[i]);
                // X̄ = Ȳ Xᵀ + Xᵀ Ȳ, and its tangent.
                let next_d = &ybar_d * x.transpose()
                    + x.transpose() * &ybar_d
                    + &ybar * xd.transpose()
                    + xd.transpose() * &ybar;
                let next = &ybar * x.transpose() + x.transpose() * &ybar;
                ybar = next;
                ybar_d = next_d;
            }
            let scale = self.scale(b);
            let taud = tdot[b] * scale;
            // H_k += C_kb R̄_b; Ḣ_k += C_kb R̄̇_b + Ċ_kb R̄_b.
            for k in 0..rows {
                h[k] += &ybar * faer::Scale(self.coef(k, b));
                h_dot[k] += &ybar_d * faer::Scale(self.coef(k, b));
                if k >= 1 {
                    h_dot[k] += &ybar * faer::Scale(self.coef(k - 1, b) * taud);
                }
            }
            // t̄_b = 2^{−s_b} Σ_{k≥1} C_{k−1,b} ⟨Q^k, R̄_b⟩, and its tangent.
            let mut acc = T::zero();
            #[allow(clippy::needless_range_loop)] // k also indexes powers and coefficients
            for k in 1..rows {
                let ik = frob(self.power(k), ybar.as_ref());
                let ik_dot =
                    frob(pd[k].as_ref(), ybar.as_ref()) + frob(self.power(k), ybar_d.as_ref());
                acc += self.coef(k - 1, b) * ik_dot;
                if k >= 2 {
                    acc += self.coef(k - 2, b) * taud * ik;
                }
            }
            tbar_dot[b] = acc * scale;
        }
        // The power chain reversed: Q̄ += P_{k−1}ᵀ H_k, H_{k−1} += H_k Qᵀ, and the tangents.
        let q = self.power(1);
        let mut qbar_dot = Mat::<T>::zeros(n, n);
        for k in (2..rows).rev() {
            qbar_dot += pd[k - 1].transpose() * &h[k] + self.power(k - 1).transpose() * &h_dot[k];
            let carry_d = &h_dot[k] * q.transpose() + &h[k] * qdot.transpose();
            let carry = &h[k] * q.transpose();
            h_dot[k - 1] += carry_d;
            h[k - 1] += carry;
        }
        if rows > 1 {
            qbar_dot += &h_dot[1];
        }
        if !crate::expm::all_finite(qbar_dot.as_ref()) || tbar_dot.iter().any(|x| !x.is_finite()) {
            return Err(LinalgError::Overflow { op: OP });
        }
        Ok((qbar, tbar, qbar_dot, tbar_dot))
    }
}

/// `⟨a, b⟩ = Σ aᵢⱼ bᵢⱼ`.
fn frob<T: Real>(a: MatRef<'_, T>, b: MatRef<'_, T>) -> T {
    let mut s = T::zero();
    faer::zip!(a, b).for_each(|faer::unzip!(a, b)| s += *a * *b);
    s
}
