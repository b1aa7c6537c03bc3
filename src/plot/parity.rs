//! The learned-parity figure: accuracy against string length, with 95% Wilson intervals.
//!
//! The numbers are `docs/data/parity_results.json`, copied by hand from the README's parity
//! tables (the measurements of `apmdm train parity` and `apmdm eval parity`; nothing here trains
//! or evaluates). The intervals are computed here from the counts.

use serde::{Deserialize, Serialize};

use super::figure::{Axis, Figure, Mark, Panel, Point, Series};

/// The committed results, compiled into the binary.
pub const RESULTS_FILE: &str = include_str!("../../docs/data/parity_results.json");

/// The parity results file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParityResults {
    /// Where the numbers come from.
    pub source: String,
    /// What the intervals are.
    pub interval: String,
    /// One series per model.
    pub series: Vec<ParitySeries>,
}

/// One model's accuracy per length.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParitySeries {
    /// The legend text.
    pub label: String,
    /// One entry per length.
    pub points: Vec<ParityPoint>,
}

/// The outcome at one length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParityPoint {
    /// String length L.
    pub length: u64,
    /// Strings answered correctly.
    pub correct: u64,
    /// Distinct strings decoded.
    pub strings: u64,
    /// Whether these were every string of the length (the accuracy is then exact).
    pub every_string: bool,
}

impl ParityResults {
    /// The committed results.
    pub fn committed() -> Result<ParityResults, String> {
        ParityResults::parse(RESULTS_FILE)
    }

    /// Parses and validates results: counts consistent, lengths positive and increasing, and
    /// `every_string` only where the count is 2^L.
    pub fn parse(text: &str) -> Result<ParityResults, String> {
        let r: ParityResults =
            serde_json::from_str(text).map_err(|e| format!("parity results: {e}"))?;
        for s in &r.series {
            let mut last = 0;
            for p in &s.points {
                let at = format!("parity results, {:?} at L = {}", s.label, p.length);
                if p.length <= last {
                    return Err(format!("{at}: lengths must increase from 1"));
                }
                last = p.length;
                if p.strings == 0 || p.correct > p.strings {
                    return Err(format!("{at}: {} of {} strings", p.correct, p.strings));
                }
                let all = 1u64.checked_shl(p.length as u32).filter(|_| p.length < 64);
                if p.every_string && all != Some(p.strings) {
                    return Err(format!("{at}: every string of length L is 2^L strings"));
                }
            }
        }
        Ok(r)
    }
}

/// z for a two-sided 95% interval (the 0.975 quantile of the standard normal).
pub const Z95: f64 = 1.959_963_984_540_054;

/// The Wilson score interval of `k` successes in `n` trials at normal quantile `z`.
pub fn wilson(k: u64, n: u64, z: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denom;
    let half = z / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((center - half).max(0.0), (center + half).min(1.0))
}

/// The factor between the lengths two neighbouring series are drawn at, so that their
/// intervals at the same length stay apart.
pub const DODGE: f64 = 1.08;

/// Accuracy against length (log scale), one series per model, intervals where strings were
/// drawn, and the level one half.
pub fn parity_figure(results: &ParityResults) -> Figure {
    let colors = [1, 3, 0, 2];
    let mut series = Vec::new();
    let mut longest = 1.0f64;
    let k = results.series.len() as f64;
    for (i, s) in results.series.iter().enumerate() {
        // Series side by side at the same length: each shifted by a few percent of L.
        let dodge = DODGE.powf(i as f64 - (k - 1.0) / 2.0);
        let points: Vec<Point> = (s.points.iter())
            .map(|p| {
                let x = p.length as f64 * dodge;
                longest = longest.max(x);
                Point {
                    x,
                    y: p.correct as f64 / p.strings as f64,
                    interval: (!p.every_string).then(|| wilson(p.correct, p.strings, Z95)),
                }
            })
            .collect();
        series.push(Series {
            label: s.label.clone(),
            color: colors[i % colors.len()],
            mark: Mark::Measured,
            line: points.iter().map(|p| (p.x, p.y)).collect(),
            points,
        });
    }
    series.push(Series {
        label: "one half (an answer that ignores the input)".into(),
        color: 4,
        mark: Mark::Reference,
        points: Vec::new(),
        line: vec![(1.0, 0.5), (longest, 0.5)],
    });
    Figure {
        title: "Learned parity: accuracy against string length".into(),
        panels: vec![Panel {
            title: "accuracy (fraction of strings answered correctly)".into(),
            x: Axis {
                label: "string length L (log scale)".into(),
                log: true,
                range: None,
            },
            y: Axis {
                label: "accuracy".into(),
                log: false,
                range: Some((0.0, 1.05)),
            },
            series,
        }],
        notes: vec![
            "Bars: 95% Wilson intervals over the distinct strings drawn; no bar where every \
             string of the length was decoded (exact). Series are shifted sideways by 8% of L \
             from one another."
                .into(),
            "Numbers: docs/data/parity_results.json, copied from the README's parity tables \
             (apmdm train parity, apmdm eval parity); nothing is trained here."
                .into(),
        ],
        panel_width: 900,
        chart_height: 440,
        min_width: 900,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rounded(k: u64, n: u64) -> (String, String) {
        let (lo, hi) = wilson(k, n, Z95);
        (format!("{lo:.3}"), format!("{hi:.3}"))
    }

    #[test]
    fn wilson_intervals_are_the_readmes() {
        // The intervals the README prints beside these counts.
        let want = [
            (753, 1000, "0.725", "0.779"),
            (751, 1000, "0.723", "0.777"),
            (496, 1000, "0.465", "0.527"),
            (498, 1000, "0.467", "0.529"),
            (5, 10, "0.237", "0.763"),
            (471, 500, "0.918", "0.959"),
            (359, 500, "0.677", "0.756"),
            (265, 500, "0.486", "0.573"),
        ];
        for (k, n, lo, hi) in want {
            assert_eq!(rounded(k, n), (lo.to_string(), hi.to_string()), "{k}/{n}");
        }
        assert_eq!(wilson(0, 0, Z95), (0.0, 1.0));
    }

    #[test]
    fn the_committed_results_are_consistent() {
        let r = ParityResults::committed().expect("the committed file parses");
        assert_eq!(r.series.len(), 3);
        let halting = &r.series[0].points;
        assert_eq!(halting.len(), 9);
        assert_eq!(
            halting[4],
            ParityPoint {
                length: 10,
                correct: 753,
                strings: 1000,
                every_string: false
            }
        );
        let fig = parity_figure(&r);
        let drawn = &fig.panels[0].series[0].points;
        assert_eq!(drawn[0].interval, None);
        assert_eq!(drawn[0].y, 1.0);
        assert!(drawn[4].interval.is_some());
    }

    #[test]
    fn inconsistent_results_are_refused() {
        let text = RESULTS_FILE.replacen(
            "\"correct\": 2, \"strings\": 2",
            "\"correct\": 3, \"strings\": 2",
            1,
        );
        assert!(ParityResults::parse(&text)
            .unwrap_err()
            .contains("of 2 strings"));
        let text = RESULTS_FILE.replacen(
            "\"correct\": 22, \"strings\": 32, \"every_string\": true",
            "\"correct\": 22, \"strings\": 31, \"every_string\": true",
            1,
        );
        assert!(ParityResults::parse(&text).unwrap_err().contains("2^L"));
        assert!(ParityResults::parse("[]").is_err());
    }
}
