//! The `--plot` picture: loss against iteration (log scale) and fitted against true d.
use expgrad::optim::OptimResult as FitResult;
use plotters::prelude::*;
use std::path::Path;

/// Writes the `--plot` picture to `path`: the loss against iteration (log scale, every decade
/// labelled) and the fitted `d` against the true one when known.
pub fn svg(
    path: &Path,
    r: &FitResult,
    truth: Option<&[f64]>,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (1000, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(500);
    // log10(loss) on a linear axis whose range is whole decades from the smallest loss to the
    // largest, labelled at every decade (or every k-th when there are many), so the axis is
    // labelled down to the lowest point of the curve.
    let pts: Vec<(f64, f64)> = r
        .history
        .iter()
        .filter(|p| p.loss > 0.0)
        .map(|p| (p.iter as f64, p.loss.log10()))
        .collect();
    let (lo, hi) = pts.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
        (lo.min(p.1), hi.max(p.1))
    });
    let (lo, hi) = if pts.is_empty() {
        (-30.0, 0.0)
    } else {
        (lo.floor(), hi.ceil().max(lo.floor() + 1.0))
    };
    let decades = (hi - lo) as usize;
    let xmax = pts.last().map_or(1.0, |p| p.0.max(1.0));
    let mut c = ChartBuilder::on(&left)
        .caption("loss against iteration", ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..xmax, lo..hi)?;
    c.configure_mesh()
        .x_desc("iteration")
        .y_desc("loss")
        .y_labels(decades.div_ceil(decades.div_ceil(12)) + 1)
        .y_label_formatter(&|v| format!("1e{}", v.round() as i64))
        .draw()?;
    c.draw_series(LineSeries::new(pts.iter().copied(), &BLUE))?;
    let (xs, label): (Vec<f64>, &str) = match truth {
        Some(t) => (t.to_vec(), "true d"),
        None => ((0..r.x.len()).map(|i| i as f64).collect(), "index"),
    };
    let all = xs.iter().chain(&r.x);
    let (a, b) = all.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
    let pad = 0.05 * (b - a).max(1e-12);
    let mut c = ChartBuilder::on(&right)
        .caption(
            if truth.is_some() {
                "fitted against true d"
            } else {
                "fitted d"
            },
            ("sans-serif", 20),
        )
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(50)
        .build_cartesian_2d((a - pad)..(b + pad), (a - pad)..(b + pad))?;
    c.configure_mesh().x_desc(label).y_desc("fitted d").draw()?;
    if truth.is_some() {
        c.draw_series(LineSeries::new(
            [(a - pad, a - pad), (b + pad, b + pad)],
            &BLACK.mix(0.4),
        ))?;
    }
    c.draw_series(
        xs.iter()
            .zip(&r.x)
            .map(|(x, y)| Circle::new((*x, *y), 3, RED.filled())),
    )?;
    root.present()?;
    Ok(())
}
