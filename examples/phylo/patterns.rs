//! Site patterns: the alignment's distinct columns with their counts, the tips' partial
//! likelihoods, and the empirical base frequencies.

use super::fasta::{Record, state_set};
use faer::Mat;
use std::collections::HashMap;

/// The distinct columns of an alignment (each a state set per taxon, see
/// [`state_set`]) and how many sites have each.
#[derive(Clone, Debug)]
pub struct Patterns {
    /// `columns[p][i]`: the states taxon `i` allows at pattern `p`.
    pub columns: Vec<Vec<u8>>,
    /// `weights[p]`: the number of sites with pattern `p`.
    pub weights: Vec<f64>,
    /// Number of sites (columns of the alignment).
    pub n_sites: usize,
}

impl Patterns {
    /// The patterns of `records` (already checked to be an alignment by
    /// [`fasta::parse`](super::fasta::parse)), taxa in the records' order, patterns in order
    /// of first appearance.
    pub fn new(records: &[Record]) -> Self {
        let n_sites = records.first().map_or(0, |r| r.seq.len());
        let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
        let (mut columns, mut weights) = (Vec::new(), Vec::new());
        for s in 0..n_sites {
            // Characters were checked by the parser; an unknown one would be missing data.
            let col: Vec<u8> = records
                .iter()
                .map(|r| state_set(r.seq[s]).unwrap_or(15))
                .collect();
            match index.get(&col) {
                Some(&p) => weights[p] += 1.0,
                None => {
                    index.insert(col.clone(), columns.len());
                    columns.push(col);
                    weights.push(1.0);
                }
            }
        }
        Self {
            columns,
            weights,
            n_sites,
        }
    }

    /// Number of distinct patterns.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// Whether there is no pattern.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// The partial likelihoods of taxon `i`'s tip, patterns × 4: 1 for every state its
    /// character allows (a base: one state; an ambiguity code: the compatible states; a gap
    /// or `N`: all four, so that the tip contributes a factor 1 whatever happens above it).
    pub fn tip_partials(&self, i: usize) -> Mat<f64> {
        Mat::from_fn(self.len(), 4, |p, s| {
            f64::from((self.columns[p][i] >> s) & 1)
        })
    }
}

/// The empirical base frequencies (A, C, G, T): counts of the unambiguous bases over all
/// sequences and sites, gaps and ambiguity codes not counted (cogent3's default). `None`
/// when there is no unambiguous base. A base that never occurs gets no pseudocount; as in
/// cogent3, its frequency is raised to 1e-6 (and the four renormalised) so that `Q` stays a
/// proper generator.
pub fn empirical_frequencies(records: &[Record]) -> Option<[f64; 4]> {
    let mut counts = [0.0f64; 4];
    for r in records {
        for &c in &r.seq {
            match state_set(c) {
                Some(1) => counts[0] += 1.0,
                Some(2) => counts[1] += 1.0,
                Some(4) => counts[2] += 1.0,
                Some(8) => counts[3] += 1.0,
                _ => {}
            }
        }
    }
    let total: f64 = counts.iter().sum();
    if total == 0.0 {
        return None;
    }
    let floored = counts.map(|c| (c / total).max(1e-6));
    let sum: f64 = floored.iter().sum();
    Some(floored.map(|f| f / sum))
}

#[cfg(test)]
mod tests {
    use super::super::fasta::parse;
    use super::*;

    #[test]
    fn compresses_columns_and_counts_bases() {
        let r = parse(">a\nAAC-RA\n>b\nATGNAA\n").unwrap();
        let p = Patterns::new(&r);
        assert_eq!((p.len(), p.n_sites), (5, 6));
        assert_eq!(p.weights, [2.0, 1.0, 1.0, 1.0, 1.0]);
        let tip = p.tip_partials(0);
        // Column "-N": all states; column "RA": A or G for taxon a.
        assert_eq!(
            (tip[(3, 3)], tip[(4, 0)], tip[(4, 2)], tip[(4, 1)]),
            (1.0, 1.0, 1.0, 0.0)
        );
        let f = empirical_frequencies(&r).unwrap();
        // Unambiguous bases: 6 A, 1 C, 1 G, 1 T (the gap, N and R are not counted).
        let want = [6.0 / 9.0, 1.0 / 9.0, 1.0 / 9.0, 1.0 / 9.0];
        assert!(
            f.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-15),
            "{f:?}"
        );
    }
}
