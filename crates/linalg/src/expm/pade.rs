//! Tuning constants of the scaling-and-squaring algorithms, in one place with their source.
//!
//! * `b`: coefficients of the diagonal Padé approximants `r_m = p_m / q_m` of `eˣ`,
//!   `p_m(x) = Σ_j b_j xʲ`, `q_m(x) = p_m(−x)` (Higham 2005, eq. 2.11, scaled to integers).
//! * `θ_m`: the largest `‖2⁻ˢA‖` for which `r_m` has relative backward error at most the unit
//!   roundoff `u` (Higham 2005, Table 2.3; Al-Mohy & Higham 2009, Table 3.1). Recomputed here
//!   with exact rational arithmetic by `scripts/theta.py` (150 series terms); the f64 values
//!   agree with the published ones to 15 digits, and the f32 values (`u = 2⁻²⁴`) come from the
//!   same script.
//! * `c_{2m+1} = (m!)² / ((2m)! (2m+1)!)`: the leading coefficient of the backward-error
//!   series, used by the over-scaling correction `ℓ(A, m)` (Al-Mohy & Higham 2009, eq. 5.1).
//!
//! Tests: `crates/linalg/tests/{degrees,published,precision}.rs` (and the unit tests below).

use crate::Scalar;
use crate::expm::lincomb;
use faer::{Mat, MatRef};
use num_traits::Float;

/// The Padé degrees tried, in order.
pub(crate) const DEGREES: [usize; 5] = [3, 5, 7, 9, 13];

/// θ_m for u = 2⁻⁵³ (f64), degrees 3, 5, 7, 9, 13 (as printed in the papers).
#[allow(clippy::excessive_precision)]
pub(crate) const PADE_THETA_F64: [f64; 5] = [
    1.495585217958292e-2,
    2.539398330063230e-1,
    9.504178996162932e-1,
    2.097847961257068e0,
    5.371920351148152e0,
];

/// θ_m for u = 2⁻²⁴ (f32), degrees 3, 5, 7, 9, 13 (`scripts/theta.py`).
#[allow(clippy::excessive_precision)]
pub(crate) const PADE_THETA_F32: [f64; 5] = [
    4.258730034897931e-1,
    1.880152698533769e0,
    3.925724846433284e0,
    6.249156334514102e0,
    1.124873763647540e1,
];

/// `1 / |c_{2m+1}|` for degrees 3, 5, 7, 9, 13.
pub(crate) const INV_C: [f64; 5] = [
    100800.0,
    10059033600.0,
    4487938430976000.0,
    5914384781877411840000.0,
    113250775606021113483283660800000000.0,
];

const B3: [f64; 4] = [120.0, 60.0, 12.0, 1.0];
const B5: [f64; 6] = [30240.0, 15120.0, 3360.0, 420.0, 30.0, 1.0];
const B7: [f64; 8] = [
    17297280.0, 8648640.0, 1995840.0, 277200.0, 25200.0, 1512.0, 56.0, 1.0,
];
const B9: [f64; 10] = [
    17643225600.0,
    8821612800.0,
    2075673600.0,
    302702400.0,
    30270240.0,
    2162160.0,
    110880.0,
    3960.0,
    90.0,
    1.0,
];
const B13: [f64; 14] = [
    64764752532480000.0,
    32382376266240000.0,
    7771770303897600.0,
    1187353796428800.0,
    129060195264000.0,
    10559470521600.0,
    670442572800.0,
    33522128640.0,
    1323241920.0,
    40840800.0,
    960960.0,
    16380.0,
    182.0,
    1.0,
];

/// Padé numerator coefficients `b_0..b_m` of degree `m`.
pub(crate) fn coefficients(m: usize) -> &'static [f64] {
    match m {
        3 => &B3,
        5 => &B5,
        7 => &B7,
        9 => &B9,
        13 => &B13,
        _ => unreachable!("no Padé degree {m}"),
    }
}

/// The θ table, the unit roundoff, and the index in [`DEGREES`] of the degree used with
/// scaling, for `T` (f32-like if its epsilon is ≥ 2⁻²³, else f64).
///
/// In double precision the scaling degree is 13 (Higham 2005, Al-Mohy & Higham 2009). In
/// single precision it is 7, as Higham (2005, §2) recommends: at θ₁₃ = 11.2 the terms of
/// `p₁₃` reach ~10⁴ while `e^{−11}` ~ 10⁻⁵, and the cancellation costs more digits than f32
/// has (measured here: relative error 1.0e-4 at ‖X‖₁ = 60 with degree 13 vs 2.6e-6 with 7).
pub(crate) fn theta_table<T: Float>() -> (&'static [f64; 5], f64, usize) {
    let eps = T::epsilon().to_f64().unwrap();
    if eps >= f64::from(f32::EPSILON) {
        (&PADE_THETA_F32, eps / 2.0, 2)
    } else {
        (&PADE_THETA_F64, eps / 2.0, 4)
    }
}

/// [`coefficients`] converted to `T` (once per [`Expm`](crate::Expm): the cache keeps them).
pub(crate) fn coefficients_as<T: Scalar>(m: usize) -> Vec<T> {
    coefficients(m).iter().map(|&x| T::lit(x)).collect()
}

/// The odd and even parts of `p_m` as linear combinations of the even powers — of `A` in the
/// forward pass (`U = A·odd`, `V = even`), of their Fréchet derivatives `M_k` in the
/// derivative (the same coefficients, no identity term). For `m = 13` (Higham 2005, eq. 2.14)
/// the high halves `W₁ = b₁₃A⁶ + b₁₁A⁴ + b₉A²`, `Z₁ = b₁₂A⁶ + b₁₀A⁴ + b₈A²` are returned
/// apart, for the caller to add `A⁶·W₁`, `A⁶·Z₁` (and, in the derivative, `M₆·W₁`, `M₆·Z₁`).
pub(crate) struct OddEven<T> {
    /// `Σ b_{2k+3} P_k (+ b₁I)`: the low half for `m = 13`.
    pub(crate) odd: Mat<T>,
    /// `Σ b_{2k+2} P_k (+ b₀I)`: the low half for `m = 13`.
    pub(crate) even: Mat<T>,
    /// `(W₁, Z₁)` for `m = 13`.
    pub(crate) high: Option<(Mat<T>, Mat<T>)>,
}

/// The one odd/even assembly of the Padé numerator, shared by the forward pass and Algorithm
/// 6.4's derivative: `b` are the coefficients of degree `m = b.len() − 1`, `pows[k]` the
/// (derivative of the) power `A^{2k+2}`; `identity` adds `b₁I`, `b₀I` (forward only).
pub(crate) fn odd_even<T: Scalar>(b: &[T], pows: &[MatRef<'_, T>], identity: bool) -> OddEven<T> {
    let (c1, c0) = if identity {
        (b[1], b[0])
    } else {
        (T::zero_impl(), T::zero_impl())
    };
    if b.len() == 14 {
        let [p2, p4, p6] = [pows[0], pows[1], pows[2]];
        let w1 = lincomb(&[(b[13], p6), (b[11], p4), (b[9], p2)], T::zero_impl());
        let odd = lincomb(&[(b[7], p6), (b[5], p4), (b[3], p2)], c1);
        let z1 = lincomb(&[(b[12], p6), (b[10], p4), (b[8], p2)], T::zero_impl());
        let even = lincomb(&[(b[6], p6), (b[4], p4), (b[2], p2)], c0);
        OddEven {
            odd,
            even,
            high: Some((w1, z1)),
        }
    } else {
        let part = |shift: usize| -> Vec<(T, MatRef<'_, T>)> {
            pows.iter()
                .enumerate()
                .map(|(k, &p)| (b[2 * k + shift], p))
                .collect()
        };
        OddEven {
            odd: lincomb(&part(3), c1),
            even: lincomb(&part(2), c0),
            high: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn factorial(k: usize) -> f64 {
        (1..=k).map(|x| x as f64).product()
    }

    #[test]
    fn coefficients_are_the_pade_formula() {
        // b_j ∝ (2m − j)! m! / ((2m)! j! (m − j)!), normalised so that b_m = 1.
        for m in DEGREES {
            let b = coefficients(m);
            let raw = |j: usize| {
                factorial(2 * m - j) * factorial(m)
                    / (factorial(2 * m) * factorial(j) * factorial(m - j))
            };
            for (j, bj) in b.iter().enumerate() {
                let want = raw(j) / raw(m);
                assert!(
                    (bj - want).abs() <= 1e-14 * want,
                    "m={m} j={j}: {bj} vs {want}"
                );
            }
        }
    }

    #[test]
    fn inverse_leading_coefficients() {
        for (i, m) in DEGREES.into_iter().enumerate() {
            let want = factorial(2 * m) * factorial(2 * m + 1) / (factorial(m) * factorial(m));
            assert!((INV_C[i] - want).abs() <= 1e-13 * want, "m={m}");
        }
    }

    #[test]
    fn precision_picks_its_table() {
        assert_eq!(theta_table::<f64>().0[4], PADE_THETA_F64[4]);
        assert_eq!(theta_table::<f32>().0[4], PADE_THETA_F32[4]);
        assert_eq!((theta_table::<f64>().2, theta_table::<f32>().2), (4, 2));
        assert_eq!(theta_table::<f64>().1, 2f64.powi(-53));
    }
}
