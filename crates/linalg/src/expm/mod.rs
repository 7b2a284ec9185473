//! The matrix exponential by scaling and squaring, and the factored [`Expm`] cache.
//!
//! Two families of approximants `r(2⁻ˢA)^{2ˢ} ≈ e^A`, chosen per matrix (`select.rs`,
//! docs/math.md §13):
//!
//! * optimised Taylor polynomials ([`taylor`]: Bader, Blanes & Casas 2019; Sastre, Ibáñez &
//!   Defez 2019), orders 1–30 in 0–7 products and no solve, for dense input: `s` from the
//!   exact `d_k = ‖A^k‖₁^{1/k}`, k ≤ 5;
//! * Padé (Algorithm 6.1 of Al-Mohy & Higham, *A new scaling and squaring algorithm for the
//!   matrix exponential*, SIAM J. Matrix Anal. Appl. 31(3), 2009), degrees 3–13, with `s`
//!   from `d_k` (exact or estimated) and the over-scaling correction `ℓ(A, m)`, for triangular
//!   input (lower through the transpose): the diagonal and first superdiagonal of every
//!   squaring are replaced by their exact values (Code Fragment 2.1 of the paper; Higham,
//!   *Functions of Matrices*, eq. 10.42).
//!
//! Exact shortcuts: diagonal input (including 1×1 and 0×0) is exponentiated entrywise.
//! Complex anti-Hermitian input (`X = −Xᴴ` exactly) with `‖X‖₁` above the θ of the top Taylor
//! scheme goes through the eigendecomposition of `iX` ([`anti_hermitian`]: unitary to O(n·u)
//! where scaling and squaring loses a factor 2ˢ); `ExpmFamily::Pade`/`Taylor` skip it.
//! Dense input with n ≤ 12 runs the same Taylor scheme on stack arrays ([`small`]: bitwise
//! the same results, no per-call allocation beyond the cache and the derivatives' results).
//!
//! [`Expm`] keeps `s`, the degree, the scaled powers (and the LU of `q_m` for Padé), `R₀` and
//! every squaring, so that [`Expm::frechet`] and [`Expm::frechet_adjoint`] cost about two
//! forward passes and never redo the forward; [`Expm::frechet2`] (the second Fréchet
//! derivative) and [`Expm::frechet_adjoint_jvp`] (the tangent of the VJP, for
//! forward-over-reverse Hessian-vector products) about eight (`second.rs`, docs/math.md §18).
//!
//! Tests: `crates/linalg/tests/{closed_forms,published,degrees,families,extreme,precision,properties,errors,second_order}.rs`.

mod adjoint_factored;
mod anti_hermitian;
mod block;
mod cond;
mod frechet;
pub(crate) mod pade;
mod row_jacobian;
mod second;
mod second_factored;
mod select;
mod small;
pub(crate) mod structured;
pub(crate) mod taylor;

pub use block::{expm_frechet_block, expm_frechet2_block, try_expm_frechet2_block};
pub use frechet::{expm_frechet, try_expm_frechet};
pub use row_jacobian::try_expm_diag_jacobian;
pub use second_factored::force_factored_second_order;
pub use select::ExpmFamily;

use crate::Scalar;
use crate::error::{LinalgError, unwrap_or_panic};
use crate::expm::pade::{OddEven, coefficients_as, odd_even};
use crate::expm::select::{Choice, Selection, choose};
use crate::expm::taylor::Taylor;
pub(crate) use crate::finite::{all_finite, check_finite, check_square_finite};
use crate::kernels::{Lu, matmul_acc, matmul_into, par_for};
use crate::memory as pool;
use crate::scalar::{pow2, pow2_real, real};
use faer::{Mat, MatRef, unzip, zip};
use num_traits::Float;

/// Squarings are cached only while `s · n²` stays below this many entries (2²⁵: 256 MiB of
/// f64); above it, derivatives recompute `R_{i+1} = R_i²` (bitwise the same values).
pub(crate) const MAX_CACHED_SQUARE_ENTRIES: usize = 1 << 25;

/// Factored `exp(A)`: one forward pass, then any number of Fréchet derivatives.
///
/// ```
/// use expgrad_linalg::Expm;
/// use faer::mat;
/// let a = mat![[0.0, 1.0], [-1.0, 0.0f64]];
/// let f = Expm::new(a.as_ref());
/// assert!((f.value()[(0, 0)] - 1f64.cos()).abs() < 1e-15);
/// // L(A, A) = A e^A
/// let l = f.frechet(a.as_ref());
/// assert!((&l - &a * f.value()).norm_max() < 1e-14);
/// ```
#[derive(Clone, Debug)]
pub struct Expm<T: Scalar> {
    pub(crate) value: Mat<T>,
    /// The cache below describes `Aᵀ` (lower triangular input goes through its transpose).
    pub(crate) transposed: bool,
    pub(crate) kind: Kind<T>,
}

#[derive(Clone, Debug)]
pub(crate) enum Kind<T: Scalar> {
    /// `A = Diag(a)`: exact entrywise formulas.
    Diagonal(Vec<T>),
    /// Scaling and squaring with a Padé approximant.
    Pade(Box<Pade<T>>),
    /// Scaling and squaring with an optimised Taylor polynomial.
    Taylor(Box<Taylor<T>>),
    /// The same Taylor scheme on stack arrays, for dense n ≤ 12 ([`small`]): the value lives in
    /// the cache (`Expm::value` is then empty).
    Small(small::Small<T>),
    /// Complex anti-Hermitian input of large norm: the eigendecomposition of the Hermitian
    /// `iX` ([`anti_hermitian`]).
    Hermitian(Box<anti_hermitian::AntiHermitian<T>>),
}

/// Everything the forward pass computed that the derivatives reuse.
#[derive(Clone, Debug)]
pub(crate) struct Pade<T: Scalar> {
    /// Padé degree.
    pub(crate) m: usize,
    /// Number of squarings.
    pub(crate) s: u32,
    /// The coefficients `b_0..b_m` of `p_m`, converted to `T` once for the forward and every
    /// derivative.
    pub(crate) b: Vec<T>,
    /// `2⁻ˢA`.
    pub(crate) a: Mat<T>,
    /// Even powers of `2⁻ˢA`: `pows[k] = (2⁻ˢA)^{2k+2}` (A², A⁴, A⁶, A⁸ as the degree needs).
    pub(crate) pows: Vec<Mat<T>>,
    /// `W` with `U = A·W` (the odd part of `p_m` divided by `A`).
    pub(crate) w: Mat<T>,
    /// Degree 13 only: `W₁ = b₁₃A⁶ + b₁₁A⁴ + b₉A²` and `Z₁ = b₁₂A⁶ + b₁₀A⁴ + b₈A²`.
    pub(crate) w1z1: Option<(Mat<T>, Mat<T>)>,
    /// LU of `q_m(2⁻ˢA) = V − U`.
    pub(crate) lu: Lu<T>,
    /// `squares[i] = R_i`, i = 0..s−1 (`R_s = e^A` is the value), or only `R₀` when the
    /// memory cap is hit.
    pub(crate) squares: Vec<Mat<T>>,
    /// `Some(A)` (unscaled) when `A` is upper triangular: squarings get the exact diagonal.
    pub(crate) upper: Option<Mat<T>>,
}

/// `exp(A)` of a square matrix. Panics with the [`LinalgError`] message on bad input or
/// overflow; see [`try_expm`].
///
/// ```
/// let a = faer::mat![[1.0, 2.0], [0.0, 1.0f64]];
/// let e = expgrad_linalg::expm(a.as_ref());
/// let ee = std::f64::consts::E;
/// assert!((e[(0, 1)] - 2.0 * ee).abs() < 1e-14);
/// ```
#[track_caller]
pub fn expm<T: Scalar>(a: MatRef<'_, T>) -> Mat<T> {
    unwrap_or_panic(try_expm(a))
}

/// `exp(A)`, or an error for a non-square or non-finite `A`, or when `exp(A)` overflows.
///
/// ```
/// use expgrad_linalg::{try_expm, LinalgError};
/// let a = faer::Mat::<f64>::zeros(2, 3);
/// assert!(matches!(try_expm(a.as_ref()), Err(LinalgError::NotSquare { .. })));
/// ```
pub fn try_expm<T: Scalar>(a: MatRef<'_, T>) -> Result<Mat<T>, LinalgError> {
    Expm::try_new(a).map(Expm::into_value)
}

fn strictly_lower_is_zero<T: Scalar>(a: MatRef<'_, T>) -> bool {
    (0..a.ncols()).all(|j| (j + 1..a.nrows()).all(|i| a[(i, j)] == T::zero_impl()))
}

impl<T: Scalar> Expm<T> {
    /// Factors `exp(A)`. Panics with the [`LinalgError`] message on bad input or overflow.
    #[track_caller]
    pub fn new(a: MatRef<'_, T>) -> Self {
        unwrap_or_panic(Self::try_new(a))
    }

    /// Factors `exp(A)`, or returns an error for a non-square or non-finite `A`, or when
    /// `exp(A)` overflows.
    pub fn try_new(a: MatRef<'_, T>) -> Result<Self, LinalgError> {
        Self::try_new_with(a, ExpmFamily::Auto)
    }

    /// [`Expm::try_new`] with the family of approximants forced (or `Auto`, the default).
    ///
    /// ```
    /// use expgrad_linalg::{Expm, ExpmFamily};
    /// let a = faer::mat![[0.1, 2.0], [-0.5, 0.3f64]];
    /// let p = Expm::try_new_with(a.as_ref(), ExpmFamily::Pade)?;
    /// let t = Expm::try_new_with(a.as_ref(), ExpmFamily::Taylor)?;
    /// assert_eq!((p.approximant(), t.approximant()), ("pade", "taylor"));
    /// assert!((p.value() - t.value()).norm_max() < 1e-14);
    /// # Ok::<(), expgrad_linalg::LinalgError>(())
    /// ```
    pub fn try_new_with(a: MatRef<'_, T>, family: ExpmFamily) -> Result<Self, LinalgError> {
        Self::try_new_impl(a, family, true)
    }

    /// [`Expm::try_new_with`] without the small-n fast path: the general (pooled `Mat`)
    /// path at every n, for tests and benchmarks that compare the two. Not part of the API.
    #[doc(hidden)]
    pub fn try_new_general(a: MatRef<'_, T>, family: ExpmFamily) -> Result<Self, LinalgError> {
        Self::try_new_impl(a, family, false)
    }

    fn try_new_impl(
        a: MatRef<'_, T>,
        family: ExpmFamily,
        small_path: bool,
    ) -> Result<Self, LinalgError> {
        const OP: &str = "expm";
        check_square_finite(OP, a)?;
        let lower_zero = strictly_lower_is_zero(a);
        let upper_zero = strictly_lower_is_zero(a.transpose());
        let eigen = if (lower_zero && upper_zero) || family != ExpmFamily::Auto {
            None
        } else if anti_hermitian::takes(a) {
            anti_hermitian::AntiHermitian::new(a)
        } else {
            None
        };
        let this = if let Some((h, value)) = eigen {
            Self {
                value,
                transposed: false,
                kind: Kind::Hermitian(Box::new(h)),
            }
        } else if lower_zero && upper_zero {
            let d: Vec<T> = (0..a.nrows()).map(|i| a[(i, i)]).collect();
            let value = Mat::from_fn(d.len(), d.len(), |i, j| {
                if i == j {
                    d[i].exponential()
                } else {
                    T::zero_impl()
                }
            });
            Self {
                value,
                transposed: false,
                kind: Kind::Diagonal(d),
            }
        } else if small_path
            && small::fits(a.nrows())
            && (!T::IS_COMPLEX || a.nrows() <= small::COMPLEX_MAX)
            && !(lower_zero || upper_zero)
            && family != ExpmFamily::Pade
        {
            // Dense and small: the same Taylor scheme on stack arrays.
            let small = small::Small::new(a);
            if !all_finite(small.value()) {
                return Err(LinalgError::Overflow { op: OP });
            }
            return Ok(Self {
                value: Mat::new(),
                transposed: false,
                kind: Kind::Small(small),
            });
        } else {
            // Lower triangular input goes through its (upper triangular) transpose.
            let transposed = upper_zero;
            let at = if transposed { a.transpose() } else { a };
            let (kind, r) = match choose(at, lower_zero || upper_zero, family) {
                Choice::Pade(sel) => {
                    let (pade, r) = Pade::new(at, sel, lower_zero || upper_zero);
                    (Kind::Pade(Box::new(pade)), r)
                }
                Choice::Taylor(id, s, pows) => {
                    let (taylor, r) = Taylor::new(at, id, s, pows, lower_zero || upper_zero);
                    (Kind::Taylor(Box::new(taylor)), r)
                }
            };
            let value = if transposed {
                let v = r.transpose().to_owned();
                pool::recycle(r);
                v
            } else {
                r
            };
            Self {
                value,
                transposed,
                kind,
            }
        };
        if all_finite(this.value.as_ref()) {
            Ok(this)
        } else {
            Err(LinalgError::Overflow { op: OP })
        }
    }

    /// `exp(A)`.
    pub fn value(&self) -> MatRef<'_, T> {
        match &self.kind {
            Kind::Small(s) => s.value(),
            _ => self.value.as_ref(),
        }
    }

    /// `exp(A)`, owned (consumes the cache).
    pub(crate) fn into_value(self) -> Mat<T> {
        match &self.kind {
            Kind::Small(s) => s.value().to_owned(),
            _ => self.value,
        }
    }

    /// Dimension `n` of the n×n matrix `A`.
    pub fn dim(&self) -> usize {
        match &self.kind {
            Kind::Small(s) => s.n,
            _ => self.value.nrows(),
        }
    }

    /// `(m, s)`: the degree of the Padé approximant or the order of the Taylor scheme, and
    /// the number of squarings the forward pass chose (`(0, 0)` for the exact diagonal path
    /// and the eigendecomposition of anti-Hermitian input).
    pub fn params(&self) -> (usize, u32) {
        match &self.kind {
            Kind::Diagonal(_) | Kind::Hermitian(_) => (0, 0),
            Kind::Pade(p) => (p.m, p.s),
            Kind::Taylor(t) => (t.order(), t.s),
            Kind::Small(t) => (taylor::schemes::schemes()[t.id].order, t.s),
        }
    }

    /// Which approximant the forward pass used: `"diagonal"` (exact, entrywise), `"eigen"`
    /// (the eigendecomposition of anti-Hermitian input), `"pade"` or `"taylor"`.
    ///
    /// ```
    /// use expgrad_linalg::{Expm, ExpmFamily};
    /// use faer::{c64, mat};
    /// // X = −i·t·σ_y with t = 10: exactly anti-Hermitian, ‖X‖₁ = 10 > 3.54.
    /// let (o, t) = (c64::new(0.0, 0.0), c64::new(10.0, 0.0));
    /// let x = mat![[o, -t], [t, o]];
    /// assert_eq!(Expm::new(x.as_ref()).approximant(), "eigen");
    /// let forced = Expm::try_new_with(x.as_ref(), ExpmFamily::Taylor)?;
    /// assert_eq!((forced.approximant(), forced.params()), ("taylor", (30, 2)));
    /// # Ok::<(), expgrad_linalg::LinalgError>(())
    /// ```
    pub fn approximant(&self) -> &'static str {
        match &self.kind {
            Kind::Diagonal(_) => "diagonal",
            Kind::Hermitian(_) => "eigen",
            Kind::Pade(_) => "pade",
            Kind::Taylor(_) | Kind::Small(_) => "taylor",
        }
    }

    /// Matrix products of the forward pass (selection included), counted as n×n products;
    /// the Padé LU and solve count as 4/3; the Hermitian eigendecomposition as 4/3 (the
    /// tridiagonalisation and the back-transformation, 2/3 each) plus the product `Q·D·Qᴴ`
    /// and the two of the Newton–Schulz step. Machine-independent, for benchmarks.
    pub fn forward_products(&self) -> f64 {
        match &self.kind {
            Kind::Diagonal(_) => 0.0,
            Kind::Hermitian(_) => 4.0 / 3.0 + 3.0,
            Kind::Pade(p) => {
                let base = match p.m {
                    13 => 6.0,
                    m => (m as f64 + 1.0) / 2.0,
                };
                base + 4.0 / 3.0 + f64::from(p.s)
            }
            Kind::Taylor(t) => taylor::schemes::schemes()[t.id].products as f64 + f64::from(t.s),
            Kind::Small(t) => taylor::schemes::schemes()[t.id].products as f64 + f64::from(t.s),
        }
    }

    /// Matrix products of one dense derivative from the cache ([`Expm::frechet`] or
    /// [`Expm::frechet_adjoint`]): Padé's Algorithm 6.4 (the n-column solve counted as one),
    /// or twice the Taylor scheme's products, plus two per squaring; four (`Q·(Φ ∘ QᴴEQ)·Qᴴ`)
    /// for the eigendecomposition.
    pub fn adjoint_products(&self) -> f64 {
        match &self.kind {
            Kind::Diagonal(_) => 0.0,
            Kind::Hermitian(_) => 4.0,
            Kind::Pade(p) => {
                let base = match p.m {
                    13 => 15.0,
                    m => 2.0 * ((m - 1) / 2) as f64 + 4.0,
                };
                base + 2.0 * f64::from(p.s)
            }
            Kind::Taylor(t) => {
                2.0 * taylor::schemes::schemes()[t.id].products as f64 + 2.0 * f64::from(t.s)
            }
            Kind::Small(t) => {
                2.0 * taylor::schemes::schemes()[t.id].products as f64 + 2.0 * f64::from(t.s)
            }
        }
    }
}

impl<T: Scalar> Pade<T> {
    /// Runs the forward pass on `a` (n×n, finite, not diagonal) with the degree and scaling of
    /// `sel`; returns the cache and `R_s`.
    #[allow(non_snake_case)]
    fn new(A: MatRef<'_, T>, sel: Selection<T>, upper: bool) -> (Self, Mat<T>) {
        let n = A.nrows();
        let par = par_for(n);
        let product = |x: MatRef<'_, T>, y: MatRef<'_, T>| pool::product(x, y, par);
        let Selection { m, s, mut pows } = sel;
        let needed = pows.len();

        // Scale: A ← 2^-s A and the powers by 2^-2ks, unless that under- or overflows, in
        // which case the powers are recomputed from the scaled A.
        let mut a = pool::zeros::<T>(n, n);
        a.copy_from(A);
        if s > 0 {
            scale_pow2(&mut a, -(s as i32));
            let smallest = pow2_real::<T>(-(2 * needed as i32) * s as i32);
            let reuse = smallest >= <T::Real as Float>::min_positive_value()
                && pows.iter().all(|p| all_finite(p.as_ref()));
            if reuse {
                for (k, p) in pows.iter_mut().enumerate() {
                    scale_pow2(p, -2 * (k as i32 + 1) * s as i32);
                }
            } else {
                let a2 = product(a.as_ref(), a.as_ref());
                let a4 = product(a2.as_ref(), a2.as_ref());
                let a6 = product(a2.as_ref(), a4.as_ref());
                pows = vec![a2, a4, a6];
            }
        }

        // U = A·W and V, built in place (no temporaries: at n ≥ 128 every allocation is an
        // mmap and its page faults). The odd/even split is shared with the derivative.
        let b = coefficients_as::<T>(m);
        let refs: Vec<MatRef<'_, T>> = pows.iter().map(Mat::as_ref).collect();
        let OddEven {
            odd: mut w,
            even: mut v,
            high,
        } = odd_even(&b, &refs, true);
        if let Some((w1, z1)) = &high {
            let a6 = pows[2].as_ref();
            matmul_acc(w.as_mut(), a6, w1.as_ref(), T::one_impl(), par);
            matmul_acc(v.as_mut(), a6, z1.as_ref(), T::one_impl(), par);
        }
        let w1z1 = high;
        // (v, r) ← (V − U, V + U) = (q, p); R₀ = q⁻¹ p.
        let mut r = product(a.as_ref(), w.as_ref());
        zip!(&mut v, &mut r).for_each(|unzip!(v, u)| {
            let (vv, uu) = (*v, *u);
            *v = vv - uu;
            *u = vv + uu;
        });
        let lu = Lu::new(v);
        lu.solve_in_place(r.as_mut());

        let upper = upper.then(|| A.to_owned());
        if let Some(a0) = &upper {
            fix_triangular(&mut r, a0.as_ref(), s);
        }
        let cache_all = (s as usize).saturating_mul(n * n) <= MAX_CACHED_SQUARE_ENTRIES;
        let mut pade = Pade {
            m,
            s,
            b,
            a,
            pows,
            w,
            w1z1,
            lu,
            squares: Vec::new(),
            upper,
        };
        for i in 0..s {
            let next = pade.square(&r, i);
            if i == 0 || cache_all {
                pade.squares.push(r);
            }
            r = next;
        }
        if s == 0 {
            pade.squares.push(r.clone());
        }
        (pade, r)
    }

    /// `R_{i+1} = R_i²` (with the exact triangular diagonal when `A` is upper triangular).
    pub(crate) fn square(&self, r: &Mat<T>, i: u32) -> Mat<T> {
        let n = r.nrows();
        let mut out = pool::zeros::<T>(n, n);
        matmul_into(out.as_mut(), r.as_ref(), r.as_ref(), par_for(n));
        if let Some(a0) = &self.upper {
            fix_triangular(&mut out, a0.as_ref(), self.s - i - 1);
        }
        out
    }
}

impl<T: Scalar> Drop for Pade<T> {
    /// The cache's matrices go back to the per-thread pool for the next forward pass.
    fn drop(&mut self) {
        let mats = core::mem::take(&mut self.pows)
            .into_iter()
            .chain(core::mem::take(&mut self.squares))
            .chain([
                core::mem::replace(&mut self.a, Mat::new()),
                core::mem::replace(&mut self.w, Mat::new()),
                self.lu.take_matrix(),
            ])
            .chain(self.w1z1.take().into_iter().flat_map(|(w1, z1)| [w1, z1]));
        mats.for_each(pool::recycle);
    }
}

/// `Σ c_k M_k + c₀ I` in one new matrix (one pass, [`lincomb_into`]).
pub(crate) fn lincomb<T: Scalar>(terms: &[(T, MatRef<'_, T>)], c0: T) -> Mat<T> {
    let (n, m) = terms[0].1.shape();
    let mut out = pool::scratch::<T>(n, m);
    lincomb_into(&mut out, terms);
    for i in 0..n.min(m) {
        out[(i, i)] += c0;
    }
    out
}

/// `out ← Σ c·x` in one pass (faer's SIMD `zip!` over every operand at once: each entry of
/// `out` is stored once), for up to six terms; more terms go column by column.
pub(crate) fn lincomb_into<T: Scalar>(out: &mut Mat<T>, t: &[(T, MatRef<'_, T>)]) {
    if T::IS_COMPLEX && lincomb_parts(out, t) {
        return;
    }
    match t {
        [] => out.fill(T::zero_impl()),
        [(a, x)] => zip!(out, x).for_each(|unzip!(o, x)| *o = *a * *x),
        [(a, x), (b, y)] => zip!(out, x, y).for_each(|unzip!(o, x, y)| *o = *a * *x + *b * *y),
        [(a, x), (b, y), (c, z)] => {
            zip!(out, x, y, z).for_each(|unzip!(o, x, y, z)| *o = *a * *x + *b * *y + *c * *z)
        }
        [(a, x), (b, y), (c, z), (d, w)] => zip!(out, x, y, z, w)
            .for_each(|unzip!(o, x, y, z, w)| *o = *a * *x + *b * *y + *c * *z + *d * *w),
        [(a, x), (b, y), (c, z), (d, w), (e, v)] => {
            zip!(out, x, y, z, w, v).for_each(|unzip!(o, x, y, z, w, v)| {
                *o = *a * *x + *b * *y + *c * *z + *d * *w + *e * *v
            })
        }
        [(a, x), (b, y), (c, z), (d, w), (e, v), (f, u)] => {
            zip!(out, x, y, z, w, v, u).for_each(|unzip!(o, x, y, z, w, v, u)| {
                *o = *a * *x + *b * *y + *c * *z + *d * *w + *e * *v + *f * *u
            })
        }
        _ => {
            let mut cols: Vec<(T, &[T])> = Vec::with_capacity(t.len());
            for j in 0..out.ncols() {
                cols.clear();
                cols.extend(t.iter().map(|(c, x)| {
                    let x = x
                        .col(j)
                        .try_as_col_major()
                        .expect("pooled matrices are column-major");
                    (*c, x.as_slice())
                }));
                lincomb_col(out.col_as_slice_mut(j), &cols);
            }
        }
    }
}

/// Complex `out ← Σ c·x` with real `c` (the approximants' coefficients) as a real combination
/// of the interleaved parts, column by column: half the multiplications of complex products.
/// `false` (nothing done) when a coefficient is not real or an operand is not column-major.
fn lincomb_parts<T: Scalar>(out: &mut Mat<T>, t: &[(T, MatRef<'_, T>)]) -> bool {
    let zero = <T::Real as num_traits::Zero>::zero();
    if t.is_empty() || t.iter().any(|(c, x)| c.im() != zero || x.row_stride() != 1) {
        return false;
    }
    let mut cols: Vec<(T::Real, &[T::Real])> = Vec::with_capacity(t.len());
    for j in 0..out.ncols() {
        cols.clear();
        cols.extend(t.iter().map(|(c, x)| {
            let col = x.col(j).try_as_col_major().expect("row stride 1");
            (c.re(), T::as_parts(col.as_slice()))
        }));
        lincomb_col(T::as_parts_mut(out.col_as_slice_mut(j)), &cols);
    }
    true
}

/// `o ← Σ c·x` on a column, eight rows at a time with the sums in registers: each output
/// entry is stored once (interleaving loads of `x` with stores to `o` stalls on 4K aliasing,
/// since every pooled n×n matrix has its column j at the same page offset).
fn lincomb_col<T: Copy + Default + core::ops::Mul<Output = T> + core::ops::AddAssign>(
    o: &mut [T],
    terms: &[(T, &[T])],
) {
    const W: usize = 8;
    let n = o.len();
    let mut i = 0;
    while i + W <= n {
        let mut acc = [T::default(); W];
        for (c, x) in terms {
            let x = &x[i..i + W];
            for k in 0..W {
                acc[k] += *c * x[k];
            }
        }
        o[i..i + W].copy_from_slice(&acc);
        i += W;
    }
    for (r, o) in o.iter_mut().enumerate().skip(i) {
        let mut a = T::default();
        for (c, x) in terms {
            a += *c * x[r];
        }
        *o = a;
    }
}

/// `a ← 2^k a`, exact (k may be large: split so the factor stays a normal number).
pub(crate) fn scale_pow2<T: Scalar>(a: &mut Mat<T>, k: i32) {
    let mut left = k;
    while left != 0 {
        let step = left.clamp(-100, 100);
        *a *= faer::Scale(pow2::<T>(step));
        left -= step;
    }
}

/// Replaces the diagonal and first superdiagonal of `r ≈ exp(2⁻ᵏA)` (A upper triangular) by
/// their exact values (Al-Mohy & Higham 2009, Code Fragment 2.1).
#[allow(non_snake_case)]
pub(crate) fn fix_triangular<T: Scalar>(r: &mut Mat<T>, A: MatRef<'_, T>, k: u32) {
    let n = A.nrows();
    let scale = pow2::<T>(-(k.min(2000) as i32));
    for i in 0..n {
        r[(i, i)] = (A[(i, i)] * scale).exponential();
    }
    for i in 0..n.saturating_sub(1) {
        let (l1, l2, t) = (
            A[(i, i)] * scale,
            A[(i + 1, i + 1)] * scale,
            A[(i, i + 1)] * scale,
        );
        r[(i, i + 1)] = t * exp_divided_difference(l1, l2);
    }
}

/// `(e^a − e^b) / (a − b)` (and `e^a` when `a = b`), accurately: `e^{(a+b)/2} sinh(x)/x`
/// with `x = (a − b)/2` when `|x| ≤ 1` (Higham, *Functions of Matrices*, eq. 10.42), the plain
/// quotient otherwise (no cancellation: `|e^a − e^b| ≥ (1 − e⁻²) max(e^a, e^b)` there).
/// For complex `a`, `b` the same formulas hold with the complex `exp` and `sinh`; the switch
/// is on `|x|`.
pub(crate) fn exp_divided_difference<T: Scalar>(a: T, b: T) -> T {
    let half = T::lit(0.5);
    let x = (a - b) * half;
    if x.modulus() <= real::<T>(1.0) {
        let sinhc = if x == T::zero_impl() {
            T::one_impl()
        } else {
            x.hyperbolic_sine() / x
        };
        ((a + b) * half).exponential() * sinhc
    } else {
        (a.exponential() - b.exponential()) / (a - b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divided_difference_edge_cases() {
        assert_eq!(exp_divided_difference(0.3f64, 0.3), 0.3f64.exp());
        let (a, b) = (1.0f64, 1.0 + 1e-12);
        assert!((exp_divided_difference(a, b) - (1.0f64 + 0.5e-12).exp()).abs() < 1e-15);
        // Large gap: no overflow of sinh although the quotient is finite.
        let v = exp_divided_difference(700.0f64, -800.0);
        assert!(v.is_finite() && (v - 700f64.exp() / 1500.0).abs() <= 1e-15 * v);
    }

    #[test]
    fn params_follow_the_norm() {
        let small = Mat::<f64>::from_fn(3, 3, |i, j| 1e-3 * (i as f64 - j as f64 + 0.5));
        // ‖A‖₁ = 4.5e-3: the cheapest Taylor scheme with θ ≥ 4.5e-3 is T8 (θ = 0.0499).
        assert_eq!(Expm::new(small.as_ref()).params(), (8, 0));
        assert_eq!(
            Expm::try_new_with(small.as_ref(), ExpmFamily::Pade)
                .unwrap()
                .params(),
            (3, 0)
        );
        let big = Mat::<f64>::from_fn(3, 3, |i, j| 10.0 * (i as f64 - 2.0 * j as f64 + 0.5));
        let (m, s) = Expm::new(big.as_ref()).params();
        assert_eq!(m, 30);
        assert!(s >= 3);
        let (m, s) = Expm::try_new_with(big.as_ref(), ExpmFamily::Pade)
            .unwrap()
            .params();
        assert_eq!(m, 13);
        assert!(s >= 3);
    }
}
