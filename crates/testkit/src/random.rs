//! Seeded random numbers and matrices.

use faer::Mat;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::ops::Range;

/// The seeded generator every fixture draws from.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// The two Box–Muller factors `(√(−2 ln u₁), cos 2πu₂)` from two draws, `u₁ ∈ [ε, 1)` first.
fn box_muller(r: &mut StdRng) -> (f64, f64) {
    let (u1, u2): (f64, f64) = (r.random_range(f64::EPSILON..1.0), r.random());
    (
        (-2.0 * u1.ln()).sqrt(),
        (2.0 * std::f64::consts::PI * u2).cos(),
    )
}

/// One standard normal number (Box–Muller, two draws).
pub fn normal(r: &mut StdRng) -> f64 {
    let (radius, c) = box_muller(r);
    radius * c
}

/// An `m×n` matrix of standard normal entries, column by column ([`normal`] per entry).
pub fn randn(r: &mut StdRng, m: usize, n: usize) -> Mat<f64> {
    Mat::from_fn(m, n, |_, _| normal(r))
}

/// An `m×n` matrix of normal entries with standard deviation `scale`, each rounded as
/// `(scale·√(−2 ln u₁))·cos 2πu₂` (the benches' inputs; `scale·normal(r)` rounds differently).
pub fn randn_scaled(r: &mut StdRng, m: usize, n: usize, scale: f64) -> Mat<f64> {
    Mat::from_fn(m, n, |_, _| {
        let (radius, c) = box_muller(r);
        scale * radius * c
    })
}

/// An `m×n` matrix of entries uniform in `range`, from a generator seeded with `seed`.
pub fn uniform_mat(seed: u64, m: usize, n: usize, range: Range<f64>) -> Mat<f64> {
    let mut r = rng(seed);
    Mat::from_fn(m, n, |_, _| r.random_range(range.clone()))
}

/// [`uniform_mat`] on `[−1, 1)`.
pub fn rand_mat(seed: u64, m: usize, n: usize) -> Mat<f64> {
    uniform_mat(seed, m, n, -1.0..1.0)
}

/// A dense `n×n` sparse-patterned nonsymmetric matrix: the diagonal and about `per_row`
/// random positions per row (repeats overwrite), entries uniform in `[−1, 1)`.
pub fn random_sparse(r: &mut StdRng, n: usize, per_row: usize) -> Mat<f64> {
    let mut a = Mat::<f64>::zeros(n, n);
    for i in 0..n {
        a[(i, i)] = r.random_range(-1.0..1.0);
        for _ in 0..per_row {
            let j = r.random_range(0..n);
            a[(i, j)] = r.random_range(-1.0..1.0);
        }
    }
    a
}

/// An `m×n` complex matrix whose real and imaginary parts are standard normal: the real
/// parts of every entry first ([`randn`]), then the imaginary parts.
pub fn crandn(r: &mut StdRng, m: usize, n: usize) -> Mat<faer::c64> {
    let re = randn(r, m, n);
    let im = randn(r, m, n);
    Mat::from_fn(m, n, |i, j| faer::c64::new(re[(i, j)], im[(i, j)]))
}
