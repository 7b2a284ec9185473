//! The GTR rate matrix (Tavaré 1986) on the tape, normalised to one expected substitution per
//! unit time.
//!
//! `Qᵢⱼ = sᵢⱼ·πⱼ` off the diagonal with symmetric exchangeabilities `s` (five free, `s_GT = 1`)
//! and base frequencies `π`; rows sum to 0; then `Q ← Q / μ` with `μ = −Σᵢ πᵢ Qᵢᵢ`, the
//! expected rate, so that branch lengths are expected substitutions per site. Every step,
//! the normalisation included, is a tape op: the gradient with respect to `s` and `π` is
//! exact.

use expgrad::diag::{try_diag, try_mul_diag};
use expgrad::tape::{Tape, TapeError, Var};
use faer::Mat;

/// The exchangeable pairs (states A, C, G, T = 0..4) in the order of the parameters:
/// A↔C, A↔G, A↔T, C↔G, C↔T, and G↔T, whose exchangeability is fixed at 1.
pub const PAIRS: [(usize, usize); 6] = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)];

/// Names of the pairs of [`PAIRS`], for reports.
pub const PAIR_NAMES: [&str; 6] = ["A-C", "A-G", "A-T", "C-G", "C-T", "G-T"];

/// `vec(S)` (column-major 16 × 1) as `M·s₅ + c`: `M` puts the five free exchangeabilities
/// at both their places, `c` the fixed `s_GT = 1`.
fn exchangeability_maps() -> (Mat<f64>, Mat<f64>) {
    let mut m = Mat::<f64>::zeros(16, 5);
    let mut c = Mat::<f64>::zeros(16, 1);
    for (k, &(i, j)) in PAIRS.iter().enumerate() {
        for (r, q) in [(i, j), (j, i)] {
            if k < 5 {
                m[(r + 4 * q, k)] = 1.0;
            } else {
                c[(r + 4 * q, 0)] = 1.0;
            }
        }
    }
    (m, c)
}

/// The normalised GTR generator on the tape, 4 × 4, from the five free exchangeabilities
/// `s` (5 × 1, positive) and the base frequencies `pi` (4 × 1, positive, summing to 1).
pub fn rate_matrix<'t>(s: Var<'t>, pi: Var<'t>) -> Result<Var<'t>, TapeError> {
    let tape = s.tape();
    let (m, c) = exchangeability_maps();
    // S (symmetric, zero diagonal), then Q_off = S·Diag(π).
    let s_full = tape.try_constant(m)?.try_matmul(s)?.try_add(c)?;
    let q_off = try_mul_diag(s_full.try_reshape(4, 4)?, pi)?;
    // Rows summing to zero: Q = Q_off − Diag(Q_off·1).
    let rows = q_off.try_matmul(Mat::from_fn(4, 1, |_, _| 1.0))?;
    let q = q_off.try_sub(try_diag(rows)?)?;
    // μ = −Σ πᵢ Qᵢᵢ = Σ πᵢ (Q_off·1)ᵢ; Q / μ.
    let mu = pi.try_dot(rows)?;
    q.try_scale(tape.scalar(1.0).try_div(mu)?)
}

/// The same generator as plain numbers (the simulator's): exchangeabilities for all six
/// pairs of [`PAIRS`] and frequencies `pi`.
pub fn rate_matrix_value(s: &[f64; 6], pi: &[f64; 4]) -> Mat<f64> {
    let tape = Tape::new();
    let sv = tape.constant(Mat::from_fn(5, 1, |k, _| s[k] / s[5]));
    let pv = tape.constant(Mat::from_fn(4, 1, |i, _| pi[i]));
    // Dividing all six by s_GT leaves the normalised Q unchanged.
    rate_matrix(sv, pv)
        .map(|q| q.value())
        .unwrap_or_else(|_| Mat::zeros(4, 4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_sum_to_zero_and_the_rate_is_one() {
        let pi = [0.1, 0.2, 0.3, 0.4];
        let q = rate_matrix_value(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &pi);
        let mut rate = 0.0;
        for i in 0..4 {
            let row: f64 = (0..4).map(|j| q[(i, j)]).sum();
            assert!(row.abs() < 1e-14);
            rate -= pi[i] * q[(i, i)];
            for j in 0..4 {
                // Reversibility: π_i Q_ij = π_j Q_ji.
                assert!((pi[i] * q[(i, j)] - pi[j] * q[(j, i)]).abs() < 1e-14);
            }
        }
        assert!((rate - 1.0).abs() < 1e-14);
        // Q_GT / Q_AC = (6·π_T)/(1·π_C).
        assert!((q[(2, 3)] / q[(0, 1)] - 6.0 * 0.4 / 0.2).abs() < 1e-12);
    }
}
