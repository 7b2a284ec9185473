//! [`PooledAction`]: an [`ExpmAction`] whose memory returns to a per-thread pool when it is
//! dropped, so that tape nodes rebuilt every iteration (the residual of an op lives in the
//! tape and dies at `clear`) reuse the blocks of the previous iteration without the caller
//! threading an [`ActionWorkspace`] through.

use crate::action::plan::DEFAULT_STORE_BUDGET_BYTES;
use crate::{
    ActionCotangent, ActionWorkspace, ExpmAction, ExpmActionOptions, GradLinOp, LinalgError, Scalar,
};
use core::any::Any;
use core::cell::RefCell;
use core::ops::Deref;
use faer::traits::RealField;
use faer::{Mat, MatRef};

thread_local! {
    /// One workspace per scalar type, per thread.
    static POOL: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
}

fn take<T: RealField + 'static>() -> ActionWorkspace<T> {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        match p.iter().position(|b| b.is::<ActionWorkspace<T>>()) {
            Some(i) => *p.swap_remove(i).downcast().expect("checked type"),
            None => ActionWorkspace::new(),
        }
    })
}

fn give<T: RealField + 'static>(mut ws: ActionWorkspace<T>) {
    // Hold at most the default store budget per thread.
    ws.trim(DEFAULT_STORE_BUDGET_BYTES / core::mem::size_of::<T>().max(1));
    // `try_with`: during thread teardown the pool may already be gone; then just drop.
    let _ = POOL.try_with(|p| p.borrow_mut().push(Box::new(ws)));
}

/// An [`ExpmAction`] taken from and returned to a per-thread [`ActionWorkspace`]: the same
/// values and gradients bitwise (see [`ExpmAction::try_new_in`]), without the first-touch
/// page faults of fresh memory in loops. Dereferences to [`ExpmAction`]. The pool keeps at
/// most [`DEFAULT_STORE_BUDGET_BYTES`] per thread and scalar type.
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
