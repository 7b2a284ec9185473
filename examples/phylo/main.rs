//! Maximum-likelihood phylogenetics: GTR branch lengths and exchangeabilities on a fixed
//! tree, by Felsenstein pruning on the expgrad tape and L-BFGS with exact gradients.
//!
//! Run: `cargo run --release --example phylo -- --help`; derivations in `docs/phylo.md`.
use clap::Parser;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[macro_use]
#[path = "../common/cli.rs"]
pub mod cli;
pub mod fasta;
pub mod gamma;
pub mod gtr;
pub mod model;
pub mod newick;
pub mod patterns;
pub mod plot;
pub mod pruning;
pub mod simulate;
pub mod topology;

use cli::Failure;

/// The committed small alignment (simulated; see `simulate.rs`).
pub const SMALL_FASTA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/phylo_small.fasta");
/// The true tree of the committed small alignment.
pub const SMALL_TREE_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/phylo_small.tree");

/// Fit a GTR model of DNA evolution to an alignment on a fixed tree by maximum likelihood.
///
/// Branch lengths (all free, expected substitutions per site) and the five free
/// exchangeabilities of GTR (G-T fixed at 1) are fitted by L-BFGS; base frequencies are fixed
/// at the empirical ones (cogent3's default) unless --estimate-freqs. The likelihood is
/// Felsenstein's pruning on expgrad's tape, with per-pattern scaling, so the gradient is
/// exact. Gaps, N and IUPAC ambiguity codes are missing data. The tree is pruned to the
/// alignment's taxa and treated as unrooted.
///
/// With no arguments it fits the small simulated alignment in examples/data/ (8 taxa, 400
/// sites) and compares with the true parameters. The real data (BRCA1, 55 mammals, with the
/// Murphy et al. 2001 tree, from cogent3's wheel):
///
///   bash scripts/fetch_brca1.sh
///   cargo run --release --example phylo -- --fasta target/phylo-data/brca1.fasta --tree target/phylo-data/murphy.tree
///
/// Exit code 0 on success, 1 when the fit fails or does not converge, 2 for bad options or
/// bad input files (malformed FASTA or Newick, taxa that do not match).
#[derive(Parser, Debug)]
#[command(version, verbatim_doc_comment)]
pub struct Args {
    /// Aligned DNA in FASTA [default: the committed small simulated alignment].
    #[arg(long)]
    pub fasta: Option<PathBuf>,
    /// The tree in Newick (lengths optional: they are the starting values) [default: the
    /// small alignment's true tree].
    #[arg(long)]
    pub tree: Option<PathBuf>,
    /// Estimate the base frequencies too (softmax-parametrised) instead of fixing them at the
    /// empirical ones.
    #[arg(long)]
    pub estimate_freqs: bool,
    /// Discrete-gamma rate heterogeneity with this many categories (Yang 1994, mean rates);
    /// 1 = none.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    pub gamma: usize,
    /// The gamma shape α (fixed, not fitted), with --gamma.
    #[arg(long, default_value_t = 0.5, allow_negative_numbers = true)]
    pub alpha: f64,
    /// Iteration cap.
    #[arg(long, default_value_t = 3000, allow_negative_numbers = true)]
    pub max_iters: u64,
    /// Stop when the gradient norm of the mean log-likelihood per site is below this.
    #[arg(long, default_value_t = 1e-9, allow_negative_numbers = true)]
    pub gtol: f64,
    /// Starting branch length where the tree file gives none.
    #[arg(long, default_value_t = 0.1, allow_negative_numbers = true)]
    pub start_length: f64,
    /// L-BFGS memory (correction pairs kept; on BRCA1, 100 pairs converge in 182
    /// evaluations, 40 in 278, 20 in 516).
    #[arg(long, default_value_t = 100, allow_negative_numbers = true)]
    pub memory: usize,
    /// Write the fitted tree (Newick) here [default: target/examples/phylo.tree].
    #[arg(long)]
    pub out_tree: Option<PathBuf>,
    /// Write the fitted tree's picture (SVG) here [default: target/examples/phylo.svg].
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Print one JSON object (lnL, seconds, evaluations, the trace of (iteration, seconds,
    /// lnL), …) instead of the report.
    #[arg(long)]
    pub json: bool,
    /// No progress lines.
    #[arg(long)]
    pub quiet: bool,
    /// Simulate an alignment on the small data set's true tree and parameters, write
    /// PREFIX.fasta and PREFIX.tree, and stop (this wrote examples/data/phylo_small.*).
    #[arg(long, value_name = "PREFIX")]
    pub save_simulated: Option<PathBuf>,
    /// Sites to simulate, with --save-simulated.
    #[arg(long, default_value_t = simulate::SMALL_SITES, allow_negative_numbers = true)]
    pub sites: usize,
    /// Seed of the simulation, with --save-simulated.
    #[arg(long, default_value_t = simulate::SMALL_SEED, allow_negative_numbers = true)]
    pub seed: u64,
}

fn read(path: &Path, what: &str) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("{what} {}: cannot read: {e}", path.display())))
}

/// Reads and checks the input: the alignment's records and the tree on its taxa.
pub fn load(
    fasta: &Path,
    tree: &Path,
) -> Result<(Vec<fasta::Record>, topology::Topology), Failure> {
    let records = fasta::parse(&read(fasta, "--fasta")?)
        .map_err(|e| Failure::usage(format!("--fasta {}: {e}", fasta.display())))?;
    let t = newick::parse(&read(tree, "--tree")?)
        .map_err(|e| Failure::usage(format!("--tree {}: {e}", tree.display())))?;
    let names: Vec<String> = records.iter().map(|r| r.name.clone()).collect();
    let topo = topology::Topology::new(&t, &names).map_err(|e| {
        Failure::usage(format!(
            "--tree {} does not fit --fasta {}: {e}",
            tree.display(),
            fasta.display()
        ))
    })?;
    Ok((records, topo))
}

fn save_simulated(args: &Args, prefix: &Path, out: &mut impl Write) -> Result<(), Failure> {
    if args.sites == 0 {
        return Err(Failure::usage("--sites 0: need ≥ 1 site"));
    }
    let t = newick::parse(simulate::SMALL_TREE).map_err(Failure::run)?;
    let names: Vec<String> = t.tips().iter().map(|&v| t.nodes[v].name.clone()).collect();
    let topo = topology::Topology::new(&t, &names).map_err(Failure::run)?;
    let lengths: Vec<f64> = topo.lengths.iter().map(|l| l.unwrap_or(0.1)).collect();
    let records = simulate::simulate(
        &topo,
        &lengths,
        &simulate::SMALL_EXCHANGEABILITIES,
        &simulate::SMALL_FREQS,
        args.sites,
        simulate::SMALL_MISSING,
        args.seed,
    )
    .map_err(Failure::run)?;
    let (fa, tr) = (
        prefix.with_extension("fasta"),
        prefix.with_extension("tree"),
    );
    for (path, text) in [
        (&fa, fasta::write(&records)),
        (&tr, format!("{}\n", simulate::SMALL_TREE)),
    ] {
        std::fs::write(path, text)
            .map_err(|e| Failure::usage(format!("{}: cannot write: {e}", path.display())))?;
    }
    say!(out, "wrote {} and {}", fa.display(), tr.display());
    Ok(())
}

/// The example: reads (or simulates) the data, fits, writes the tree and its picture, and
/// prints the report (or the JSON object) to `out`; progress lines go to stderr.
pub fn run(args: &Args, out: &mut impl Write) -> Result<(), Failure> {
    let started = Instant::now();
    if let Some(prefix) = &args.save_simulated {
        return save_simulated(args, prefix, out);
    }
    if args.gamma == 0 || args.gamma > 32 {
        return Err(Failure::usage(format!(
            "--gamma {}: need 1 ≤ categories ≤ 32",
            args.gamma
        )));
    }
    if !(args.alpha.is_finite() && args.alpha > 0.0) {
        return Err(Failure::usage(format!(
            "--alpha {}: need α > 0",
            args.alpha
        )));
    }
    if !(args.start_length.is_finite() && args.start_length > 0.0) {
        return Err(Failure::usage(format!(
            "--start-length {}: need a positive length",
            args.start_length
        )));
    }
    if !(args.gtol.is_finite() && args.gtol >= 0.0) {
        return Err(Failure::usage(format!("--gtol {}: need ≥ 0", args.gtol)));
    }
    let default_data = args.fasta.is_none();
    if args.fasta.is_none() != args.tree.is_none() {
        return Err(Failure::usage(
            "--fasta and --tree go together (neither: the small simulated data set)",
        ));
    }
    let fasta_path = args.fasta.clone().unwrap_or_else(|| SMALL_FASTA.into());
    let tree_path = args.tree.clone().unwrap_or_else(|| SMALL_TREE_FILE.into());
    let tree_out = cli::prepare_output(args.out_tree.as_deref(), "phylo.tree")?;
    let plot_out = cli::prepare_output(args.plot.as_deref(), "phylo.svg")?;
    let (records, topo) = load(&fasta_path, &tree_path)?;
    let freqs = patterns::empirical_frequencies(&records).ok_or_else(|| {
        Failure::usage(format!(
            "--fasta {}: no unambiguous base: the base frequencies are undefined",
            fasta_path.display()
        ))
    })?;
    let pats = patterns::Patterns::new(&records);
    let rates = if args.gamma == 1 {
        vec![1.0]
    } else {
        gamma::category_rates(args.alpha, args.gamma)
    };
    let pruned = topo.pruned.clone();
    let m = model::Model::new(topo, pats, freqs, args.estimate_freqs, rates);
    if !args.json {
        say!(
            out,
            "phylo: {} taxa, {} sites, {} patterns, {} branches, {} free parameters{}",
            m.topo.n_taxa(),
            m.patterns.n_sites,
            m.patterns.len(),
            m.topo.n_branches(),
            m.n_params(),
            if pruned.is_empty() {
                String::new()
            } else {
                format!(" (pruned from the tree: {})", pruned.join(", "))
            }
        );
        out.flush().map_err(Failure::stdout)?;
    }
    // cogent3's starting point (every length 1, every exchangeability 1), to compare.
    let unit = m.theta(&model::Params {
        exchangeabilities: [1.0; 6],
        freqs,
        lengths: vec![1.0; m.topo.n_branches()],
    });
    let lnl_unit = m
        .log_likelihood_and_grad(&unit)
        .map_err(|e| Failure::run(format!("the likelihood at unit lengths: {e}")))?
        .0;
    let opts = model::FitOptions {
        max_iters: args.max_iters,
        gtol: args.gtol,
        memory: args.memory.max(1),
        ..Default::default()
    };
    let n = m.patterns.n_sites as f64;
    let quiet = args.quiet || args.json;
    let fit = m
        .fit(m.start(args.start_length), &opts, |p| {
            if !quiet && (p.iter < 10 || p.iter % 10 == 0 || args.memory == 0) {
                eprintln!(
                    "{:>5}  lnL {:>16.6}  ‖∇‖ {:>9.2e}  {:>7.3}s",
                    p.iter,
                    -p.loss * n,
                    p.grad_norm * n,
                    p.elapsed.as_secs_f64()
                );
            }
        })
        .map_err(|e| Failure::run(format!("the fit failed: {e}")))?;
    let lnl = -fit.loss * n;
    let params = m.params(&fit.x);
    std::fs::write(
        &tree_out,
        format!("{}\n", newick::write(&m.topo.to_newick(&params.lengths))),
    )
    .map_err(|e| Failure::run(format!("{}: cannot write: {e}", tree_out.display())))?;
    plot::svg(
        &plot_out,
        &m.topo,
        &params.lengths,
        &format!("fitted GTR tree, lnL = {lnl:.3}"),
    )
    .map_err(|e| Failure::run(format!("{}: cannot draw: {e}", plot_out.display())))?;
    let total = started.elapsed().as_secs_f64();
    if args.json {
        let j = serde_json::json!({
            "system": "expgrad",
            "lnL": lnl,
            "lnL_start": lnl_unit,
            "seconds": fit.elapsed.as_secs_f64(),
            "total_seconds": total,
            "evaluations": fit.evals,
            "iterations": fit.iters,
            "nfree": m.n_params(),
            "edges": m.topo.n_branches(),
            "patterns": m.patterns.len(),
            "converged": fit.converged(),
            "verdict": fit.reason(),
            "trace": fit.history.iter().map(|p| (p.iter, p.elapsed.as_secs_f64(), -p.loss * n)).collect::<Vec<_>>(),
            "motif_probs": {"A": params.freqs[0], "C": params.freqs[1], "G": params.freqs[2], "T": params.freqs[3]},
        });
        say!(out, "{j}");
    } else {
        say!(
            out,
            "done: lnL = {lnl:.6} after {} iterations, {} likelihood+gradient evaluations, fit {:.3} s, total {:.3} s ({})",
            fit.iters,
            fit.evals,
            fit.elapsed.as_secs_f64(),
            total,
            fit.reason()
        );
        say!(
            out,
            "lnL at unit lengths and exchangeabilities: {lnl_unit:.6}"
        );
        let truth = default_data.then_some(simulate::SMALL_EXCHANGEABILITIES);
        say!(
            out,
            "\nexchangeability   estimate{}",
            if truth.is_some() { "      true" } else { "" }
        );
        for k in 0..6 {
            let t = truth.map_or(String::new(), |t| format!("  {:>8.4}", t[k]));
            say!(
                out,
                "{:>15}   {:>8.4}{t}{}",
                gtr::PAIR_NAMES[k],
                params.exchangeabilities[k],
                if k == 5 { "  (fixed)" } else { "" }
            );
        }
        say!(
            out,
            "base frequencies (A C G T){}: {:.4} {:.4} {:.4} {:.4}",
            if args.estimate_freqs {
                ", estimated"
            } else {
                ", empirical"
            },
            params.freqs[0],
            params.freqs[1],
            params.freqs[2],
            params.freqs[3]
        );
        let tree_length: f64 = params.lengths.iter().sum();
        say!(out, "tree length {tree_length:.4} substitutions per site");
        if default_data {
            let true_total: f64 = m.topo.lengths.iter().map(|l| l.unwrap_or(0.0)).sum();
            say!(out, "(true tree length {true_total:.4})");
        }
        say!(
            out,
            "wrote {} and {}",
            tree_out.display(),
            plot_out.display()
        );
    }
    if !fit.converged() {
        return Err(Failure::run(format!(
            "the fit did not converge ({}); raise --max-iters or --gtol",
            fit.reason()
        )));
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    match run(&args, &mut std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => cli::report(&f),
    }
}
