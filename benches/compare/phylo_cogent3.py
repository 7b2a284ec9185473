#!/usr/bin/env python3
"""The cogent3 half of the phylo comparison (benches/compare/phylo.sh): maximum-likelihood
GTR on an alignment and a fixed tree topology, with cogent3's defaults, the model the
phylo example fits.

    phylo_cogent3.py --fasta target/phylo-data/brca1.fasta --tree target/phylo-data/murphy.tree

The model, as cogent3 builds it by default (get_model("GTR")):
  * 5 free exchangeabilities (A/C, A/G, A/T, C/G, C/T; G/T fixed at 1);
  * base frequencies fixed at the empirical ones (counts of the unambiguous bases over
    the whole alignment; gaps and ambiguity codes are not counted);
  * Q normalised so that branch lengths are expected substitutions per site;
  * one free length per edge of the unrooted tree (the tree file's root has 3 children);
  * gaps and ambiguity codes are missing data (every compatible state).

Prints one JSON object: {"system", "version", "lnL", "lnL_start", "seconds",
"evaluations", "nfree", "edges", "motif_probs"}. "lnL_start" is the log-likelihood at cogent3's
starting values (every length 1, every exchangeability 1), to check that both programs
compute the same function; "seconds" is the wall time of optimise() alone; "evaluations"
counts the likelihood evaluations of the optimiser (cogent3 has no gradient).
"""

import argparse
import json
import sys
import time
import warnings

import cogent3
import cogent3.maths.optimisers as optimisers
from cogent3 import get_model, load_aligned_seqs, load_tree


def count_evaluations():
    """Wraps cogent3's evaluation counter (optimisers.limited_use) to record its count."""
    seen = {"evaluations": 0}
    original = optimisers.limited_use

    def counting(f, max_evaluations=None):
        get_best, wrapped = original(f, max_evaluations)

        def get_best_counted():
            best = get_best()
            seen["evaluations"] += best[2]
            return best

        return get_best_counted, wrapped

    optimisers.limited_use = counting
    return seen


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fasta", required=True)
    ap.add_argument("--tree", required=True)
    ap.add_argument("--tolerance", type=float, default=1e-6,
                    help="cogent3's local (Powell) tolerance (its default 1e-6)")
    args = ap.parse_args()

    aln = load_aligned_seqs(args.fasta, moltype="dna")
    tree = load_tree(args.tree)
    # The tree's taxa not in the alignment are pruned (BRCA1: Murphy's tree has 56 tips, the
    # alignment 55 sequences), and the tree is unrooted (a root with 3 children), as in
    # the phylo example: 2·55 − 3 = 107 edges.
    if set(tree.get_tip_names()) != set(aln.names):
        tree = tree.get_sub_tree(aln.names)
    if len(tree.children) == 2:
        tree = tree.unrooted()
    lf = get_model("GTR").make_likelihood_function(tree)
    lf.set_alignment(aln)
    lnl_start = float(lf.lnL)
    nfree = int(lf.nfp)
    seen = count_evaluations()
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lf.optimise(show_progress=False, tolerance=args.tolerance)
    seconds = time.perf_counter() - t0
    mprobs = lf.get_motif_probs()
    print(json.dumps({
        "system": "cogent3",
        "version": cogent3.__version__,
        "lnL": float(lf.lnL),
        "lnL_start": lnl_start,
        "seconds": seconds,
        "evaluations": seen["evaluations"],
        "nfree": nfree,
        "edges": len(list(tree.postorder())) - 1,
        "motif_probs": {str(k): float(mprobs[k]) for k in "TCAG"},
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
