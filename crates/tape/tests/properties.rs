//! `gradcheck` and `Var::jacobian` on random expression graphs (compositions of the ops, expm
//! and fan-out included, constants mixed in) checked by `gradcheck`; `jacobian` against one
//! `backward_with` per output entry.
use expgrad_tape::{GradcheckOptions, Tape, Var, gradcheck_with};
use faer::Mat;
use proptest::prelude::*;

/// A program: each step is (op, i, j) applied to the values computed so far.
fn program() -> impl Strategy<Value = Vec<(u8, usize, usize)>> {
    proptest::collection::vec((0u8..10, 0usize..16, 0usize..16), 1..7)
}

fn run<'t>(prog: &[(u8, usize, usize)], x: &[Var<'t>], c: Var<'t>) -> Var<'t> {
    let mut vals: Vec<Var<'t>> = vec![x[0], x[1], c];
    for &(op, i, j) in prog {
        let (p, q) = (vals[i % vals.len()], vals[j % vals.len()]);
        let v = match op {
            0 => p.add(q),
            1 => p.sub(q),
            2 => p.mul(q),
            3 => p.matmul(q).scale(0.5),
            4 => p.transpose(),
            5 => p.scale(0.7).expm(),
            6 => p.square().scale(0.5),
            7 => p.scale(0.3).exp(),
            8 => p.dot(q).broadcast(p.shape().0, p.shape().1).scale(0.2),
            _ => p.trace().broadcast(p.shape().0, p.shape().1).mul(q),
        };
        vals.push(v);
    }
    *vals.last().unwrap()
}

fn small(n: usize) -> impl Strategy<Value = Mat<f64>> {
    proptest::collection::vec(-0.6..0.6f64, n * n)
        .prop_map(move |v| Mat::from_fn(n, n, |i, j| v[i + j * n]))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_graphs_pass_gradcheck(prog in program(), a in small(3), b in small(3), c in small(3), seed in 0u64..1000) {
        let opts = GradcheckOptions { seed, ..Default::default() };
        let report = gradcheck_with(|x: &[Var]| {
            let cst = x[0].tape().constant(c.clone());
            run(&prog, x, cst)
        }, &[a.clone(), b.clone()], &opts);
        prop_assert!(report.passed, "{prog:?}\n{report}");
    }

    #[test]
    fn jacobian_equals_unit_seed_sweeps(prog in program(), a in small(2), b in small(2)) {
        let tape = Tape::new();
        let x = [tape.var(a.clone()), tape.var(b.clone())];
        let out = run(&prog, &x, tape.constant(Mat::identity(2, 2)));
        let (r, c) = out.shape();
        for v in x {
            let j = out.jacobian(v);
            for k in 0..r * c {
                let mut seed = Mat::<f64>::zeros(r, c);
                seed[(k % r, k / r)] = 1.0;
                let g = out.backward_with(seed).wrt(v);
                for q in 0..g.ncols() {
                    for p in 0..g.nrows() {
                        prop_assert_eq!(j[(k, p + q * g.nrows())], g[(p, q)]);
                    }
                }
            }
        }
    }
}
