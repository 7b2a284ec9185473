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

use super::topology::Topology;
use expgrad::tape::{TapeError, Var, try_add_n};
use faer::Mat;

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
/// partial likelihoods (patterns × 4, constants), `weights` the pattern counts (a column)
/// and `category_weights` the categories' probabilities (one entry without rate
/// heterogeneity).
pub fn log_likelihood<'t>(
    topo: &Topology,
    p: Var<'t>,
    pi: Var<'t>,
    tips: &[Var<'t>],
    weights: &Mat<f64>,
    category_weights: &[f64],
) -> Result<Var<'t>, String> {
    let tape = p.tape();
    let n_branches = topo.n_branches();
    let n_cat = category_weights.len();
    let n_pat = weights.nrows();
    let block = |k: usize, b: usize| {
        let start = (k * n_branches + b) * 4;
        p.try_slice(0..4, start..start + 4)
            .and_then(|b| b.try_transpose())
    };
    let mut partials: Vec<Option<Vec<Var<'t>>>> = vec![None; topo.children.len()];
    let mut log_scale = 0.0f64;
    for v in topo.n_taxa()..topo.children.len() {
        let mut per_cat = Vec::with_capacity(n_cat);
        for k in 0..n_cat {
            let mut prod: Option<Var<'t>> = None;
            for &c in &topo.children[v] {
                let below = match &partials[c] {
                    Some(l) => l[k],
                    None => tips[c],
                };
                let up = block(k, c)
                    .and_then(|pct| below.try_matmul(pct))
                    .map_err(|e| format!("node {v}, branch {c}: {e}"))?;
                prod = Some(match prod {
                    None => up,
                    Some(acc) => acc
                        .try_mul(up)
                        .map_err(|e| format!("node {v}, branch {c}: {e}"))?,
                });
            }
            per_cat.push(prod.ok_or_else(|| format!("node {v} has no child"))?);
        }
        // The scale factors: each pattern's largest entry over states and categories.
        let mut sigma = vec![0.0f64; n_pat];
        for l in &per_cat {
            let val = l.value();
            for (p, s) in sigma.iter_mut().enumerate() {
                for i in 0..4 {
                    *s = s.max(val[(p, i)]);
                }
            }
        }
        if let Some(pat) = sigma.iter().position(|s| !(*s > 0.0 && s.is_finite())) {
            return Err(format!(
                "node {v}: pattern {pat} has likelihood {} below this node (underflow, or \
                 data impossible under the model)",
                sigma[pat]
            ));
        }
        for (p, s) in sigma.iter().enumerate() {
            log_scale += weights[(p, 0)] * s.ln();
        }
        let inv = tape.constant(Mat::from_fn(n_pat, 4, |p, _| 1.0 / sigma[p]));
        let scaled = per_cat
            .into_iter()
            .map(|l| l.try_mul(inv))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("node {v}: scaling: {e}"))?;
        partials[v] = Some(scaled);
    }
    let root = partials[topo.root()]
        .take()
        .ok_or("the tree has no internal node")?;
    let site = root
        .iter()
        .zip(category_weights)
        .map(|(l, &w)| l.try_matmul(pi).and_then(|x| x.try_scale(w)))
        .collect::<Result<Vec<_>, _>>()
        .and_then(|terms| try_add_n(&terms))
        .map_err(|e| format!("root: {e}"))?;
    site.try_log()
        .and_then(|l| l.try_dot(weights))
        .and_then(|l| l.try_add(log_scale))
        .map_err(|e| format!("root: site likelihoods: {e}"))
}
