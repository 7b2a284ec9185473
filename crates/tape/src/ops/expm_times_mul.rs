//! The actions `W_b = exp(t_b·Q)·V_b` for many times sharing one generator, as ONE node.
//!
//! Forward: [`ExpmTimes`] then one n×k product per time. VJP: `V̄_b = P_bᵀ·W̄_b`, and the
//! cotangent `P̄_b = W̄_b·V_bᵀ` of every `P_b` through [`ExpmTimes::try_adjoint`]: `Q̄`
//! (summed over the times) and every `t̄_b` in one reverse pass.
//!
//! Tests: `crates/tape/tests/batch.rs`.
use crate::{IntoVar, Op, Real, TapeError, Var};
use expgrad_linalg::ExpmTimes;
use expgrad_linalg::kernels::gemm;
use faer::{Accum, Mat, MatRef, Par};

/// `[exp(t_1·Q)·V_1 … exp(t_B·Q)·V_B]` (n×(k·B)) from `Q` (n×n), the times `t` (B×1) and
/// `V = [V_1 … V_B]` (n×(k·B)). VJP: `V̄_b = P_bᵀW̄_b`; `Q̄`, `t̄` from `P̄_b = W̄_bV_bᵀ`.
pub struct ExpmTimesMul;

/// The op name in errors.
const OP: &str = "expm_times_mul";

impl<T: Real> Op<T> for ExpmTimesMul {
    type Residual = ExpmTimes<T>;
    fn name(&self) -> &'static str {
        OP
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ExpmTimes<T>), TapeError> {
        let (q, t, v) = (x[0], x[1], x[2]);
        let b = t.nrows();
        if (t.ncols() != 1 && b > 0) || v.nrows() != q.nrows() || (b == 0 && v.ncols() > 0) {
            return Err(TapeError::ShapeMismatch {
                op: OP,
                lhs: q.shape(),
                rhs: v.shape(),
            });
        }
        if b > 0 && v.ncols() % b != 0 {
            return Err(TapeError::ShapeMismatch {
                op: OP,
                lhs: t.shape(),
                rhs: v.shape(),
            });
        }
        let times: Vec<T> = t.col(0).iter().copied().collect();
        let p = ExpmTimes::try_new(q, &times).map_err(|e| e.with_op(OP))?;
        let k = v.ncols().checked_div(b).unwrap_or(0);
        let mut w = Mat::zeros(q.nrows(), v.ncols());
        for j in 0..b {
            let vb = v.subcols(j * k, k);
            gemm(
                w.subcols_mut(j * k, k),
                Accum::Replace,
                p.value(j),
                vb,
                T::one_impl(),
                Par::Seq,
            );
        }
        Ok((w, p))
    }
    fn vjp(
        &self,
        p: &ExpmTimes<T>,
        x: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        g: MatRef<'_, T>,
        needs: &[bool],
    ) -> Result<Vec<Option<Mat<T>>>, TapeError> {
        let (n, b, v) = (p.dim(), p.len(), x[2]);
        let k = v.ncols().checked_div(b).unwrap_or(0);
        let (mut qbar, mut tbar) = (None, None);
        if needs[0] || needs[1] {
            let mut pbar = Mat::zeros(n, n * b);
            for j in 0..b {
                let (gb, vb) = (g.subcols(j * k, k), v.subcols(j * k, k));
                gemm(
                    pbar.subcols_mut(j * n, n),
                    Accum::Replace,
                    gb,
                    vb.transpose(),
                    T::one_impl(),
                    Par::Seq,
                );
            }
            let (q, t) = p.try_adjoint(pbar.as_ref()).map_err(|e| e.with_op(OP))?;
            qbar = needs[0].then_some(q);
            tbar = needs[1].then(|| Mat::from_fn(b, 1, |i, _| t[i]));
        }
        let vbar = needs[2].then(|| {
            let mut out = Mat::zeros(n, v.ncols());
            for j in 0..b {
                let gb = g.subcols(j * k, k);
                gemm(
                    out.subcols_mut(j * k, k),
                    Accum::Replace,
                    p.value(j).transpose(),
                    gb,
                    T::one_impl(),
                    Par::Seq,
                );
            }
            out
        });
        Ok(vec![qbar, tbar, vbar])
    }
}

impl<'t, T: Real> Var<'t, T> {
    /// `exp(t_b·self)·V_b` for every time `t_b` of the column `t` (B×1) and block `V_b` of
    /// `v` (n×(k·B), block `b` in columns `b·k..(b+1)·k`), side by side (n×(k·B)), as one
    /// node. The same value as `self.expm_times(t)` followed by one product per block, with
    /// the exponentials never on the tape. Panics naming the op and the shapes on a mismatch.
    ///
    /// ```
    /// use expgrad_tape::Tape;
    /// use faer::mat;
    /// let tape = Tape::new();
    /// let q = tape.var(mat![[-1.0, 1.0], [2.0, -2.0f64]]);
    /// let t = tape.var(mat![[0.1], [2.0f64]]);
    /// let v = tape.constant(mat![[1.0, 0.0], [0.0, 1.0f64]]); // V_1 = e_1, V_2 = e_2
    /// let w = q.expm_times_mul(t, v); // [exp(0.1·Q)·e_1, exp(2·Q)·e_2]
    /// let direct = q.expm_times(t).value();
    /// assert_eq!(w.value()[(1, 1)], direct[(1, 3)]);
    /// ```
    #[track_caller]
    pub fn expm_times_mul(self, t: impl IntoVar<'t, T>, v: impl IntoVar<'t, T>) -> Var<'t, T> {
        let (t, v) = (t.into_var(self.tape), v.into_var(self.tape));
        self.apply(ExpmTimesMul, &[t, v])
    }

    /// Fallible [`Var::expm_times_mul`].
    pub fn try_expm_times_mul(
        self,
        t: impl IntoVar<'t, T>,
        v: impl IntoVar<'t, T>,
    ) -> Result<Var<'t, T>, TapeError> {
        let (t, v) = (t.into_var(self.tape), v.into_var(self.tape));
        self.try_apply(ExpmTimesMul, &[t, v])
    }
}
