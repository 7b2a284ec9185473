//! Negated finite-difference Laplacians `−L` (negative (semi)definite, symmetric), as
//! [`Triplets`] to be taken in CSR, CSC or dense form.

use crate::sparse::Triplets;
use faer::sparse::Triplet;

/// The boundary condition of a Laplacian.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Boundary {
    /// Zero outside the grid: every diagonal entry of `−L` is `−2` (1-D) or `−4` (2-D).
    Dirichlet,
    /// No flux: the diagonal of `−L` is minus the number of neighbours, rows sum to zero
    /// (a symmetric Markov generator; heat is conserved).
    Neumann,
}

/// `−L` of the 3-point Laplacian on `n` points: `1` next to the diagonal, and on it `−2`
/// ([`Boundary::Dirichlet`]) or minus the number of neighbours ([`Boundary::Neumann`]).
pub fn neg_laplacian_1d(n: usize, boundary: Boundary) -> Triplets {
    let mut t = Vec::with_capacity(3 * n);
    for i in 0..n {
        let diag = match boundary {
            Boundary::Dirichlet => -2.0,
            Boundary::Neumann => -((i > 0) as usize as f64 + (i + 1 < n) as usize as f64),
        };
        t.push(Triplet::new(i, i, diag));
        if i + 1 < n {
            t.push(Triplet::new(i, i + 1, 1.0));
            t.push(Triplet::new(i + 1, i, 1.0));
        }
    }
    Triplets::new(n, t)
}

/// `−L` of the 5-point Laplacian on a `g×g` grid (`n = g²`, node `i = r·g + c`): `1` for each
/// grid neighbour, and on the diagonal `−4` ([`Boundary::Dirichlet`]) or minus the number of
/// neighbours ([`Boundary::Neumann`]).
pub fn neg_laplacian_2d(g: usize, boundary: Boundary) -> Triplets {
    let n = g * g;
    let mut t = Vec::with_capacity(5 * n);
    for r in 0..g {
        for c in 0..g {
            let i = r * g + c;
            let mut nb = Vec::with_capacity(4);
            if r > 0 {
                nb.push(i - g);
            }
            if c > 0 {
                nb.push(i - 1);
            }
            if c + 1 < g {
                nb.push(i + 1);
            }
            if r + 1 < g {
                nb.push(i + g);
            }
            let diag = match boundary {
                Boundary::Dirichlet => -4.0,
                Boundary::Neumann => -(nb.len() as f64),
            };
            t.push(Triplet::new(i, i, diag));
            t.extend(nb.into_iter().map(|j| Triplet::new(i, j, 1.0)));
        }
    }
    Triplets::new(n, t)
}
