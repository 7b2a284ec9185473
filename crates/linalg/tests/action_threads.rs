//! The sparse products of the action: the `Diag(d)` scaling fused into the gather/scatter
//! against the unfused sequence (bitwise), 32-bit against `usize` indices (bitwise), and
//! thread-count determinism of the forward, value + gradient and second-order passes with
//! products split across rayon threads (n·5 ≈ 1.1·10⁵ stored entries, above the threshold).
//!
//! What is guaranteed: gathers (`A·x` of a CSR matrix, `Aᵀ·x` of a CSC one) sum each output
//! entry in storage order whatever the split, so they are bitwise the same for every thread
//! count; scatters (`Aᵀ·x` of CSR) sum per-thread partials in a fixed order, bitwise the same
//! for a given thread count and within a few ulps of one thread (tested at 1e-12 relative on
//! the results of the whole pass).
use expgrad_linalg::{
    ActionTangent, DiagScaled, ExpmAction, ExpmActionOptions, GradLinOp, LinOp, StorePolicy,
};
use expgrad_testkit::laplacian::{Boundary, neg_laplacian_2d};
use expgrad_testkit::{markov_csr, randn, rng};
use faer::sparse::{SparseColMat, SparseRowMat, SymbolicSparseRowMat};
use faer::{Mat, MatMut, MatRef};
use rand::Rng;

fn pool(k: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(k)
        .build()
        .unwrap()
}

/// The CSR matrix without its fused product: `DiagScaled` over it scales around `apply`.
struct Unfused<'a>(&'a SparseRowMat<usize, f64>);

impl LinOp<f64> for Unfused<'_> {
    fn dim(&self) -> usize {
        self.0.nrows()
    }
    fn apply(&self, out: MatMut<'_, f64>, x: MatRef<'_, f64>) {
        self.0.apply(out, x)
    }
    fn apply_transpose(&self, out: MatMut<'_, f64>, x: MatRef<'_, f64>) {
        self.0.apply_transpose(out, x)
    }
    fn trace(&self) -> f64 {
        LinOp::trace(self.0)
    }
    fn diagonal(&self) -> Option<Vec<f64>> {
        LinOp::diagonal(self.0)
    }
}

fn to_u32(a: &SparseRowMat<usize, f64>) -> SparseRowMat<u32, f64> {
    let s = a.symbolic();
    let c = |v: &[usize]| v.iter().map(|&x| x as u32).collect::<Vec<u32>>();
    let sym = SymbolicSparseRowMat::new_unsorted_checked(
        a.nrows(),
        a.ncols(),
        c(s.row_ptr()),
        s.row_nnz().map(c),
        c(s.col_idx()),
    );
    SparseRowMat::new(sym, a.val().to_vec())
}

/// The bits of a product and of its raw product.
type Bits = (Vec<u64>, Vec<u64>);

fn bits(a: &Mat<f64>) -> Vec<u64> {
    (0..a.ncols())
        .flat_map(|j| (0..a.nrows()).map(move |i| (i, j)))
        .map(|(i, j)| a[(i, j)].to_bits())
        .collect()
}

fn d_of(n: usize, seed: u64) -> Vec<f64> {
    let mut r = rng(seed);
    (0..n).map(|_| r.random_range(0.5..1.5)).collect()
}

/// Every product of `DiagScaled` (both sides, plain, transposed, keeping the raw product),
/// fused against unfused, k = 1 and 3, one thread and two: bitwise.
#[test]
fn fused_diag_products_match_unfused_bitwise() {
    for (n, seed) in [(3000usize, 1u64), (30_000, 2)] {
        let a = markov_csr(&mut rng(seed), n);
        let d = d_of(n, seed + 10);
        for k in [1usize, 3] {
            let x = randn(&mut rng(seed + 20), n, k);
            for threads in [1usize, 2] {
                pool(threads).install(|| {
                    for side in [expgrad_linalg::Side::Left, expgrad_linalg::Side::Right] {
                        let f = DiagScaled::new(&d, &a, side);
                        let u = DiagScaled::new(&d, Unfused(&a), side);
                        let run = |op: &dyn Fn(MatMut<'_, f64>, MatMut<'_, f64>)| {
                            let (mut o, mut r) = (Mat::zeros(n, k), Mat::zeros(n, k));
                            op(o.as_mut(), r.as_mut());
                            (bits(&o), bits(&r))
                        };
                        let pairs: [(Bits, Bits); 4] = [
                            (
                                run(&|o, _| f.apply(o, x.as_ref())),
                                run(&|o, _| u.apply(o, x.as_ref())),
                            ),
                            (
                                run(&|o, _| f.apply_transpose(o, x.as_ref())),
                                run(&|o, _| u.apply_transpose(o, x.as_ref())),
                            ),
                            (
                                run(&|o, r| f.apply_keep_raw(o, x.as_ref(), r)),
                                run(&|o, r| u.apply_keep_raw(o, x.as_ref(), r)),
                            ),
                            (
                                run(&|o, r| f.apply_transpose_keep_raw(o, x.as_ref(), r)),
                                run(&|o, r| u.apply_transpose_keep_raw(o, x.as_ref(), r)),
                            ),
                        ];
                        for (i, (fu, un)) in pairs.iter().enumerate() {
                            assert!(
                                fu == un,
                                "n={n} k={k} threads={threads} {side:?} product {i}"
                            );
                        }
                    }
                });
            }
        }
    }
}

/// `u32` and `usize` indices, CSR and CSC, `A·x` and `Aᵀ·x`: bitwise.
#[test]
fn u32_indices_match_usize_bitwise() {
    let n = 5000;
    let a = markov_csr(&mut rng(7), n);
    let a32 = to_u32(&a);
    let c: SparseColMat<usize, f64> = a.to_col_major().unwrap();
    let c32: SparseColMat<u32, f64> = a32.to_col_major().unwrap();
    let x = randn(&mut rng(8), n, 2);
    let prod = |op: &dyn LinOp<f64>, t: bool| {
        let mut o = Mat::zeros(n, 2);
        if t {
            op.apply_transpose(o.as_mut(), x.as_ref())
        } else {
            op.apply(o.as_mut(), x.as_ref())
        }
        bits(&o)
    };
    for t in [false, true] {
        assert!(prod(&a, t) == prod(&a32, t));
        assert!(prod(&c, t) == prod(&c32, t));
    }
}

fn max_rel(a: &[f64], b: &[f64]) -> f64 {
    let m = b.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    a.iter()
        .zip(b)
        .fold(0.0f64, |e, (x, y)| e.max((x - y).abs()))
        / m
}

/// Forward, value + gradient (d̄, V̄, t̄) and the second-order pass (JVP, and the tangent of
/// the reverse pass) of `exp(t·Diag(d)·A)·V` at n = 22 500 with one thread and two.
#[test]
fn thread_count_determinism() {
    let a = neg_laplacian_2d(150, Boundary::Neumann).csr();
    let n = a.nrows();
    let d = d_of(n, 3);
    let dd = d_of(n, 4);
    let v = randn(&mut rng(5), n, 1);
    let g = randn(&mut rng(6), n, 1);
    let op = DiagScaled::left(&d, &a);
    let opd = DiagScaled::left(&dd, &a);
    let t = 20.0 / LinOp::norm1(&op).unwrap();
    type Run = (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>);
    let run = |threads: usize, store: StorePolicy| -> Run {
        pool(threads).install(|| {
            let act = ExpmAction::new(
                &op,
                t,
                v.as_ref(),
                ExpmActionOptions::default().store(store),
            );
            let w: Vec<f64> = act.value().to_owned().col_as_slice(0).to_vec();
            let mut s = act.cotangent();
            let (vbar, tbar) = act.vjp(g.as_ref(), &mut s);
            let mut grad = s.value().to_vec();
            grad.extend(vbar.col_as_slice(0));
            grad.push(tbar);
            let dir = ActionTangent {
                x: Some(&opd as &dyn LinOp<f64>),
                v: None,
                t: 0.1,
            };
            let wd = act.try_jvp(dir).unwrap().col_as_slice(0).to_vec();
            let (mut s1, mut s2) = (act.cotangent(), act.cotangent());
            let r = act
                .try_vjp_jvp(g.as_ref(), None, dir, &mut s1, &mut s2)
                .unwrap();
            let mut hv = s2.value().to_vec();
            hv.extend(r.v_bar_dot.col_as_slice(0));
            hv.push(r.t_bar_dot);
            (w, grad, wd, hv, s1.value().to_vec())
        })
    };
    for store in [StorePolicy::All, StorePolicy::Checkpoint] {
        let one = run(1, store);
        let two = run(2, store);
        let two_again = run(2, store);
        // The same thread count: bitwise.
        assert!(two == two_again, "{store:?}: two threads, two runs");
        // The forward is gathers only (CSR·x): bitwise across thread counts.
        assert!(one.0 == two.0, "{store:?}: forward, 1 vs 2 threads");
        assert!(one.2 == two.2, "{store:?}: JVP, 1 vs 2 threads");
        // The reverse scatters (CSRᵀ·x) through per-thread partials: rounding only.
        for (a, b, what) in [
            (&one.1, &two.1, "gradient"),
            (&one.3, &two.3, "hvp"),
            (&one.4, &two.4, "reverse"),
        ] {
            let e = max_rel(a, b);
            assert!(e <= 1e-12, "{store:?}: {what} 1 vs 2 threads, rel {e:e}");
        }
    }
}
