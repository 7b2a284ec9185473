//! `[W_0 | … | W_{K−1}]`, `W_k = exp(t_k·X)·V`, at K sorted times as ONE node
//! ([`ExpmActionTimes`](expgrad_linalg::ExpmActionTimes): one action to `t_0`, then one
//! stepping over the span whose outputs are vector combinations of each substep's Taylor
//! vectors; Al-Mohy & Higham 2011, §5). The reverse pass returns `p̄` (through the operand's
//! sink), `V̄` and every `t̄_k` from the cotangents of all K outputs in one backward sweep.
//!
//! Forward mode ([`Op::jvp`]) is the exact tangent of K single-time actions (one
//! [`ExpmAction::try_jvp`](expgrad_linalg::ExpmAction::try_jvp) per time: correct, not a
//! single sweep). Second order ([`Op::vjp_jvp`]) is not implemented: the node returns
//! [`TapeError::NoRule`] (use K [`Var::expm_multiply`] nodes for Hessians).
//!
//! Tests: `crates/tape/tests/expm_multiply_times.rs`, `crates/diag/tests/expm_multiply_times.rs`.
use super::expm_multiply::{ActionOperand, DenseOperand};
use crate::{IntoVar, Op, Scalar, TapeError, Var};
use expgrad_linalg::{
    ActionTangent, ExpmAction, ExpmActionOptions, ExpmActionTimes, LinOp, NoCotangent,
};
use faer::{Mat, MatRef};

/// `[exp(t_0X)V | … | exp(t_{K−1}X)V]` (inputs `[p, V (n×k), t (K×1, sorted)]`, `X` built from
/// `p` by the operand; output n×(k·K)).
pub struct ExpmMultiplyTimes<P> {
    operand: P,
    options: ExpmActionOptions,
}

impl<P> ExpmMultiplyTimes<P> {
    /// The node for `operand`, with the parameter, store and budget options of the forward.
    pub fn new(operand: P, options: ExpmActionOptions) -> Self {
        Self { operand, options }
    }
}

/// The node's name for an operand named `expm_multiply…`.
fn times_name(base: &'static str) -> &'static str {
    match base {
        "expm_multiply" => "expm_multiply_times",
        "expm_multiply_diag" => "expm_multiply_diag_times",
        "expm_multiply_mul_diag" => "expm_multiply_mul_diag_times",
        other => other,
    }
}

impl<T: Scalar, P: ActionOperand<T>> Op<T> for ExpmMultiplyTimes<P> {
    type Residual = ExpmActionTimes<T, P::Op>;
    fn name(&self) -> &'static str {
        times_name(self.operand.name())
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, Self::Residual), TapeError> {
        let name = Op::<T>::name(self);
        let op = self.operand.build(x[0])?;
        let (v, t) = (x[1], x[2]);
        let n = op.dim();
        if v.nrows() != n {
            return Err(TapeError::ShapeMismatch {
                op: name,
                lhs: (n, n),
                rhs: v.shape(),
            });
        }
        if t.ncols() != 1 || t.nrows() == 0 {
            return Err(TapeError::ShapeMismatch {
                op: name,
                lhs: (t.nrows().max(1), 1),
                rhs: t.shape(),
            });
        }
        let times: Vec<T> = t.col(0).iter().copied().collect();
        let action =
            ExpmActionTimes::try_new(op, &times, v, self.options).map_err(|e| e.with_op(name))?;
        Ok((action.value().to_owned(), action))
    }
    fn vjp(
        &self,
        action: &Self::Residual,
        _: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        g: MatRef<'_, T>,
        needs: &[bool],
    ) -> Result<Vec<Option<Mat<T>>>, TapeError> {
        let name = Op::<T>::name(self);
        let (pbar, vbar, tbar) = if needs[0] {
            let mut sink = action.cotangent();
            let (vbar, tbar) = action.try_vjp(g, &mut sink).map_err(|e| e.with_op(name))?;
            (
                Some(self.operand.cotangent(action.operator(), sink)),
                vbar,
                tbar,
            )
        } else {
            let (vbar, tbar) = action
                .try_vjp(g, &mut NoCotangent)
                .map_err(|e| e.with_op(name))?;
            (None, vbar, tbar)
        };
        Ok(vec![
            pbar,
            needs[1].then_some(vbar),
            needs[2].then(|| Mat::from_fn(tbar.len(), 1, |i, _| tbar[i])),
        ])
    }

    /// `Ẇ_k` for every time: the tangent of K single-time actions (exact for those; `K`
    /// forward passes and their tangent sweeps).
    fn jvp(
        &self,
        action: &Self::Residual,
        inputs: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        tangents: &[Option<MatRef<'_, T>>],
    ) -> Result<Mat<T>, TapeError> {
        let name = Op::<T>::name(self);
        let op = action.operator();
        let xd = match tangents.first().copied().flatten() {
            Some(pd) => Some(self.operand.tangent(op, pd)?),
            None => None,
        };
        let v = inputs[1];
        let (n, k) = v.shape();
        let times = action.times();
        let mut out = Mat::zeros(n, k * times.len());
        for (c, &t) in times.iter().enumerate() {
            let single =
                ExpmAction::try_new(op, t, v, self.options).map_err(|e| e.with_op(name))?;
            let td = tangents
                .get(2)
                .copied()
                .flatten()
                .map_or(T::zero_impl(), |t| t[(c, 0)]);
            let dir = ActionTangent {
                x: xd.as_deref(),
                v: tangents[1],
                t: td,
            };
            let wd = single.try_jvp(dir).map_err(|e| e.with_op(name))?;
            out.as_mut().submatrix_mut(0, c * k, n, k).copy_from(&wd);
        }
        Ok(out)
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// `[exp(t_0·self)·v | … | exp(t_{K−1}·self)·v]` (self n×n, v n×k, `t` a K×1 column of
    /// sorted times of any sign; result n×(k·K)) as ONE node: one action to `t_0`, then one
    /// stepping over `t_{K−1} − t_0` whose outputs cost vector combinations, not products
    /// (about the cost of one [`Var::expm_multiply`] at `t_{K−1}`), and one reverse sweep
    /// for `self`, `v` and every `t_k`. Forward mode works (K single-time tangents); second
    /// order returns [`TapeError::NoRule`]. Panics on unsorted or non-finite times or a shape
    /// mismatch; see [`Var::try_expm_multiply_times`].
    ///
    /// ```
    /// use expgrad_tape::Tape;
    /// use faer::mat;
    /// let tape = Tape::new();
    /// let x = tape.var(mat![[-1.0, 0.5], [0.2, -0.3f64]]);
    /// let v = tape.constant(mat![[1.0], [2.0]]);
    /// let t = tape.var(mat![[-0.5], [0.2], [1.0]]);
    /// let w = x.expm_multiply_times(v, t); // 2×3
    /// let w1 = x.expm_multiply(v, tape.constant(mat![[0.2]]));
    /// assert!((w.value().col(1) - w1.value().col(0)).norm_max() < 1e-14);
    /// let g = w.sum().backward();
    /// assert_eq!(g.wrt(t).shape(), (3, 1));
    /// ```
    #[track_caller]
    pub fn expm_multiply_times(self, v: impl IntoVar<'t, T>, t: impl IntoVar<'t, T>) -> Var<'t, T> {
        self.expm_multiply_times_with(v, t, ExpmActionOptions::default())
    }

    /// Fallible [`Var::expm_multiply_times`]: shapes, unsorted times
    /// ([`TapeError::Domain`]), non-finite inputs, overflow, or an exceeded budget, never a
    /// panic or an abort.
    pub fn try_expm_multiply_times(
        self,
        v: impl IntoVar<'t, T>,
        t: impl IntoVar<'t, T>,
    ) -> Result<Var<'t, T>, TapeError> {
        self.try_expm_multiply_times_with(v, t, ExpmActionOptions::default())
    }

    /// [`Var::expm_multiply_times`] with options.
    #[track_caller]
    pub fn expm_multiply_times_with(
        self,
        v: impl IntoVar<'t, T>,
        t: impl IntoVar<'t, T>,
        options: ExpmActionOptions,
    ) -> Var<'t, T> {
        let (v, t) = (v.into_var(self.tape), t.into_var(self.tape));
        self.apply(ExpmMultiplyTimes::new(DenseOperand, options), &[v, t])
    }

    /// Fallible [`Var::expm_multiply_times_with`].
    pub fn try_expm_multiply_times_with(
        self,
        v: impl IntoVar<'t, T>,
        t: impl IntoVar<'t, T>,
        options: ExpmActionOptions,
    ) -> Result<Var<'t, T>, TapeError> {
        let (v, t) = (v.into_var(self.tape), t.into_var(self.tape));
        self.try_apply(ExpmMultiplyTimes::new(DenseOperand, options), &[v, t])
    }
}
