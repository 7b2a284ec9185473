//! The `--plot` picture: the fitted tree as a phylogram (horizontal branches drawn to scale,
//! in expected substitutions per site), rooted where the computation roots it.
use super::topology::Topology;
use plotters::prelude::*;
use std::path::Path;

/// Writes the phylogram of `topo` with branch lengths `lengths` to `path` (SVG), with the
/// title `title`.
pub fn svg(
    path: &Path,
    topo: &Topology,
    lengths: &[f64],
    title: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let n_nodes = topo.children.len();
    let root = topo.root();
    // Depth of every node (parents have larger indices: walk down from the root).
    let mut x = vec![0.0f64; n_nodes];
    for v in (0..n_nodes).rev() {
        for &c in &topo.children[v] {
            x[c] = x[v] + lengths[c];
        }
    }
    // Tips one row apart in depth-first order; an internal node midway between its children.
    let mut y = vec![0.0f64; n_nodes];
    let mut row = 0.0;
    let mut stack = vec![root];
    while let Some(v) = stack.pop() {
        if topo.children[v].is_empty() {
            y[v] = row;
            row += 1.0;
        }
        stack.extend(topo.children[v].iter().rev());
    }
    for v in topo.n_taxa()..n_nodes {
        let kids = &topo.children[v];
        let (lo, hi) = kids.iter().fold((f64::MAX, f64::MIN), |(a, b), &c| {
            (a.min(y[c]), b.max(y[c]))
        });
        y[v] = 0.5 * (lo + hi);
    }
    let xmax = x.iter().fold(0.0f64, |a, b| a.max(*b)).max(1e-9);
    let rows = topo.n_taxa() as f64;
    let height = (120.0 + 16.0 * rows).min(4000.0) as u32;
    let area = SVGBackend::new(path, (900, height)).into_drawing_area();
    area.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&area)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(35)
        .build_cartesian_2d(0f64..xmax * 1.3, (rows - 0.5)..-0.5f64)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .disable_y_axis()
        .x_desc("expected substitutions per site from the root")
        .draw()?;
    let line = BLACK.stroke_width(1);
    for v in 0..n_nodes {
        if v != root {
            let px = x[v] - lengths[v];
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(px, y[v]), (x[v], y[v])],
                line,
            )))?;
        }
        let kids = &topo.children[v];
        if !kids.is_empty() {
            let (lo, hi) = kids.iter().fold((f64::MAX, f64::MIN), |(a, b), &c| {
                (a.min(y[c]), b.max(y[c]))
            });
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x[v], lo), (x[v], hi)],
                line,
            )))?;
        }
    }
    let font = ("sans-serif", 12).into_font();
    chart.draw_series((0..topo.n_taxa()).map(|i| {
        Text::new(
            topo.names[i].clone(),
            (x[i] + 0.01 * xmax, y[i] + 0.3),
            font.clone(),
        )
    }))?;
    area.present()?;
    Ok(())
}
