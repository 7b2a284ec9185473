//! The model's parameters, its log-likelihood and gradient, and the fit.
//!
//! Parameter vector `θ` (all unconstrained):
//! * `θ[0..5]`: log exchangeabilities A-C, A-G, A-T, C-G, C-T (G-T fixed at 1);
//! * `θ[5..5+B]`: log branch lengths (branch `b` above node `b` of the [`Topology`]);
//! * with `--estimate-freqs`, `θ[5+B..8+B]`: logits of A, C, G (T's fixed at 0),
//!   `π = softmax`; otherwise `π` is fixed at the empirical frequencies.

use super::gtr::rate_matrix;
use super::patterns::Patterns;
use super::pruning::{Data, Workspace, log_likelihood, transition_matrices};
use super::topology::Topology;
use expgrad::tape::{Tape, Var};
use faer::Mat;
use std::cell::RefCell;
use std::rc::Rc;

pub use expgrad::optim::Progress;

/// Settings of [`Model::fit`].
pub type FitOptions = expgrad::optim::LbfgsOptions;
/// The outcome of [`Model::fit`].
pub type FitResult = expgrad::optim::OptimResult;

/// Everything the likelihood needs besides the parameters.
#[derive(Clone, Debug)]
pub struct Model {
    /// The tree.
    pub topo: Topology,
    /// The site patterns.
    pub patterns: Patterns,
    /// The empirical base frequencies (A, C, G, T): `π` unless estimated.
    pub freqs: [f64; 4],
    /// Whether `π` is estimated (3 more parameters).
    pub estimate_freqs: bool,
    /// The rate categories' mean rates (`[1.0]` without rate heterogeneity).
    pub rates: Vec<f64>,
    data: Rc<Data>,
    work: Rc<RefCell<Workspace>>,
}

/// The parameters in their natural units.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    /// Exchangeabilities of the pairs of [`gtr::PAIRS`](super::gtr::PAIRS) (the last is 1).
    pub exchangeabilities: [f64; 6],
    /// Base frequencies (A, C, G, T).
    pub freqs: [f64; 4],
    /// Branch lengths, expected substitutions per site.
    pub lengths: Vec<f64>,
}

impl Model {
    /// The model of `patterns` on `topo` with frequencies `freqs` (fixed unless
    /// `estimate_freqs`) and rate categories `rates`.
    pub fn new(
        topo: Topology,
        patterns: Patterns,
        freqs: [f64; 4],
        estimate_freqs: bool,
        rates: Vec<f64>,
    ) -> Self {
        let masks = (0..topo.n_taxa())
            .map(|i| patterns.columns.iter().map(|c| c[i]).collect())
            .collect();
        let k = rates.len();
        let data = Rc::new(Data::new(
            topo.n_taxa(),
            topo.children.clone(),
            masks,
            patterns.weights.clone(),
            vec![1.0 / k as f64; k],
        ));
        Self {
            topo,
            patterns,
            freqs,
            estimate_freqs,
            rates,
            data,
            work: Rc::default(),
        }
    }

    /// Number of free parameters: 5 exchangeabilities, the branch lengths, and 3 frequencies
    /// when estimated.
    pub fn n_params(&self) -> usize {
        5 + self.topo.n_branches() + if self.estimate_freqs { 3 } else { 0 }
    }

    /// `θ` of `params` (the inverse of [`Model::params`]).
    pub fn theta(&self, params: &Params) -> Vec<f64> {
        let mut th: Vec<f64> = (0..5)
            .map(|k| (params.exchangeabilities[k] / params.exchangeabilities[5]).ln())
            .collect();
        th.extend(params.lengths.iter().map(|l| l.ln()));
        if self.estimate_freqs {
            th.extend((0..3).map(|i| (params.freqs[i] / params.freqs[3]).ln()));
        }
        th
    }

    /// The parameters of `θ`.
    pub fn params(&self, theta: &[f64]) -> Params {
        let b = self.topo.n_branches();
        let mut s = [1.0; 6];
        for k in 0..5 {
            s[k] = theta[k].exp();
        }
        let freqs = if self.estimate_freqs {
            let e = [theta[5 + b], theta[6 + b], theta[7 + b], 0.0];
            let m = e.iter().fold(f64::MIN, |a, b| a.max(*b));
            let z: f64 = e.iter().map(|x| (x - m).exp()).sum();
            e.map(|x| (x - m).exp() / z)
        } else {
            self.freqs
        };
        Params {
            exchangeabilities: s,
            freqs,
            lengths: theta[5..5 + b].iter().map(|x| x.exp()).collect(),
        }
    }

    /// The starting point: exchangeabilities 1, the file's branch lengths (`length` where
    /// it gives none or a non-positive one), the empirical frequencies.
    pub fn start(&self, length: f64) -> Vec<f64> {
        self.theta(&Params {
            exchangeabilities: [1.0; 6],
            freqs: self.freqs,
            lengths: self
                .topo
                .lengths
                .iter()
                .map(|l| l.filter(|l| *l > 0.0).unwrap_or(length))
                .collect(),
        })
    }

    /// The log-likelihood of `theta` (a `n_params × 1` variable) on its tape.
    pub fn log_likelihood<'t>(&self, theta: Var<'t>) -> Result<Var<'t>, String> {
        let tape = theta.tape();
        let b = self.topo.n_branches();
        let at = |what: &str, e: expgrad::tape::TapeError| format!("{what}: {e}");
        let s = theta
            .try_slice(0..5, 0..1)
            .and_then(|x| x.try_exp())
            .map_err(|e| at("exchangeabilities", e))?;
        let pi = if self.estimate_freqs {
            let pick = Mat::from_fn(4, 3, |i, j| f64::from(i == j));
            let e = tape
                .try_constant(pick)
                .and_then(|m| m.try_matmul(theta.try_slice(5 + b..8 + b, 0..1)?))
                .and_then(|x| x.try_exp())
                .map_err(|e| at("frequencies", e))?;
            let z = e.try_sum().and_then(|z| z.try_broadcast(4, 1));
            z.and_then(|z| e.try_div(z))
                .map_err(|e| at("frequencies", e))?
        } else {
            tape.constant(Mat::from_fn(4, 1, |i, _| self.freqs[i]))
        };
        let q = rate_matrix(s, pi).map_err(|e| at("rate matrix", e))?;
        let lengths = theta
            .try_slice(5..5 + b, 0..1)
            .and_then(|x| x.try_exp())
            .map_err(|e| at("branch lengths", e))?;
        // Times of all categories: category k, branch b at k·B + b.
        let k = self.rates.len();
        let times = if k == 1 && self.rates[0] == 1.0 {
            lengths
        } else {
            let spread = Mat::from_fn(
                k * b,
                b,
                |r, c| {
                    if r % b == c { self.rates[r / b] } else { 0.0 }
                },
            );
            tape.try_constant(spread)
                .and_then(|m| m.try_matmul(lengths))
                .map_err(|e| at("rate categories", e))?
        };
        let p = transition_matrices(q, times).map_err(|e| at("transition matrices", e))?;
        log_likelihood(&self.data, &self.work, p, pi)
    }

    /// The log-likelihood of `theta` and its gradient.
    pub fn log_likelihood_and_grad(&self, theta: &[f64]) -> Result<(f64, Vec<f64>), String> {
        if let Some(i) = theta.iter().position(|t| !t.is_finite()) {
            return Err(format!("θ[{i}] = {} is not finite", theta[i]));
        }
        let tape = Tape::new();
        let th = tape
            .try_var(Mat::from_fn(theta.len(), 1, |i, _| theta[i]))
            .map_err(|e| e.to_string())?;
        let ll = self.log_likelihood(th)?;
        let g = ll
            .try_backward()
            .map_err(|e| format!("backward pass: {e}"))?
            .wrt(th);
        Ok((ll.item(), (0..theta.len()).map(|i| g[(i, 0)]).collect()))
    }

    /// Maximum-likelihood `θ` from `theta0` by L-BFGS. The optimiser sees the mean negative
    /// log-likelihood per site, so that the gradient is O(1) whatever the alignment's length.
    pub fn fit(
        &self,
        theta0: Vec<f64>,
        opts: &FitOptions,
        on_iter: impl FnMut(&Progress),
    ) -> Result<FitResult, String> {
        let n = self.patterns.n_sites as f64;
        let mean = |th: &[f64]| {
            self.log_likelihood_and_grad(th)
                .map(|(l, g)| (-l / n, g.into_iter().map(|x| -x / n).collect()))
        };
        expgrad::optim::lbfgs(mean, theta0, opts, on_iter).map_err(String::from)
    }
}
