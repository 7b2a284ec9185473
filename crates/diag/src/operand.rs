//! [`SparseOrDense`]: the constant matrix `A` of `exp(t·Diag(d)·A)·V`, dense or sparse.
use expgrad_linalg::LinOp;
use expgrad_tape::Real;
use faer::sparse::{SparseColMat, SparseRowMat, SymbolicSparseColMat, SymbolicSparseRowMat};
use faer::{Mat, MatMut, MatRef};
use std::sync::OnceLock;

/// A constant n×n matrix for [`expm_multiply_diag`](crate::expm_multiply_diag): dense, or
/// sparse in faer's CSR or CSC form. Share one between many tape nodes with an
/// [`Arc`](std::sync::Arc): the ops hold a reference count, never a copy. Its diagonal and
/// whether every entry is finite are computed once, at construction, not at every node.
///
/// A sparse matrix with fewer than 2³² rows and stored entries also keeps a copy with 32-bit
/// indices (a quarter less memory traffic per stored entry than faer's `usize` indices), and,
/// at its first transposed product, a copy in the other orientation (CSC for a CSR matrix)
/// when its slices are regular enough, so that both `A·x` and `Aᵀ·x` are gathers: one dot
/// product per output entry, split across the rayon threads with bitwise the same result for
/// every thread count. Otherwise the transposed product scatters, split across the threads
/// into per-thread partials summed in a fixed order: deterministic for a given thread count,
/// rounded differently from one thread. The copies cost 12 bytes per stored entry each; on
/// one thread the products are bitwise those of the stored matrix.
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
    fast: Option<Fast<T>>,
}

/// The 32-bit copies of a sparse matrix (see [`SparseOrDense`]).
#[derive(Clone, Debug)]
enum Fast<T> {
    /// `a` = the CSR matrix; `t` = its CSC copy (gathers `Aᵀ·x`), built at first use;
    /// `None` if the allocation failed or its slice lengths are irregular (see [`regular`]):
    /// the scatter of `a` is used.
    Csr {
        a: SparseRowMat<u32, T>,
        t: OnceLock<Option<SparseColMat<u32, T>>>,
    },
    /// `a` = the CSC matrix; `t` = its CSR copy (gathers `A·x`).
    Csc {
        a: SparseColMat<u32, T>,
        t: OnceLock<Option<SparseRowMat<u32, T>>>,
    },
}

/// Whether the slice lengths of a compressed copy are regular enough for its gather to beat
/// the scatter of the stored matrix: at most a quarter of consecutive slices differ in length.
/// A gather's inner loop runs once per stored entry of its slice, and a length that changes
/// from slice to slice is a mispredicted branch (~20 cycles) per slice: on the Markov
/// generator (4 random rates per row) the CSC gather took 1.04 ms against 0.61 ms for the
/// CSR scatter, while on the Laplacian (lengths 5 but at the boundary) 0.31 ms against 0.45.
fn regular(ptr: &[u32]) -> bool {
    let len = |w: &[u32]| w[1] - w[0];
    let lens: Vec<u32> = ptr.windows(2).map(len).collect();
    let changes = lens.windows(2).filter(|w| w[0] != w[1]).count();
    4 * changes <= lens.len()
}

fn to_u32(v: &[usize]) -> Option<Vec<u32>> {
    v.iter().map(|&x| u32::try_from(x).ok()).collect()
}

impl<T: Real> Fast<T> {
    fn new(storage: &Storage<T>) -> Option<Self> {
        match storage {
            Storage::Dense(_) => None,
            Storage::Csr(m) => {
                let s = m.symbolic();
                u32::try_from(m.nrows().max(m.ncols())).ok()?;
                let nnz = match s.row_nnz() {
                    Some(z) => Some(to_u32(z)?),
                    None => None,
                };
                let sym = SymbolicSparseRowMat::new_unsorted_checked(
                    m.nrows(),
                    m.ncols(),
                    to_u32(s.row_ptr())?,
                    nnz,
                    to_u32(s.col_idx())?,
                );
                Some(Fast::Csr {
                    a: SparseRowMat::new(sym, m.val().to_vec()),
                    t: OnceLock::new(),
                })
            }
            Storage::Csc(m) => {
                let s = m.symbolic();
                u32::try_from(m.nrows().max(m.ncols())).ok()?;
                let nnz = match s.col_nnz() {
                    Some(z) => Some(to_u32(z)?),
                    None => None,
                };
                let sym = SymbolicSparseColMat::new_unsorted_checked(
                    m.nrows(),
                    m.ncols(),
                    to_u32(s.col_ptr())?,
                    nnz,
                    to_u32(s.row_idx())?,
                );
                Some(Fast::Csc {
                    a: SparseColMat::new(sym, m.val().to_vec()),
                    t: OnceLock::new(),
                })
            }
        }
    }

    /// The operator whose plain product is `A·x` (`transpose = false`) or `Aᵀ·x`, and whether
    /// it is to be applied transposed.
    fn pick(&self, transpose: bool) -> (&dyn LinOp<T>, bool) {
        match self {
            Fast::Csr { a, t } => {
                if !transpose {
                    return (a, false);
                }
                let init = || {
                    let c = a.as_ref().to_col_major().ok()?;
                    regular(c.symbolic().col_ptr()).then_some(c)
                };
                match t.get_or_init(init) {
                    Some(c) => (c, true), // Aᵀ·x = gather over the columns of A
                    None => (a, true),
                }
            }
            Fast::Csc { a, t } => {
                if transpose {
                    return (a, true);
                }
                let init = || {
                    let r = a.as_ref().to_row_major().ok()?;
                    regular(r.symbolic().row_ptr()).then_some(r)
                };
                match t.get_or_init(init) {
                    Some(r) => (r, false),
                    None => (a, false),
                }
            }
        }
    }
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
            fast: Fast::new(&storage),
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
    /// Through the 32-bit copy when there is one (see [`SparseOrDense`]).
    fn apply(&self, out: MatMut<'_, T>, x: MatRef<'_, T>) {
        match &self.fast {
            Some(f) => match f.pick(false) {
                (op, false) => op.apply(out, x),
                (op, true) => op.apply_transpose(out, x),
            },
            None => forward!(self, m => m.apply(out, x)),
        }
    }
    /// Through the 32-bit copy in the other orientation when there is one.
    fn apply_transpose(&self, out: MatMut<'_, T>, x: MatRef<'_, T>) {
        match &self.fast {
            Some(f) => match f.pick(true) {
                (op, false) => op.apply(out, x),
                (op, true) => op.apply_transpose(out, x),
            },
            None => forward!(self, m => m.apply_transpose(out, x)),
        }
    }
    fn apply_scaled(
        &self,
        out: MatMut<'_, T>,
        x: MatRef<'_, T>,
        transpose: bool,
        left: Option<&[T]>,
        right: Option<&[T]>,
        raw: Option<MatMut<'_, T>>,
    ) -> bool {
        match &self.fast {
            Some(f) => {
                let (op, tr) = f.pick(transpose);
                op.apply_scaled(out, x, tr, left, right, raw)
            }
            None => forward!(self, m => m.apply_scaled(out, x, transpose, left, right, raw)),
        }
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
