//! Felsenstein's (1981) pruning algorithm as one tape op: the log-likelihood from the stacked
//! transition matrices and the root frequencies, its exact gradient by the pre-order
//! ("outside") pass.
//!
//! [`LogLikelihood`] has two inputs, the stacked transition matrices `P` (4 × 4·B·K, block
//! `k·B + b` the matrix of branch `b` in rate category `k`) and `π` (4 × 1), and one output,
//! `ℓ` (1 × 1). The tree, the tips' characters, the pattern counts and the categories'
//! probabilities are constants held by the op.
//!
//! **Forward** (post-order). For a pattern `p`, a category `k` and a node `v`, the partials
//! `L_v[p, k]` (4 states) are the probabilities of the tips below `v` given the state at `v`:
//! a tip's are the indicator of the states its character allows; an internal node's
//! `L_v = ∏_c U_c` over its children, `U_c = P_{c,k}·L_c`. A tip's `U_c` is a sum of columns
//! of `P_{c,k}`, looked up in a 16-entry table indexed by the character's state set. Then
//! `ℓ = Σ_p w_p·log Σ_k ρ_k·π·L_root[p, k]`.
//!
//! **Scaling.** When a pattern's largest partial at a node (over states and categories) is
//! below 2⁻¹²⁸, its partials there are multiplied by the power of two that brings that entry
//! into [1, 2), and the exponent is added to the pattern's tally; `ℓ` adds back
//! `w_p·(tally)·log 2`. Powers of two are exact, so the scaling changes no digit of the
//! partials; since every node's partials start above 2⁻¹²⁸, only a single node's product
//! could underflow (the test of a 600-taxon tree has site likelihoods below 10⁻³⁰⁸).
//!
//! **Reverse** (pre-order; Felsenstein 1981; Ji et al. 2020, "Gradients do grow on trees").
//! With `pre_c[p, k] = out_v ∘ ∏_{s ≠ c} U_s` the outside probabilities at the top of the
//! branch above `c` (`v` its parent; `out_root = ρ_k·π`, `out_c = P_{c,k}ᵀ·pre_c`),
//! `Σ_{ij} pre_c[i]·P_{c,k}[i, j]·L_c[j] = L_p`, the site likelihood, for every branch, so
//! `∂ℓ/∂P_{c,k}[i, j] = Σ_p (w_p / L_p)·pre_c[p, k, i]·L_c[p, k, j]` and
//! `∂ℓ/∂π_i = Σ_p (w_p / L_p)·Σ_k ρ_k·L_root[p, k, i]`. The pass carries
//! `a_v = (w_p / L_p)·out_v` divided by the scale factors above `v` and multiplied by `v`'s
//! own: with the scaled partials `L̃_c` the products `a ∘ ∏ Ũ` come out with every factor
//! cancelled, so no scale factor is ever needed other than the node's own power of two.
//!
//! Everything is done one chunk of [`CHUNK`] patterns at a time, forward then reverse, in a
//! thread-local workspace (a few hundred kilobytes, in cache), and the chunks are spread over
//! rayon's threads in a fixed number of tasks whose sums are added in a fixed order, so the
//! result does not depend on the number of threads. The forward pass computes the gradient
//! too (the op's output is a scalar, so its VJP is the cotangent times that gradient).

use expgrad::tape::{Op, TapeError, Var};
use faer::traits::pulp::{Arch, Simd, WithSimd};
use faer::{Mat, MatRef};
use rayon::prelude::*;
use std::cell::RefCell;
use std::rc::Rc;

/// Four states.
type V4 = [f64; 4];

/// Patterns per chunk.
pub const CHUNK: usize = 64;

/// Tasks the chunks are split into (at most): enough to balance two or more threads, few
/// enough that adding their gradients costs nothing.
const TASKS: usize = 16;

/// Partials are rescaled below this: 2⁻¹²⁸.
const SCALE_BELOW: f64 = f64::from_bits((1023 - 128) << 52);

/// The transition matrices of all branches from one generator: `Q` (n × n) and the times
/// `t` (B × 1) give the n × (n·B) matrix whose block `b` (columns `b·n..(b+1)·n`) is
/// `exp(t_b·Q)`.
///
/// One tape node, `Var::expm_times`: its reverse pass gives `Q̄` summed over the times and
/// every `t̄_b`.
pub fn transition_matrices<'t>(q: Var<'t>, t: Var<'t>) -> Result<Var<'t>, TapeError> {
    q.try_expm_times(t)
}

/// What the likelihood needs besides `P` and `π`, fixed for a data set.
#[derive(Clone, Debug)]
pub struct Data {
    /// Number of tips (nodes `0..n_taxa`); internal nodes follow in post-order, the root last.
    n_taxa: usize,
    /// Each node's children.
    children: Vec<Vec<usize>>,
    /// `masks[i][p]`: the states taxon `i` allows at pattern `p` (bit `s` for state `s`).
    masks: Vec<Vec<u8>>,
    /// Pattern counts `w_p`.
    weights: Vec<f64>,
    /// The rate categories' probabilities `ρ_k`.
    cat_weights: Vec<f64>,
}

impl Data {
    /// The data of a tree (`children[v]` for every node, tips `0..n_taxa` first, internal
    /// nodes in post-order, the root last), the tips' state sets per pattern
    /// (`masks[taxon][pattern]`), the pattern counts and the categories' probabilities.
    pub fn new(
        n_taxa: usize,
        children: Vec<Vec<usize>>,
        masks: Vec<Vec<u8>>,
        weights: Vec<f64>,
        cat_weights: Vec<f64>,
    ) -> Self {
        Self {
            n_taxa,
            children,
            masks,
            weights,
            cat_weights,
        }
    }

    fn n_nodes(&self) -> usize {
        self.children.len()
    }

    fn n_branches(&self) -> usize {
        self.children.len() - 1
    }

    fn n_internal(&self) -> usize {
        self.children.len() - self.n_taxa
    }

    fn n_cat(&self) -> usize {
        self.cat_weights.len()
    }

    fn n_pat(&self) -> usize {
        self.weights.len()
    }
}

/// One task's sums: `ℓ`, the gradient with respect to the transition matrices and with
/// respect to `π`.
/// Aligned to two cache lines, so that tasks on different threads never write to one line.
#[derive(Clone, Debug)]
#[repr(align(128))]
struct Acc {
    lnl: f64,
    /// Block `k·B + c`: `grad[i][j] = Σ_p pre[p, i]·L̃_c[p, j]`.
    grad: Vec<[V4; 4]>,
    pi: V4,
}

impl Acc {
    fn reset(&mut self, d: &Data) {
        let (b, k) = (d.n_branches(), d.n_cat());
        self.lnl = 0.0;
        self.grad.clear();
        self.grad.resize(b * k, [[0.0; 4]; 4]);
        self.pi = [0.0; 4];
    }
}

/// The per-evaluation matrices: each block's columns and rows, and each tip branch's table
/// of sums of columns.
#[derive(Clone, Debug, Default)]
struct Prepared {
    /// Block `k·B + c`: `cols[j][i] = P[i, j]`.
    cols: Vec<[V4; 4]>,
    /// Block `k·B + c`: `rows[i][j] = P[i, j]`.
    rows: Vec<[V4; 4]>,
    /// `k·n_taxa + c`: entry `m` is `Σ_{j ∈ m} P[:, j]`.
    tables: Vec<[V4; 16]>,
}

/// What is reused from one evaluation to the next: the prepared matrices and the tasks'
/// sums (the chunks' own buffers are thread-local).
#[derive(Clone, Debug, Default)]
pub struct Workspace {
    prepared: Prepared,
    accs: Vec<Acc>,
}

/// A thread's buffers for one chunk: layout `[node][category][pattern]`.
#[derive(Default)]
struct Work {
    /// Internal nodes' scaled partials `L̃_v`.
    post: Vec<V4>,
    /// Every branch's `U_c = P_c·L̃_c`.
    u: Vec<V4>,
    /// Internal nodes' `a_v` of the reverse pass.
    out: Vec<V4>,
    /// Internal nodes' scale multipliers (1 or a power of two).
    mult: Vec<f64>,
    /// Each pattern's scale exponent tally.
    exps: Vec<i32>,
    /// Each pattern's largest partial at the current node.
    big: Vec<f64>,
    /// Each pattern's `w_p / L̃_p`.
    coef: Vec<f64>,
    /// The reverse pass's `pre` of the current branch.
    sib: Vec<V4>,
}

impl Work {
    fn fit(&mut self, d: &Data) {
        let (ni, nn, k) = (d.n_internal(), d.n_nodes(), d.n_cat());
        self.post.resize(ni * k * CHUNK, [0.0; 4]);
        self.u.resize(nn * k * CHUNK, [0.0; 4]);
        self.out.resize(ni * k * CHUNK, [0.0; 4]);
        self.mult.resize(ni * CHUNK, 1.0);
        self.exps.resize(CHUNK, 0);
        self.big.resize(CHUNK, 0.0);
        self.coef.resize(CHUNK, 0.0);
        self.sib.resize(CHUNK, [0.0; 4]);
    }
}

thread_local! {
    static WORK: RefCell<Work> = RefCell::new(Work::default());
}

/// The log-likelihood op (see the module doc).
pub struct LogLikelihood {
    /// The tree and the data.
    pub data: Rc<Data>,
    /// Buffers reused across evaluations.
    pub work: Rc<RefCell<Workspace>>,
}

/// What the VJP needs: the gradient.
pub struct Gradient {
    p: Mat<f64>,
    pi: Mat<f64>,
}

fn domain(what: &'static str) -> TapeError {
    TapeError::Domain {
        op: "log_likelihood",
        what,
    }
}

/// `a·b + c`, fused where the processor has FMA (`F`).
#[inline(always)]
fn fma<const F: bool>(a: f64, b: f64, c: f64) -> f64 {
    if F { a.mul_add(b, c) } else { a * b + c }
}

/// `Σ_j l[j]·cols[j]`.
#[inline(always)]
fn apply<const F: bool>(cols: &[V4; 4], l: &V4) -> V4 {
    let mut u = cols[0].map(|c| c * l[0]);
    for j in 1..4 {
        for i in 0..4 {
            u[i] = fma::<F>(cols[j][i], l[j], u[i]);
        }
    }
    u
}

/// `g += x ⊗ l`: `g[i][j] += x[i]·l[j]`.
#[inline(always)]
fn outer<const F: bool>(g: &mut [V4; 4], x: &V4, l: &V4) {
    for i in 0..4 {
        for j in 0..4 {
            g[i][j] = fma::<F>(x[i], l[j], g[i][j]);
        }
    }
}

/// The indicator vector of each state set.
const INDICATOR: [V4; 16] = {
    let mut t = [[0.0; 4]; 16];
    let mut m = 0;
    while m < 16 {
        let mut j = 0;
        while j < 4 {
            if (m >> j) & 1 == 1 {
                t[m][j] = 1.0;
            }
            j += 1;
        }
        m += 1;
    }
    t
};

#[inline(always)]
fn mul(a: &V4, b: &V4) -> V4 {
    [a[0] * b[0], a[1] * b[1], a[2] * b[2], a[3] * b[3]]
}

#[inline(always)]
fn max4(a: &V4) -> f64 {
    a[0].max(a[1]).max(a[2].max(a[3]))
}

/// The power of two `2^e` with `x·2^-e ∈ [1, 2)`, as `(e, 2^-e)`, for a positive finite `x`
/// (subnormal too).
fn binade(x: f64) -> (i32, f64) {
    let raw = ((x.to_bits() >> 52) & 0x7ff) as i32;
    let e = if raw == 0 {
        // Subnormal: x = m·2^-1074 with m < 2^52.
        let m = x.to_bits();
        63 - m.leading_zeros() as i32 - 1074
    } else {
        raw - 1023
    };
    // 2^-e for e in [-1074, -128]: -e ≤ 1074 exceeds the largest exponent (1023), so split.
    let half = -e / 2;
    let a = f64::from_bits(((1023 + half) as u64) << 52);
    let b = f64::from_bits(((1023 + (-e - half)) as u64) << 52);
    (e, a * b)
}

impl LogLikelihood {
    /// Columns, rows and tip tables of `p`.
    fn prepare(&self, p: MatRef<'_, f64>, out: &mut Prepared) {
        let d = &*self.data;
        let (b, kk, nt) = (d.n_branches(), d.n_cat(), d.n_taxa);
        out.cols.clear();
        out.rows.clear();
        for blk in 0..b * kk {
            let at = 4 * blk;
            out.cols
                .push([0, 1, 2, 3].map(|j| [0, 1, 2, 3].map(|i| p[(i, at + j)])));
            out.rows
                .push([0, 1, 2, 3].map(|i| [0, 1, 2, 3].map(|j| p[(i, at + j)])));
        }
        out.tables.clear();
        for k in 0..kk {
            for c in 0..nt {
                let cols = &out.cols[k * b + c];
                let mut t = [[0.0; 4]; 16];
                for (m, e) in t.iter_mut().enumerate() {
                    for (j, col) in cols.iter().enumerate() {
                        if (m >> j) & 1 == 1 {
                            for i in 0..4 {
                                e[i] += col[i];
                            }
                        }
                    }
                }
                out.tables.push(t);
            }
        }
    }
}

/// [`chunk`] over a range of chunks, compiled for the best instruction set the processor
/// has (AVX2 and FMA where present: 4-wide fused multiply-adds on the 4-state vectors; the
/// build's baseline is SSE2), chosen at run time by `pulp`.
struct Chunks<'a> {
    d: &'a Data,
    pr: &'a Prepared,
    pi: &'a V4,
    w: &'a mut Work,
    chunks: std::ops::Range<usize>,
    acc: &'a mut Acc,
}

impl WithSimd for Chunks<'_> {
    type Output = Result<(), TapeError>;

    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) -> Self::Output {
        let n_pat = self.d.n_pat();
        for ch in self.chunks {
            let p0 = ch * CHUNK;
            let n = CHUNK.min(n_pat - p0);
            if S::IS_SCALAR {
                chunk::<false>(self.d, self.pr, self.pi, self.w, p0, n, self.acc)?;
            } else {
                chunk::<true>(self.d, self.pr, self.pi, self.w, p0, n, self.acc)?;
            }
        }
        Ok(())
    }
}

/// Forward and reverse pass over patterns `p0..p0 + n` (n ≤ CHUNK), added into `acc`.
#[inline(always)]
fn chunk<const F: bool>(
    d: &Data,
    pr: &Prepared,
    pi: &V4,
    w: &mut Work,
    p0: usize,
    n: usize,
    acc: &mut Acc,
) -> Result<(), TapeError> {
    let (b, kk, nt, nn) = (d.n_branches(), d.n_cat(), d.n_taxa, d.n_nodes());
    let root = nn - 1;
    let Work {
        post,
        u,
        out,
        mult,
        exps,
        big,
        coef,
        sib,
    } = w;
    let slot = |node: usize, k: usize| (node * kk + k) * CHUNK;
    exps[..n].fill(0);
    // Post-order.
    for v in nt..nn {
        let iv = v - nt;
        for (ci, &c) in d.children[v].iter().enumerate() {
            for k in 0..kk {
                let (lv, rest) = post.split_at_mut(slot(iv, k));
                let dst = &mut rest[..n];
                let uc = &mut u[slot(c, k)..][..n];
                if c < nt {
                    let tab = &pr.tables[k * nt + c];
                    let ms = &d.masks[c][p0..p0 + n];
                    if ci == 0 {
                        for ((x, o), &m) in uc.iter_mut().zip(dst.iter_mut()).zip(ms) {
                            *x = tab[usize::from(m & 15)];
                            *o = *x;
                        }
                    } else {
                        for ((x, o), &m) in uc.iter_mut().zip(dst.iter_mut()).zip(ms) {
                            *x = tab[usize::from(m & 15)];
                            *o = mul(o, x);
                        }
                    }
                } else {
                    // A child precedes its parent: its partials are in `lv`.
                    let lc = &lv[slot(c - nt, k)..][..n];
                    let cols = &pr.cols[k * b + c];
                    if ci == 0 {
                        for ((x, o), l) in uc.iter_mut().zip(dst.iter_mut()).zip(lc) {
                            *x = apply::<F>(cols, l);
                            *o = *x;
                        }
                    } else {
                        for ((x, o), l) in uc.iter_mut().zip(dst.iter_mut()).zip(lc) {
                            *x = apply::<F>(cols, l);
                            *o = mul(o, x);
                        }
                    }
                }
            }
        }
        // Scaling, by exact powers of two, where the largest partial is small.
        let big = &mut big[..n];
        for (m, x) in big.iter_mut().zip(&post[slot(iv, 0)..][..n]) {
            *m = max4(x);
        }
        for k in 1..kk {
            for (m, x) in big.iter_mut().zip(&post[slot(iv, k)..][..n]) {
                *m = m.max(max4(x));
            }
        }
        let mv = &mut mult[iv * CHUNK..][..n];
        for (p, &m) in big.iter().enumerate() {
            if m >= SCALE_BELOW {
                mv[p] = 1.0;
                continue;
            }
            if !(m > 0.0 && m.is_finite()) {
                return Err(domain(
                    "a pattern's partial likelihoods are all zero (underflow, or data impossible under the model)",
                ));
            }
            let (e, s) = binade(m);
            mv[p] = s;
            exps[p] += e;
            for k in 0..kk {
                let x = &mut post[slot(iv, k) + p];
                *x = x.map(|y| y * s);
            }
        }
    }
    // The root: site likelihoods, ℓ, π̄ and the reverse pass's start.
    let ir = root - nt;
    let coef = &mut coef[..n];
    coef.fill(0.0);
    for k in 0..kk {
        let rho = d.cat_weights[k];
        for (z, x) in coef.iter_mut().zip(&post[slot(ir, k)..][..n]) {
            *z += rho * (pi[0] * x[0] + pi[1] * x[1] + pi[2] * x[2] + pi[3] * x[3]);
        }
    }
    let ws = &d.weights[p0..p0 + n];
    let mut lnl = 0.0;
    for ((z, &wp), &e) in coef.iter_mut().zip(ws).zip(&exps[..n]) {
        if !(*z > 0.0 && z.is_finite()) {
            return Err(domain("a site likelihood is zero or not finite"));
        }
        lnl += wp * (z.ln() + f64::from(e) * std::f64::consts::LN_2);
        *z = wp / *z;
    }
    acc.lnl += lnl;
    let mut pi_bar = [0.0; 4];
    let mroot = &mult[ir * CHUNK..][..n];
    for k in 0..kk {
        let rho = d.cat_weights[k];
        let a = &mut out[slot(ir, k)..][..n];
        for (((o, x), &f), &s) in a
            .iter_mut()
            .zip(&post[slot(ir, k)..][..n])
            .zip(coef.iter())
            .zip(mroot)
        {
            let g = rho * f;
            for (a, y) in pi_bar.iter_mut().zip(x) {
                *a += g * y;
            }
            let h = g * s;
            *o = pi.map(|q| q * h);
        }
    }
    for (a, y) in acc.pi.iter_mut().zip(pi_bar) {
        *a += y;
    }
    // Pre-order.
    for v in (nt..nn).rev() {
        let iv = v - nt;
        let kids = &d.children[v];
        for (ci, &c) in kids.iter().enumerate() {
            for k in 0..kk {
                let (head, tail) = out.split_at_mut(slot(iv, k));
                let av = &tail[..n];
                let us = |s: usize| &u[slot(s, k)..][..n];
                let mut g = [[0.0; 4]; 4];
                let child = if c < nt {
                    Child::Tip(&d.masks[c][p0..p0 + n])
                } else {
                    let ic = c - nt;
                    Child::Inner {
                        l: &post[slot(ic, k)..][..n],
                        rows: &pr.rows[k * b + c],
                        mult: &mult[ic * CHUNK..][..n],
                        a: &mut head[slot(ic, k)..][..n],
                    }
                };
                // pre_c = a_v ∘ ∏ of the siblings' U: formed on the fly for one or two
                // siblings, in a buffer for more.
                match kids.len() {
                    2 => back::<F, 1>(av, [us(kids[1 - ci])], child, &mut g),
                    3 => {
                        let (s1, s2) = ((ci + 1) % 3, (ci + 2) % 3);
                        back::<F, 2>(av, [us(kids[s1]), us(kids[s2])], child, &mut g);
                    }
                    _ => {
                        let pre = &mut sib[..n];
                        pre.copy_from_slice(av);
                        for (si, &s) in kids.iter().enumerate() {
                            if si != ci {
                                for (x, y) in pre.iter_mut().zip(us(s)) {
                                    *x = mul(x, y);
                                }
                            }
                        }
                        back::<F, 0>(pre, [], child, &mut g);
                    }
                }
                let dst = &mut acc.grad[k * b + c];
                for i in 0..4 {
                    for j in 0..4 {
                        dst[i][j] += g[i][j];
                    }
                }
            }
        }
    }
    Ok(())
}

/// The child end of a branch in the reverse pass.
enum Child<'a> {
    /// A tip: its state sets.
    Tip(&'a [u8]),
    /// An internal node: its scaled partials `l`, the branch's matrix by rows, its scale
    /// multipliers, and its `a` to be written.
    Inner {
        l: &'a [V4],
        rows: &'a [V4; 4],
        mult: &'a [f64],
        a: &'a mut [V4],
    },
}

/// One branch of the reverse pass: with `pre[p] = av[p] ∘ ∏ sibs[·][p]`, adds
/// `Σ_p pre[p] ⊗ L̃_c[p]` to `g` and, for an internal child, writes its
/// `a_c[p] = mult_c[p]·P_cᵀ·pre[p]`.
#[inline(always)]
fn back<const F: bool, const NS: usize>(
    av: &[V4],
    sibs: [&[V4]; NS],
    child: Child<'_>,
    g: &mut [V4; 4],
) {
    let n = av.len();
    let pre = |p: usize| {
        let mut x = av[p];
        for s in &sibs {
            x = mul(&x, &s[p]);
        }
        x
    };
    match child {
        Child::Tip(ms) => {
            for (p, &m) in ms[..n].iter().enumerate() {
                // A tip's partials are the indicator of its state set.
                outer::<F>(g, &pre(p), &INDICATOR[usize::from(m & 15)]);
            }
        }
        Child::Inner { l, rows, mult, a } => {
            for (p, ((o, l), &s)) in a[..n].iter_mut().zip(&l[..n]).zip(&mult[..n]).enumerate() {
                let x = pre(p);
                outer::<F>(g, &x, l);
                let y = apply::<F>(rows, &x);
                *o = y.map(|q| q * s);
            }
        }
    }
}

impl Op<f64> for LogLikelihood {
    type Residual = Gradient;

    fn name(&self) -> &'static str {
        "log_likelihood"
    }

    fn forward(&self, x: &[MatRef<'_, f64>]) -> Result<(Mat<f64>, Gradient), TapeError> {
        let d = &*self.data;
        let (b, kk) = (d.n_branches(), d.n_cat());
        let (p, pim) = match x {
            [p, pi] => (*p, *pi),
            _ => {
                return Err(TapeError::ShapeMismatch {
                    op: "log_likelihood",
                    lhs: (x.len(), 0),
                    rhs: (2, 0),
                });
            }
        };
        if p.shape() != (4, 4 * b * kk) {
            return Err(TapeError::ShapeMismatch {
                op: "log_likelihood",
                lhs: p.shape(),
                rhs: (4, 4 * b * kk),
            });
        }
        if pim.shape() != (4, 1) {
            return Err(TapeError::ShapeMismatch {
                op: "log_likelihood",
                lhs: pim.shape(),
                rhs: (4, 1),
            });
        }
        if (0..p.ncols()).any(|j| (0..4).any(|i| !p[(i, j)].is_finite())) {
            return Err(domain("a transition probability is not finite"));
        }
        let pi = [pim[(0, 0)], pim[(1, 0)], pim[(2, 0)], pim[(3, 0)]];
        let mut guard = self
            .work
            .try_borrow_mut()
            .map_err(|_| domain("the workspace is in use"))?;
        let ws = &mut *guard;
        self.prepare(p, &mut ws.prepared);
        let n_pat = d.n_pat();
        let n_chunks = n_pat.div_ceil(CHUNK);
        let n_tasks = n_chunks.clamp(1, TASKS);
        ws.accs.resize_with(n_tasks, || Acc {
            lnl: 0.0,
            grad: Vec::new(),
            pi: [0.0; 4],
        });
        let pr = &ws.prepared;
        ws.accs
            .par_iter_mut()
            .enumerate()
            .try_for_each(|(t, acc)| {
                acc.reset(d);
                let (c0, c1) = (t * n_chunks / n_tasks, (t + 1) * n_chunks / n_tasks);
                WORK.with(|cell| {
                    let mut w = cell.borrow_mut();
                    w.fit(d);
                    Arch::new().dispatch(Chunks {
                        d,
                        pr,
                        pi: &pi,
                        w: &mut w,
                        chunks: c0..c1,
                        acc,
                    })
                })
            })?;
        // The tasks' sums, in order.
        let mut lnl = 0.0;
        let mut gp = Mat::<f64>::zeros(4, 4 * b * kk);
        let mut gpi = Mat::<f64>::zeros(4, 1);
        for acc in &ws.accs {
            lnl += acc.lnl;
            for i in 0..4 {
                gpi[(i, 0)] += acc.pi[i];
            }
            for (blk, g) in acc.grad.iter().enumerate() {
                for i in 0..4 {
                    for j in 0..4 {
                        gp[(i, 4 * blk + j)] += g[i][j];
                    }
                }
            }
        }
        Ok((Mat::from_fn(1, 1, |_, _| lnl), Gradient { p: gp, pi: gpi }))
    }

    fn vjp(
        &self,
        grad: &Gradient,
        _: &[MatRef<'_, f64>],
        _: MatRef<'_, f64>,
        g: MatRef<'_, f64>,
        needs: &[bool],
    ) -> Result<Vec<Option<Mat<f64>>>, TapeError> {
        let s = g[(0, 0)];
        let scaled = |m: &Mat<f64>| Mat::from_fn(m.nrows(), m.ncols(), |i, j| s * m[(i, j)]);
        Ok(vec![
            needs[0].then(|| scaled(&grad.p)),
            needs
                .get(1)
                .copied()
                .unwrap_or(false)
                .then(|| scaled(&grad.pi)),
        ])
    }
}

/// The log-likelihood on the tape: one [`LogLikelihood`] op on `p` (the stacked transition
/// matrices of all categories, category `k`, branch `b` at block `k·B + b`) and `pi` (4 × 1).
pub fn log_likelihood<'t>(
    data: &Rc<Data>,
    work: &Rc<RefCell<Workspace>>,
    p: Var<'t>,
    pi: Var<'t>,
) -> Result<Var<'t>, String> {
    p.try_apply(
        LogLikelihood {
            data: data.clone(),
            work: work.clone(),
        },
        &[pi],
    )
    .map_err(|e| format!("pruning: {e}"))
}
