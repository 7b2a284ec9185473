//! Scaling and squaring with an optimised Taylor polynomial: `e^A ≈ P(2⁻ˢA)^{2ˢ}`, `P` one of
//! the [`schemes`] (no linear solve), and its Fréchet derivative by the same program.
//!
//! The forward pass runs the scheme's straight-line program on `B = 2⁻ˢA` and keeps every
//! node that is an operand of a product, then squares. The derivative runs the tangent
//! program: node 0 gets `2⁻ˢE`, a combination gets the same combination of tangents, a
//! product `X_i·X_j` gets `L_i·X_j + X_i·L_j`; then each squaring `L ← R_iL + LR_i`. That is
//! exactly the derivative of the computed approximant (Al-Mohy & Higham 2009b differentiate
//! Padé the same way), so for `P(2⁻ˢA)^{2ˢ} = e^{A+ΔA}` the result is `L(A + ΔA, E)`. The
//! adjoint `L(Aᵀ, G)` runs the tangent program on transposed views of the cache (every node is
//! a polynomial in `B`, so `X_k(Bᵀ) = X_k(B)ᵀ`).
//!
//! Tests: `crates/linalg/tests/{degrees,published,closed_forms,precision}.rs`.

pub(crate) mod schemes;

use crate::Scalar;
use crate::expm::{MAX_CACHED_SQUARE_ENTRIES, all_finite, fix_triangular, lincomb, scale_pow2};
use crate::kernels::{matmul_acc, matmul_into, par_for};
use crate::memory as pool;
use crate::scalar::pow2_real;
use faer::{Mat, MatRef};
use schemes::{Step, schemes};

/// Everything the Taylor forward pass computed that the derivatives reuse.
#[derive(Clone, Debug)]
pub(crate) struct Taylor<T: Scalar> {
    /// Index of the scheme in [`schemes`].
    pub(crate) id: usize,
    /// Number of squarings.
    pub(crate) s: u32,
    /// `B = 2⁻ˢA`.
    pub(crate) a: Mat<T>,
    /// Node values that are operands of a product (node 0, `B`, is `a`).
    pub(crate) nodes: Vec<Option<Mat<T>>>,
    /// Monomial coefficients of the evaluated polynomial (for the structured derivatives).
    pub(crate) p: Vec<T>,
    /// `squares[i] = R_i`, i = 0..s−1, or only `R₀` when the memory cap is hit.
    pub(crate) squares: Vec<Mat<T>>,
    /// `Some(A)` (unscaled) when `A` is upper triangular: every `R_i` gets the exact diagonal
    /// and first superdiagonal, as in the Padé path.
    pub(crate) upper: Option<Mat<T>>,
}

/// For every node of a program, `Some(k)` when it is the plain power `B^k`.
fn powers_of(steps: &[Step]) -> Vec<Option<usize>> {
    let mut pw = vec![Some(1)];
    for s in steps {
        let k = match s {
            Step::Prod(i, j) => pw[*i].zip(pw[*j]).map(|(a, b)| a + b),
            Step::Comb(..) => None,
        };
        pw.push(k);
    }
    pw
}

/// Which nodes are operands of a product (and so kept for the derivative).
fn operands(steps: &[Step]) -> Vec<bool> {
    let mut used = vec![false; steps.len() + 1];
    for s in steps {
        if let Step::Prod(i, j) = s {
            used[*i] = true;
            used[*j] = true;
        }
    }
    used
}

/// What the interpreter derives from a scheme's program, once per scheme: the pure powers,
/// the product operands (kept for the derivative) and the power-basis plan.
pub(crate) struct Layout {
    /// For every node, `Some(k)` when it is the plain power `B^k`.
    pub(crate) power: Vec<Option<usize>>,
    /// Whether the node is an operand of a product (kept for the derivative).
    pub(crate) keep: Vec<bool>,
    plan: Option<PowerPlan>,
}

pub(crate) fn layout(id: usize) -> &'static Layout {
    static L: std::sync::OnceLock<Vec<Layout>> = std::sync::OnceLock::new();
    &L.get_or_init(|| {
        schemes()
            .iter()
            .map(|s| {
                let power = powers_of(&s.steps);
                Layout {
                    keep: operands(&s.steps),
                    plan: power_plan(&s.steps, &power),
                    power,
                }
            })
            .collect()
    })[id]
}

/// A step's terms `(node, c)` as `(c, matrix)`.
pub(crate) fn resolve<'a, T: Scalar>(
    terms: &[(usize, f64)],
    get: impl Fn(usize) -> MatRef<'a, T>,
) -> Vec<(T, MatRef<'a, T>)> {
    terms.iter().map(|&(i, c)| (T::lit(c), get(i))).collect()
}

/// Below this size each combination is one pass ([`lincomb`]); from it, their parts over the pure
/// powers of `B` are one product [`PowerPlan`] (measured: at n = 64 the six combinations of
/// S30, 35 terms, take 40 µs as passes and under 10 µs as one product).
const GEMM_COMBINATIONS_FROM: usize = 32;

/// For a program whose pure powers `B^k` all come before its first combination: the powers
/// (node ids), and for every combination its coefficients over them, its other terms and its
/// identity coefficient. Then all the combinations' power parts are one product `P·C`, with
/// `P = [vec(B^k)]` (n²×K) and `C` (K×M), instead of one pass over memory per term.
struct PowerPlan {
    basis: Vec<usize>,
    /// Per combination step (in program order): step index, coefficients over `basis`, the
    /// remaining terms, the identity coefficient.
    combs: Vec<PlannedComb>,
}

/// Step index, coefficients over the powers, the other terms, the identity coefficient.
type PlannedComb = (usize, Vec<f64>, Vec<(usize, f64)>, f64);

fn power_plan(steps: &[Step], power: &[Option<usize>]) -> Option<PowerPlan> {
    let basis: Vec<usize> = (0..power.len()).filter(|&i| power[i].is_some()).collect();
    let first = steps.iter().position(|s| matches!(s, Step::Comb(..)))?;
    // Node ids of the steps are index + 1: every power must exist before the first combination.
    if basis.iter().any(|&b| b > first) {
        return None;
    }
    let combs = steps
        .iter()
        .enumerate()
        .filter_map(|(k, st)| match st {
            Step::Comb(terms, id) => {
                let mut coef = vec![0.0; basis.len()];
                let mut rest = Vec::new();
                for &(i, c) in terms {
                    match basis.iter().position(|&b| b == i) {
                        Some(pos) => coef[pos] += c,
                        None => rest.push((i, c)),
                    }
                }
                Some((k, coef, rest, *id))
            }
            Step::Prod(..) => None,
        })
        .collect();
    Some(PowerPlan { basis, combs })
}

/// `G = P·C`: column m of `G` (n², reshaped n×n) is the power part of combination m.
fn power_parts<'a, T: Scalar>(
    plan: &PowerPlan,
    get: impl Fn(usize) -> MatRef<'a, T>,
    n: usize,
) -> Mat<T> {
    let (k, m) = (plan.basis.len(), plan.combs.len());
    let mut p = pool::scratch::<T>(n * n, k);
    for (col, &node) in plan.basis.iter().enumerate() {
        let x = get(node);
        let dst = p.col_as_slice_mut(col);
        for j in 0..n {
            let src = x
                .col(j)
                .try_as_col_major()
                .expect("pooled matrices are column-major");
            dst[j * n..(j + 1) * n].copy_from_slice(src.as_slice());
        }
    }
    let c = Mat::<T>::from_fn(k, m, |i, j| T::lit(plan.combs[j].1[i]));
    let mut g = pool::scratch::<T>(n * n, m);
    matmul_into(g.as_mut(), p.as_ref(), c.as_ref(), par_for(n));
    pool::recycle(p);
    g
}

impl<T: Scalar> Taylor<T> {
    /// Runs the forward pass of scheme `id` with `s` squarings on `A` (n×n, finite). `pows`
    /// holds unscaled powers `(k, A^k)` the selection already formed; they replace the
    /// program's products for the same powers (scaled by `2^{-ks}`) when that is exact.
    /// Returns the cache and `P(B)^{2ˢ}`.
    #[allow(non_snake_case)]
    pub(crate) fn new(
        A: MatRef<'_, T>,
        id: usize,
        s: u32,
        mut pows: Vec<(usize, Mat<T>)>,
        upper: bool,
    ) -> (Self, Mat<T>) {
        let n = A.nrows();
        let par = par_for(n);
        let scheme = &schemes()[id];
        let mut a = pool::scratch::<T>(n, n);
        a.copy_from(A);
        scale_pow2(&mut a, -(s as i32));
        let Layout { power, keep, plan } = layout(id);
        let top = power.iter().flatten().copied().max().unwrap_or(1);
        let exponent = -((top * s as usize).min(2000) as i32);
        let reuse = s == 0
            || (pow2_real::<T>(exponent) >= <T::Real as num_traits::Float>::min_positive_value()
                && pows.iter().all(|(_, m)| all_finite(m.as_ref())));
        let plan = plan.as_ref().filter(|_| n >= GEMM_COMBINATIONS_FROM);
        let mut parts: Option<Mat<T>> = None;
        let mut nodes: Vec<Option<Mat<T>>> = vec![None];
        for (k, step) in scheme.steps.iter().enumerate() {
            let node = k + 1;
            let get = |i: usize| -> MatRef<'_, T> {
                if i == 0 {
                    a.as_ref()
                } else {
                    nodes[i].as_ref().expect("kept operand").as_ref()
                }
            };
            let value = match step {
                Step::Prod(i, j) => {
                    let given = power[node]
                        .filter(|_| reuse)
                        .and_then(|p| pows.iter().position(|(k, _)| *k == p))
                        .map(|pos| pows.swap_remove(pos).1);
                    match given {
                        Some(mut m) => {
                            if s > 0 {
                                scale_pow2(&mut m, -(power[node].unwrap() as i32) * s as i32);
                            }
                            m
                        }
                        None => pool::product(get(*i), get(*j), par),
                    }
                }
                Step::Comb(terms, id) => match plan {
                    Some(plan) => {
                        let g = parts.get_or_insert_with(|| power_parts(plan, get, n));
                        let m = plan.combs.iter().position(|c| c.0 == k).unwrap();
                        let part = MatRef::from_column_major_slice(g.col_as_slice(m), n, n);
                        let mut terms = vec![(T::one_impl(), part)];
                        let rest = &plan.combs[m].2;
                        terms.extend(rest.iter().map(|&(i, c)| (T::lit(c), get(i))));
                        lincomb(&terms, T::lit(*id))
                    }
                    None => lincomb(&resolve(terms, get), T::lit(*id)),
                },
            };
            nodes.push(Some(value));
        }
        if let Some(g) = parts {
            pool::recycle(g);
        }
        let out = nodes.pop().flatten();
        nodes.push(None);
        pows.into_iter().for_each(|(_, m)| pool::recycle(m));
        // Drop the nodes the derivative does not need.
        for (i, node) in nodes.iter_mut().enumerate() {
            if !keep.get(i).copied().unwrap_or(false) {
                if let Some(m) = node.take() {
                    pool::recycle(m);
                }
            }
        }
        let p = scheme.poly.iter().map(|&c| T::lit(c)).collect();
        let mut r = out.expect("a program has at least one step");
        let upper = upper.then(|| A.to_owned());
        if let Some(a0) = &upper {
            fix_triangular(&mut r, a0.as_ref(), s);
        }
        let cache_all = (s as usize).saturating_mul(n * n) <= MAX_CACHED_SQUARE_ENTRIES;
        let mut squares = Vec::new();
        for i in 0..s {
            let mut next = pool::product(r.as_ref(), r.as_ref(), par);
            if let Some(a0) = &upper {
                fix_triangular(&mut next, a0.as_ref(), s - i - 1);
            }
            if i == 0 || cache_all {
                squares.push(r);
            } else {
                pool::recycle(r);
            }
            r = next;
        }
        if s == 0 {
            squares.push(r.clone());
        }
        let this = Self {
            id,
            s,
            a,
            nodes,
            p,
            squares,
            upper,
        };
        (this, r)
    }

    /// The scheme's order.
    pub(crate) fn order(&self) -> usize {
        schemes()[self.id].order
    }

    /// `B^k` when the forward pass kept it (`B` itself, or a power node of the program).
    pub(crate) fn power(&self, k: usize) -> Option<&Mat<T>> {
        if k == 1 {
            return Some(&self.a);
        }
        let idx = layout(self.id).power.iter().position(|p| *p == Some(k))?;
        self.nodes.get(idx)?.as_ref()
    }

    /// `R_{i+1} = R_i²` (with the exact triangular diagonal when `A` is upper triangular).
    pub(crate) fn square(&self, r: &Mat<T>, i: u32) -> Mat<T> {
        let mut out = pool::product(r.as_ref(), r.as_ref(), par_for(r.nrows()));
        if let Some(a0) = &self.upper {
            fix_triangular(&mut out, a0.as_ref(), self.s - i - 1);
        }
        out
    }

    /// `L(B̃, 2⁻ˢE)` of `P` by the tangent program (then the caller's squarings), `B̃ = B` or
    /// `Bᵀ` when `tr`.
    pub(crate) fn frechet_approximant(&self, e: MatRef<'_, T>, tr: bool) -> Mat<T> {
        let n = e.nrows();
        let par = par_for(n);
        fn view<T>(m: &Mat<T>, tr: bool) -> MatRef<'_, T> {
            if tr { m.transpose() } else { m.as_ref() }
        }
        let scheme = &schemes()[self.id];
        let mut le = pool::scratch::<T>(n, n);
        le.copy_from(e);
        scale_pow2(&mut le, -(self.s as i32));
        let mut tangents: Vec<Mat<T>> = vec![le];
        for step in &scheme.steps {
            let value = |i: usize| -> MatRef<'_, T> {
                if i == 0 {
                    view(&self.a, tr)
                } else {
                    view(self.nodes[i].as_ref().expect("kept operand"), tr)
                }
            };
            let t = match step {
                Step::Prod(i, j) => {
                    let mut m = pool::scratch::<T>(n, n);
                    matmul_into(m.as_mut(), tangents[*i].as_ref(), value(*j), par);
                    matmul_acc(
                        m.as_mut(),
                        value(*i),
                        tangents[*j].as_ref(),
                        T::one_impl(),
                        par,
                    );
                    m
                }
                // The identity term's derivative is zero.
                Step::Comb(terms, _) => {
                    lincomb(&resolve(terms, |i| tangents[i].as_ref()), T::zero_impl())
                }
            };
            tangents.push(t);
        }
        let l = tangents.pop().unwrap();
        tangents.into_iter().for_each(pool::recycle);
        l
    }
}

impl<T: Scalar> Drop for Taylor<T> {
    /// The cache's matrices go back to the per-thread pool for the next forward pass.
    fn drop(&mut self) {
        let mats = core::mem::take(&mut self.nodes)
            .into_iter()
            .flatten()
            .chain(core::mem::take(&mut self.squares))
            .chain([core::mem::replace(&mut self.a, Mat::new())])
            .chain(self.upper.take());
        mats.for_each(pool::recycle);
    }
}
