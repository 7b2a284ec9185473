//! Anti-Hermitian input, `X = −Xᴴ` (complex only), beyond the norm where scaling and
//! squaring needs squarings: `exp(X)` from the eigendecomposition of the Hermitian `H = iX`,
//! and its Fréchet derivatives by the Daleckii–Krein formula (docs/math.md §17).
//!
//! `H = Q·Diag(λ)·Qᴴ` (faer's self-adjoint EVD, λ real), so `X = Q·Diag(μ)·Qᴴ` with `μ = −iλ`
//! and `e^X = Q·Diag(e^{−iλ})·Qᴴ`: unitary to the orthonormality of the computed `Q`, whatever
//! `‖X‖` (each squaring of scaling and squaring doubles a deviation from unitarity instead),
//! and to ≈ n·u after one Newton–Schulz step ([`polish`]).
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
use faer::linalg::matmul::matmul_with_conj;
use faer::{Accum, Col, Conj, Mat, MatRef, unzip, zip};
use num_traits::Float;
use std::sync::OnceLock;

/// The eigendecomposition of `H = iX`, and `Φ` once a derivative asked for it.
#[derive(Clone, Debug)]
pub(crate) struct AntiHermitian<T: Scalar> {
    /// Unitary eigenvectors of `H` (and of `X`).
    q: Mat<T>,
    /// Eigenvalues `λ` of `H`, ascending; those of `X` are `μ = −iλ`.
    lambda: Vec<T::Real>,
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

/// One Newton–Schulz step towards the unitary polar factor, `U ← U + U·(I − UᴴU)/2`: a
/// deviation `UᴴU = I + Δ` becomes `O(‖Δ‖²)` plus the rounding of the step (≈ n·u), for two
/// products. `Q̂·D·Q̂ᴴ` is off by twice the orthonormality error of faer's eigenvectors,
/// 3–14·n·u measured over random `H` (worst at n = 3…8); polished, ≤ 2·n·u.
fn polish<T: Scalar>(u: Mat<T>) -> Mat<T> {
    let n = u.nrows();
    let mut r = product(u.as_ref(), ADJ, u.as_ref(), NO);
    // r ← I − UᴴU; the diagonal's 1 − (UᴴU)_ii is exact (Sterbenz).
    zip!(&mut r).for_each(|unzip!(r)| *r = -*r);
    for i in 0..n {
        r[(i, i)] += T::one_impl();
    }
    let mut out = u.clone();
    mul(
        out.as_mut(),
        Accum::Add,
        (u.as_ref(), NO),
        (r.as_ref(), NO),
        T::lit(0.5),
    );
    out
}

/// Operand flags for [`product`] and [`mul`]: the matrix itself, or its conjugate transpose.
const NO: bool = false;
const ADJ: bool = true;

/// `dst (=|+=) α·op(a)·op(b)`, `op(x) = xᴴ` when its flag is set, with faer's kernel on
/// conjugated views (no copy) and the crate's parallelism policy. faer, not the crate's
/// small-n loops: for complex operands faer's kernel is already 1.5–3× faster from n = 4
/// (c64: 200 vs 483 ns at n = 8, measured).
fn mul<T: Scalar>(
    dst: faer::MatMut<'_, T>,
    accum: Accum,
    (a, ta): (MatRef<'_, T>, bool),
    (b, tb): (MatRef<'_, T>, bool),
    alpha: T,
) {
    let par = par_for(dst.nrows().max(dst.ncols()));
    fn view<T>(x: MatRef<'_, T>, t: bool) -> (MatRef<'_, T>, Conj) {
        if t {
            (x.transpose(), Conj::Yes)
        } else {
            (x, Conj::No)
        }
    }
    let ((a, ca), (b, cb)) = (view(a, ta), view(b, tb));
    matmul_with_conj(dst, accum, a, ca, b, cb, alpha, par);
}

/// `op(a)·op(b)` in a new matrix ([`mul`]).
fn product<T: Scalar>(a: MatRef<'_, T>, ta: bool, b: MatRef<'_, T>, tb: bool) -> Mat<T> {
    let rows = if ta { a.ncols() } else { a.nrows() };
    let cols = if tb { b.nrows() } else { b.ncols() };
    let mut out = Mat::<T>::zeros(rows, cols);
    mul(
        out.as_mut(),
        Accum::Replace,
        (a, ta),
        (b, tb),
        T::one_impl(),
    );
    out
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
        let value = polish(this.sandwich_right(qd));
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
        let q = self.q.as_ref();
        let qe = product(q, ADJ, e, NO);
        let m = product(qe.as_ref(), NO, q, NO);
        self.hadamard_and_back(m, adjoint)
    }

    /// `L⁽²⁾(X; E₁, E₂)`, or `L⁽²⁾(Xᴴ; E₁, E₂)` when `adjoint`: second-order Daleckii–Krein,
    /// `Q·(Σ_k (Ẽ₁_ik Ẽ₂_kj + Ẽ₂_ik Ẽ₁_kj) f[μ_i, μ_k, μ_j])·Qᴴ` with `Ẽ = QᴴEQ` and the
    /// eigenvalues `μ` of `X` (`conj μ` for `Xᴴ`).
    pub(crate) fn frechet2(&self, e1: MatRef<'_, T>, e2: MatRef<'_, T>, adjoint: bool) -> Mat<T> {
        let q = self.q.as_ref();
        let tilde = |e: MatRef<'_, T>| {
            let qe = product(q, ADJ, e, NO);
            product(qe.as_ref(), NO, q, NO)
        };
        let (m1, m2) = (tilde(e1), tilde(e2));
        let mu: Vec<T> = self
            .lambda
            .iter()
            .map(|&l| {
                let m = self.mu(l);
                if adjoint { m.conjugate() } else { m }
            })
            .collect();
        let m = crate::expm::second::diagonal_frechet2(&mu, m1.as_ref(), m2.as_ref());
        let qm = product(q, NO, m.as_ref(), NO);
        self.sandwich_right(qm)
    }

    /// `L(Xᴴ, U·Vᴴ)` for `u`, `v` n×k: `(QᴴU)(QᴴV)ᴴ` replaces `Qᴴ G Q` (n²k, not n³).
    pub(crate) fn adjoint_factored(&self, u: MatRef<'_, T>, v: MatRef<'_, T>) -> Mat<T> {
        let q = self.q.as_ref();
        let (qu, qv) = (product(q, ADJ, u, NO), product(q, ADJ, v, NO));
        let m = product(qu.as_ref(), NO, qv.as_ref(), ADJ);
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
        let qm = product(self.q.as_ref(), NO, m.as_ref(), NO);
        self.sandwich_right(qm)
    }

    /// `P·Qᴴ`.
    fn sandwich_right(&self, p: Mat<T>) -> Mat<T> {
        product(p.as_ref(), NO, self.q.as_ref(), ADJ)
    }
}
