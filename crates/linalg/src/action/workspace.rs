//! [`ActionWorkspace`]: recycled n×k blocks for the taped action of the exponential.
//!
//! A taped forward pass stores `Σ j_i` blocks of n×k values (200 MB for n = 10⁵ and 255
//! Taylor vectors). Fresh memory costs a page fault per 4 KiB on first touch — measured at
//! 0.45 ms per 800 KB block on the 2-core development box, about 0.7 of the sparse product
//! that filled it. In an optimisation loop the blocks of the previous iteration can be
//! recycled instead ([`ExpmAction::recycle`](crate::ExpmAction::recycle),
//! [`ExpmAction::try_new_in`](crate::ExpmAction::try_new_in)).
//!
//! Tests: `crates/linalg/tests/action_storage.rs`.

use faer::Mat;

/// A pool of n×k blocks reused by [`ExpmAction::try_new_in`](crate::ExpmAction::try_new_in)
/// and refilled by [`ExpmAction::recycle`](crate::ExpmAction::recycle). Blocks of another
/// shape are dropped when a block is requested.
///
/// ```
/// use expgrad_linalg::{ActionWorkspace, ExpmAction, ExpmActionOptions, NoCotangent};
/// let x = faer::mat![[-1.0, 0.5], [0.5, -1.0f64]];
/// let v = faer::mat![[1.0], [0.0f64]];
/// let mut ws = ActionWorkspace::new();
/// for step in 0..3 {
///     let t = 1.0 + step as f64;
///     let act = ExpmAction::new_in(&x, t, v.as_ref(), ExpmActionOptions::default(), &mut ws);
///     let (_vbar, _tbar) = act.vjp(v.as_ref(), &mut NoCotangent);
///     act.recycle(&mut ws); // the next iteration reuses the blocks
///     assert!(ws.blocks() > 0);
/// }
/// ```
#[derive(Debug, Default)]
pub struct ActionWorkspace<T> {
    free: Vec<Mat<T>>,
}

impl<T: faer::traits::ComplexField + 'static> ActionWorkspace<T> {
    /// An empty pool.
    pub fn new() -> Self {
        Self { free: Vec::new() }
    }

    /// Number of blocks held.
    pub fn blocks(&self) -> usize {
        self.free.len()
    }

    /// Number of scalars held.
    pub fn values(&self) -> usize {
        self.free.iter().map(|m| m.nrows() * m.ncols()).sum()
    }

    /// Drops blocks (largest last-in first) until at most `max_values` scalars are held.
    pub fn trim(&mut self, max_values: usize) {
        let mut held: usize = self.free.iter().map(|m| m.nrows() * m.ncols()).sum();
        while held > max_values {
            match self.free.pop() {
                Some(m) => held -= m.nrows() * m.ncols(),
                None => break,
            }
        }
    }

    /// A block of shape `(n, k)` with unspecified content (recycled, or zeros).
    pub(crate) fn take(&mut self, n: usize, k: usize) -> Mat<T> {
        while let Some(m) = self.free.pop() {
            if m.shape() == (n, k) {
                return m;
            }
        }
        Mat::zeros(n, k)
    }

    /// A copy of `src` in a recycled block.
    pub(crate) fn copy_of(&mut self, src: faer::MatRef<'_, T>) -> Mat<T> {
        let mut m = self.take(src.nrows(), src.ncols());
        m.copy_from(src);
        m
    }

    /// Returns a block to the pool.
    pub(crate) fn give(&mut self, m: Mat<T>) {
        if m.nrows() * m.ncols() > 0 {
            self.free.push(m);
        }
    }
}
