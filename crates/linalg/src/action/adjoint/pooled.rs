//! [`PooledAction`]: an [`ExpmAction`] whose memory returns to a per-thread pool when it is
//! dropped, so that tape nodes rebuilt every iteration (the residual of an op lives in the
//! tape and dies at `clear`) reuse the blocks of the previous iteration without the caller
//! threading an [`ActionWorkspace`](crate::ActionWorkspace) through.
//!
//! Tests: through the tape: tape/tests/ops.rs, tape/tests/ergonomics.rs, diag/tests/expm_multiply.rs.

use crate::memory::{give_workspace as give, take_workspace as take};
use crate::{
    ActionCotangent, ActionDualCotangent, ActionTangent, ExpmAction, ExpmActionOptions, GradLinOp,
    LinalgError, Scalar,
};
use core::ops::Deref;
use faer::{Mat, MatRef};

/// An [`ExpmAction`] taken from and returned to a per-thread [`ActionWorkspace`](crate::ActionWorkspace): the same
/// values and gradients bitwise (see [`ExpmAction::try_new_in`]), without the first-touch
/// page faults of fresh memory in loops. Dereferences to [`ExpmAction`]. The blocks live in the
/// crate's one per-thread pool, under its byte budget (256 MiB per thread, shared with the
/// dense forward's work matrices).
///
/// ```
/// use expgrad_linalg::{ExpmActionOptions, PooledAction};
/// let x = faer::mat![[-1.0, 0.5], [0.5, -1.0f64]];
/// let v = faer::mat![[1.0], [0.0f64]];
/// for _ in 0..3 {
///     let act = PooledAction::try_new(&x, 0.5, v.as_ref(), ExpmActionOptions::default())?;
///     let mut xbar = act.cotangent();
///     let (_vbar, _tbar) = act.try_vjp(v.as_ref(), &mut xbar)?; // the pooled reverse pass
/// } // each drop returns the blocks for the next iteration
/// # Ok::<(), expgrad_linalg::LinalgError>(())
/// ```
#[derive(Debug)]
pub struct PooledAction<T: Scalar, Op: GradLinOp<T>>(Option<ExpmAction<T, Op>>);

impl<T: Scalar, Op: GradLinOp<T>> PooledAction<T, Op> {
    /// [`ExpmAction::try_new_in`] with this thread's pool.
    pub fn try_new(
        op: Op,
        t: T,
        v: MatRef<'_, T>,
        options: ExpmActionOptions,
    ) -> Result<Self, LinalgError> {
        let mut ws = take::<T>();
        let action = ExpmAction::try_new_in(op, t, v, options, &mut ws);
        give(ws);
        action.map(|a| Self(Some(a)))
    }

    /// [`ExpmAction::try_vjp_in`] with this thread's pool (shadows [`ExpmAction::try_vjp`]).
    pub fn try_vjp<S>(&self, w_bar: MatRef<'_, T>, sink: &mut S) -> Result<(Mat<T>, T), LinalgError>
    where
        S: ActionCotangent<T> + ?Sized,
    {
        let mut ws = take::<T>();
        let out = self.deref().try_vjp_in(w_bar, sink, &mut ws);
        give(ws);
        out
    }

    /// [`ExpmAction::try_jvp_in`] with this thread's pool (shadows [`ExpmAction::try_jvp`]).
    pub fn try_jvp(&self, dir: ActionTangent<'_, T>) -> Result<Mat<T>, LinalgError> {
        let mut ws = take::<T>();
        let out = self.deref().try_jvp_in(dir, &mut ws);
        give(ws);
        out
    }

    /// [`ExpmAction::try_vjp_jvp_in`] with this thread's pool (shadows
    /// [`ExpmAction::try_vjp_jvp`]).
    pub fn try_vjp_jvp<S, SD>(
        &self,
        w_bar: MatRef<'_, T>,
        w_bar_dot: Option<MatRef<'_, T>>,
        dir: ActionTangent<'_, T>,
        sink: &mut S,
        sink_dot: &mut SD,
    ) -> Result<ActionDualCotangent<T>, LinalgError>
    where
        S: ActionCotangent<T> + ?Sized,
        SD: ActionCotangent<T> + ?Sized,
    {
        let mut ws = take::<T>();
        let out = self
            .deref()
            .try_vjp_jvp_in(w_bar, w_bar_dot, dir, sink, sink_dot, &mut ws);
        give(ws);
        out
    }
}

impl<T: Scalar, Op: GradLinOp<T>> Deref for PooledAction<T, Op> {
    type Target = ExpmAction<T, Op>;
    fn deref(&self) -> &ExpmAction<T, Op> {
        self.0.as_ref().expect("present until drop")
    }
}

impl<T: Scalar, Op: GradLinOp<T>> Drop for PooledAction<T, Op> {
    fn drop(&mut self) {
        if let Some(action) = self.0.take() {
            let mut ws = take::<T>();
            action.recycle(&mut ws);
            give(ws);
        }
    }
}
