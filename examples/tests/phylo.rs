//! The phylo example: its gradient against finite differences, its likelihood against a
//! brute-force sum over ancestral states, recovery of simulated parameters, missing data,
//! and bad input as usage errors (exit code 2), never a panic.
#[allow(dead_code)]
#[path = "../phylo/main.rs"]
mod phylo;

use expgrad::tape::{GradcheckOptions, gradcheck_with};
use faer::Mat;
use phylo::{Args, cli, fasta, gtr, model, newick, patterns, simulate, topology};

fn parse(args: &[&str]) -> Args {
    let argv = std::iter::once("phylo").chain(args.iter().copied());
    cli::try_parse_from::<Args, _, _>(argv).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn model_of(fasta_text: &str, tree: &str, estimate_freqs: bool, rates: Vec<f64>) -> model::Model {
    let records = fasta::parse(fasta_text).unwrap();
    let names: Vec<String> = records.iter().map(|r| r.name.clone()).collect();
    let topo = topology::Topology::new(&newick::parse(tree).unwrap(), &names).unwrap();
    let freqs = patterns::empirical_frequencies(&records).unwrap();
    model::Model::new(
        topo,
        patterns::Patterns::new(&records),
        freqs,
        estimate_freqs,
        rates,
    )
}

fn small(estimate_freqs: bool, rates: Vec<f64>) -> model::Model {
    let text = std::fs::read_to_string(phylo::SMALL_FASTA).unwrap();
    let tree = std::fs::read_to_string(phylo::SMALL_TREE_FILE).unwrap();
    model_of(&text, &tree, estimate_freqs, rates)
}

/// (a) The tape's gradient of the log-likelihood with respect to every parameter against
/// central differences (Richardson-refined, error O(h⁴)), via `expgrad::gradcheck`, with the
/// frequencies estimated and four gamma categories so that every path is exercised. The
/// relative tolerance 1e-6 is gradcheck's default for f64: the log-likelihood (about −2700)
/// is smooth and its Richardson differences are accurate to about 1e-9 relative; the
/// per-pattern scale factors change with the parameters but are compensated exactly, so
/// they add only rounding.
#[test]
fn gradient_matches_finite_differences() {
    for (freqs, rates) in [
        (false, vec![1.0]),
        (true, phylo::gamma::category_rates(0.7, 4)),
    ] {
        let m = small(freqs, rates);
        let mut th = m.start(0.1);
        // Away from the start's round numbers, every parameter different.
        for (i, x) in th.iter_mut().enumerate() {
            *x += 0.05 * ((i * 7 % 5) as f64 - 2.0);
        }
        let x = Mat::from_fn(th.len(), 1, |i, _| th[i]);
        let report = gradcheck_with(
            |xs| m.log_likelihood(xs[0]).unwrap(),
            &[x],
            &GradcheckOptions::default(),
        );
        assert!(report.passed, "{report}");
        assert_eq!(th.len(), m.n_params());
    }
}

/// exp(tQ) by the eigen-decomposition of the symmetrised reversible generator (an
/// independent route from the tape's expm): `Π^{1/2} Q Π^{-1/2}` is symmetric.
fn transition_by_eigen(q: &Mat<f64>, pi: &[f64; 4], t: f64) -> Mat<f64> {
    let s = Mat::from_fn(4, 4, |i, j| pi[i].sqrt() * q[(i, j)] / pi[j].sqrt());
    let s = Mat::from_fn(4, 4, |i, j| 0.5 * (s[(i, j)] + s[(j, i)]));
    let eig = s.self_adjoint_eigen(faer::Side::Lower).unwrap();
    let (u, d) = (eig.U(), eig.S());
    Mat::from_fn(4, 4, |i, j| {
        let e: f64 = (0..4)
            .map(|k| u[(i, k)] * (t * d[k]).exp() * u[(j, k)])
            .sum();
        e * pi[j].sqrt() / pi[i].sqrt()
    })
}

/// Q built by hand from the definition (not by the example's gtr.rs).
fn gtr_by_hand(s: &[f64; 6], pi: &[f64; 4]) -> Mat<f64> {
    let pairs = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)];
    let mut q = Mat::<f64>::zeros(4, 4);
    for (k, &(i, j)) in pairs.iter().enumerate() {
        q[(i, j)] = s[k] * pi[j];
        q[(j, i)] = s[k] * pi[i];
    }
    for i in 0..4 {
        q[(i, i)] = -(0..4).filter(|&j| j != i).map(|j| q[(i, j)]).sum::<f64>();
    }
    let mu: f64 = -(0..4).map(|i| pi[i] * q[(i, i)]).sum::<f64>();
    Mat::from_fn(4, 4, |i, j| q[(i, j)] / mu)
}

/// (b) On a 4-taxon tree ((a,b),c,d), the likelihood at fixed parameters equals the sum
/// over all 4⁶ assignments of the two internal states and the four tip states (each tip
/// restricted to what its character allows), with P = exp(tQ) by eigen-decomposition.
#[test]
fn four_taxa_likelihood_matches_brute_force() {
    let text = ">a\nACGTRN-A\n>b\nACGTAAGC\n>c\nATGCYCGA\n>d\nACCTTAG-\n";
    let m = model_of(text, "((a:0.1,b:0.2):0.15,c:0.3,d:0.05);", false, vec![1.0]);
    let params = model::Params {
        exchangeabilities: [1.5, 3.0, 0.6, 0.9, 4.0, 1.0],
        freqs: m.freqs,
        lengths: vec![0.11, 0.23, 0.31, 0.07, 0.17],
    };
    let (ll, _) = m.log_likelihood_and_grad(&m.theta(&params)).unwrap();
    // Branch b sits above node b: tips a, b, c, d = 0..4, internal (a,b) = 4, root = 5.
    assert_eq!(m.topo.children[5].len(), 3);
    assert_eq!(m.topo.children[4], [0, 1]);
    let pi = m.freqs;
    let q = gtr_by_hand(&params.exchangeabilities, &pi);
    let p: Vec<Mat<f64>> = params
        .lengths
        .iter()
        .map(|&t| transition_by_eigen(&q, &pi, t))
        .collect();
    // And against expgrad::linalg::expm directly.
    let direct = expgrad::linalg::expm((q.as_ref() * faer::Scale(params.lengths[2])).as_ref());
    assert!((&direct - &p[2]).norm_max() < 1e-13);
    let records = fasta::parse(text).unwrap();
    let mut want = 0.0;
    for site in 0..records[0].seq.len() {
        let allowed: Vec<u8> = records
            .iter()
            .map(|r| fasta::state_set(r.seq[site]).unwrap())
            .collect();
        let mut lik = 0.0;
        for root in 0..4 {
            for u in 0..4 {
                for xa in 0..4 {
                    for xb in 0..4 {
                        for xc in 0..4 {
                            for xd in 0..4 {
                                let tips = [xa, xb, xc, xd];
                                if (0..4).any(|i| (allowed[i] >> tips[i]) & 1 == 0) {
                                    continue;
                                }
                                lik += pi[root]
                                    * p[4][(root, u)]
                                    * p[0][(u, xa)]
                                    * p[1][(u, xb)]
                                    * p[2][(root, xc)]
                                    * p[3][(root, xd)];
                            }
                        }
                    }
                }
            }
        }
        want += lik.ln();
    }
    assert!(
        (ll - want).abs() <= 1e-11 * want.abs(),
        "pruning {ll}, brute force {want}"
    );
}

/// (c) Parameters of a long simulated alignment (6000 sites on the small data set's true
/// tree) are recovered: each exchangeability within 20 % and each branch length within
/// 0.02 + 15 % of the truth. At 6000 sites the standard errors are about 5–8 % for the
/// exchangeabilities and about 0.005–0.01 for these lengths, so the tolerances are about 3
/// standard errors; the seed is fixed, so the test is deterministic.
#[test]
fn recovers_simulated_parameters() {
    let t = newick::parse(simulate::SMALL_TREE).unwrap();
    let names: Vec<String> = t.tips().iter().map(|&v| t.nodes[v].name.clone()).collect();
    let topo = topology::Topology::new(&t, &names).unwrap();
    let truth: Vec<f64> = topo.lengths.iter().map(|l| l.unwrap()).collect();
    let records = simulate::simulate(
        &topo,
        &truth,
        &simulate::SMALL_EXCHANGEABILITIES,
        &simulate::SMALL_FREQS,
        6000,
        0.01,
        99,
    )
    .unwrap();
    let freqs = patterns::empirical_frequencies(&records).unwrap();
    let m = model::Model::new(
        topo,
        patterns::Patterns::new(&records),
        freqs,
        false,
        vec![1.0],
    );
    let fit = m
        .fit(m.start(0.1), &model::FitOptions::default(), |_| {})
        .unwrap();
    assert!(fit.converged(), "{}", fit.reason());
    let est = m.params(&fit.x);
    for k in 0..5 {
        let (e, s) = (
            est.exchangeabilities[k],
            simulate::SMALL_EXCHANGEABILITIES[k],
        );
        assert!(
            (e - s).abs() <= 0.2 * s,
            "{}: {e} vs {s}",
            gtr::PAIR_NAMES[k]
        );
    }
    for (b, (e, s)) in est.lengths.iter().zip(&truth).enumerate() {
        assert!((e - s).abs() <= 0.02 + 0.15 * s, "branch {b}: {e} vs {s}");
    }
}

/// (d) A column of gaps (or of N, or of both) is missing data everywhere: the likelihood of
/// that site is 1, so adding it leaves the log-likelihood unchanged; its gradient too.
#[test]
fn all_missing_columns_contribute_nothing() {
    let base = ">a\nACGTA\n>b\nACGTT\n>c\nATGCA\n>d\nACCTA\n";
    let gapped = ">a\nACGTA--\n>b\nACGTT-N\n>c\nATGCA-?\n>d\nACCTA-N\n";
    let tree = "((a:0.1,b:0.2):0.15,c:0.3,d:0.05);";
    let m0 = model_of(base, tree, false, vec![1.0]);
    let mut m1 = model_of(gapped, tree, false, vec![1.0]);
    // Same π for both (the gaps add no base anyway).
    assert_eq!(m0.freqs, m1.freqs);
    m1.freqs = m0.freqs;
    let th = m0.start(0.1);
    let (l0, g0) = m0.log_likelihood_and_grad(&th).unwrap();
    let (l1, g1) = m1.log_likelihood_and_grad(&th).unwrap();
    // "----" and "-N?N" are the same pattern (every state allowed), of weight 2.
    assert_eq!(m1.patterns.len(), m0.patterns.len() + 1);
    assert!((l0 - l1).abs() <= 1e-12 * l0.abs(), "{l0} vs {l1}");
    for (a, b) in g0.iter().zip(&g1) {
        assert!((a - b).abs() <= 1e-10 * (1.0 + a.abs()), "{a} vs {b}");
    }
}

/// The default run fits the committed small alignment (seconds) and writes its outputs.
#[test]
fn default_run_fits_the_small_alignment() {
    let dir = std::env::temp_dir().join(format!("phylo-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (tree, svg) = (dir.join("fit.tree"), dir.join("fit.svg"));
    let mut out = Vec::new();
    phylo::run(
        &parse(&[
            "--quiet",
            "--out-tree",
            tree.to_str().unwrap(),
            "--plot",
            svg.to_str().unwrap(),
        ]),
        &mut out,
    )
    .unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.starts_with("phylo: 8 taxa, 400 sites"), "{out}");
    let fitted = newick::parse(&std::fs::read_to_string(&tree).unwrap()).unwrap();
    assert_eq!(fitted.tips().len(), 8);
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Malformed FASTA or Newick, and taxa that do not match: usage errors naming the file.
#[test]
fn bad_input_is_a_usage_error() {
    let dir = std::env::temp_dir().join(format!("phylo-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let good_fa = write("good.fa", ">a\nACGT\n>b\nACGA\n>c\nACGG\n");
    let good_tr = write("good.tree", "(a,b,c);");
    for (fa, tr, says) in [
        (write("bad.fa", "ACGT\n"), good_tr.clone(), "--fasta"),
        (
            write("ragged.fa", ">a\nAC\n>b\nA\n"),
            good_tr.clone(),
            "not an alignment",
        ),
        (good_fa.clone(), write("bad.tree", "(a,b,c"), "--tree"),
        (
            good_fa.clone(),
            write("other.tree", "(a,b,(x,y));"),
            "no tip in the tree",
        ),
        (
            good_fa.clone(),
            dir.join("missing.tree").to_str().unwrap().into(),
            "cannot read",
        ),
    ] {
        let e = phylo::run(
            &parse(&["--fasta", &fa, "--tree", &tr, "--quiet"]),
            &mut Vec::new(),
        )
        .unwrap_err();
        assert_eq!(e.code, 2, "{e}");
        assert!(e.message.contains(says), "{says}: {e}");
    }
    let e = phylo::run(&parse(&["--fasta", &good_fa]), &mut Vec::new()).unwrap_err();
    assert_eq!(e.code, 2, "{e}");
    let e = phylo::run(&parse(&["--gamma", "0"]), &mut Vec::new()).unwrap_err();
    assert_eq!(e.code, 2, "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--help` says what the example does and how to get and run the real data.
#[test]
fn help_documents_the_real_data() {
    use clap::CommandFactory;
    let help = Args::command().render_long_help().to_string();
    assert!(help.starts_with("Fit a GTR model"), "{help}");
    assert!(help.contains("bash scripts/fetch_brca1.sh"), "{help}");
    assert!(
        help.contains("--tree target/phylo-data/murphy.tree"),
        "{help}"
    );
}

/// A caterpillar tree on tips `t0 … t{n−1}`: `(…((t0:a,t1:b):inner,t2:tip(2)):inner…)`, the
/// last tip `tip(n−1)` too; its topology and branch lengths.
fn caterpillar(
    n: usize,
    tip: impl Fn(usize) -> String,
    a: &str,
    b: &str,
    inner: &str,
) -> (topology::Topology, Vec<f64>) {
    let mut tree = format!("(t0:{a},t1:{b}");
    for i in 2..n - 1 {
        tree = format!("({tree}):{inner},t{i}:{}", tip(i));
    }
    tree = format!("{tree},t{}:{});", n - 1, tip(n - 1));
    let t = newick::parse(&tree).unwrap();
    let names: Vec<String> = (0..n).map(|i| format!("t{i}")).collect();
    let topo = topology::Topology::new(&t, &names).unwrap();
    let lengths = topo.lengths.iter().map(|l| l.unwrap()).collect();
    (topo, lengths)
}

/// Scaling: on a 600-taxon caterpillar tree the site likelihoods are far below the smallest
/// double (log-likelihood per site < −745), yet the log-likelihood and its gradient are
/// finite, and agree with the sum of the per-site values computed one site at a time.
#[test]
fn scaling_keeps_tiny_likelihoods_finite() {
    let n = 600;
    let (topo, lengths) = caterpillar(n, |_| "1".into(), "1", "1", "0.1");
    let records = simulate::simulate(
        &topo,
        &lengths,
        &simulate::SMALL_EXCHANGEABILITIES,
        &simulate::SMALL_FREQS,
        6,
        0.0,
        5,
    )
    .unwrap();
    let freqs = patterns::empirical_frequencies(&records).unwrap();
    let m = model::Model::new(
        topo.clone(),
        patterns::Patterns::new(&records),
        freqs,
        false,
        vec![1.0],
    );
    let th = m.start(0.1);
    let (ll, g) = m.log_likelihood_and_grad(&th).unwrap();
    assert!(ll.is_finite() && ll / 6.0 < -745.0, "{ll}");
    assert!(g.iter().all(|x| x.is_finite()));
    let mut by_site = 0.0;
    for s in 0..6 {
        let one: Vec<fasta::Record> = records
            .iter()
            .map(|r| fasta::Record {
                name: r.name.clone(),
                seq: vec![r.seq[s]],
            })
            .collect();
        let mut ms = model::Model::new(
            topo.clone(),
            patterns::Patterns::new(&one),
            freqs,
            false,
            vec![1.0],
        );
        ms.freqs = freqs;
        by_site += ms.log_likelihood_and_grad(&th).unwrap().0;
    }
    assert!(
        (ll - by_site).abs() <= 1e-10 * ll.abs(),
        "{ll} vs {by_site}"
    );
}

/// The gradient where the scaling is at work: on a 150-taxon caterpillar tree with long
/// branches, the partials fall below 2⁻¹²⁸ (the rescaling threshold) at the nodes near the
/// root, so their power-of-two factors enter the reverse pass; the gradient still matches
/// central differences (`expgrad::gradcheck`, relative 1e-6).
#[test]
fn gradient_is_exact_through_the_scaling() {
    let n = 150;
    let (topo, lengths) = caterpillar(
        n,
        |i| match i == n - 1 {
            true => "0.7".into(),
            false => format!("0.{}", 5 + i % 5),
        },
        "0.8",
        "0.9",
        "0.3",
    );
    let records = simulate::simulate(
        &topo,
        &lengths,
        &simulate::SMALL_EXCHANGEABILITIES,
        &simulate::SMALL_FREQS,
        3,
        0.0,
        11,
    )
    .unwrap();
    let freqs = patterns::empirical_frequencies(&records).unwrap();
    let m = model::Model::new(
        topo,
        patterns::Patterns::new(&records),
        freqs,
        true,
        vec![1.0],
    );
    let mut th = m.start(0.1);
    for (i, x) in th.iter_mut().enumerate() {
        *x += 0.05 * ((i * 7 % 5) as f64 - 2.0);
    }
    let (ll, _) = m.log_likelihood_and_grad(&th).unwrap();
    // Below 2⁻¹²⁸ per site on average: some node rescaled every pattern.
    let sites = m.patterns.n_sites as f64;
    assert!(ll / sites < -128.0 * std::f64::consts::LN_2, "{ll}");
    let x = Mat::from_fn(th.len(), 1, |i, _| th[i]);
    let report = gradcheck_with(
        |xs| m.log_likelihood(xs[0]).unwrap(),
        &[x],
        &GradcheckOptions::default(),
    );
    assert!(report.passed, "{report}");
}

/// A multifurcation (a root with five children and an internal node with three): the
/// reverse pass forms the siblings' products in a buffer there; the gradient against central
/// differences.
#[test]
fn gradient_matches_finite_differences_at_multifurcations() {
    let text = ">a\nACGTRAGT\n>b\nACGTAAGC\n>c\nATGCYCGA\n>d\nACCTTAG-\n>e\nGCGTTAGA\n>f\nACGAAAGT\n>g\nTCGTAACT\n";
    let m = model_of(
        text,
        "(a:0.1,b:0.2,(c:0.3,d:0.05,e:0.2):0.1,f:0.15,g:0.25);",
        false,
        vec![1.0],
    );
    assert_eq!(m.topo.children[m.topo.root()].len(), 5);
    let th = m.start(0.1);
    let x = Mat::from_fn(th.len(), 1, |i, _| th[i]);
    let report = gradcheck_with(
        |xs| m.log_likelihood(xs[0]).unwrap(),
        &[x],
        &GradcheckOptions::default(),
    );
    assert!(report.passed, "{report}");
}
