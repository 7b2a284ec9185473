//! Sparse copies of dense matrices, and square matrices assembled from triplets.

use faer::sparse::{SparseColMat, SparseRowMat, Triplet};
use faer::{Mat, MatRef};

/// The nonzeros of a dense matrix as triplets, column by column.
pub fn triplets(a: MatRef<'_, f64>) -> Vec<Triplet<usize, usize, f64>> {
    let mut t = Vec::new();
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            if a[(i, j)] != 0.0 {
                t.push(Triplet::new(i, j, a[(i, j)]));
            }
        }
    }
    t
}

/// The nonzeros of `a` in CSC form.
pub fn csc(a: MatRef<'_, f64>) -> SparseColMat<usize, f64> {
    SparseColMat::try_new_from_triplets(a.nrows(), a.ncols(), &triplets(a)).unwrap()
}

/// The nonzeros of `a` in CSR form.
pub fn csr(a: MatRef<'_, f64>) -> SparseRowMat<usize, f64> {
    SparseRowMat::try_new_from_triplets(a.nrows(), a.ncols(), &triplets(a)).unwrap()
}

/// An `n×n` matrix as a list of triplets (no repeated position), in whichever storage a test
/// wants: [`Triplets::csr`], [`Triplets::csc`] or [`Triplets::dense`] hold the same values.
#[derive(Clone, Debug)]
pub struct Triplets {
    n: usize,
    entries: Vec<Triplet<usize, usize, f64>>,
}

impl Triplets {
    /// An `n×n` matrix from its entries (each position at most once).
    pub fn new(n: usize, entries: Vec<Triplet<usize, usize, f64>>) -> Self {
        Self { n, entries }
    }

    /// The dimension `n`.
    pub fn dim(&self) -> usize {
        self.n
    }

    /// The entries, in the order they were assembled.
    pub fn entries(&self) -> &[Triplet<usize, usize, f64>] {
        &self.entries
    }

    /// CSR form.
    pub fn csr(&self) -> SparseRowMat<usize, f64> {
        SparseRowMat::try_new_from_triplets(self.n, self.n, &self.entries).unwrap()
    }

    /// CSC form.
    pub fn csc(&self) -> SparseColMat<usize, f64> {
        SparseColMat::try_new_from_triplets(self.n, self.n, &self.entries).unwrap()
    }

    /// Dense form.
    pub fn dense(&self) -> Mat<f64> {
        let mut a = Mat::zeros(self.n, self.n);
        for t in &self.entries {
            a[(t.row, t.col)] = t.val;
        }
        a
    }
}
