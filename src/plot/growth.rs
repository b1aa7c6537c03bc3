//! The rows a growth figure draws, their fits, and the figures: steps and context against n per
//! program, and the PSPACE figure (context of MDM against AP-MDM).
//!
//! A [`PlotRow`] keeps what a checked row (`check::mdm::Row`, `check::apmdm::ApmdmRow`) says
//! about one (program, target, n, seed): the measured steps and context when it ran, the bounds,
//! and the prediction when it did not. Fits are computed from plot rows by the checker's own
//! [`fit_quantities`], over the same points `check::mdm::fits` and `check::apmdm::fits` take,
//! so the class a legend names is the class `apmdm check` prints.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::figure::{Axis, Figure, Mark, Panel, Point, Series};
use crate::check::apmdm::{ApmdmBounds, ApmdmRow};
use crate::check::mdm::{fit_quantities, FitPoint, FitRow, Linear, MdmBounds, Row};

/// The data file format written by `apmdm plot` and read by `apmdm plot --data`.
pub const DATA_FORMAT: u32 = 1;

/// One checked (program, target, n, seed) as the figures need it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlotRow {
    /// The program.
    pub program: String,
    /// `mdm`, `apmdm` (the declared layout) or `apmdm-tight`.
    pub target: String,
    /// The size.
    pub n: i64,
    /// The seed of the input.
    pub seed: u64,
    /// The row's verdict: `pass`, `fail` or `not-run`.
    pub status: String,
    /// Whether the schedule was built and run.
    pub ran: bool,
    /// Decoding steps (measured; `None` when not run).
    pub steps: Option<u64>,
    /// The steps bound (a T + b, plus the allocation steps in the tight layout).
    pub steps_bound: u64,
    /// The run's context (measured; a decimal string; `None` when not run).
    pub context: Option<String>,
    /// The context bound the checker's slack is taken against (a decimal string).
    pub context_bound: String,
    /// The exact context of a row not run: the laid-out length (MDM) or the proof's peak
    /// (AP-MDM); a prediction, never measured.
    pub predicted_context: Option<String>,
}

impl PlotRow {
    /// The plot row of a checked MDM row (context bound: the work bound `c(n + W_decl + T_decl)
    /// + d`, an identity of the layout, as in the fit table's slack).
    pub fn of_mdm(r: &Row) -> PlotRow {
        PlotRow {
            program: r.program.clone(),
            target: r.target.clone(),
            n: r.n,
            seed: r.seed,
            status: r.status.to_string(),
            ran: r.materialized,
            steps: r.steps,
            steps_bound: r.steps_bound,
            context: r.context.clone(),
            context_bound: r.context_bound_work.clone(),
            predicted_context: r.predicted_context.clone(),
        }
    }

    /// The plot row of a checked AP-MDM row (context bound: `context_bound`, as in the fit
    /// table's slack).
    pub fn of_apmdm(r: &ApmdmRow) -> PlotRow {
        PlotRow {
            program: r.program.clone(),
            target: r.target.clone(),
            n: r.n,
            seed: r.seed,
            status: r.status.to_string(),
            ran: r.materialized,
            steps: r.steps,
            steps_bound: r.steps_bound,
            context: r.context.map(|c| c.to_string()),
            context_bound: r.context_bound.to_string(),
            predicted_context: r.predicted_context.map(|c| c.to_string()),
        }
    }
}

/// What `apmdm plot` writes beside the figures (`plot-data.json`) and `--data` reads back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlotData {
    /// [`DATA_FORMAT`].
    pub format: u32,
    /// Every row, grouped by program in the order they ran.
    pub rows: Vec<PlotRow>,
}

impl PlotData {
    /// Parses and validates a data file: its format, and every number it holds.
    pub fn parse(text: &str) -> Result<PlotData, String> {
        let data: PlotData = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if data.format != DATA_FORMAT {
            return Err(format!(
                "format {} is not the format this build reads ({DATA_FORMAT})",
                data.format
            ));
        }
        for r in &data.rows {
            let at = format!("{} {} n = {} seed {}", r.program, r.target, r.n, r.seed);
            if !TARGETS.iter().any(|(t, _, _)| *t == r.target) {
                return Err(format!("{at}: unknown target {:?}", r.target));
            }
            if !["pass", "fail", "not-run"].contains(&r.status.as_str()) {
                return Err(format!("{at}: unknown status {:?}", r.status));
            }
            if r.n < 1 {
                return Err(format!("{at}: sizes start at 1"));
            }
            let fields = [
                ("context", r.context.as_deref()),
                ("context_bound", Some(r.context_bound.as_str())),
                ("predicted_context", r.predicted_context.as_deref()),
            ];
            for (name, v) in fields {
                if let Some(v) = v {
                    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(format!("{at}: {name} {v:?} is not a decimal number"));
                    }
                }
            }
            if r.ran != (r.steps.is_some() && r.context.is_some()) {
                return Err(format!(
                    "{at}: a row that ran has steps and context, and only such a row"
                ));
            }
        }
        Ok(data)
    }

    /// The file's text: pretty JSON and a final newline.
    pub fn to_text(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// The targets in drawing order: name, legend name, colour.
const TARGETS: [(&str, &str, usize); 3] = [
    ("mdm", "MDM", 0),
    ("apmdm", "AP-MDM", 1),
    ("apmdm-tight", "AP-MDM tight", 2),
];

/// The fit points of one program's rows on one target, as `check::mdm::fits` and
/// `check::apmdm::fits` take them: measured rows only, with their slack against the bound.
pub fn fits(rows: &[PlotRow]) -> Vec<FitRow> {
    let Some(first) = rows.first() else {
        return Vec::new();
    };
    let ran = || rows.iter().filter(|r| r.ran);
    let steps: Vec<FitPoint> = ran()
        .filter_map(|r| {
            let s = r.steps?;
            Some((r.n as u64, s as f64, s as i128 - r.steps_bound as i128))
        })
        .collect();
    let context: Vec<FitPoint> = ran()
        .filter_map(|r| {
            let l: i128 = r.context.as_deref()?.parse().ok()?;
            let b: Option<i128> = r.context_bound.parse().ok();
            Some((r.n as u64, l as f64, b.map_or(i128::MIN, |b| l - b)))
        })
        .collect();
    fit_quantities(
        &first.program,
        &first.target,
        &[("steps", steps), ("context", context)],
    )
}

/// `a x + b` as a legend writes it (`T + 1`, `3T + 2`).
fn affine(a: i64, x: &str, b: i64) -> String {
    let head = match a {
        1 => x.to_string(),
        _ if x.contains(' ') => format!("{a}({x})"),
        _ => format!("{a}{x}"),
    };
    match b {
        0 => head,
        b if b < 0 => format!("{head} - {}", -b),
        b => format!("{head} + {b}"),
    }
}

/// The steps and context bounds of a target, as legends name them.
fn bound_labels(target: &str) -> (String, String) {
    let mdm = MdmBounds::from_file();
    let ap = ApmdmBounds::from_file();
    let Linear { a, b } = ap.steps;
    let Linear { a: c, b: d } = ap.context;
    match target {
        "mdm" => (
            affine(mdm.steps.a, "T", mdm.steps.b),
            format!(
                "{} (layout identity)",
                affine(
                    mdm.context_work.a,
                    "n + W_decl + T_decl",
                    mdm.context_work.b
                )
            ),
        ),
        "apmdm" => (
            affine(a, "T", b),
            format!(
                "{} (layout identity)",
                affine(c, "max(S_decl, static cells) + max(1, P_decl)", d)
            ),
        ),
        _ => (
            affine(a, "T", b).replacen(" + ", " + alloc + ", 1),
            affine(c, "S + max(1, P_decl)", d),
        ),
    }
}

/// The largest y at each x, in increasing x: the line through a series with several seeds.
fn largest_at_each_x(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut by_x: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
    for &(x, y) in points {
        let e = by_x.entry(x.to_bits()).or_insert((x, y));
        if y > e.1 {
            e.1 = y;
        }
    }
    let mut line: Vec<(f64, f64)> = by_x.into_values().collect();
    line.sort_by(|p, q| p.0.total_cmp(&q.0));
    line
}

fn number(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// A measured series: a marker per row that ran, the line through the largest at each n.
fn measured(label: String, color: usize, points: Vec<(f64, f64)>) -> Series {
    Series {
        label,
        color,
        mark: Mark::Measured,
        line: largest_at_each_x(&points),
        points: points.into_iter().map(|(x, y)| Point::at(x, y)).collect(),
    }
}

/// The fit and slack as a legend states them.
fn fit_words(f: Option<&FitRow>) -> String {
    let Some(f) = f else {
        return "no fit".into();
    };
    let class = match f.class.as_str() {
        "not classified" => format!(
            "not classified ({} size{})",
            f.sizes,
            if f.sizes == 1 { "" } else { "s" }
        ),
        c if f.tie => format!("fit: {c} (tie)"),
        c => format!("fit: {c}"),
    };
    match f.slack {
        Some(s) => format!("{class}, slack {s}"),
        None => class,
    }
}

/// The rows of one target, in the order given.
fn of_target<'a>(rows: &'a [PlotRow], target: &str) -> Vec<&'a PlotRow> {
    rows.iter().filter(|r| r.target == target).collect()
}

/// Steps and context against n (log-log) for one program's rows.
pub fn growth_figure(program: &str, rows: &[PlotRow]) -> Figure {
    let mut steps = Vec::new();
    let mut context = Vec::new();
    let mut not_run = 0;
    for (target, name, color) in TARGETS {
        let mine: Vec<PlotRow> = of_target(rows, target).into_iter().cloned().collect();
        if mine.is_empty() {
            continue;
        }
        let fitted = fits(&mine);
        let fit = |q: &str| fitted.iter().find(|f| f.quantity == q);
        let (steps_bound, context_bound) = bound_labels(target);
        let n = |r: &PlotRow| r.n as f64;
        let ran: Vec<&PlotRow> = mine.iter().filter(|r| r.ran).collect();
        not_run += mine.len() - ran.len();
        let s: Vec<(f64, f64)> = (ran.iter())
            .filter_map(|r| Some((n(r), r.steps? as f64)))
            .collect();
        if !s.is_empty() {
            steps.push(measured(
                format!("{name} steps, {}", fit_words(fit("steps"))),
                color,
                s,
            ));
        }
        let sb: Vec<(f64, f64)> = mine.iter().map(|r| (n(r), r.steps_bound as f64)).collect();
        steps.push(Series {
            label: format!("{name} bound {steps_bound}"),
            color,
            mark: Mark::Bound,
            points: Vec::new(),
            line: largest_at_each_x(&sb),
        });
        let c: Vec<(f64, f64)> = (ran.iter())
            .filter_map(|r| Some((n(r), number(r.context.as_deref()?)?)))
            .collect();
        if !c.is_empty() {
            context.push(measured(
                format!("{name} context, {}", fit_words(fit("context"))),
                color,
                c.clone(),
            ));
        }
        let p: Vec<(f64, f64)> = (mine.iter().filter(|r| !r.ran))
            .filter_map(|r| Some((n(r), number(r.predicted_context.as_deref()?)?)))
            .collect();
        if !p.is_empty() {
            context.push(predicted(name, target, p, &c));
        }
        let cb: Vec<(f64, f64)> = (mine.iter())
            .filter_map(|r| Some((n(r), number(&r.context_bound)?)))
            .collect();
        context.push(Series {
            label: format!("{name} bound {context_bound}"),
            color,
            mark: Mark::Bound,
            points: Vec::new(),
            line: largest_at_each_x(&cb),
        });
    }
    let axis = |label: &str| Axis {
        label: label.into(),
        log: true,
        range: None,
    };
    let mut notes = vec![
        "Markers: every (n, seed) row that ran, as apmdm check runs them; solid lines join the \
         largest value at each n; dashed: the bound (proofs/*.bounds.json), its largest at each n."
            .to_string(),
        "Fits as in apmdm check: the class g of the best y = a + b g(n) by BIC over the rows that \
         ran (5 sizes at least; tie: runner-up within 2); slack: the largest measured minus \
         bound (0: met exactly). No wall times."
            .to_string(),
    ];
    if not_run > 0 {
        notes.push(format!(
            "{not_run} row(s) not run (over --max-work, --max-length or --max-memory): no steps \
             drawn; hollow markers are their exact predicted contexts, never measured."
        ));
    }
    Figure {
        title: format!("{program}: decoding steps and context against n (log-log)"),
        panels: vec![
            Panel {
                title: "decoding steps".into(),
                x: axis("n"),
                y: axis("steps"),
                series: steps,
            },
            Panel {
                title: "context (positions)".into(),
                x: axis("n"),
                y: axis("context"),
                series: context,
            },
        ],
        notes,
        panel_width: 600,
        chart_height: 420,
        min_width: 1200,
    }
}

/// Hollow markers for contexts that were predicted, not measured; the dotted line starts at
/// `measured`'s largest value at the largest size below the first prediction, if any.
fn predicted(name: &str, target: &str, points: Vec<(f64, f64)>, measured: &[(f64, f64)]) -> Series {
    let what = if target == "mdm" {
        "the exact laid-out length"
    } else {
        "the proof's exact peak"
    };
    Series {
        label: format!("{name} context predicted, not run ({what})"),
        color: TARGETS
            .iter()
            .find(|(t, _, _)| *t == target)
            .map_or(0, |t| t.2),
        mark: Mark::Predicted,
        line: {
            let mut line = largest_at_each_x(&points);
            let first = line.first().map_or(f64::INFINITY, |p| p.0);
            let below = largest_at_each_x(measured)
                .into_iter()
                .rfind(|p| p.0 < first);
            line.splice(0..0, below);
            line
        },
        points: points.into_iter().map(|(x, y)| Point::at(x, y)).collect(),
    }
}

/// The PSPACE programs the PSPACE figure draws, in panel order.
pub const PSPACE_PROGRAMS: [&str; 2] = ["tqbf", "geography"];

/// Context of MDM against AP-MDM (declared layout) for tqbf and geography against n, log scale:
/// `None` unless the rows hold at least one of them on both targets.
pub fn pspace_figure(rows: &[PlotRow]) -> Option<Figure> {
    let mut panels = Vec::new();
    for program in PSPACE_PROGRAMS {
        let mine: Vec<&PlotRow> = rows.iter().filter(|r| r.program == program).collect();
        let mdm: Vec<&PlotRow> = mine.iter().copied().filter(|r| r.target == "mdm").collect();
        let ap: Vec<&PlotRow> = (mine.iter().copied())
            .filter(|r| r.target == "apmdm")
            .collect();
        if mdm.is_empty() || ap.is_empty() {
            continue;
        }
        let mut series = Vec::new();
        for (rows, name, target, color) in [(&mdm, "MDM", "mdm", 0), (&ap, "AP-MDM", "apmdm", 1)] {
            let c: Vec<(f64, f64)> = (rows.iter().filter(|r| r.ran))
                .filter_map(|r| Some((r.n as f64, number(r.context.as_deref()?)?)))
                .collect();
            if !c.is_empty() {
                series.push(measured(
                    format!("{name} context, measured"),
                    color,
                    c.clone(),
                ));
            }
            let p: Vec<(f64, f64)> = (rows.iter().filter(|r| !r.ran))
                .filter_map(|r| Some((r.n as f64, number(r.predicted_context.as_deref()?)?)))
                .collect();
            if !p.is_empty() {
                series.push(predicted(name, target, p, &c));
            }
        }
        panels.push(Panel {
            title: program.to_string(),
            x: Axis {
                label: "n".into(),
                log: false,
                range: None,
            },
            y: Axis {
                label: "context (positions, log scale)".into(),
                log: true,
                range: None,
            },
            series,
        });
    }
    if panels.is_empty() {
        return None;
    }
    Some(Figure {
        title: "PSPACE-complete searches: context of MDM (Theorem 1) against AP-MDM (Theorem 4)"
            .into(),
        panels,
        notes: vec![
            "The MDM canvas is laid out for the declared time, so its context grows with the \
             search; the AP-MDM (declared layout) rewrites memory in place."
                .into(),
            "Filled markers were measured (every (n, seed) row that ran; lines join the largest \
             at each n); hollow markers are exact predictions of canvases not built."
                .into(),
        ],
        panel_width: 600,
        chart_height: 420,
        min_width: 1000,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_named_from_the_bounds_files() {
        assert_eq!(bound_labels("mdm").0, "T + 1");
        assert_eq!(
            bound_labels("mdm").1,
            "n + W_decl + T_decl + 2 (layout identity)"
        );
        assert_eq!(bound_labels("apmdm").0, "3T + 2");
        assert_eq!(bound_labels("apmdm-tight").0, "3T + alloc + 2");
        assert_eq!(bound_labels("apmdm-tight").1, "S + max(1, P_decl) + 2");
        assert_eq!(affine(2, "S + P", 0), "2(S + P)");
        assert_eq!(affine(1, "T", -1), "T - 1");
    }

    #[test]
    fn lines_join_the_largest_value_at_each_size() {
        let line = largest_at_each_x(&[(2.0, 5.0), (1.0, 3.0), (2.0, 7.0), (1.0, 1.0)]);
        assert_eq!(line, vec![(1.0, 3.0), (2.0, 7.0)]);
    }

    fn row(target: &str, n: i64, ran: bool) -> PlotRow {
        PlotRow {
            program: "p".into(),
            target: target.into(),
            n,
            seed: 1,
            status: if ran { "pass" } else { "not-run" }.into(),
            ran,
            steps: ran.then_some(n as u64 + 1),
            steps_bound: n as u64 + 1,
            context: ran.then(|| (10 * n).to_string()),
            context_bound: (10 * n).to_string(),
            predicted_context: (!ran).then(|| (10 * n).to_string()),
        }
    }

    #[test]
    fn rows_not_run_enter_no_fit_and_are_drawn_as_predictions() {
        let rows: Vec<PlotRow> = (1..=6).map(|n| row("mdm", n, n < 6)).collect();
        let f = fits(&rows);
        assert_eq!(f[0].sizes, 5);
        assert_eq!(f[0].class, "n");
        assert_eq!(f[0].slack, Some(0));
        let fig = growth_figure("p", &rows);
        let context = &fig.panels[1].series;
        let hollow: Vec<&Series> = context
            .iter()
            .filter(|s| s.mark == Mark::Predicted)
            .collect();
        assert_eq!(hollow.len(), 1);
        assert_eq!(hollow[0].points, vec![Point::at(6.0, 60.0)]);
        // The dotted line continues the measured one from its last size below.
        assert_eq!(hollow[0].line, vec![(5.0, 50.0), (6.0, 60.0)]);
        let filled = context.iter().find(|s| s.mark == Mark::Measured).unwrap();
        assert_eq!(filled.points.len(), 5);
        assert!(fig.notes.iter().any(|n| n.starts_with("1 row(s) not run")));
    }

    #[test]
    fn data_files_are_validated() {
        let good = PlotData {
            format: DATA_FORMAT,
            rows: vec![row("mdm", 1, true), row("apmdm", 2, false)],
        };
        assert_eq!(PlotData::parse(&good.to_text()).as_ref(), Ok(&good));
        let mut bad = good.clone();
        bad.rows[0].context = Some("12x".into());
        assert!(PlotData::parse(&bad.to_text())
            .unwrap_err()
            .contains("decimal"));
        let mut bad = good.clone();
        bad.rows[1].target = "arm".into();
        assert!(PlotData::parse(&bad.to_text())
            .unwrap_err()
            .contains("target"));
        let mut bad = good.clone();
        bad.format = 9;
        assert!(PlotData::parse(&bad.to_text())
            .unwrap_err()
            .contains("format"));
        let mut bad = good;
        bad.rows[0].steps = None;
        assert!(PlotData::parse(&bad.to_text()).is_err());
        assert!(PlotData::parse("{").is_err());
    }
}
