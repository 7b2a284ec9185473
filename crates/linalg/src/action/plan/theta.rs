//! The Taylor θ_m tables of Al-Mohy & Higham (2011), m = 1..55: tuning constants in one place.
//!
//! θ_m is the largest θ with `h̃_{m+1}(θ)/θ ≤ tol`, where `h_{m+1}(x) = log(e^{−x} T_m(x)) =
//! Σ_{k≥m+1} c_k x^k`, `h̃_{m+1}(x) = Σ |c_k| x^k` and `T_m` is the degree-m truncated Taylor
//! series of `eˣ` (Al-Mohy & Higham, *Computing the action of the matrix exponential*, SIAM J.
//! Sci. Comput. 33(2), 2011, §3, eq. 3.5). If `‖s⁻¹A‖ ≤ θ_m` then `T_m(s⁻¹A)^s = e^{A+ΔA}` with
//! `‖ΔA‖ ≤ tol·‖A‖`.
//!
//! Recomputed by `scripts/theta_taylor.py` in 100-digit arithmetic (series truncated after
//! 400 terms; 250 terms agree to 14 digits). The f64 table (`tol = 2⁻⁵³`) agrees with the
//! three-digit values of Higham, *Functions of Matrices*, Table A.3 (m ≤ 30) and Al-Mohy &
//! Higham (2011), Table 3.1 (m = 35..55), except m = 1 (2.22e-16 here vs 2.29e-16 printed;
//! analytically θ₁ → 2·tol = 2⁻⁵²) and m = 8 (4.991e-2 vs 5.00e-2 printed); both of ours are
//! the smaller, i.e. the safe side. The f32 table (`tol = 2⁻²⁴`) agrees with the single
//! precision column of Table 3.1 (m = 5, 10, ..., 55) to the two printed digits.

/// Largest Taylor degree considered (`m_max` of the paper).
pub(crate) const M_MAX: usize = 55;

/// Largest power `p` whose norm `‖A^p‖^{1/p}` the degree selection estimates (`p_max`).
pub(crate) const P_MAX: usize = 8;

/// θ_m, m = 1..55, for `tol = 2⁻⁵³` (f64); index `m − 1`.
#[allow(clippy::excessive_precision)]
pub(crate) const TAYLOR_THETA_F64: [f64; 55] = [
    2.2204460492503128e-16, // m = 1
    2.5809568029717672e-8,  // m = 2
    1.3863478661191213e-5,  // m = 3
    3.3971688399769619e-4,  // m = 4
    2.4008763578872741e-3,  // m = 5
    9.0656564075951024e-3,  // m = 6
    2.3844555325002736e-2,  // m = 7
    4.9912288711153227e-2,  // m = 8
    8.9577602032233427e-2,  // m = 9
    1.4418297616143779e-1,  // m = 10
    2.1423580684517107e-1,  // m = 11
    2.9961589138115805e-1,  // m = 12
    3.9977753363167951e-1,  // m = 13
    5.1391469361242938e-1,  // m = 14
    6.4108352330411986e-1,  // m = 15
    7.8028742566265743e-1,  // m = 16
    9.305328460786568e-1,   // m = 17
    1.0908637192900362,     // m = 18
    1.2603810606426388,     // m = 19
    1.4382525968043369,     // m = 20
    1.6237159502358215,     // m = 21
    1.8160778162150856,     // m = 22
    2.0147107809446162,     // m = 23
    2.2190488693650898,     // m = 24
    2.4285825244428264,     // m = 25
    2.6428534574594353,     // m = 26
    2.861449633934264,      // m = 27
    3.084000544989162,      // m = 28
    3.3101728398902707,     // m = 29
    3.5396663487436893,     // m = 30
    3.7722104956817509,     // m = 31
    4.0075610861180401,     // m = 32
    4.2454974425796962,     // m = 33
    4.4858198594473684,     // m = 34
    4.7283473457935393,     // m = 35
    4.9729156261919817,     // m = 36
    5.2193753710840583,     // m = 37
    5.4675906305245443,     // m = 38
    5.7174374475720128,     // m = 39
    5.9688026300418488,     // m = 40
    6.2215826616898912,     // m = 41
    6.4756827360799844,     // m = 42
    6.7310158983810242,     // m = 43
    6.98750228213063,       // m = 44
    7.2450684295979513,     // m = 45
    7.5036466857888639,     // m = 46
    7.7631746573779871,     // m = 47
    8.0235947289399796,     // m = 48
    8.2848536298039166,     // m = 49
    8.5469020456849333,     // m = 50
    8.8096942699713221,     // m = 51
    9.0731878901761446,     // m = 52
    9.337343505612014,      // m = 53
    9.6021244728265573,     // m = 54
    9.8674966757534013,     // m = 55
];
/// θ_m, m = 1..55, for `tol = 2⁻²⁴` (f32); index `m − 1`.
#[allow(clippy::excessive_precision)]
pub(crate) const TAYLOR_THETA_F32: [f64; 55] = [
    1.1920928007687877e-7, // m = 1
    5.9788588938052333e-4, // m = 2
    1.1233864735286707e-2, // m = 3
    5.1166193634450862e-2, // m = 4
    1.3084871645994704e-1, // m = 5
    2.4952893228466977e-1, // m = 6
    4.0145824235104805e-1, // m = 7
    5.8005246276887681e-1, // m = 8
    7.795113374358031e-1,  // m = 9
    9.9518407900044571e-1, // m = 10
    1.2234795424241428,    // m = 11
    1.4616615072090336,    // m = 12
    1.7076485296087012,    // m = 13
    1.959850585959898,     // m = 14
    2.2170443949747203,    // m = 15
    2.4782808775219714,    // m = 16
    2.7428171126987797,    // m = 17
    3.0100663628176343,    // m = 18
    3.279561212635997,     // m = 19
    3.5509262147064952,    // m = 20
    3.8238574254509657,    // m = 21
    4.0981069721915061,    // m = 22
    4.3734713118405008,    // m = 23
    4.6497822241007574,    // m = 24
    4.9268998437559112,    // m = 25
    5.2047072280123603,    // m = 26
    5.4831060876586346,    // m = 27
    5.7620134084477692,    // m = 28
    6.0413587581925707,    // m = 29
    6.3210821263019612,    // m = 30
    6.6011321795011621,    // m = 31
    6.8814648452097189,    // m = 32
    7.1620421544877596,    // m = 33
    7.4428312919365974,    // m = 34
    7.7238038115539917,    // m = 35
    8.0049349864362868,    // m = 36
    8.2862032670021655,    // m = 37
    8.5675898276625768,    // m = 38
    8.8490781859239503,    // m = 39
    9.1306538810901003,    // m = 40
    9.4123042022194159,    // m = 41
    9.6940179569630125,    // m = 42
    9.975785274470677,     // m = 43
    1.0257597436797492e+1, // m = 44
    1.0539446734242168e+1, // m = 45
    1.0821326340852155e+1, // m = 46
    1.1103230206980685e+1, // m = 47
    1.1385152966309136e+1, // m = 48
    1.1667089855178801e+1, // m = 49
    1.1949036642428966e+1, // m = 50
    1.2230989568228125e+1, // m = 51
    1.2512945290624417e+1, // m = 52
    1.2794900838739449e+1, // m = 53
    1.3076853571694221e+1, // m = 54
    1.3358801142493045e+1, // m = 55
];

/// The θ table and the unit roundoff (the early-termination tolerance) for `T`: the f32
/// table when `T`'s epsilon is at least `f32::EPSILON`, else the f64 table.
pub(crate) fn taylor_theta<T: num_traits::Float>() -> (&'static [f64; M_MAX], f64) {
    let eps = T::epsilon().to_f64().unwrap_or(f64::EPSILON);
    if eps >= f64::from(f32::EPSILON) {
        (&TAYLOR_THETA_F32, eps / 2.0)
    } else {
        (&TAYLOR_THETA_F64, eps / 2.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Published values: Higham, *Functions of Matrices*, Table A.3 (m ≤ 30, f64, three
    /// digits) and Al-Mohy & Higham (2011), Table 3.1 (f64 and f32, two digits). Each must
    /// match to half a unit of its last printed digit (`half`).
    #[test]
    fn tables_match_the_published_digits() {
        let f64_printed: [(usize, f64, f64); 17] = [
            (2, 2.58e-8, 0.005e-8),
            (3, 1.39e-5, 0.005e-5),
            (4, 3.40e-4, 0.005e-4),
            (5, 2.40e-3, 0.005e-3),
            (6, 9.07e-3, 0.005e-3),
            (7, 2.38e-2, 0.005e-2),
            (9, 8.96e-2, 0.005e-2),
            (10, 1.44e-1, 0.005e-1),
            (15, 6.41e-1, 0.005e-1),
            (20, 1.44, 0.005),
            (25, 2.43, 0.005),
            (30, 3.54, 0.005),
            (35, 4.7, 0.05),
            (40, 6.0, 0.05),
            (45, 7.2, 0.05),
            (50, 8.5, 0.05),
            (55, 9.9, 0.05),
        ];
        for (m, v, half) in f64_printed {
            let got = TAYLOR_THETA_F64[m - 1];
            assert!((got - v).abs() <= half, "f64 m={m}: {got} vs {v}");
        }
        let f32_printed: [(usize, f64, f64); 11] = [
            (5, 1.3e-1, 0.05e-1),
            (10, 1.0, 0.05),
            (15, 2.2, 0.05),
            (20, 3.6, 0.05),
            (25, 4.9, 0.05),
            (30, 6.3, 0.05),
            (35, 7.7, 0.05),
            (40, 9.1, 0.05),
            (45, 1.1e1, 0.05e1),
            (50, 1.2e1, 0.05e1),
            (55, 1.3e1, 0.05e1),
        ];
        for (m, v, half) in f32_printed {
            let got = TAYLOR_THETA_F32[m - 1];
            assert!((got - v).abs() <= half, "f32 m={m}: {got} vs {v}");
        }
    }

    #[test]
    fn tables_increase_and_f32_is_larger() {
        for m in 1..M_MAX {
            assert!(
                TAYLOR_THETA_F64[m] > TAYLOR_THETA_F64[m - 1]
                    && TAYLOR_THETA_F32[m] > TAYLOR_THETA_F32[m - 1]
            );
            assert!(TAYLOR_THETA_F32[m] > TAYLOR_THETA_F64[m]);
        }
        // θ₁ = 2·tol to first order (h₂(x)/x = −x/2 + O(x²)).
        assert!((TAYLOR_THETA_F64[0] / 2f64.powi(-52) - 1.0).abs() < 1e-6);
        assert_eq!(taylor_theta::<f32>().0[54], TAYLOR_THETA_F32[54]);
        assert_eq!(taylor_theta::<f64>().1, 2f64.powi(-53));
    }
}
