//! Anti-Hermitian input, `X = −Xᴴ` (complex only), beyond the norm where scaling and
//! squaring needs squarings: `exp(X)` from the eigendecomposition of the Hermitian `H = iX`,
//! and its Fréchet derivatives by the Daleckii–Krein formula (docs/math.md §16).
//!
//! `H = Q·Diag(λ)·Qᴴ` (faer's self-adjoint EVD, λ real), so `X = Q·Diag(μ)·Qᴴ` with `μ = −iλ`
//! and `e^X = Q·Diag(e^{−iλ})·Qᴴ`: unitary to the orthonormality of the computed `Q`, whatever
//! `‖X‖` (each squaring of scaling and squaring doubles a deviation from unitarity instead).
//! With `Φ_jk = (e^{μ_j} − e^{μ_k})/(μ_j − μ_k)` (`e^{μ_j}` when equal):
//!
//! * `L(X, E) = Q·(Φ ∘ (Qᴴ E Q))·Qᴴ`;
//! * `L(Xᴴ, G) = Q·(conj(Φ) ∘ (Qᴴ G Q))·Qᴴ` (`Xᴴ = Q·Diag(conj μ)·Qᴴ`);
//! * `L(Xᴴ, U·Vᴴ) = Q·(conj(Φ) ∘ ((QᴴU)(QᴴV)ᴴ))·Qᴴ`.
//!
//! `Φ` is formed once, by the first derivative, with [`exp_divided_difference`].
//!
//! The switch ([`takes`]): exactly anti-Hermitian (checked entry by entry, O(n²)) and
//! `‖X‖₁` above the θ of the top Taylor scheme (3.54 in double, 3.01 in single precision),
//! the norm up to which the Taylor selection is sure to need no squaring.
//!
//! Tests: `crates/linalg/tests/complex.rs`.

use crate::Scalar;
use crate::expm::exp_divided_difference;
use crate::expm::select::largest_theta;
use crate::kernels::par_for;
use crate::scalar::real;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::evd::{self, ComputeEigenvectors};
use faer::linalg::matmul::{matmul, matmul_with_conj};
use faer::{Accum, Col, Conj, Mat, MatRef, unzip, zip};
use num_traits::Float;
use std::sync::OnceLock;

/// The eigendecomposition of `H = iX`, and `Φ` once a derivative asked for it.
#[derive(Clone, Debug)]
pub(crate) struct AntiHermitian<T: Scalar> {
    /// Unitary eigenvectors of `H` (and of `X`).
    q: Mat<T>,
    /// Eigenvalues `λ` of `H`, ascending; those of `X` are `μ = −iλ`.
    pub(crate) lambda: Vec<T::Real>,
    /// `Φ_jk = (e^{μ_j} − e^{μ_k})/(μ_j − μ_k)`, formed by the first derivative.
    phi: OnceLock<Mat<T>>,
}

/// Whether `a` takes this path: complex, exactly anti-Hermitian, and `‖a‖₁` above the
/// largest θ of the Taylor schemes that need no squaring.
pub(crate) fn takes<T: Scalar>(a: MatRef<'_, T>) -> bool {
    T::IS_COMPLEX && is_anti_hermitian(a) && norm1_exceeds(a, largest_theta::<T>())
}

/// `‖a‖₁ > theta`, stopping at the first column whose sum exceeds it; moduli as
/// `√(re² + im²)` (several times cheaper than `hypot`; an overflow to ∞ only means a large
/// norm).
fn norm1_exceeds<T: Scalar>(a: MatRef<'_, T>, theta: f64) -> bool {
    let theta = real::<T>(theta);
    let zero = <T::Real as num_traits::Zero>::zero();
    a.col_iter().any(|c| {
        c.iter()
            .fold(zero, |s, z| s + (z.re() * z.re() + z.im() * z.im()).sqrt())
            > theta
    })
}

/// `a_ij = −conj(a_ji)` for every i ≤ j, exactly (the diagonal purely imaginary).
fn is_anti_hermitian<T: Scalar>(a: MatRef<'_, T>) -> bool {
    (0..a.ncols()).all(|j| (0..=j).all(|i| a[(i, j)] == -a[(j, i)].conjugate()))
}

impl<T: Scalar> AntiHermitian<T> {
    /// The eigendecomposition of `i·x` and `exp(x)`; `None` if faer's EVD does not converge
    /// or returns a non-finite eigenvalue (the caller falls back to scaling and squaring).
    pub(crate) fn new(x: MatRef<'_, T>) -> Option<(Self, Mat<T>)> {
        let n = x.nrows();
        let par = par_for(n);
        // H = iX; the EVD reads its lower triangle only.
        let h = Mat::<T>::from_fn(n, n, |i, j| {
            if i >= j {
                let z = x[(i, j)];
                T::from_parts(-z.im(), z.re())
            } else {
                T::zero_impl()
            }
        });
        let mut q = Mat::<T>::zeros(n, n);
        let mut w = Col::<T>::zeros(n);
        let req = evd::self_adjoint_evd_scratch::<T>(
            n,
            ComputeEigenvectors::Yes,
            par,
            Default::default(),
        );
        let mut buf = MemBuffer::new(req);
        evd::self_adjoint_evd(
            h.as_ref(),
            w.as_diagonal_mut(),
            Some(q.as_mut()),
            par,
            MemStack::new(&mut buf),
            Default::default(),
        )
        .ok()?;
        let lambda: Vec<T::Real> = w.iter().map(|v| v.re()).collect();
        if !lambda.iter().all(|l| l.is_finite()) {
            return None;
        }
        let this = Self {
            q,
            lambda,
            phi: OnceLock::new(),
        };
        // e^X = (Q·Diag(e^μ))·Qᴴ.
        let mut qd = this.q.clone();
        for (j, &l) in this.lambda.iter().enumerate() {
            let e = this.mu(l).exponential();
            qd.col_mut(j).iter_mut().for_each(|v| *v *= e);
        }
        let value = this.sandwich_right(qd);
        Some((this, value))
    }

    /// `μ = −iλ`.
    fn mu(&self, l: T::Real) -> T {
        T::from_parts(num_traits::Zero::zero(), -l)
    }

    /// `Φ` (symmetric: the divided difference is).
    fn phi(&self) -> &Mat<T> {
        self.phi.get_or_init(|| {
            let n = self.lambda.len();
            let mu: Vec<T> = self.lambda.iter().map(|&l| self.mu(l)).collect();
            let mut phi = Mat::<T>::zeros(n, n);
            for j in 0..n {
                for k in 0..=j {
                    let v = exp_divided_difference(mu[j], mu[k]);
                    phi[(j, k)] = v;
                    phi[(k, j)] = v;
                }
            }
            phi
        })
    }

    /// `L(X, E)`, or `L(Xᴴ, E)` when `adjoint`.
    pub(crate) fn frechet(&self, e: MatRef<'_, T>, adjoint: bool) -> Mat<T> {
        let n = e.nrows();
        let par = par_for(n);
        let one = T::one_impl();
        // Qᴴ E Q.
        let mut qe = Mat::<T>::zeros(n, n);
        matmul_with_conj(
            qe.as_mut(),
            Accum::Replace,
            self.q.transpose(),
            Conj::Yes,
            e,
            Conj::No,
            one,
            par,
        );
        let mut m = Mat::<T>::zeros(n, n);
        matmul(
            m.as_mut(),
            Accum::Replace,
            qe.as_ref(),
            self.q.as_ref(),
            one,
            par,
        );
        self.hadamard_and_back(m, adjoint)
    }

    /// `L(Xᴴ, U·Vᴴ)` for `u`, `v` n×k: `(QᴴU)(QᴴV)ᴴ` replaces `Qᴴ G Q` (n²k, not n³).
    pub(crate) fn adjoint_factored(&self, u: MatRef<'_, T>, v: MatRef<'_, T>) -> Mat<T> {
        let (n, k) = u.shape();
        let par = par_for(n);
        let one = T::one_impl();
        let qh = |x: MatRef<'_, T>| {
            let mut out = Mat::<T>::zeros(n, k);
            matmul_with_conj(
                out.as_mut(),
                Accum::Replace,
                self.q.transpose(),
                Conj::Yes,
                x,
                Conj::No,
                one,
                par,
            );
            out
        };
        let (qu, qv) = (qh(u), qh(v));
        let mut m = Mat::<T>::zeros(n, n);
        matmul_with_conj(
            m.as_mut(),
            Accum::Replace,
            qu.as_ref(),
            Conj::No,
            qv.transpose(),
            Conj::Yes,
            one,
            par,
        );
        self.hadamard_and_back(m, true)
    }

    /// `Q·(Φ ∘ M)·Qᴴ` (`conj(Φ)` when `adjoint`).
    fn hadamard_and_back(&self, mut m: Mat<T>, adjoint: bool) -> Mat<T> {
        let phi = self.phi();
        if adjoint {
            zip!(&mut m, phi).for_each(|unzip!(m, p)| *m *= p.conjugate());
        } else {
            zip!(&mut m, phi).for_each(|unzip!(m, p)| *m *= *p);
        }
        let n = m.nrows();
        let mut qm = Mat::<T>::zeros(n, n);
        matmul(
            qm.as_mut(),
            Accum::Replace,
            self.q.as_ref(),
            m.as_ref(),
            T::one_impl(),
            par_for(n),
        );
        self.sandwich_right(qm)
    }

    /// `P·Qᴴ`.
    fn sandwich_right(&self, p: Mat<T>) -> Mat<T> {
        let n = p.nrows();
        let mut out = Mat::<T>::zeros(n, n);
        matmul_with_conj(
            out.as_mut(),
            Accum::Replace,
            p.as_ref(),
            Conj::No,
            self.q.transpose(),
            Conj::Yes,
            T::one_impl(),
            par_for(n),
        );
        out
    }
}
