//! `W = exp(t·X)·V` as ONE node, for any operator `X` built from the node's first input: the
//! truncated-Taylor action (Al-Mohy & Higham 2011) and its exact discrete adjoint
//! ([`ExpmAction`](expgrad_linalg::ExpmAction), which owns the operator), `X̄` handed term by
//! term to the sink the operator builds and turned into the first input's cotangent by the
//! [`ActionOperand`]. The tape supplies [`DenseOperand`] (a dense tracked `X`);
//! `expgrad-diag` supplies `Diag(d)·A` through the same trait.
//!
//! Forward mode and second order ([`Op::jvp`], [`Op::vjp_jvp`]) are the exact tangents of the
//! same Taylor steps and of the same reverse pass (frozen plan and early termination;
//! [`ExpmAction::try_jvp`](expgrad_linalg::ExpmAction::try_jvp),
//! [`ExpmAction::try_vjp_jvp`](expgrad_linalg::ExpmAction::try_vjp_jvp), docs/math.md §8),
//! for every operand that provides its tangent operator ([`ActionOperand::tangent`]).
//!
//! Tests: `crates/tape/tests/{ops,ergonomics,second_order_action}.rs`,
//! `crates/diag/tests/{expm_multiply,second_order}.rs`.
use crate::op::{DualCotangent, Tangents};
use crate::{IntoVar, Op, Scalar, TapeError, Var};
use expgrad_linalg::{
    ActionTangent, ExpmActionOptions, GradLinOp, LinOp, NoCotangent, PooledAction,
};
use faer::{Mat, MatRef};

/// What the action node needs of its operator: how to build `X` from the node's first input,
/// and how to turn the operator's `X̄` sink into that input's cotangent.
pub trait ActionOperand<T: Scalar>: 'static {
    /// The operator built from the first input (owned by the node's residual).
    type Op: GradLinOp<T> + 'static;
    /// Name of the node, in errors.
    fn name(&self) -> &'static str;
    /// `X` from the first input's value; shape errors name [`name`](Self::name).
    fn build(&self, input: MatRef<'_, T>) -> Result<Self::Op, TapeError>;
    /// The first input's cotangent (of its shape) from the accumulated sink.
    fn cotangent(&self, op: &Self::Op, sink: <Self::Op as GradLinOp<T>>::Cotangent) -> Mat<T>;

    /// The tangent operator `Ẋ = dX/dp · ṗ` for the first input's tangent `ṗ` (of the input's
    /// shape), for forward mode and second order. The second-order rule assumes `X` affine in
    /// `p` (true of the built-in operands: a dense `X`, `A₀ + Σ u_jA_j`, `Diag(d)·A`): the
    /// tangent of `p̄` is then [`cotangent`](Self::cotangent) applied to the sink of `X̄̇`.
    /// The default returns [`TapeError::NoRule`] (reverse mode still works).
    fn tangent(
        &self,
        op: &Self::Op,
        input_tangent: MatRef<'_, T>,
    ) -> Result<Box<dyn LinOp<T>>, TapeError> {
        let _ = (op, input_tangent);
        Err(TapeError::NoRule {
            op: self.name(),
            rule: "jvp",
        })
    }
}

/// A dense tracked `X` (n×n): the operator is a copy of `X`, `X̄` is formed densely (`2n²k`
/// flops per Taylor term).
#[derive(Clone, Copy, Debug, Default)]
pub struct DenseOperand;

impl<T: Scalar> ActionOperand<T> for DenseOperand {
    type Op = Mat<T>;
    fn name(&self) -> &'static str {
        "expm_multiply"
    }
    fn build(&self, x: MatRef<'_, T>) -> Result<Mat<T>, TapeError> {
        if x.nrows() != x.ncols() {
            return Err(TapeError::NotSquare {
                op: "expm_multiply",
                shape: x.shape(),
            });
        }
        Ok(x.to_owned())
    }
    fn cotangent(&self, _: &Mat<T>, sink: expgrad_linalg::DenseCotangent<T>) -> Mat<T> {
        sink.into_value()
    }
    /// `Ẋ` itself (dense).
    fn tangent(&self, op: &Mat<T>, xdot: MatRef<'_, T>) -> Result<Box<dyn LinOp<T>>, TapeError> {
        if xdot.shape() != op.shape() {
            return Err(TapeError::ShapeMismatch {
                op: "expm_multiply",
                lhs: op.shape(),
                rhs: xdot.shape(),
            });
        }
        Ok(Box::new(xdot.to_owned()))
    }
}

/// `W = exp(t·X)·V` (inputs `[p, V (n×k), t (1×1)]`, `X` built from `p` by the operand). VJP:
/// `p̄` (through the operator's sink), `V̄`, `t̄` from the discrete adjoint of the forward
/// recurrence, in one reverse pass.
pub struct ExpmMultiply<P> {
    operand: P,
    options: ExpmActionOptions,
}

impl<P> ExpmMultiply<P> {
    /// The node for `operand`, with the parameter, store and budget options of the forward.
    pub fn new(operand: P, options: ExpmActionOptions) -> Self {
        Self { operand, options }
    }
}

/// The tangent operator `Ẋ` (when the operand input has a tangent) and `ṫ`.
type Direction<T> = (Option<Box<dyn LinOp<T>>>, T);

impl<P> ExpmMultiply<P> {
    /// The action's direction from the node's input tangents (`Ẋ` built by the operand).
    fn direction<T: Scalar>(
        &self,
        action: &PooledAction<T, P::Op>,
        tangents: &[Option<MatRef<'_, T>>],
    ) -> Result<Direction<T>, TapeError>
    where
        P: ActionOperand<T>,
    {
        let xd = match tangents.first().copied().flatten() {
            Some(pd) => Some(self.operand.tangent(action.operator(), pd)?),
            None => None,
        };
        let td = tangents
            .get(2)
            .copied()
            .flatten()
            .map_or(T::zero_impl(), |t| t[(0, 0)]);
        Ok((xd, td))
    }
}

impl<T: Scalar, P: ActionOperand<T>> Op<T> for ExpmMultiply<P> {
    type Residual = PooledAction<T, P::Op>;
    fn name(&self) -> &'static str {
        self.operand.name()
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, Self::Residual), TapeError> {
        let name = self.operand.name();
        let op = self.operand.build(x[0])?;
        let (v, t) = (x[1], x[2]);
        let n = op.dim();
        for (shape, want) in [(v.shape(), (n, v.ncols())), (t.shape(), (1, 1))] {
            if shape != want {
                return Err(TapeError::ShapeMismatch {
                    op: name,
                    lhs: (n, n),
                    rhs: shape,
                });
            }
        }
        let action =
            PooledAction::try_new(op, t[(0, 0)], v, self.options).map_err(|e| e.with_op(name))?;
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
        let name = self.operand.name();
        let (pbar, vbar, tbar) = if needs[0] {
            let mut sink = action.cotangent();
            let (vbar, tbar) = action.try_vjp(g, &mut sink).map_err(|e| e.with_op(name))?;
            let pbar = self.operand.cotangent(action.operator(), sink);
            (Some(pbar), vbar, tbar)
        } else {
            let (vbar, tbar) = action
                .try_vjp(g, &mut NoCotangent)
                .map_err(|e| e.with_op(name))?;
            (None, vbar, tbar)
        };
        Ok(vec![
            pbar,
            needs[1].then_some(vbar),
            needs[2].then(|| Mat::from_fn(1, 1, |_, _| tbar)),
        ])
    }

    /// `Ẇ`: the tangent of the same Taylor steps (exact; `2–3·k·Σ j_i` products).
    fn jvp(
        &self,
        action: &Self::Residual,
        _: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        tangents: &[Option<MatRef<'_, T>>],
    ) -> Result<Mat<T>, TapeError> {
        let name = self.operand.name();
        let (xd, td) = self.direction(action, tangents)?;
        let dir = ActionTangent {
            x: xd.as_deref(),
            v: tangents[1],
            t: td,
        };
        Ok(action.try_jvp(dir).map_err(|e| e.with_op(name))?)
    }

    /// The reverse pass and its tangent (forward over the exact reverse pass).
    fn vjp_jvp(
        &self,
        action: &Self::Residual,
        at: &Tangents<'_, T>,
        g: MatRef<'_, T>,
        gd: Option<MatRef<'_, T>>,
        needs: &[bool],
    ) -> Result<Vec<Option<DualCotangent<T>>>, TapeError> {
        let name = self.operand.name();
        let (xd, td) = self.direction(action, at.tangents)?;
        let dir = ActionTangent {
            x: xd.as_deref(),
            v: at.tangent(1),
            t: td,
        };
        let (pbar, r) = if needs[0] {
            let (mut sink, mut sink_dot) = (action.cotangent(), action.cotangent());
            let r = action
                .try_vjp_jvp(g, gd, dir, &mut sink, &mut sink_dot)
                .map_err(|e| e.with_op(name))?;
            let op = action.operator();
            let pbar = self.operand.cotangent(op, sink);
            let pbar_dot = self.operand.cotangent(op, sink_dot);
            (Some((pbar, Some(pbar_dot))), r)
        } else {
            let r = action
                .try_vjp_jvp(g, gd, dir, &mut NoCotangent, &mut NoCotangent)
                .map_err(|e| e.with_op(name))?;
            (None, r)
        };
        let scalar = |x: T| Mat::from_fn(1, 1, |_, _| x);
        Ok(vec![
            pbar,
            needs[1].then_some((r.v_bar, Some(r.v_bar_dot))),
            needs[2].then(|| (scalar(r.t_bar), Some(scalar(r.t_bar_dot)))),
        ])
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// `exp(t·self)·v` (self n×n, v n×k, t 1×1) as one node, by the action of the exponential
    /// (truncated Taylor, Al-Mohy & Higham 2011): only products of `self` with n×k blocks in
    /// the forward, and the exact discrete adjoint in the reverse. Prefer it to
    /// `self.scale(t).expm().matmul(v)` when n is large and k small; for a sparse or
    /// diagonally scaled constant matrix see `expgrad_diag::expm_multiply_diag`. Panics naming
    /// the op and the shapes on a mismatch.
    ///
    /// ```
    /// use expgrad_tape::Tape;
    /// use faer::mat;
    /// let tape = Tape::new();
    /// let x = tape.var(mat![[-1.0, 0.5], [0.2, -0.3f64]]);
    /// let (v, t) = (tape.constant(mat![[1.0], [2.0]]), tape.var(mat![[0.8]]));
    /// let w = x.expm_multiply(v, t);
    /// let w2 = x.scale(0.8).expm().matmul(v);
    /// assert!((w.value() - w2.value()).norm_max() < 1e-14);
    /// let g = w.sum().backward();
    /// let g2 = w2.sum().backward();
    /// assert!((g.wrt(x) - g2.wrt(x)).norm_max() < 1e-13);
    /// ```
    #[track_caller]
    pub fn expm_multiply(self, v: impl IntoVar<'t, T>, t: impl IntoVar<'t, T>) -> Var<'t, T> {
        self.expm_multiply_with(v, t, ExpmActionOptions::default())
    }

    /// Fallible [`Var::expm_multiply`]: shape errors, non-finite inputs, overflow, or an
    /// exceeded [`ActionBudget`](expgrad_linalg::ActionBudget) (huge `|t|·‖X‖`) as a
    /// [`TapeError`], never a panic or an abort.
    pub fn try_expm_multiply(
        self,
        v: impl IntoVar<'t, T>,
        t: impl IntoVar<'t, T>,
    ) -> Result<Var<'t, T>, TapeError> {
        self.try_expm_multiply_with(v, t, ExpmActionOptions::default())
    }

    /// [`Var::expm_multiply`] with the parameter, store and budget options of the forward.
    #[track_caller]
    pub fn expm_multiply_with(
        self,
        v: impl IntoVar<'t, T>,
        t: impl IntoVar<'t, T>,
        options: ExpmActionOptions,
    ) -> Var<'t, T> {
        let (v, t) = (v.into_var(self.tape), t.into_var(self.tape));
        self.apply(ExpmMultiply::new(DenseOperand, options), &[v, t])
    }

    /// Fallible [`Var::expm_multiply_with`].
    pub fn try_expm_multiply_with(
        self,
        v: impl IntoVar<'t, T>,
        t: impl IntoVar<'t, T>,
        options: ExpmActionOptions,
    ) -> Result<Var<'t, T>, TapeError> {
        let (v, t) = (v.into_var(self.tape), t.into_var(self.tape));
        self.try_apply(ExpmMultiply::new(DenseOperand, options), &[v, t])
    }
}
