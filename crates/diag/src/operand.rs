//! [`SparseOrDense`]: the constant matrix `A` of `exp(t·Diag(d)·A)·V`, dense or sparse.
use expgrad_linalg::LinOp;
use expgrad_tape::Real;
use faer::sparse::{SparseColMat, SparseRowMat};
use faer::{Mat, MatMut, MatRef};

/// A constant n×n matrix for [`expm_multiply_diag`](crate::expm_multiply_diag): dense, or
/// sparse in faer's CSR or CSC form. Share one between many tape nodes with an
/// [`Arc`](std::sync::Arc): the ops hold a reference count, never a copy. Its diagonal and
/// whether every entry is finite are computed once, at construction, not at every node.
///
/// ```
/// use expgrad_diag::{SparseOrDense, Storage};
/// use faer::sparse::{SparseRowMat, Triplet};
/// let a = SparseRowMat::<usize, f64>::try_new_from_triplets(
///     2, 2, &[Triplet::new(0, 1, 1.0), Triplet::new(1, 0, 2.0)]).unwrap();
/// let a: SparseOrDense<f64> = a.into();
/// assert_eq!(a.nrows(), 2);
/// assert!(matches!(a.storage(), Storage::Csr(_)));
/// ```
#[derive(Clone, Debug)]
pub struct SparseOrDense<T> {
    storage: Storage<T>,
    diag: Vec<T>,
    finite: bool,
}

/// How a [`SparseOrDense`] stores its matrix.
#[derive(Clone, Debug)]
pub enum Storage<T> {
    /// A dense matrix.
    Dense(Mat<T>),
    /// Compressed sparse rows.
    Csr(SparseRowMat<usize, T>),
    /// Compressed sparse columns.
    Csc(SparseColMat<usize, T>),
}

impl<T: Real> SparseOrDense<T> {
    /// Wraps `storage`, scanning it once for its diagonal and finiteness.
    pub fn new(storage: Storage<T>) -> Self {
        let (diag, finite) = match &storage {
            Storage::Dense(m) => (LinOp::diagonal(&m.as_ref()), LinOp::all_finite(&m.as_ref())),
            Storage::Csr(m) => (LinOp::diagonal(m), LinOp::all_finite(m)),
            Storage::Csc(m) => (LinOp::diagonal(m), LinOp::all_finite(m)),
        };
        Self {
            storage,
            diag: diag.unwrap_or_default(),
            finite,
        }
    }

    /// The stored matrix.
    pub fn storage(&self) -> &Storage<T> {
        &self.storage
    }

    /// Number of rows.
    pub fn nrows(&self) -> usize {
        self.shape().0
    }

    /// `(nrows, ncols)`.
    pub fn shape(&self) -> (usize, usize) {
        match &self.storage {
            Storage::Dense(m) => m.shape(),
            Storage::Csr(m) => (m.nrows(), m.ncols()),
            Storage::Csc(m) => (m.nrows(), m.ncols()),
        }
    }
}

impl<T: Real> From<Mat<T>> for SparseOrDense<T> {
    fn from(m: Mat<T>) -> Self {
        Self::new(Storage::Dense(m))
    }
}

impl<T: Real> From<SparseRowMat<usize, T>> for SparseOrDense<T> {
    fn from(m: SparseRowMat<usize, T>) -> Self {
        Self::new(Storage::Csr(m))
    }
}

impl<T: Real> From<SparseColMat<usize, T>> for SparseOrDense<T> {
    fn from(m: SparseColMat<usize, T>) -> Self {
        Self::new(Storage::Csc(m))
    }
}

/// Every method forwards to the stored matrix (so exact norms, the diagonal and `|A|`
/// products stay available to the parameter selection).
macro_rules! forward {
    ($self:ident, $m:ident => $e:expr) => {
        match &$self.storage {
            Storage::Dense(x) => {
                let $m = x.as_ref();
                $e
            }
            Storage::Csr(x) => {
                let $m = x;
                $e
            }
            Storage::Csc(x) => {
                let $m = x;
                $e
            }
        }
    };
}

impl<T: Real> LinOp<T> for SparseOrDense<T> {
    fn dim(&self) -> usize {
        forward!(self, m => m.dim())
    }
    fn shape(&self) -> (usize, usize) {
        forward!(self, m => LinOp::shape(&m))
    }
    fn apply(&self, out: MatMut<'_, T>, x: MatRef<'_, T>) {
        forward!(self, m => m.apply(out, x))
    }
    fn apply_transpose(&self, out: MatMut<'_, T>, x: MatRef<'_, T>) {
        forward!(self, m => m.apply_transpose(out, x))
    }
    fn trace(&self) -> T {
        forward!(self, m => LinOp::trace(&m))
    }
    fn norm1(&self) -> Option<T> {
        forward!(self, m => LinOp::norm1(&m))
    }
    fn norm_inf(&self) -> Option<T> {
        forward!(self, m => LinOp::norm_inf(&m))
    }
    /// The diagonal computed at construction (O(n) copy, no scan).
    fn diagonal(&self) -> Option<Vec<T>> {
        Some(self.diag.clone())
    }
    fn abs_apply(&self, x: &[T], transpose: bool) -> Option<Vec<T>> {
        forward!(self, m => m.abs_apply(x, transpose))
    }
    /// Computed at construction: O(1).
    fn all_finite(&self) -> bool {
        self.finite
    }
}
