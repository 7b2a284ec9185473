//! The choice of the Padé degree `m` and the scaling `s` (Al-Mohy & Higham 2009, Algorithm
//! 6.1, steps 1–3): `d_k = ‖A^k‖₁^{1/k}` (exact for powers already formed, estimated for the
//! others), the θ_m table, and the over-scaling correction `ℓ(A, m)` from `‖|A|^{2m+1}‖₁`.
//!
//! Tests: `crates/linalg/tests/{degrees,published,extreme}.rs` (the over-scaling cases).

use crate::Scalar;
use crate::expm::pade::{DEGREES, INV_C, theta_table};
use crate::expm::taylor::schemes::schemes;
use crate::kernels::par_for;
use crate::memory as pool;
use crate::norm::{AbsPowerNorms, EXACT_NORMS_BELOW, log2_norm1, norm1, norm1_of_product};
use crate::scalar::to_f64;
use faer::{Mat, MatRef};

/// What [`select`] chose.
pub(crate) struct Selection<T> {
    /// Padé degree.
    pub(crate) m: usize,
    /// Number of squarings.
    pub(crate) s: u32,
    /// The unscaled even powers `A², A⁴, …` the degree needs (three for m = 13).
    pub(crate) pows: Vec<Mat<T>>,
}

/// Chooses the Padé degree `m` and the scaling `s` for `A` (n×n, finite, not diagonal) and
/// returns the unscaled even powers the chosen degree needs.
#[allow(non_snake_case)]
pub(crate) fn select<T: Scalar>(A: MatRef<'_, T>) -> Selection<T> {
    let n = A.nrows();
    let par = par_for(n);
    let (theta, u, top) = theta_table::<T::Real>();
    let log2_u = u.log2();
    let log2_a = to_f64(log2_norm1(A));
    let mut abs_powers = AbsPowerNorms::new(A);
    // ℓ(2^-σ A, m) from log2‖|A|^{2m+1}‖₁ (scaling by 2^-σ shifts it by −(2m+1)σ).
    let mut ell = |idx: usize, sigma: f64| -> u32 {
        let m = DEGREES[idx] as f64;
        let abs = abs_powers.log2_norm(DEGREES[idx] * 2 + 1);
        let log2_alpha = abs - (2.0 * m + 1.0) * sigma - INV_C[idx].log2() - (log2_a - sigma);
        let v = ((log2_alpha - log2_u) / (2.0 * m)).ceil();
        if v.is_nan() || v <= 0.0 { 0 } else { v as u32 }
    };
    let root = |x: T::Real, k: f64| to_f64(x).powf(1.0 / k);
    let product = |x: MatRef<'_, T>, y: MatRef<'_, T>| pool::product(x, y, par);

    // Powers A², A⁴, A⁶ (pows[0..3]); for small n they are formed at once so that every
    // d_k is exact (cheaper there than the estimator), otherwise as the degree needs them.
    let exact = n <= EXACT_NORMS_BELOW;
    let mut pows = vec![product(A, A)];
    if exact {
        pows.push(product(pows[0].as_ref(), pows[0].as_ref()));
        pows.push(product(pows[0].as_ref(), pows[1].as_ref()));
    }
    let mut d6 = if exact {
        root(norm1(pows[2].as_ref()), 6.0)
    } else {
        root(norm1_of_product(&[pows[0].as_ref(); 3]), 6.0)
    };
    let d4 = if exact {
        root(norm1(pows[1].as_ref()), 4.0)
    } else {
        root(norm1_of_product(&[pows[0].as_ref(); 2]), 4.0)
    };
    let mut chosen: Option<usize> = None;
    let mut a8: Option<Mat<T>> = None;
    if d4.max(d6) <= theta[0] && ell(0, 0.0) == 0 {
        chosen = Some(0);
    }
    let mut s = 0u32;
    if chosen.is_none() {
        if pows.len() < 2 {
            pows.push(product(pows[0].as_ref(), pows[0].as_ref()));
        }
        let d4 = root(norm1(pows[1].as_ref()), 4.0);
        if d4.max(d6) <= theta[1] && ell(1, 0.0) == 0 {
            chosen = Some(1);
        }
    }
    if chosen.is_none() {
        if pows.len() < 3 {
            pows.push(product(pows[0].as_ref(), pows[1].as_ref()));
        }
        d6 = root(norm1(pows[2].as_ref()), 6.0);
        let d8 = if exact {
            let p8 = product(pows[1].as_ref(), pows[1].as_ref());
            let d8 = root(norm1(p8.as_ref()), 8.0);
            a8 = Some(p8);
            d8
        } else {
            root(norm1_of_product(&[pows[1].as_ref(); 2]), 8.0)
        };
        let eta3 = d6.max(d8);
        for idx in [2, 3] {
            if idx <= top && eta3 <= theta[idx] && ell(idx, 0.0) == 0 {
                chosen = Some(idx);
                break;
            }
        }
        if chosen.is_none() {
            let d10 = root(
                norm1_of_product(&[pows[1].as_ref(), pows[2].as_ref()]),
                10.0,
            );
            let eta4 = d8.max(d10);
            // η₅ ≤ ‖A‖₁ always; taking the min also covers powers that overflowed.
            let log2_eta5 = eta3.min(eta4).log2().min(log2_a);
            let s0 = (log2_eta5 - theta[top].log2()).ceil().max(0.0);
            let s0 = if s0.is_finite() { s0 as u32 } else { 0 };
            s = s0 + ell(top, f64::from(s0));
            chosen = Some(top);
        }
    }
    let m = DEGREES[chosen.unwrap()];
    if m == 9 {
        pows.push(
            a8.take()
                .unwrap_or_else(|| product(pows[1].as_ref(), pows[1].as_ref())),
        );
    }
    let needed = if m == 13 { 3 } else { (m - 1) / 2 };
    pows.truncate(needed);
    Selection { m, s, pows }
}

/// Which family of approximants the scaling-and-squaring forward pass uses.
///
/// `Auto` (the default) picks, per matrix, the approximant with the fewest matrix products
/// at backward error ≤ u (docs/math.md, "Choosing the approximant"), and takes exactly
/// anti-Hermitian complex input with `‖X‖₁` above the top Taylor scheme's θ through the
/// eigendecomposition of `iX` instead (docs/math.md §17); the others force one family of
/// scaling and squaring (for comparisons and tests). Diagonal input is exponentiated
/// entrywise whatever the choice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExpmFamily {
    /// Fewest products: an optimised Taylor scheme, or Padé for triangular input; the
    /// eigendecomposition for anti-Hermitian input of large norm.
    #[default]
    Auto,
    /// Padé approximants (Al-Mohy & Higham 2009).
    Pade,
    /// Optimised Taylor polynomials (Bader, Blanes & Casas 2019; Sastre, Ibáñez & Defez
    /// 2019).
    Taylor,
}

/// What [`choose`] decided.
pub(crate) enum Choice<T> {
    /// Padé, with its selection.
    Pade(Selection<T>),
    /// A Taylor scheme: id, squarings, and the unscaled powers `(k, A^k)` already formed.
    Taylor(usize, u32, Vec<(usize, Mat<T>)>),
}

/// Chooses the approximant, degree and scaling for `A` (n×n, finite, not diagonal).
///
/// Cost model, in n×n products: a Taylor scheme costs its product count + s; Padé degree 13
/// costs 6 + 4/3 (the LU and the n-column solve) + s. Across an octave of the norm the two are
/// within one product of each other, but Padé's selection needs A⁴, A⁶ where the Taylor schemes
/// need A², A³ (A⁴, A⁵), so the powers that decide one family are wasted by the other; the
/// rule takes Taylor for dense input (no estimator at all: every quantity below is exact) and
/// keeps Padé for triangular input, where its squarings recompute the exact diagonal.
///
/// Taylor: `α = min(‖A‖₁, max(d₂, d₃), max(d₃, d₄), max(d₄, d₅))` with `d_k = ‖A^k‖₁^{1/k}`
/// exact from the powers the schemes form anyway; each pair bounds `‖A^k‖^{1/k}` for every
/// `k ≥ p(p−1)` (Al-Mohy & Higham 2009, Lemma 4.1), which covers the backward-error series of
/// every scheme from T8 on. The cheapest scheme with `α ≤ θ_m`, else the top scheme with
/// `s = ⌈log₂(α/θ_m)⌉`. There is no `|A|`-based over-scaling correction `ℓ` (the Padé rule's
/// guard against rounding in `p_m`, `q_m`): Bader–Blanes–Casas and Sastre et al. select `s`
/// from `‖A^k‖` alone, and measured here the correction adds three squarings to random dense
/// matrices (n = 64…256) and raises their error from 1.2–1.9e-16 to 2.9e-15–9.1e-15 against
/// an extended-precision reference (docs/math.md, §13).
#[allow(non_snake_case)]
pub(crate) fn choose<T: Scalar>(
    A: MatRef<'_, T>,
    triangular: bool,
    family: ExpmFamily,
) -> Choice<T> {
    if family == ExpmFamily::Pade || (family == ExpmFamily::Auto && triangular) {
        return Choice::Pade(select(A));
    }
    let n = A.nrows();
    let par = par_for(n);
    let product = |x: MatRef<'_, T>, y: MatRef<'_, T>| pool::product(x, y, par);
    let mut pows: Vec<(usize, Mat<T>)> = Vec::new();
    let log2_a = to_f64(log2_norm1(A));
    let (id, s) = choose_taylor::<T>(log2_a, |k| {
        let m = match k {
            2 => product(A, A),
            3 => product(pows[0].1.as_ref(), A),
            4 => product(pows[0].1.as_ref(), pows[0].1.as_ref()),
            _ => product(pows[2].1.as_ref(), A),
        };
        let l = to_f64(log2_norm1(m.as_ref()));
        pows.push((k, m));
        l
    });
    Choice::Taylor(id, s, pows)
}

/// The Taylor half of [`choose`], over any storage of the powers (the general path's pooled
/// matrices, the small path's stack arrays): `log2_a = log2 ‖A‖₁`, and `power(k)` forms
/// `A^k` for k = 2, 3, 4, 5, in that order and each at most once (`A² = A·A`, `A³ = A²·A`,
/// `A⁴ = A²·A²`, `A⁵ = A⁴·A`), and returns `log2 ‖A^k‖₁`. Returns the scheme id and `s`.
pub(crate) fn choose_taylor<T: Scalar>(
    log2_a: f64,
    mut power: impl FnMut(usize) -> f64,
) -> (usize, u32) {
    let all = schemes();
    let (top, single) = taylor_top::<T>();
    let theta = |id: usize| {
        if single {
            all[id].theta_f32
        } else {
            all[id].theta_f64
        }
    };
    // Stage 1: ‖A‖₁ alone, for the schemes that need at most A² (T1–T8); from T12 on the
    // schemes form A² and A³ anyway, whose exact norms may allow a cheaper one.
    for id in 0..=3.min(top) {
        if log2_a <= theta(id).log2() {
            return (id, 0);
        }
    }
    // Stage 2: A², A³ and their exact norms.
    let (l2, l3) = (power(2) / 2.0, power(3) / 3.0);
    let mut log2_alpha = log2_a.min(l2.max(l3));
    for id in 3..=top.min(5) {
        if log2_alpha <= theta(id).log2() {
            return (id, 0);
        }
    }
    if top >= 6 {
        // Stage 3: the Sastre schemes form A⁴ (and A⁵): refine α with them.
        let l4 = power(4) / 4.0;
        log2_alpha = log2_alpha.min(l3.max(l4));
        if log2_alpha <= theta(6).log2() {
            return (6, 0);
        }
        let l5 = power(5) / 5.0;
        log2_alpha = log2_alpha.min(l4.max(l5));
    }
    let s = (log2_alpha - theta(top).log2()).ceil().max(0.0);
    let s = if s.is_finite() { s as u32 } else { 0 };
    (top, s)
}

/// The top Taylor scheme for `T` and whether `T` is single precision. In single precision the
/// top scheme is T18 (as PyTorch uses); the Sastre schemes' large intermediate coefficients are
/// analysed for double precision only.
fn taylor_top<T: Scalar>() -> (usize, bool) {
    let eps = to_f64(<T::Real as num_traits::Float>::epsilon());
    let single = eps >= f64::from(f32::EPSILON);
    (if single { 5 } else { schemes().len() - 1 }, single)
}

/// `θ` of the top Taylor scheme for `T` (3.54 for f64/c64, 3.01 for f32/c32): `‖A‖₁` at or
/// below it guarantees `s = 0` in [`choose_taylor`] (`α ≤ ‖A‖₁`).
pub(crate) fn largest_theta<T: Scalar>() -> f64 {
    let (top, single) = taylor_top::<T>();
    let scheme = &schemes()[top];
    if single {
        scheme.theta_f32
    } else {
        scheme.theta_f64
    }
}
