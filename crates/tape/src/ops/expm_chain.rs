//! The ordered product of exponentials `U = exp(X_{K−1})···exp(X₁)·exp(X₀)` of K square blocks
//! given side by side (`[X₀ | X₁ | … ]`, n × nK), as ONE node: the propagator of a
//! piecewise-constant generator (GRAPE's `U = Π_k exp(−iΔt·H_k)`, a Markov chain observed
//! through K periods).
//!
//! Forward: one cached [`Expm`] per block (in parallel above a size), and the prefix products
//! `P_k = U_{k−1}···U₀` (kept for the reverse pass). VJP, from `Ū`: with `B_{K−1} = Ū` and
//! `B_{k−1} = U_kᴴ·B_k`, the cotangent of `U_k` is `Ū_k = B_k·P_kᴴ` and
//! `X̄_k = L(X_kᴴ, Ū_k)` from block k's cache (`Expm::frechet_adjoint`): 2 products and one
//! cached adjoint per block whatever follows, never the 2n×2n block. Over real scalars `ᴴ` is
//! the transpose.
//!
//! Tests: `crates/tape/tests/complex.rs` (against a chain of `expm`/`matmul` nodes, and
//! gradchecks over f64 and c64).
use super::matmul::{product, product_a_bh, product_ah_b};
use crate::{Op, Scalar, TapeError, Var};
use expgrad_linalg::{Expm, LinalgError};
use faer::{Mat, MatRef};
use rayon::prelude::*;

/// `exp(X_{K−1})···exp(X₀)` of the blocks of an n × nK input. VJP:
/// `X̄_k = L(X_kᴴ, (U_{K−1}···U_{k+1})ᴴ·Ū·(U_{k−1}···U₀)ᴴ)`.
pub struct ExpmChain;

/// Blocks are exponentiated (and their adjoints taken) in parallel when `K·n³` reaches this
/// (about 0.3 ms of work: below it Rayon's dispatch costs more than it saves).
const PARALLEL_WORK: usize = 1 << 18;

/// What the VJP needs: every block's factorisation and the prefix products `P_k` (k ≥ 1).
pub struct ChainResidual<T: Scalar> {
    blocks: Vec<Expm<T>>,
    prefixes: Vec<Mat<T>>,
}

fn parallel(n: usize, k: usize) -> bool {
    k > 1 && k.saturating_mul(n.saturating_pow(3)) >= PARALLEL_WORK
}

impl<T: Scalar> Op<T> for ExpmChain {
    type Residual = ChainResidual<T>;
    fn name(&self) -> &'static str {
        "expm_chain"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ChainResidual<T>), TapeError> {
        let (n, w) = x[0].shape();
        if n == 0 || w % n != 0 {
            return Err(TapeError::ShapeMismatch {
                op: "expm_chain",
                lhs: (n, w),
                rhs: (n, n),
            });
        }
        let k = w / n;
        let block = |i: usize| x[0].submatrix(0, i * n, n, n);
        let blocks: Result<Vec<Expm<T>>, LinalgError> = if parallel(n, k) {
            (0..k)
                .into_par_iter()
                .map(|i| Expm::try_new(block(i)))
                .collect()
        } else {
            (0..k).map(|i| Expm::try_new(block(i))).collect()
        };
        let blocks = blocks.map_err(|e| e.with_op("expm_chain"))?;
        let mut prefixes = Vec::with_capacity(k.saturating_sub(1));
        let mut acc = blocks[0].value().to_owned();
        for b in &blocks[1..] {
            let next = product(b.value(), acc.as_ref());
            prefixes.push(acc);
            acc = next;
        }
        Ok((acc, ChainResidual { blocks, prefixes }))
    }
    fn vjp(
        &self,
        r: &ChainResidual<T>,
        _: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        g: MatRef<'_, T>,
        needs: &[bool],
    ) -> Result<Vec<Option<Mat<T>>>, TapeError> {
        if !needs[0] {
            return Ok(vec![None]);
        }
        let k = r.blocks.len();
        let n = g.nrows();
        // Ū_k = B_k·P_kᴴ, newest block first; B_{k−1} = U_kᴴ·B_k.
        let mut cots: Vec<Mat<T>> = Vec::with_capacity(k);
        let mut b = g.to_owned();
        for i in (0..k).rev() {
            if i == 0 {
                cots.push(b);
                break;
            }
            cots.push(product_a_bh(b.as_ref(), r.prefixes[i - 1].as_ref()));
            b = product_ah_b(r.blocks[i].value(), b.as_ref());
        }
        cots.reverse();
        let adjoint = |i: usize| r.blocks[i].try_frechet_adjoint(cots[i].as_ref());
        let xbars: Result<Vec<Mat<T>>, LinalgError> = if parallel(n, k) {
            (0..k).into_par_iter().map(adjoint).collect()
        } else {
            (0..k).map(adjoint).collect()
        };
        let xbars = xbars.map_err(|e| e.with_op("expm_chain"))?;
        let mut out = Mat::<T>::zeros(n, n * k);
        for (i, xb) in xbars.iter().enumerate() {
            out.as_mut().submatrix_mut(0, i * n, n, n).copy_from(xb);
        }
        Ok(vec![Some(out)])
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// `exp(X_{K−1})···exp(X₁)·exp(X₀)` for `self = [X₀ | X₁ | … | X_{K−1}]` (n × nK), one
    /// node with one cached adjoint per block. Panics naming the shape unless the width is a
    /// multiple of the height, or like [`Var::expm`] for a bad block.
    ///
    /// ```
    /// use expgrad_tape::Tape;
    /// let tape = Tape::new();
    /// let x = tape.var(faer::mat![[0.0, 0.3, 0.1, -0.2], [-0.3, 0.0, 0.4, 0.0f64]]);
    /// let chain = x.expm_chain();
    /// let by_nodes = x.slice(0..2, 2..4).expm().matmul(x.slice(0..2, 0..2).expm());
    /// assert!((chain.value() - by_nodes.value()).norm_max() < 1e-15);
    /// ```
    #[track_caller]
    pub fn expm_chain(self) -> Var<'t, T> {
        self.apply(ExpmChain, &[])
    }
    /// Fallible [`Var::expm_chain`].
    pub fn try_expm_chain(self) -> Result<Var<'t, T>, TapeError> {
        self.try_apply(ExpmChain, &[])
    }
}
