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

impl<T: Scalar> ChainResidual<T> {
    /// `L(X_k, Ẋ_k)` for every block of the tangent `xd` (n × nK).
    fn frechets(&self, xd: MatRef<'_, T>) -> Result<Vec<Mat<T>>, TapeError> {
        let n = xd.nrows();
        self.blocks
            .iter()
            .enumerate()
            .map(|(i, f)| {
                f.try_frechet(xd.submatrix(0, i * n, n, n))
                    .map_err(|e| e.with_op("expm_chain").into())
            })
            .collect()
    }

    /// The tangents of `U_k···U₀` for k = 0..K−1 from the blocks' Fréchet derivatives `ls`.
    fn prefix_tangents(&self, ls: &[Mat<T>]) -> Vec<Mat<T>> {
        let mut out: Vec<Mat<T>> = Vec::with_capacity(ls.len());
        out.push(ls[0].clone());
        for i in 1..ls.len() {
            let next = product(ls[i].as_ref(), self.prefixes[i - 1].as_ref())
                + product(self.blocks[i].value(), out[i - 1].as_ref());
            out.push(next);
        }
        out
    }
}

fn parallel(n: usize, k: usize) -> bool {
    k > 1 && k.saturating_mul(n.saturating_pow(3)) >= PARALLEL_WORK
}

impl<T: Scalar> Op<T> for ExpmChain {
    type Residual = ChainResidual<T>;
    /// `U̇` by the product rule over the chain: `Ȧ₀ = L(X₀, Ẋ₀)`,
    /// `Ȧ_k = L(X_k, Ẋ_k)·P_k + U_k·Ȧ_{k−1}`.
    fn jvp(
        &self,
        r: &ChainResidual<T>,
        _: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        t: &[Option<MatRef<'_, T>>],
    ) -> Result<Mat<T>, TapeError> {
        let ls = r.frechets(t[0].expect("a tangent"))?;
        Ok(r.prefix_tangents(&ls).pop().expect("at least one block"))
    }
    /// Per block, `expm`'s second-order rule for `Ū_k = B_k·P_kᴴ` and its tangent
    /// `Ḃ_k·P_kᴴ + B_k·Ṗ_kᴴ`, where `Ḃ_{k−1} = L(X_k, Ẋ_k)ᴴ·B_k + U_kᴴ·Ḃ_k` and `Ṗ_k` is the
    /// tangent of the prefix product.
    fn vjp_jvp(
        &self,
        r: &ChainResidual<T>,
        at: &crate::Tangents<'_, T>,
        g: MatRef<'_, T>,
        gd: Option<MatRef<'_, T>>,
        needs: &[bool],
    ) -> Result<Vec<Option<crate::DualCotangent<T>>>, TapeError> {
        if !needs[0] {
            return Ok(vec![None]);
        }
        let (k, n) = (r.blocks.len(), g.nrows());
        let xd = at.tangent(0);
        let ls = xd.map(|xd| r.frechets(xd)).transpose()?;
        let pd = ls.as_ref().map(|ls| r.prefix_tangents(ls));
        let mut bar = Mat::<T>::zeros(n, n * k);
        let mut dot = Mat::<T>::zeros(n, n * k);
        let mut b = g.to_owned();
        let mut bd = gd.map(|m| m.to_owned());
        for i in (0..k).rev() {
            let (cot, cot_d) = if i == 0 {
                (b.clone(), bd.clone())
            } else {
                let p = r.prefixes[i - 1].as_ref();
                let c = product_a_bh(b.as_ref(), p);
                let c_d = super::sum_terms([
                    bd.as_ref().map(|bd| product_a_bh(bd.as_ref(), p)),
                    pd.as_ref()
                        .map(|pd| product_a_bh(b.as_ref(), pd[i - 1].as_ref())),
                ]);
                (c, c_d)
            };
            let (xb, xbd) = super::expm::adjoint_jvp(
                "expm_chain",
                &r.blocks[i],
                cot.as_ref(),
                xd.map(|m| m.submatrix(0, i * n, n, n)),
                cot_d.as_ref().map(Mat::as_ref),
            )?;
            bar.as_mut().submatrix_mut(0, i * n, n, n).copy_from(xb);
            if let Some(xbd) = xbd {
                dot.as_mut().submatrix_mut(0, i * n, n, n).copy_from(xbd);
            }
            if i > 0 {
                let u = r.blocks[i].value();
                let next_d = super::sum_terms([
                    bd.as_ref().map(|bd| product_ah_b(u, bd.as_ref())),
                    ls.as_ref()
                        .map(|ls| product_ah_b(ls[i].as_ref(), b.as_ref())),
                ]);
                b = product_ah_b(u, b.as_ref());
                bd = next_d;
            }
        }
        Ok(vec![Some((bar, Some(dot)))])
    }
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
