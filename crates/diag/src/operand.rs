//! [`SparseOrDense`]: the constant matrix `A` of `exp(t·Diag(d)·A)·V`, dense or sparse.
use expgrad_linalg::LinOp;
use expgrad_tape::Scalar;
use faer::sparse::{SparseColMat, SparseRowMat};
use faer::{Mat, MatMut, MatRef};

/// A constant n×n matrix for [`expm_multiply_diag`](crate::expm_multiply_diag): dense, or
/// sparse in faer's CSR or CSC form. Share one between many tape nodes with an
/// [`Arc`](std::sync::Arc): the ops hold a reference count, never a copy.
///
/// ```
/// use expgrad_diag::SparseOrDense;
/// use faer::sparse::{SparseRowMat, Triplet};
/// let a = SparseRowMat::<usize, f64>::try_new_from_triplets(
///     2, 2, &[Triplet::new(0, 1, 1.0), Triplet::new(1, 0, 2.0)]).unwrap();
/// let a: SparseOrDense<f64> = a.into();
/// assert_eq!(a.nrows(), 2);
/// ```
#[derive(Clone, Debug)]
pub enum SparseOrDense<T> {
    /// A dense matrix.
    Dense(Mat<T>),
    /// Compressed sparse rows.
    Csr(SparseRowMat<usize, T>),
    /// Compressed sparse columns.
    Csc(SparseColMat<usize, T>),
}

impl<T: Scalar> SparseOrDense<T> {
    /// Number of rows.
    pub fn nrows(&self) -> usize {
        self.shape().0
    }

    /// `(nrows, ncols)`.
    pub fn shape(&self) -> (usize, usize) {
        match self {
            Self::Dense(m) => m.shape(),
            Self::Csr(m) => (m.nrows(), m.ncols()),
            Self::Csc(m) => (m.nrows(), m.ncols()),
        }
    }
}

impl<T> From<Mat<T>> for SparseOrDense<T> {
    fn from(m: Mat<T>) -> Self {
        Self::Dense(m)
    }
}

impl<T> From<SparseRowMat<usize, T>> for SparseOrDense<T> {
    fn from(m: SparseRowMat<usize, T>) -> Self {
        Self::Csr(m)
    }
}

impl<T> From<SparseColMat<usize, T>> for SparseOrDense<T> {
    fn from(m: SparseColMat<usize, T>) -> Self {
        Self::Csc(m)
    }
}

/// Every method forwards to the stored matrix (so exact norms, the diagonal and `|A|`
/// products stay available to the parameter selection).
macro_rules! forward {
    ($self:ident, $m:ident => $e:expr) => {
        match $self {
            SparseOrDense::Dense(x) => {
                let $m = x.as_ref();
                $e
            }
            SparseOrDense::Csr(x) => {
                let $m = x;
                $e
            }
            SparseOrDense::Csc(x) => {
                let $m = x;
                $e
            }
        }
    };
}

impl<T: Scalar> LinOp<T> for SparseOrDense<T> {
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
    fn diagonal(&self) -> Option<Vec<T>> {
        forward!(self, m => LinOp::diagonal(&m))
    }
    fn abs_apply(&self, x: &[T], transpose: bool) -> Option<Vec<T>> {
        forward!(self, m => m.abs_apply(x, transpose))
    }
    fn all_finite(&self) -> bool {
        forward!(self, m => LinOp::all_finite(&m))
    }
}
