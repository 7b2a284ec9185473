//! `B` independent exponentials `exp(X_b)`, side by side, one [`Expm`] each: every derivative
//! of the single-matrix cache (Fréchet, adjoint) per block, the batch on all Rayon threads
//! when its work is large enough to pay for the split.
//!
//! Tests: `crates/linalg/tests/batch.rs`.

use super::PARALLEL_WORK;
use crate::error::{LinalgError, unwrap_or_panic};
use crate::kernels::gemm;
use crate::{Expm, Real};
use faer::{Accum, Mat, MatRef, Par};
use rayon::prelude::*;

/// `exp(X_b)` for `B` independent n×n matrices given side by side (n×(n·B), block `b` in
/// columns `b·n..(b+1)·n`), each cached for its derivatives.
///
/// ```
/// use expgrad_linalg::{ExpmBatch, expm};
/// use faer::Mat;
/// let x = Mat::<f64>::from_fn(3, 6, |i, j| 0.1 * (i as f64) - 0.2 * (j as f64 % 3.0));
/// let batch = ExpmBatch::new(x.as_ref());
/// let second = expm(x.subcols(3, 3));
/// assert!((batch.values().subcols(3, 3) - &second).norm_max() < 1e-15);
/// ```
#[derive(Clone, Debug)]
pub struct ExpmBatch<T: Real> {
    n: usize,
    each: Vec<Expm<T>>,
    values: Mat<T>,
}

/// The op name in errors.
const OP: &str = "expm_batch";

/// Whether `B` blocks of order `n` run on all threads.
fn parallel(n: usize, b: usize) -> bool {
    b > 1 && b * n * n * n * 8 >= PARALLEL_WORK && rayon::current_num_threads() > 1
}

/// Checks that `x` is n×(n·B) for `n = x.nrows()` and returns `B`.
fn blocks<T>(x: MatRef<'_, T>) -> Result<usize, LinalgError> {
    let n = x.nrows();
    if n == 0 || x.ncols() % n != 0 {
        return Err(LinalgError::NotSquare {
            op: "expm_batch (n×(n·B): n×n blocks side by side)",
            shape: x.shape(),
        });
    }
    Ok(x.ncols() / n)
}

/// Runs `f` on every block index, in parallel when [`parallel`] says so.
fn map_blocks<R: Send>(n: usize, b: usize, f: impl Fn(usize) -> R + Sync + Send) -> Vec<R> {
    if parallel(n, b) {
        (0..b).into_par_iter().map(f).collect()
    } else {
        (0..b).map(f).collect()
    }
}

impl<T: Real> ExpmBatch<T> {
    /// `exp(X_b)` of every n×n block of `x` (n×(n·B)). Panics like [`ExpmBatch::try_new`].
    #[track_caller]
    pub fn new(x: MatRef<'_, T>) -> Self {
        unwrap_or_panic(Self::try_new(x))
    }

    /// `exp(X_b)` of every n×n block of `x`; `Err` when `x` is not n×(n·B) (n ≥ 1), or like
    /// [`Expm::try_new`] for a block (non-finite, overflow), naming `expm_batch`.
    pub fn try_new(x: MatRef<'_, T>) -> Result<Self, LinalgError> {
        let b = blocks(x)?;
        let n = x.nrows();
        let each = map_blocks(n, b, |k| Expm::try_new(x.subcols(k * n, n)))
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.with_op(OP))?;
        let mut values = Mat::zeros(n, n * b);
        for (k, e) in each.iter().enumerate() {
            values.subcols_mut(k * n, n).copy_from(e.value());
        }
        Ok(Self { n, each, values })
    }

    /// Every `exp(X_b)` side by side (n×(n·B)).
    pub fn values(&self) -> MatRef<'_, T> {
        self.values.as_ref()
    }

    /// The cache of block `b`, for its derivatives.
    pub fn get(&self, b: usize) -> &Expm<T> {
        &self.each[b]
    }

    /// `B`, the number of blocks.
    pub fn len(&self) -> usize {
        self.each.len()
    }

    /// Whether there are no blocks.
    pub fn is_empty(&self) -> bool {
        self.each.is_empty()
    }

    /// `n`, the order of every block.
    pub fn dim(&self) -> usize {
        self.n
    }

    /// `X̄_b = L(X_bᵀ, G_b)` for every block of the cotangent `g` (n×(n·B)), side by side.
    /// Panics like [`ExpmBatch::try_adjoint`].
    #[track_caller]
    pub fn adjoint(&self, g: MatRef<'_, T>) -> Mat<T> {
        unwrap_or_panic(self.try_adjoint(g))
    }

    /// [`ExpmBatch::adjoint`]; `Err` for a cotangent of the wrong shape, or like
    /// [`Expm::try_frechet_adjoint`] for a block.
    pub fn try_adjoint(&self, g: MatRef<'_, T>) -> Result<Mat<T>, LinalgError> {
        let n = self.n;
        if g.shape() != self.values.shape() {
            return Err(LinalgError::ShapeMismatch {
                op: OP,
                lhs: self.values.shape(),
                rhs: g.shape(),
            });
        }
        let parts = map_blocks(n, self.len(), |k| {
            self.each[k].try_frechet_adjoint(g.subcols(k * n, n))
        });
        let mut out = Mat::zeros(n, n * self.len());
        for (k, p) in parts.into_iter().enumerate() {
            out.subcols_mut(k * n, n)
                .copy_from(p.map_err(|e| e.with_op(OP))?);
        }
        Ok(out)
    }

    /// `W_b = exp(X_b)·V_b` for `v` n×(k·B) (block `b` in columns `b·k..(b+1)·k`), side by
    /// side; `Err(ShapeMismatch)` unless `v` has n rows and a multiple of B columns.
    pub fn try_mul(&self, v: MatRef<'_, T>) -> Result<Mat<T>, LinalgError> {
        let k = self.block_cols(v)?;
        let mut out = Mat::zeros(self.n, v.ncols());
        for (j, e) in self.each.iter().enumerate() {
            let dst = out.subcols_mut(j * k, k);
            gemm(
                dst,
                Accum::Replace,
                e.value(),
                v.subcols(j * k, k),
                T::one(),
                Par::Seq,
            );
        }
        Ok(out)
    }

    /// `X̄_b = L(X_bᵀ, U_b·V_bᵀ)` for every block (`u`, `v` both n×(k·B)): the factored adjoint
    /// of [`Expm::try_frechet_adjoint_factored`] per block, side by side (n×(n·B)) — the VJP of
    /// `exp(X_b)·V_b` for the cotangent `U_b`.
    pub fn try_adjoint_factored(
        &self,
        u: MatRef<'_, T>,
        v: MatRef<'_, T>,
    ) -> Result<Mat<T>, LinalgError> {
        let k = self.block_cols(v)?;
        if u.shape() != v.shape() {
            return Err(LinalgError::ShapeMismatch {
                op: OP,
                lhs: u.shape(),
                rhs: v.shape(),
            });
        }
        let n = self.n;
        let parts = map_blocks(n, self.len(), |j| {
            self.each[j].try_frechet_adjoint_factored(u.subcols(j * k, k), v.subcols(j * k, k))
        });
        let mut out = Mat::zeros(n, n * self.len());
        for (j, p) in parts.into_iter().enumerate() {
            out.subcols_mut(j * n, n)
                .copy_from(p.map_err(|e| e.with_op(OP))?);
        }
        Ok(out)
    }

    /// The number of columns `k` of every block of `v` (n×(k·B)).
    fn block_cols(&self, v: MatRef<'_, T>) -> Result<usize, LinalgError> {
        let b = self.len();
        match v.ncols().checked_div(b) {
            Some(k) if v.nrows() == self.n && k * b == v.ncols() => Ok(k),
            _ => Err(LinalgError::ShapeMismatch {
                op: OP,
                lhs: self.values.shape(),
                rhs: v.shape(),
            }),
        }
    }
}
