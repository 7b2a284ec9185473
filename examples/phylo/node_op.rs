//! One pruning step as one tape op: the scaled partial likelihoods of an internal node from
//! its children's partials and the stacked transition matrices.
//!
//! Built from the tape's elementwise ops, a node of a 2762-pattern alignment costs about
//! eight patterns × 4 matrices on the forward and as many on the reverse pass (a product, a
//! scaling constant, a scaled product, and their cotangents); fused, it writes one output
//! and keeps one product per child. Same function, same exact VJP.

use expgrad::tape::{Op, TapeError};
use faer::{Mat, MatRef, unzip, zip};
use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

/// The partials of node `v`, patterns × 4K (category `k` in columns `4k..4k+4`):
/// `O = Diag(1/σ)·∏_c U_c` with `U_c[:, k] = L_c[:, k]·P_{c,k}ᵀ`, where `P_{c,k}` is block
/// `k·B + c` of the stacked transition matrices (input 0, 4 × 4·B·K) and `L_c` the child's
/// partials (patterns × 4K): a tip's are constants held by the op (not tape nodes, so not
/// copied onto every tape), an internal child's are the inputs 1.. in the children's order. `σ_p` is the largest entry of row `p` of the
/// product, a constant: `σ` is multiplied into `log_scale`, and the VJP treats `σ`
/// as fixed, which is exact (docs/phylo.md).
///
/// VJP, with `G = Diag(1/σ)·Ō` and `Ū_c = G ∘ ∏_{c'≠c} U_{c'}`: `L̄_c[:, k] = Ū_c[:, k]·P_{c,k}`
/// and `P̄_{c,k} = Ū_c[:, k]ᵀ·L_c[:, k]`.
pub struct PruneNode {
    /// The children's node (= branch) indices; those below `tips.len()` are tips.
    pub children: Vec<usize>,
    /// The tips' partials (patterns × 4K each), indexed by taxon.
    pub tips: Rc<Vec<Mat<f64>>>,
    /// Number of branches B.
    pub n_branches: usize,
    /// Number of rate categories K.
    pub n_cat: usize,
    /// Pattern counts `w_p`.
    pub weights: Rc<Vec<f64>>,
    /// Where the scale factors are gathered.
    pub log_scale: Rc<RefCell<ScaleSum>>,
}

/// `Σ_v Σ_p w_p·log σ_{v,p}` over the nodes, gathered with one logarithm per pattern rather
/// than one per node and pattern: each pattern's factors are multiplied together (all are
/// in (0, 1]: partials are probabilities), and the product's log is taken only when it gets
/// near underflow, and at the end.
#[derive(Clone, Debug)]
pub struct ScaleSum {
    product: Vec<f64>,
    logs: f64,
}

impl ScaleSum {
    /// No factor yet, for `n_pat` patterns.
    pub fn new(n_pat: usize) -> Self {
        Self {
            product: vec![1.0; n_pat],
            logs: 0.0,
        }
    }

    fn gather(&mut self, sigma: &[f64], weights: &[f64]) {
        for ((p, s), w) in self.product.iter_mut().zip(sigma).zip(weights) {
            let next = *p * s;
            if next < 1e-250 {
                // Logs of the two factors, so that the product itself never underflows.
                self.logs += w * (p.ln() + s.ln());
                *p = 1.0;
            } else {
                *p = next;
            }
        }
    }

    /// `Σ_p w_p·log(∏_v σ_{v,p})`.
    pub fn total(&self, weights: &[f64]) -> f64 {
        self.logs
            + self
                .product
                .iter()
                .zip(weights)
                .map(|(p, w)| w * p.ln())
                .sum::<f64>()
    }
}

/// What the VJP keeps: each child's `U_c`, and `1/σ`.
pub struct Kept {
    u: Vec<Mat<f64>>,
    inv_sigma: Vec<f64>,
}

impl PruneNode {
    /// Each child's partials: a tip's from `tips`, an internal child's the next input; an
    /// error when the inputs do not match the internal children.
    fn partials<'a>(
        &'a self,
        inputs: &[MatRef<'a, f64>],
    ) -> Result<Vec<MatRef<'a, f64>>, TapeError> {
        let mut next = inputs.iter();
        let ls = self
            .children
            .iter()
            .map(|&c| match self.tips.get(c) {
                Some(t) => Some(t.as_ref()),
                None => next.next().copied(),
            })
            .collect::<Option<Vec<_>>>();
        match ls {
            Some(ls) if next.next().is_none() => Ok(ls),
            _ => Err(TapeError::ShapeMismatch {
                op: "prune_node",
                lhs: (inputs.len(), 0),
                rhs: (self.children.len(), 0),
            }),
        }
    }

    fn block<'a>(&self, p: MatRef<'a, f64>, c: usize, k: usize) -> MatRef<'a, f64> {
        p.submatrix(0, (k * self.n_branches + self.children[c]) * 4, 4, 4)
    }
}

/// Column `j` of `m` as a slice (copied if its entries are not contiguous).
fn column(m: MatRef<'_, f64>, j: usize) -> Cow<'_, [f64]> {
    match m.col(j).try_as_col_major() {
        Some(c) => Cow::Borrowed(c.as_slice()),
        None => Cow::Owned(m.col(j).iter().copied().collect()),
    }
}

/// Columns `first..first + 4` of `m`.
fn columns(m: MatRef<'_, f64>, first: usize) -> [Cow<'_, [f64]>; 4] {
    [0, 1, 2, 3].map(|i| column(m, first + i))
}

/// `⟨a, b⟩` with eight independent partial sums (a single running sum is one long chain
/// of dependent additions, which the compiler may not reorder into SIMD lanes).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    acc.iter().sum::<f64>() + tail
}

/// `dst = Σ_i a_i·x_i` over four columns.
fn combine<S: AsRef<[f64]>>(dst: &mut [f64], a: [f64; 4], x: &[S; 4]) {
    let (x0, x1, x2, x3) = (x[0].as_ref(), x[1].as_ref(), x[2].as_ref(), x[3].as_ref());
    for ((((d, v0), v1), v2), v3) in dst.iter_mut().zip(x0).zip(x1).zip(x2).zip(x3) {
        *d = a[0] * v0 + a[1] * v1 + a[2] * v2 + a[3] * v3;
    }
}

impl Op<f64> for PruneNode {
    type Residual = Kept;

    fn name(&self) -> &'static str {
        "prune_node"
    }

    fn forward(&self, x: &[MatRef<'_, f64>]) -> Result<(Mat<f64>, Kept), TapeError> {
        let p = x[0];
        let ls = self.partials(&x[1..])?;
        let width = 4 * self.n_cat;
        let n_pat = self.weights.len();
        let need_p = (self.n_cat * self.n_branches * 4, 4);
        if p.nrows() != 4 || p.ncols() != need_p.0 {
            return Err(TapeError::ShapeMismatch {
                op: "prune_node",
                lhs: p.shape(),
                rhs: (need_p.1, need_p.0),
            });
        }
        if let Some(l) = ls.iter().find(|l| l.shape() != (n_pat, width)) {
            return Err(TapeError::ShapeMismatch {
                op: "prune_node",
                lhs: l.shape(),
                rhs: (n_pat, width),
            });
        }
        // U_c[:, 4k + j] = Σ_i P_{c,k}[j, i]·L_c[:, 4k + i], column by column.
        let mut u = Vec::with_capacity(ls.len());
        for (c, l) in ls.iter().enumerate() {
            let mut uc = Mat::<f64>::zeros(n_pat, width);
            for k in 0..self.n_cat {
                let pk = self.block(p, c, k);
                let lc = columns(*l, 4 * k);
                for j in 0..4 {
                    let a = [pk[(j, 0)], pk[(j, 1)], pk[(j, 2)], pk[(j, 3)]];
                    combine(uc.col_as_slice_mut(4 * k + j), a, &lc);
                }
            }
            u.push(uc);
        }
        let mut out = u[0].clone();
        for uc in &u[1..] {
            zip!(out.as_mut(), uc.as_ref()).for_each(|unzip!(a, b)| *a *= *b);
        }
        let mut sigma = vec![0.0f64; n_pat];
        for j in 0..width {
            for (s, v) in sigma.iter_mut().zip(out.col_as_slice(j)) {
                *s = s.max(*v);
            }
        }
        if sigma.iter().any(|s| !(*s > 0.0 && s.is_finite())) {
            return Err(TapeError::Domain {
                op: "prune_node",
                what: "a pattern's partial likelihoods are all zero (underflow, or data impossible under the model)",
            });
        }
        let inv_sigma: Vec<f64> = sigma.iter().map(|s| 1.0 / s).collect();
        for j in 0..width {
            for (v, s) in out.col_as_slice_mut(j).iter_mut().zip(&inv_sigma) {
                *v *= s;
            }
        }
        self.log_scale
            .try_borrow_mut()
            .map_err(|_| TapeError::Domain {
                op: "prune_node",
                what: "the scale accumulator is in use",
            })?
            .gather(&sigma, &self.weights);
        Ok((out, Kept { u, inv_sigma }))
    }

    fn vjp(
        &self,
        kept: &Kept,
        x: &[MatRef<'_, f64>],
        _: MatRef<'_, f64>,
        g: MatRef<'_, f64>,
        needs: &[bool],
    ) -> Result<Vec<Option<Mat<f64>>>, TapeError> {
        let p = x[0];
        let ls = self.partials(&x[1..])?;
        let n_pat = self.weights.len();
        let mut grads = vec![None];
        let mut input = 0;
        let mut p_acc = needs[0].then(|| Mat::<f64>::zeros(p.nrows(), p.ncols()));
        // One column of Ū_c at a time: ū_j = (ḡ_j / σ) ∘ ∏_{c' ≠ c} U_{c'}[:, j].
        let mut ub = [
            vec![0.0; n_pat],
            vec![0.0; n_pat],
            vec![0.0; n_pat],
            vec![0.0; n_pat],
        ];
        for (c, lc_all) in ls.iter().enumerate() {
            // A tip has no input (and no cotangent); an internal child is input 1 + input.
            let need_l = match self.tips.get(self.children[c]) {
                Some(_) => false,
                None => {
                    input += 1;
                    needs[input]
                }
            };
            let is_input = self.children[c] >= self.tips.len();
            if !(needs[0] || need_l) {
                if is_input {
                    grads.push(None);
                }
                continue;
            }
            let mut lbar = need_l.then(|| Mat::<f64>::zeros(n_pat, 4 * self.n_cat));
            for k in 0..self.n_cat {
                for (j, buf) in ub.iter_mut().enumerate() {
                    let col = 4 * k + j;
                    let gj = column(g, col);
                    for ((b, gv), s) in buf.iter_mut().zip(gj.iter()).zip(&kept.inv_sigma) {
                        *b = gv * s;
                    }
                    for (c2, u2) in kept.u.iter().enumerate() {
                        if c2 != c {
                            for (b, v) in buf.iter_mut().zip(u2.col_as_slice(col)) {
                                *b *= v;
                            }
                        }
                    }
                }
                let pk = self.block(p, c, k);
                let ubs = [&ub[0][..], &ub[1][..], &ub[2][..], &ub[3][..]];
                if let Some(lb) = lbar.as_mut() {
                    // L̄[:, i] = Σ_j Ū[:, j]·P[j, i].
                    for i in 0..4 {
                        let a = [pk[(0, i)], pk[(1, i)], pk[(2, i)], pk[(3, i)]];
                        combine(lb.col_as_slice_mut(4 * k + i), a, &ubs);
                    }
                }
                if let Some(acc) = p_acc.as_mut() {
                    // P̄[j, i] = ⟨Ū[:, j], L[:, i]⟩.
                    let lc = columns(*lc_all, 4 * k);
                    let at = (k * self.n_branches + self.children[c]) * 4;
                    for i in 0..4 {
                        for (j, u) in ubs.iter().enumerate() {
                            let d = dot(u, &lc[i]);
                            acc[(j, at + i)] += d;
                        }
                    }
                }
            }
            if is_input {
                grads.push(lbar);
            }
        }
        grads[0] = p_acc;
        Ok(grads)
    }
}
