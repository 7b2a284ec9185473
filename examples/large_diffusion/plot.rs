//! The SVG: true κ, recovered κ and their relative difference as heat maps with colour bars.
//!
//! The fields are block-averaged down to at most [`MAX_CELLS`]² cells, and each image row is
//! drawn as runs of equal (quantised) colour, one rectangle per run, to keep the SVG small.
use plotters::prelude::*;
use std::path::Path;

/// Cells per side of the drawn images at most (the fields are block-averaged to this).
pub const MAX_CELLS: usize = 158;
/// Height of a panel's caption, pixels.
const CAPTION: u32 = 30;
/// Margin around each image, pixels.
const MARGIN: u32 = 8;
/// Number of colour levels of the κ images.
const LEVELS: usize = 64;
/// Number of colour levels of the (noisy) difference image: fewer levels, longer runs.
const ERROR_LEVELS: usize = 24;

/// Block averages of a `g×g` field (row-major, row 0 at the bottom) over `f×f` blocks:
/// `(⌈g/f⌉², ⌈g/f⌉)` (the last blocks may be partial).
fn downsample(field: &[f64], g: usize, f: usize) -> (Vec<f64>, usize) {
    let cells = g.div_ceil(f);
    let mut sum = vec![0.0; cells * cells];
    let mut count = vec![0usize; cells * cells];
    for (i, &x) in field.iter().enumerate() {
        let b = (i / g / f) * cells + (i % g) / f;
        sum[b] += x;
        count[b] += 1;
    }
    (
        sum.iter().zip(&count).map(|(s, &c)| s / c as f64).collect(),
        cells,
    )
}

/// Piecewise-linear colour map through `stops` (evenly spaced on [0, 1]).
fn colour(stops: &[(u8, u8, u8)], s: f64) -> RGBColor {
    let s = s.clamp(0.0, 1.0) * (stops.len() - 1) as f64;
    let i = (s.floor() as usize).min(stops.len() - 2);
    let f = s - i as f64;
    let mix = |a: u8, b: u8| (a as f64 + f * (b as f64 - a as f64)).round() as u8;
    let (a, b) = (stops[i], stops[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Viridis, sampled at 9 points.
const VIRIDIS: [(u8, u8, u8); 9] = [
    (68, 1, 84),
    (71, 44, 122),
    (59, 81, 139),
    (44, 113, 142),
    (33, 144, 141),
    (39, 173, 129),
    (92, 200, 99),
    (170, 220, 50),
    (253, 231, 37),
];
/// A blue–white–red diverging map.
const DIVERGING: [(u8, u8, u8); 5] = [
    (33, 102, 172),
    (146, 197, 222),
    (247, 247, 247),
    (244, 165, 130),
    (178, 24, 43),
];

/// Labels for ticks spread over `[lo, hi]` that tell the ticks apart at any scale: fixed
/// notation with enough decimals (at least 2) when the tick spacing is between 1e-3 and
/// 1e4, scientific notation with enough significant digits otherwise (a noise-free fit's
/// relative difference spans ±1e-12: fixed notation with its 8-decimal cap labelled every
/// tick `0.00000000`). A tick within 1e-3 of the range from zero is labelled `0`.
pub fn tick_formatter(lo: f64, hi: f64) -> impl Fn(f64) -> String {
    let span = (hi - lo).abs();
    let spacing = span / 6.0;
    let fixed = spacing.is_finite() && (1e-3..1e4).contains(&spacing);
    let decimals = if fixed {
        (-spacing.log10().floor()).clamp(2.0, 8.0) as usize
    } else {
        0
    };
    move |v: f64| {
        if v.abs() < 1e-3 * span {
            return "0".to_string();
        }
        if fixed {
            return format!("{v:.decimals$}");
        }
        // Significant digits to tell ticks `spacing` apart at magnitude |v|.
        let digits = if spacing > 0.0 && spacing.is_finite() {
            ((v.abs() / spacing).log10().ceil().max(0.0) as usize + 1).min(15)
        } else {
            2
        };
        format!("{v:.digits$e}")
    }
}

/// One heat map with its colour bar in `area`.
fn panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    title: &str,
    field: &[f64],
    cells: usize,
    (lo, hi): (f64, f64),
    stops: &[(u8, u8, u8)],
    levels: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    // A square image (the caption takes CAPTION pixels above it) and the bar to its right.
    let (_, h) = area.dim_in_pixel();
    let (img, bar) = area.split_horizontally(h - CAPTION);
    let level =
        |x: f64| (((x - lo) / (hi - lo) * levels as f64).floor().max(0.0) as usize).min(levels - 1);
    let level_colour = |l: usize| colour(stops, (l as f64 + 0.5) / levels as f64);
    let n = cells as f64;
    let mut chart = ChartBuilder::on(&img)
        .caption(title, ("sans-serif", 18))
        .margin(MARGIN)
        .build_cartesian_2d(0f64..n, 0f64..n)?;
    // One rectangle per run of equal colour along each row.
    let mut rects = Vec::new();
    for r in 0..cells {
        let mut c0 = 0;
        while c0 < cells {
            let l = level(field[r * cells + c0]);
            let mut c1 = c0 + 1;
            while c1 < cells && level(field[r * cells + c1]) == l {
                c1 += 1;
            }
            rects.push(Rectangle::new(
                [(c0 as f64, r as f64), (c1 as f64, r as f64 + 1.0)],
                level_colour(l).filled(),
            ));
            c0 = c1;
        }
    }
    chart.draw_series(rects)?;
    let label = tick_formatter(lo, hi);
    let mut cb = ChartBuilder::on(&bar)
        .margin_top(CAPTION + MARGIN)
        .margin_bottom(MARGIN)
        .margin_left(4)
        .margin_right(MARGIN)
        .y_label_area_size(0)
        .right_y_label_area_size(52)
        .build_cartesian_2d(0f64..1.0, lo..hi)?;
    cb.configure_mesh()
        .disable_x_mesh()
        .disable_y_mesh()
        .disable_x_axis()
        .y_labels(6)
        .y_label_style(("sans-serif", 13))
        .y_label_formatter(&|v| label(*v))
        .draw()?;
    let step = (hi - lo) / levels as f64;
    cb.draw_series((0..levels).map(|l| {
        let y = lo + l as f64 * step;
        Rectangle::new([(0.0, y), (1.0, y + step)], level_colour(l).filled())
    }))?;
    Ok(())
}

/// Writes the three panels for a `g×g` grid: true κ, recovered κ (same colour scale; its
/// caption quotes `rel_error`) and the relative difference `(κ̂ − κ)/κ` (symmetric scale,
/// clipped at the 99th percentile of its magnitude).
pub fn svg(
    path: &Path,
    g: usize,
    truth: &[f64],
    fitted: &[f64],
    rel_error: f64,
) -> Result<(), Box<dyn std::error::Error>> {
    let f = g.div_ceil(MAX_CELLS);
    let (t, cells) = downsample(truth, g, f);
    let (k, _) = downsample(fitted, g, f);
    let rel: Vec<f64> = fitted.iter().zip(truth).map(|(a, b)| (a - b) / b).collect();
    let (e, _) = downsample(&rel, g, f);
    let (lo, hi) = t
        .iter()
        .chain(&k)
        .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
    let hi = if hi > lo { hi } else { lo + 1.0 };
    let mut abs: Vec<f64> = e.iter().map(|x| x.abs()).collect();
    abs.sort_by(f64::total_cmp);
    let emax = abs[(abs.len() * 99 / 100).min(abs.len() - 1)].max(1e-12);
    let root = SVGBackend::new(path, (1500, 440)).into_drawing_area();
    root.fill(&WHITE)?;
    let areas = root.split_evenly((1, 3));
    let note = if f > 1 {
        format!(", {f}×{f} block means")
    } else {
        String::new()
    };
    panel(
        &areas[0],
        &format!("true κ ({g}×{g}{note})"),
        &t,
        cells,
        (lo, hi),
        &VIRIDIS,
        LEVELS,
    )?;
    let title = format!("recovered κ (relative L2 error {rel_error:.2e})");
    panel(&areas[1], &title, &k, cells, (lo, hi), &VIRIDIS, LEVELS)?;
    panel(
        &areas[2],
        "(κ̂ − κ)/κ",
        &e,
        cells,
        (-emax, emax),
        &DIVERGING,
        ERROR_LEVELS,
    )?;
    root.present()?;
    Ok(())
}
