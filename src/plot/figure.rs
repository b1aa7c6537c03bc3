//! A figure as data (panels of series on log or linear axes, a legend under each panel, notes)
//! and its SVG rendering with plotters.
//!
//! Every label is measured with the embedded DejaVu Sans ([`FONT_FAMILY`], registered with
//! plotters' `ab_glyph` backend from bytes compiled into the binary), and plotters' SVG backend
//! writes integer pixel coordinates, so the same figure gives the same bytes on every machine.

use std::sync::OnceLock;

use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The font family the SVG text names, and the key its metrics are registered under: a viewer
/// draws DejaVu Sans where it has it, else its own sans-serif font.
pub const FONT_FAMILY: &str = "DejaVu Sans, sans-serif";

/// DejaVu Sans 2.37 (Bitstream Vera licence; `assets/fonts/`).
static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Registers the embedded font once; every later call returns the first outcome.
fn register_font() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT_BYTES)
            .map_err(|_| "the embedded DejaVu Sans font could not be read".to_string())
    })
    .clone()
}

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// Measured values: filled markers (with intervals where given) and a solid line.
    Measured,
    /// A bound: a dashed line, no markers.
    Bound,
    /// Predictions (not measured): hollow markers and a dotted line.
    Predicted,
    /// A reference level (chance): a thin grey line.
    Reference,
}

/// One marker, with an optional interval drawn as an error bar.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// Abscissa.
    pub x: f64,
    /// Ordinate.
    pub y: f64,
    /// The interval (low, high) around `y`, if any.
    pub interval: Option<(f64, f64)>,
}

impl Point {
    /// A point without an interval.
    pub fn at(x: f64, y: f64) -> Point {
        Point {
            x,
            y,
            interval: None,
        }
    }
}

/// The colours of the series, by index.
pub const PALETTE: [RGBColor; 5] = [
    RGBColor(31, 119, 180),
    RGBColor(217, 95, 2),
    RGBColor(27, 158, 119),
    RGBColor(117, 112, 179),
    RGBColor(110, 110, 110),
];

/// One series: its legend entry, colour, style, markers and line.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The legend text.
    pub label: String,
    /// Index into [`PALETTE`].
    pub color: usize,
    /// How it is drawn.
    pub mark: Mark,
    /// Markers (none for bounds and references).
    pub points: Vec<Point>,
    /// The line, in drawing order.
    pub line: Vec<(f64, f64)>,
}

/// An axis: its label, scale and (optionally) fixed range.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    /// The label.
    pub label: String,
    /// Logarithmic (base 10) or linear.
    pub log: bool,
    /// A fixed range; `None`: from the data, widened to round numbers.
    pub range: Option<(f64, f64)>,
}

/// One chart with its legend below it.
#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    /// The caption.
    pub title: String,
    /// The horizontal axis.
    pub x: Axis,
    /// The vertical axis.
    pub y: Axis,
    /// The series, drawn and listed in this order.
    pub series: Vec<Series>,
}

/// Panels side by side under a title, with notes at the bottom.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    /// The title.
    pub title: String,
    /// The panels, left to right.
    pub panels: Vec<Panel>,
    /// Lines of small print under the legends.
    pub notes: Vec<String>,
    /// Width of one panel in pixels.
    pub panel_width: u32,
    /// Height of the chart part of a panel in pixels.
    pub chart_height: u32,
    /// The least width of the whole figure (its notes need room), in pixels.
    pub min_width: u32,
}

const TITLE_HEIGHT: u32 = 36;
const LEGEND_LINE: u32 = 19;
const NOTE_LINE: u32 = 17;
const Y_LABEL_AREA: u32 = 70;
const MARGIN: u32 = 12;
static NOTE_GREY: RGBColor = RGBColor(70, 70, 70);

/// Renders the figure as an SVG document.
pub fn render(figure: &Figure) -> Result<String, String> {
    register_font()?;
    if figure.panels.is_empty() {
        return Err("a figure needs at least one panel".into());
    }
    let legend_lines = (figure.panels.iter())
        .map(|p| p.series.len())
        .max()
        .unwrap_or(0) as u32;
    let legend_height = legend_lines * LEGEND_LINE + 10;
    let notes_height = figure.notes.len() as u32 * NOTE_LINE + 8;
    let width = (figure.panel_width * figure.panels.len() as u32).max(figure.min_width);
    let height = TITLE_HEIGHT + figure.chart_height + legend_height + notes_height;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let (top, rest) = root.split_vertically(TITLE_HEIGHT);
        top.draw(&Text::new(
            figure.title.clone(),
            (MARGIN as i32, (TITLE_HEIGHT / 2) as i32),
            text_style(17, &BLACK, HPos::Left),
        ))
        .map_err(err)?;
        let (body, notes) = rest.split_vertically(figure.chart_height + legend_height);
        let columns = body.split_evenly((1, figure.panels.len()));
        for (panel, area) in figure.panels.iter().zip(&columns) {
            let (chart, legend) = area.split_vertically(figure.chart_height);
            draw_panel(&chart, panel)?;
            draw_legend(&legend, &panel.series)?;
        }
        for (i, note) in figure.notes.iter().enumerate() {
            notes
                .draw(&Text::new(
                    note.clone(),
                    (MARGIN as i32, (i as u32 * NOTE_LINE + NOTE_LINE / 2) as i32),
                    text_style(12, &NOTE_GREY, HPos::Left),
                ))
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

fn err(e: impl std::fmt::Display) -> String {
    format!("drawing failed: {e}")
}

fn text_style(size: u32, color: &'static RGBColor, h: HPos) -> TextStyle<'static> {
    TextStyle::from((FONT_FAMILY, size).into_font())
        .color(color)
        .pos(Pos::new(h, VPos::Center))
}

/// The range an axis shows: its fixed range, or the data's widened to round numbers.
fn axis_range(axis: &Axis, values: &[f64]) -> (f64, f64) {
    if let Some(r) = axis.range {
        return r;
    }
    let finite: Vec<f64> = values
        .iter()
        .copied()
        .filter(|v| v.is_finite() && (!axis.log || *v > 0.0))
        .collect();
    let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() || !hi.is_finite() {
        return if axis.log { (1.0, 10.0) } else { (0.0, 1.0) };
    }
    if axis.log {
        (round_down(lo / 1.25), round_up(hi * 1.25))
    } else {
        let pad = ((hi - lo) * 0.06).max(0.5);
        (lo - pad, hi + pad)
    }
}

/// The largest of 1, 2, 5 times a power of ten at or below `v` (v > 0).
fn round_down(v: f64) -> f64 {
    let base = 10f64.powi(v.log10().floor() as i32);
    [5.0, 2.0, 1.0]
        .into_iter()
        .map(|m| m * base)
        .find(|c| *c <= v * (1.0 + 1e-9))
        .unwrap_or(base / 2.0)
}

/// The smallest of 1, 2, 5 times a power of ten at or above `v` (v > 0).
fn round_up(v: f64) -> f64 {
    let base = 10f64.powi(v.log10().floor() as i32);
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * base)
        .find(|c| *c >= v * (1.0 - 1e-9))
        .unwrap_or(base * 10.0)
}

/// A tick label: on a log axis only 1, 2 and 5 times a power of ten (only powers of ten when
/// the axis spans more than three decades), with powers from 10^4 on written as such.
fn tick_label(v: f64, log: bool, decades: f64) -> String {
    if !log {
        return plain_number(v);
    }
    if v <= 0.0 {
        return String::new();
    }
    let k = v.log10().floor() as i32;
    let (k, m) = {
        let m = v / 10f64.powi(k);
        if (m - 10.0).abs() < 1e-6 {
            (k + 1, 1.0)
        } else {
            (k, m)
        }
    };
    let mantissa = [1.0, 2.0, 5.0].into_iter().find(|c| (m - c).abs() < 1e-6);
    match mantissa {
        Some(c) if c == 1.0 || decades <= 3.0 => {
            if k >= 4 {
                let power = format!("10{}", superscript(k));
                if c == 1.0 {
                    power
                } else {
                    format!("{c}·{power}")
                }
            } else {
                plain_number(c * 10f64.powi(k))
            }
        }
        _ => String::new(),
    }
}

/// A number with at most three decimals and no trailing zeros.
fn plain_number(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

fn superscript(k: i32) -> String {
    k.to_string()
        .chars()
        .map(|c| match c {
            '-' => '⁻',
            '0' => '⁰',
            '1' => '¹',
            '2' => '²',
            '3' => '³',
            '4' => '⁴',
            '5' => '⁵',
            '6' => '⁶',
            '7' => '⁷',
            '8' => '⁸',
            _ => '⁹',
        })
        .collect()
}

fn draw_panel(area: &DrawingArea<SVGBackend, Shift>, panel: &Panel) -> Result<(), String> {
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for s in &panel.series {
        for p in &s.points {
            xs.push(p.x);
            ys.push(p.y);
            if let Some((lo, hi)) = p.interval {
                ys.extend([lo, hi]);
            }
        }
        for &(x, y) in &s.line {
            xs.push(x);
            ys.push(y);
        }
    }
    let xr = axis_range(&panel.x, &xs);
    let yr = axis_range(&panel.y, &ys);
    match (panel.x.log, panel.y.log) {
        (true, true) => chart(
            area,
            panel,
            (xr.0..xr.1).log_scale(),
            (yr.0..yr.1).log_scale(),
        ),
        (true, false) => chart(area, panel, (xr.0..xr.1).log_scale(), lin(yr)),
        (false, true) => chart(area, panel, lin(xr), (yr.0..yr.1).log_scale()),
        (false, false) => chart(area, panel, lin(xr), lin(yr)),
    }
}

fn lin(r: (f64, f64)) -> RangedCoordf64 {
    (r.0..r.1).into()
}

fn decades(r: std::ops::Range<f64>) -> f64 {
    if r.start > 0.0 && r.end > 0.0 {
        (r.end / r.start).log10().abs()
    } else {
        0.0
    }
}

fn chart<X, Y>(
    area: &DrawingArea<SVGBackend, Shift>,
    panel: &Panel,
    x: X,
    y: Y,
) -> Result<(), String>
where
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .caption(panel.title.clone(), (FONT_FAMILY, 15))
        .margin(MARGIN)
        .x_label_area_size(44)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(x, y)
        .map_err(err)?;
    let x_decades = decades(chart.x_range());
    let y_decades = decades(chart.y_range());
    let (x_log, y_log) = (panel.x.log, panel.y.log);
    let x_fmt = move |v: &f64| tick_label(*v, x_log, x_decades);
    let y_fmt = move |v: &f64| tick_label(*v, y_log, y_decades);
    chart
        .configure_mesh()
        .x_desc(panel.x.label.clone())
        .y_desc(panel.y.label.clone())
        .x_labels(if x_log { 30 } else { 10 })
        .y_labels(if y_log { 30 } else { 10 })
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style((FONT_FAMILY, 12))
        .axis_desc_style((FONT_FAMILY, 13))
        .bold_line_style(BLACK.mix(0.1))
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(err)?;
    // Bounds and references below predictions, measurements on top, whatever the legend order.
    let layer = |m: Mark| match m {
        Mark::Bound | Mark::Reference => 0,
        Mark::Predicted => 1,
        Mark::Measured => 2,
    };
    let mut ordered: Vec<&Series> = panel.series.iter().collect();
    ordered.sort_by_key(|s| layer(s.mark));
    for s in ordered {
        let color = PALETTE[s.color % PALETTE.len()];
        let line = s.line.clone();
        match s.mark {
            Mark::Measured => {
                chart
                    .draw_series(LineSeries::new(line, color.stroke_width(2)))
                    .map_err(err)?;
                for p in &s.points {
                    if let Some((lo, hi)) = p.interval {
                        let style = color.stroke_width(2);
                        let cap = |y: f64| {
                            EmptyElement::at((p.x, y))
                                + PathElement::new(vec![(-5, 0), (5, 0)], style)
                        };
                        chart
                            .draw_series([PathElement::new(vec![(p.x, lo), (p.x, hi)], style)])
                            .map_err(err)?;
                        chart.draw_series([cap(lo), cap(hi)]).map_err(err)?;
                    }
                }
                chart
                    .draw_series(
                        s.points
                            .iter()
                            .map(|p| Circle::new((p.x, p.y), 4, color.filled())),
                    )
                    .map_err(err)?;
            }
            Mark::Bound => {
                chart
                    .draw_series(DashedLineSeries::new(line, 9, 6, bound_style(color)))
                    .map_err(err)?;
            }
            Mark::Predicted => {
                chart
                    .draw_series(DashedLineSeries::new(line, 2, 5, color.stroke_width(2)))
                    .map_err(err)?;
                chart
                    .draw_series(
                        s.points
                            .iter()
                            .map(|p| Circle::new((p.x, p.y), 5, WHITE.filled())),
                    )
                    .map_err(err)?;
                chart
                    .draw_series(
                        s.points
                            .iter()
                            .map(|p| Circle::new((p.x, p.y), 5, color.stroke_width(2))),
                    )
                    .map_err(err)?;
            }
            Mark::Reference => {
                chart
                    .draw_series(LineSeries::new(line, color.mix(0.8).stroke_width(1)))
                    .map_err(err)?;
            }
        }
    }
    Ok(())
}

/// A bound: wide and pale, so that a measured line on it (slack 0) stays visible inside it.
fn bound_style(color: RGBColor) -> ShapeStyle {
    color.mix(0.4).stroke_width(5)
}

/// One line per series under the chart: a sample of its style, then its label.
fn draw_legend(area: &DrawingArea<SVGBackend, Shift>, series: &[Series]) -> Result<(), String> {
    let x0 = (MARGIN + Y_LABEL_AREA) as i32 - 40;
    for (i, s) in series.iter().enumerate() {
        let y = (i as u32 * LEGEND_LINE + LEGEND_LINE / 2 + 4) as i32;
        let color = PALETTE[s.color % PALETTE.len()];
        let (a, b) = (x0, x0 + 34);
        let mid = (a + b) / 2;
        match s.mark {
            Mark::Measured => {
                area.draw(&PathElement::new(
                    vec![(a, y), (b, y)],
                    color.stroke_width(2),
                ))
                .map_err(err)?;
                area.draw(&Circle::new((mid, y), 4, color.filled()))
                    .map_err(err)?;
            }
            Mark::Bound => {
                for (p, q) in [(a, a + 9), (a + 15, a + 24), (a + 30, b)] {
                    area.draw(&PathElement::new(vec![(p, y), (q, y)], bound_style(color)))
                        .map_err(err)?;
                }
            }
            Mark::Predicted => {
                for p in [a, a + 7, b - 2] {
                    area.draw(&PathElement::new(
                        vec![(p, y), (p + 2, y)],
                        color.stroke_width(2),
                    ))
                    .map_err(err)?;
                }
                area.draw(&Circle::new((mid, y), 5, WHITE.filled()))
                    .map_err(err)?;
                area.draw(&Circle::new((mid, y), 5, color.stroke_width(2)))
                    .map_err(err)?;
            }
            Mark::Reference => {
                area.draw(&PathElement::new(
                    vec![(a, y), (b, y)],
                    color.mix(0.8).stroke_width(1),
                ))
                .map_err(err)?;
            }
        }
        area.draw(&Text::new(
            s.label.clone(),
            (b + 8, y),
            text_style(13, &BLACK, HPos::Left),
        ))
        .map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ticks_name_round_numbers_only() {
        assert_eq!(tick_label(1.0, true, 1.0), "1");
        assert_eq!(tick_label(2.0000000001, true, 1.0), "2");
        assert_eq!(tick_label(3.0, true, 1.0), "");
        assert_eq!(tick_label(20.0, true, 5.0), "");
        assert_eq!(tick_label(1000.0, true, 5.0), "1000");
        assert_eq!(tick_label(9999.999999, true, 5.0), "10⁴");
        assert_eq!(tick_label(1e9, true, 9.0), "10⁹");
        assert_eq!(tick_label(5e4, true, 2.0), "5·10⁴");
        assert_eq!(tick_label(0.5, false, 0.0), "0.5");
        assert_eq!(tick_label(0.25, true, 1.0), "");
    }

    #[test]
    fn ranges_widen_to_round_numbers() {
        assert_eq!(round_down(0.8), 0.5);
        assert_eq!(round_down(17.0), 10.0);
        assert_eq!(round_down(250.0), 200.0);
        assert_eq!(round_up(1.25), 2.0);
        assert_eq!(round_up(7.0), 10.0);
        assert_eq!(round_up(1280.0), 2000.0);
        let axis = Axis {
            label: String::new(),
            log: true,
            range: None,
        };
        assert_eq!(axis_range(&axis, &[1.0, 1000.0]), (0.5, 2000.0));
        assert_eq!(axis_range(&axis, &[]), (1.0, 10.0));
    }

    #[test]
    fn the_same_figure_gives_the_same_bytes() {
        let figure = Figure {
            title: "t".into(),
            panels: vec![Panel {
                title: "p".into(),
                x: Axis {
                    label: "n".into(),
                    log: true,
                    range: None,
                },
                y: Axis {
                    label: "steps".into(),
                    log: true,
                    range: None,
                },
                series: vec![Series {
                    label: "s".into(),
                    color: 0,
                    mark: Mark::Measured,
                    points: vec![Point::at(1.0, 2.0), Point::at(10.0, 20.0)],
                    line: vec![(1.0, 2.0), (10.0, 20.0)],
                }],
            }],
            notes: vec!["note".into()],
            panel_width: 400,
            chart_height: 300,
            min_width: 0,
        };
        let a = render(&figure).expect("renders");
        let b = render(&figure).expect("renders");
        assert_eq!(a, b);
        assert!(a.starts_with("<svg"));
        assert!(a.contains("font-family=\"DejaVu Sans, sans-serif\""));
    }
}
