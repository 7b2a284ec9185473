//! The choice of the Padé degree `m` and the scaling `s` (Al-Mohy & Higham 2009, Algorithm
//! 6.1, steps 1–3): `d_k = ‖A^k‖₁^{1/k}` (exact for powers already formed, estimated for the
//! others), the θ_m table, and the over-scaling correction `ℓ(A, m)` from `‖|A|^{2m+1}‖₁`.
//!
//! Tests: `crates/linalg/tests/{degrees,published,extreme}.rs` (the over-scaling cases).

use crate::Scalar;
use crate::expm::pade::{DEGREES, INV_C, theta_table};
use crate::kernels::par_for;
use crate::memory as pool;
use crate::norm::{AbsPowerNorms, EXACT_NORMS_BELOW, log2_norm1, norm1, norm1_of_product};
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
    let (theta, u, top) = theta_table::<T>();
    let log2_u = u.log2();
    let log2_a = log2_norm1(A).to_f64().unwrap();
    let mut abs_powers = AbsPowerNorms::new(A);
    // ℓ(2^-σ A, m) from log2‖|A|^{2m+1}‖₁ (scaling by 2^-σ shifts it by −(2m+1)σ).
    let mut ell = |idx: usize, sigma: f64| -> u32 {
        let m = DEGREES[idx] as f64;
        let abs = abs_powers.log2_norm(DEGREES[idx] * 2 + 1);
        let log2_alpha = abs - (2.0 * m + 1.0) * sigma - INV_C[idx].log2() - (log2_a - sigma);
        let v = ((log2_alpha - log2_u) / (2.0 * m)).ceil();
        if v.is_nan() || v <= 0.0 { 0 } else { v as u32 }
    };
    let root = |x: T, k: f64| x.to_f64().unwrap().powf(1.0 / k);
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
