//! The SVG: the control pulses (step functions of time) and the infidelity against iteration.
use faer::Mat;
use plotters::prelude::*;
use std::path::Path;

/// Writes the pulses `u` (J × N, slices of length `dt`, one name per control) and the
/// convergence `history` (iteration, 1 − F) to `path`.
pub fn svg(
    path: &Path,
    names: &[String],
    dt: f64,
    u: &Mat<f64>,
    history: &[(u64, f64)],
) -> Result<(), Box<dyn std::error::Error>> {
    let slices = u.ncols();
    let root = SVGBackend::new(path, (1100, 440)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(640);
    let t_end = dt * slices as f64;
    let (lo, hi) = u
        .col_iter()
        .flat_map(|c| c.iter().copied().collect::<Vec<_>>())
        .fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    let pad = 0.05 * (hi - lo).max(1e-9);
    let mut c = ChartBuilder::on(&left)
        .caption("control pulses", ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(50)
        .build_cartesian_2d(0f64..t_end, (lo - pad)..(hi + pad))?;
    c.configure_mesh()
        .x_desc("time (1/J)")
        .y_desc("amplitude (J)")
        .draw()?;
    for (j, name) in names.iter().enumerate() {
        let colour = Palette99::pick(j).to_rgba();
        let steps = (0..slices).flat_map(|k| {
            let (a, b) = (k as f64 * dt, (k + 1) as f64 * dt);
            [(a, u[(j, k)]), (b, u[(j, k)])]
        });
        c.draw_series(LineSeries::new(steps, colour.stroke_width(2)))?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], colour));
    }
    c.configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    let pts: Vec<(f64, f64)> = history
        .iter()
        .filter(|(_, l)| *l > 0.0)
        .map(|&(i, l)| (i as f64, l.log10()))
        .collect();
    let (ylo, yhi) = pts
        .iter()
        .fold((0f64, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let (ylo, yhi) = (ylo.floor().min(-1.0), yhi.ceil().max(ylo.floor() + 1.0));
    let xmax = pts.last().map_or(1.0, |p| p.0.max(1.0));
    let mut c = ChartBuilder::on(&right)
        .caption("infidelity 1 − F against iteration", ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..xmax, ylo..yhi)?;
    let decades = (yhi - ylo) as usize;
    c.configure_mesh()
        .x_desc("iteration")
        .y_desc("1 − F")
        .y_labels(decades.div_ceil(decades.div_ceil(12)) + 1)
        .y_label_formatter(&|v| format!("1e{}", v.round() as i64))
        .draw()?;
    c.draw_series(LineSeries::new(pts, &BLUE))?;
    root.present()?;
    Ok(())
}
