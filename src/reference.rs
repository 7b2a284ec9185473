//! Slow reference routes to `J = ∂w/∂d` for `w = exp(Diag(d)·A)·v`, for tests, teaching and
//! benchmarks. The fast route is backprop through the tape (`diag_mul → expm → matmul`).

use crate::linalg::{Expm, expm};
use faer::{Mat, MatRef};

/// `X = Diag(d)·A`.
fn scaled(d: MatRef<'_, f64>, a: MatRef<'_, f64>) -> Mat<f64> {
    Mat::from_fn(a.nrows(), a.ncols(), |i, j| d[(i, 0)] * a[(i, j)])
}

/// Kronecker product `a ⊗ b`.
pub fn kron(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Mat<f64> {
    let (p, q) = b.shape();
    Mat::from_fn(a.nrows() * p, a.ncols() * q, |i, j| {
        a[(i / p, j / q)] * b[(i % p, j % q)]
    })
}

/// `J` column by column: `J[:, k] = L(X, eₖaₖᵀ)·v` (aₖᵀ = row k of A), n Fréchet derivatives
/// from one factored `Expm`. O(n⁴).
///
/// ```
/// use faer::mat;
/// let (d, a, v) = (mat![[1.0], [2.0f64]], mat![[-1.0, 1.0], [1.0, -1.0]], mat![[1.0], [0.0]]);
/// let j = expgrad::reference::frechet_columns_jacobian(d.as_ref(), a.as_ref(), v.as_ref());
/// let k = expgrad::reference::kronecker_jacobian(d.as_ref(), a.as_ref(), v.as_ref());
/// assert!((&j - &k).norm_max() < 1e-14);
/// ```
pub fn frechet_columns_jacobian(
    d: MatRef<'_, f64>,
    a: MatRef<'_, f64>,
    v: MatRef<'_, f64>,
) -> Mat<f64> {
    let n = a.nrows();
    let f = Expm::new(scaled(d, a).as_ref());
    let mut j = Mat::<f64>::zeros(n, n);
    for k in 0..n {
        let e = Mat::<f64>::from_fn(n, n, |i, c| if i == k { a[(k, c)] } else { 0.0 });
        j.col_mut(k).copy_from((f.frechet(e.as_ref()) * v).col(0));
    }
    j
}

/// The Kronecker closed form `J = (vᵀ ⊗ I) K (Aᵀ ⊡ I)`, `K` the upper-right n²×n² block of
/// `exp([[Xᵀ ⊗ I, I], [0, I ⊗ X]])` and `⊡` the Khatri–Rao product (column k of `Aᵀ ⊡ I` is
/// `(row k of A) ⊗ eₖ`). It exponentiates a 2n²×2n² matrix: O(n⁶) time, O(n⁴) memory, for
/// n ≤ 8 only.
pub fn kronecker_jacobian(d: MatRef<'_, f64>, a: MatRef<'_, f64>, v: MatRef<'_, f64>) -> Mat<f64> {
    let n = a.nrows();
    let nn = n * n;
    let x = scaled(d, a);
    let eye = Mat::<f64>::identity(n, n);
    let mut big = Mat::<f64>::zeros(2 * nn, 2 * nn);
    big.submatrix_mut(0, 0, nn, nn)
        .copy_from(kron(x.transpose(), eye.as_ref()));
    big.submatrix_mut(nn, nn, nn, nn)
        .copy_from(kron(eye.as_ref(), x.as_ref()));
    big.submatrix_mut(0, nn, nn, nn)
        .copy_from(Mat::<f64>::identity(nn, nn));
    let k = expm(big.as_ref()).submatrix(0, nn, nn, nn).to_owned();
    let khatri_rao =
        Mat::<f64>::from_fn(nn, n, |r, c| if r % n == c { a[(c, r / n)] } else { 0.0 });
    kron(v.transpose(), eye.as_ref()) * &k * &khatri_rao
}
