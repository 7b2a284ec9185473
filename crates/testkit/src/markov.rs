//! Markov generators `Q`: nonnegative rates off the diagonal, rows summing to zero. The three
//! random models differ (and so do their draws); each keeps the exact draws of the test or
//! bench it came from.

use crate::random::rng;
use crate::sparse::Triplets;
use faer::Mat;
use faer::sparse::{SparseRowMat, Triplet};
use rand::Rng;
use rand::rngs::StdRng;

/// Dense `n×n`: per row, 4 random targets `j ≠ i` (a repeated target is overwritten, a draw
/// of `i` itself is skipped) with rates uniform in `[0, 2)`; diagonal `−Σ_{j≠i} q_ij`.
pub fn markov_dense(r: &mut StdRng, n: usize) -> Mat<f64> {
    let mut q = Mat::<f64>::zeros(n, n);
    for i in 0..n {
        for _ in 0..4 {
            let j = r.random_range(0..n);
            if j != i {
                q[(i, j)] = r.random_range(0.0..2.0);
            }
        }
        let s: f64 = (0..n).filter(|&j| j != i).map(|j| q[(i, j)]).sum();
        q[(i, i)] = -s;
    }
    q
}

/// CSR `n×n` (n ≥ 5): per row, exactly 4 distinct targets `j ≠ i` with rates
/// `0.5 + U(0, 1)`; diagonal minus the row sum.
pub fn markov_csr(r: &mut StdRng, n: usize) -> SparseRowMat<usize, f64> {
    let mut trip = Vec::with_capacity(5 * n);
    for i in 0..n {
        let mut cols = [usize::MAX; 4];
        let mut sum = 0.0;
        for q in 0..4 {
            let j = loop {
                let j = r.random_range(0..n);
                if j != i && !cols[..q].contains(&j) {
                    break j;
                }
            };
            cols[q] = j;
            let rate = 0.5 + r.random::<f64>();
            sum += rate;
            trip.push(Triplet::new(i, j, rate));
        }
        trip.push(Triplet::new(i, i, -sum));
    }
    Triplets::new(n, trip).csr()
}

/// Dense `n×n` generator on a ring with a chord: row `i` has rates uniform in `[0.5, 2)` to
/// `i + 1`, `i − 1` and `7i + 3` (mod n; added up where they coincide, skipped where equal to
/// `i`), from a generator seeded with `seed`.
pub fn ring_generator(n: usize, seed: u64) -> Mat<f64> {
    let mut r = rng(seed);
    let mut a = Mat::zeros(n, n);
    for i in 0..n {
        for j in [(i + 1) % n, (i + n - 1) % n, (i * 7 + 3) % n] {
            if j != i {
                a[(i, j)] += r.random_range(0.5..2.0);
            }
        }
        let s: f64 = (0..n).filter(|&j| j != i).map(|j| a[(i, j)]).sum();
        a[(i, i)] = -s;
    }
    a
}

/// Turns a square `a` into a generator in place: off-diagonal entries `|a_ij|`, diagonal minus
/// their row sum (summed left to right).
pub fn into_generator(a: &mut Mat<f64>) {
    let n = a.nrows();
    for i in 0..n {
        let mut sum = 0.0;
        for j in 0..n {
            if i != j {
                a[(i, j)] = a[(i, j)].abs();
                sum += a[(i, j)];
            }
        }
        a[(i, i)] = -sum;
    }
}
