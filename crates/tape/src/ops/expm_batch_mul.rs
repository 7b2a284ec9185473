//! The actions `W_b = exp(X_b)·V_b` of `B` independent exponentials, as ONE node.
//!
//! Forward: [`ExpmBatch`] then one n×k product per block. VJP: `X̄_b = L(X_bᵀ, W̄_b·V_bᵀ)` by
//! the factored adjoint of each block's cache (never the n×n cotangent), `V̄_b = exp(X_b)ᵀ·W̄_b`.
//!
//! Tests: `crates/tape/tests/batch.rs`.
use crate::{IntoVar, Op, Real, TapeError, Var};
use expgrad_linalg::ExpmBatch;
use expgrad_linalg::kernels::gemm;
use faer::{Accum, Mat, MatRef, Par};

/// `[exp(X_1)·V_1 … exp(X_B)·V_B]` (n×(k·B)) from `X` (n×(n·B)) and `V` (n×(k·B)).
/// VJP: `X̄_b = L(X_bᵀ, W̄_bV_bᵀ)` (factored), `V̄_b = exp(X_b)ᵀW̄_b`.
pub struct ExpmBatchMul;

/// The op name in errors.
const OP: &str = "expm_batch_mul";

impl<T: Real> Op<T> for ExpmBatchMul {
    type Residual = ExpmBatch<T>;
    /// `expm_mul`'s forward-mode rule per block.
    fn jvp(
        &self,
        b: &ExpmBatch<T>,
        x: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        t: &[Option<MatRef<'_, T>>],
    ) -> Result<Mat<T>, TapeError> {
        let (n, v) = (b.dim(), x[1]);
        let k = v.ncols() / b.len().max(1);
        let mut out = Mat::zeros(v.nrows(), v.ncols());
        for j in 0..b.len() {
            let w = super::expm_mul::mul_jvp(
                OP,
                b.get(j),
                v.subcols(j * k, k),
                t[0].map(|m| m.subcols(j * n, n)),
                t[1].map(|m| m.subcols(j * k, k)),
            )?;
            out.subcols_mut(j * k, k).copy_from(w);
        }
        Ok(out)
    }
    /// `expm_mul`'s second-order rule per block.
    fn vjp_jvp(
        &self,
        b: &ExpmBatch<T>,
        at: &crate::Tangents<'_, T>,
        g: MatRef<'_, T>,
        gd: Option<MatRef<'_, T>>,
        needs: &[bool],
    ) -> Result<Vec<Option<crate::DualCotangent<T>>>, TapeError> {
        let (n, v) = (b.dim(), at.inputs[1]);
        let k = v.ncols() / b.len().max(1);
        let mut out: Vec<Option<crate::DualCotangent<T>>> = vec![
            needs[0].then(|| (Mat::zeros(n, n * b.len()), Some(Mat::zeros(n, n * b.len())))),
            needs[1].then(|| (Mat::zeros(n, v.ncols()), Some(Mat::zeros(n, v.ncols())))),
        ];
        for j in 0..b.len() {
            fn cols<T>(m: MatRef<'_, T>, j: usize, k: usize) -> MatRef<'_, T> {
                m.subcols(j * k, k)
            }
            let parts = super::expm_mul::mul_vjp_jvp(
                OP,
                b.get(j),
                cols(v, j, k),
                cols(g, j, k),
                [
                    at.tangent(0).map(|m| m.subcols(j * n, n)),
                    at.tangent(1).map(|m| cols(m, j, k)),
                    gd.map(|m| cols(m, j, k)),
                ],
                needs,
            )?;
            for (slot, (part, width)) in out.iter_mut().zip(parts.into_iter().zip([n, k])) {
                let (Some((bar, dot)), Some((pb, pd))) = (slot.as_mut(), part) else {
                    continue;
                };
                bar.subcols_mut(j * width, width).copy_from(pb);
                if let (Some(dot), Some(pd)) = (dot.as_mut(), pd) {
                    dot.subcols_mut(j * width, width).copy_from(pd);
                }
            }
        }
        Ok(out)
    }
    fn name(&self) -> &'static str {
        OP
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ExpmBatch<T>), TapeError> {
        let b = ExpmBatch::try_new(x[0]).map_err(|e| e.with_op(OP))?;
        let w = b.try_mul(x[1]).map_err(|e| e.with_op(OP))?;
        Ok((w, b))
    }
    fn vjp(
        &self,
        b: &ExpmBatch<T>,
        x: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        g: MatRef<'_, T>,
        needs: &[bool],
    ) -> Result<Vec<Option<Mat<T>>>, TapeError> {
        let xbar = match needs[0] {
            true => Some(b.try_adjoint_factored(g, x[1]).map_err(|e| e.with_op(OP))?),
            false => None,
        };
        let vbar = needs[1].then(|| {
            let k = x[1].ncols() / b.len().max(1);
            let mut out = Mat::zeros(g.nrows(), g.ncols());
            for j in 0..b.len() {
                let dst = out.subcols_mut(j * k, k);
                let e = b.get(j).value().transpose();
                gemm(
                    dst,
                    Accum::Replace,
                    e,
                    g.subcols(j * k, k),
                    T::one_impl(),
                    Par::Seq,
                );
            }
            out
        });
        Ok(vec![xbar, vbar])
    }
}

impl<'t, T: Real> Var<'t, T> {
    /// `exp(X_b)·V_b` for every n×n block `X_b` of `self` (n×(n·B)) and block `V_b` of `v`
    /// (n×(k·B), block `b` in columns `b·k..(b+1)·k`), side by side, as one node: the batched
    /// [`Var::expm_mul`], whose gradient w.r.t. each `X_b` uses the rank-k structure of its
    /// cotangent. Panics naming the op and the shapes on a mismatch.
    ///
    /// ```
    /// use expgrad_tape::Tape;
    /// use faer::mat;
    /// let tape = Tape::new();
    /// let x = tape.var(mat![[0.0, 1.0, -1.0, 0.0], [0.0, 0.0, 0.0, 2.0f64]]);
    /// let v = tape.constant(mat![[1.0, 1.0], [1.0, 1.0f64]]);
    /// let w = x.expm_batch_mul(v); // [exp(X_1)·1, exp(X_2)·1]
    /// assert_eq!(w.value()[(0, 0)], 2.0);
    /// ```
    #[track_caller]
    pub fn expm_batch_mul(self, v: impl IntoVar<'t, T>) -> Var<'t, T> {
        self.apply(ExpmBatchMul, &[v.into_var(self.tape)])
    }

    /// Fallible [`Var::expm_batch_mul`].
    pub fn try_expm_batch_mul(self, v: impl IntoVar<'t, T>) -> Result<Var<'t, T>, TapeError> {
        self.try_apply(ExpmBatchMul, &[v.into_var(self.tape)])
    }
}
