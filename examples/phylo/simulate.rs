//! A seeded sequence simulator: states drawn at the root from `π`, then down every branch
//! from the rows of `exp(t·Q)`; optionally some characters replaced by gaps, `N` or an
//! ambiguity code (missing data). It wrote the committed `examples/data/phylo_small.*`.
use super::fasta::{Record, STATES};
use super::gtr::rate_matrix_value;
use super::topology::Topology;
use faer::Mat;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The true tree of the committed small data set: 8 taxa, rooted at a trifurcation.
pub const SMALL_TREE: &str = "((t1:0.12,t2:0.25):0.06,(t3:0.18,(t4:0.08,t5:0.3):0.1):0.09,((t6:0.22,t7:0.05):0.12,t8:0.4):0.07);";
/// The true exchangeabilities of the committed small data set (A-C, A-G, A-T, C-G, C-T, G-T).
pub const SMALL_EXCHANGEABILITIES: [f64; 6] = [1.3, 4.2, 0.7, 1.1, 5.0, 1.0];
/// The true base frequencies (A, C, G, T) of the committed small data set.
pub const SMALL_FREQS: [f64; 4] = [0.32, 0.18, 0.22, 0.28];
/// Sites of the committed small data set.
pub const SMALL_SITES: usize = 400;
/// Fraction of missing characters of the committed small data set.
pub const SMALL_MISSING: f64 = 0.02;
/// Seed of the committed small data set.
pub const SMALL_SEED: u64 = 2024;

fn draw(rng: &mut StdRng, probs: impl Iterator<Item = f64>) -> usize {
    let u: f64 = rng.random();
    let mut acc = 0.0;
    let mut last = 0;
    for (i, p) in probs.enumerate() {
        acc += p;
        last = i;
        if u < acc {
            return i;
        }
    }
    last
}

/// Simulates `sites` columns on `topo` with branch lengths `lengths`, GTR exchangeabilities
/// `s` and frequencies `pi`; each character is then, with probability `missing`, replaced by
/// `-`, `N` or `R`/`Y` (a third each, `R`/`Y` chosen to contain the true base). Seeded:
/// the same arguments give the same alignment.
pub fn simulate(
    topo: &Topology,
    lengths: &[f64],
    s: &[f64; 6],
    pi: &[f64; 4],
    sites: usize,
    missing: f64,
    seed: u64,
) -> Result<Vec<Record>, String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let q = rate_matrix_value(s, pi);
    let p: Vec<Mat<f64>> = lengths
        .iter()
        .map(|&t| {
            expgrad::linalg::try_expm((q.as_ref() * faer::Scale(t)).as_ref())
                .map_err(|e| format!("exp(tQ) for t = {t}: {e}"))
        })
        .collect::<Result<_, _>>()?;
    let n_nodes = topo.children.len();
    let mut seqs = vec![Vec::with_capacity(sites); topo.n_taxa()];
    let mut state = vec![0usize; n_nodes];
    for _ in 0..sites {
        state[topo.root()] = draw(&mut rng, pi.iter().copied());
        for v in (0..n_nodes).rev() {
            for &c in &topo.children[v] {
                let from = state[v];
                state[c] = draw(&mut rng, (0..4).map(|j| p[c][(from, j)]));
            }
        }
        for (i, seq) in seqs.iter_mut().enumerate() {
            let base = STATES[state[i]] as u8;
            let ch = if rng.random::<f64>() < missing {
                match rng.random_range(0..3) {
                    0 => b'-',
                    1 => b'N',
                    _ if matches!(base, b'A' | b'G') => b'R',
                    _ => b'Y',
                }
            } else {
                base
            };
            seq.push(ch);
        }
    }
    Ok(topo
        .names
        .iter()
        .zip(seqs)
        .map(|(name, seq)| Record {
            name: name.clone(),
            seq,
        })
        .collect())
}
