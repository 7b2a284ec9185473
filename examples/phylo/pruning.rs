//! Felsenstein's (1981) pruning algorithm on the tape, with per-pattern scaling.
//!
//! At each internal node `v`, for each rate category, `L_v = ∏_{c child of v} (P_c·L_c)`
//! (`P_c = exp(t_c·r·Q)` the transition matrix of the branch above `c`), stored transposed,
//! patterns × 4 (`L_vᵀ = ∏ L_cᵀ·P_cᵀ`: long columns, no padding of 4-row columns), then
//! every pattern's row is divided by a scale factor `σ_p` (its largest entry over the
//! states and the categories) read off the forward value and entered as a *constant*. The
//! log-likelihood is `Σ_p w_p·log(Σ_k ρ_k·π·L_root,k[:, p]) + Σ_v Σ_p w_p·log σ_{v,p}`:
//! the scale terms are constants too. Since `σ` is a piecewise-constant function of the
//! parameters that the scaled likelihood exactly compensates, the function and its gradient
//! are those of the unscaled likelihood (docs/phylo.md); the gradient through the tape is
//! exact.

use super::node_op::{PruneNode, ScaleSum};
use super::topology::Topology;
use expgrad::tape::{TapeError, Var};
use faer::Mat;
use std::cell::RefCell;
use std::rc::Rc;

/// The transition matrices of all branches from one generator: `Q` (n × n) and the times
/// `t` (B × 1) give the n × (n·B) matrix whose block `b` (columns `b·n..(b+1)·n`) is
/// `exp(t_b·Q)`.
///
/// One tape node, `Var::expm_times`: its reverse pass gives `Q̄` summed over the times and
/// every `t̄_b`.
pub fn transition_matrices<'t>(q: Var<'t>, t: Var<'t>) -> Result<Var<'t>, TapeError> {
    q.try_expm_times(t)
}

/// The log-likelihood on the tape (see the module doc), or the error of the op that
/// failed. `p` is [`transition_matrices`]`(Q, t)` for the times of all categories (category
/// `k`, branch `b` is block `k·B + b`), `pi` the root frequencies (4 × 1), `tips` the tips'
/// partial likelihoods (patterns × 4K: the same 4 columns for each of the K categories;
/// constants, shared by every evaluation), `weights` the pattern counts and `category_weights` the categories'
/// probabilities (one entry without rate heterogeneity). Each internal node is one
/// [`PruneNode`] op.
pub fn log_likelihood<'t>(
    topo: &Topology,
    p: Var<'t>,
    pi: Var<'t>,
    tips: &Rc<Vec<Mat<f64>>>,
    weights: &Rc<Vec<f64>>,
    category_weights: &[f64],
) -> Result<Var<'t>, String> {
    let tape = p.tape();
    let n_cat = category_weights.len();
    let log_scale = Rc::new(RefCell::new(ScaleSum::new(weights.len())));
    let mut partials: Vec<Option<Var<'t>>> = vec![None; topo.children.len()];
    for v in topo.n_taxa()..topo.children.len() {
        let children = topo.children[v].clone();
        // The internal children's partials are the op's inputs; the tips' it holds itself.
        let below: Vec<Var<'t>> = children.iter().filter_map(|&c| partials[c]).collect();
        let op = PruneNode {
            children,
            tips: tips.clone(),
            n_branches: topo.n_branches(),
            n_cat,
            weights: weights.clone(),
            log_scale: log_scale.clone(),
        };
        partials[v] = Some(
            p.try_apply(op, &below)
                .map_err(|e| format!("node {v}: {e}"))?,
        );
    }
    let root = partials[topo.root()].ok_or("the tree has no internal node")?;
    // Σ_k ρ_k·L_root,k·π: the root's partials times the column [ρ_1 π; …; ρ_K π].
    let spread = Mat::from_fn(4 * n_cat, 4, |r, c| {
        if r % 4 == c {
            category_weights[r / 4]
        } else {
            0.0
        }
    });
    let w = Mat::from_fn(weights.len(), 1, |i, _| weights[i]);
    tape.try_constant(spread)
        .and_then(|s| s.try_matmul(pi))
        .and_then(|rp| root.try_matmul(rp))
        .and_then(|site| site.try_log())
        .and_then(|l| l.try_dot(w))
        .and_then(|l| l.try_add(log_scale.borrow().total(weights)))
        .map_err(|e| format!("root: site likelihoods: {e}"))
}
