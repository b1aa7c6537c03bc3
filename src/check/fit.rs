//! Empirical growth: fit y = a + b·g(n) for each candidate g and pick one by BIC.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A growth class g(n) that measured steps or context are fitted against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Growth {
    /// Constant.
    #[serde(rename = "1")]
    Constant,
    /// log n.
    #[serde(rename = "log n")]
    Log,
    /// log^2 n.
    #[serde(rename = "log^2 n")]
    LogSquared,
    /// n.
    #[serde(rename = "n")]
    Linear,
    /// n log n.
    #[serde(rename = "n log n")]
    LinearLog,
    /// n log^2 n.
    #[serde(rename = "n log^2 n")]
    LinearLogSquared,
    /// n^2.
    #[serde(rename = "n^2")]
    Quadratic,
    /// n^3.
    #[serde(rename = "n^3")]
    Cubic,
    /// n^3 log n.
    #[serde(rename = "n^3 log n")]
    CubicLog,
    /// 2^n.
    #[serde(rename = "2^n")]
    Exponential,
    /// n 2^n.
    #[serde(rename = "n 2^n")]
    LinearExponential,
    /// n^2 2^n.
    #[serde(rename = "n^2 2^n")]
    QuadraticExponential,
}

impl Growth {
    /// Every class, slowest first.
    pub const ALL: [Growth; 12] = [
        Growth::Constant,
        Growth::Log,
        Growth::LogSquared,
        Growth::Linear,
        Growth::LinearLog,
        Growth::LinearLogSquared,
        Growth::Quadratic,
        Growth::Cubic,
        Growth::CubicLog,
        Growth::Exponential,
        Growth::LinearExponential,
        Growth::QuadraticExponential,
    ];

    /// g(n); logarithms are base 2.
    pub fn eval(self, n: f64) -> f64 {
        let log = n.max(1.0).log2();
        match self {
            Growth::Constant => 1.0,
            Growth::Log => log,
            Growth::LogSquared => log * log,
            Growth::Linear => n,
            Growth::LinearLog => n * log,
            Growth::LinearLogSquared => n * log * log,
            Growth::Quadratic => n * n,
            Growth::Cubic => n * n * n,
            Growth::CubicLog => n * n * n * log,
            Growth::Exponential => n.exp2(),
            Growth::LinearExponential => n * n.exp2(),
            Growth::QuadraticExponential => n * n * n.exp2(),
        }
    }

    /// The class as written in tables.
    pub fn label(self) -> &'static str {
        match self {
            Growth::Constant => "1",
            Growth::Log => "log n",
            Growth::LogSquared => "log^2 n",
            Growth::Linear => "n",
            Growth::LinearLog => "n log n",
            Growth::LinearLogSquared => "n log^2 n",
            Growth::Quadratic => "n^2",
            Growth::Cubic => "n^3",
            Growth::CubicLog => "n^3 log n",
            Growth::Exponential => "2^n",
            Growth::LinearExponential => "n 2^n",
            Growth::QuadraticExponential => "n^2 2^n",
        }
    }

    /// The class a label names (`"n log n"`, `"n^2 2^n"`; spaces and `*` between factors are
    /// optional), or `None`.
    pub fn parse(label: &str) -> Option<Growth> {
        let canon: String = label
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '*')
            .collect();
        Growth::ALL
            .into_iter()
            .find(|g| g.label().replace(' ', "") == canon)
    }
}

impl fmt::Display for Growth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The least-squares fit of one class.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassFit {
    /// The class.
    pub growth: Growth,
    /// Intercept a.
    pub a: f64,
    /// Slope b (0 for the constant class).
    pub b: f64,
    /// Bayesian information criterion; lower is better.
    pub bic: f64,
}

/// The verdict on a series of (n, y) measurements.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Classification {
    /// Too few distinct sizes to tell classes apart.
    NotClassified {
        /// How many distinct sizes there were.
        sizes: usize,
    },
    /// The class with the lowest BIC, and whether the runner-up is within the tie margin.
    Classified {
        /// The best fit.
        best: ClassFit,
        /// The second-best fit, if any class besides the best could be fitted.
        runner_up: Option<ClassFit>,
        /// Whether the runner-up's BIC is within [`TIE_MARGIN`] of the best.
        tie: bool,
    },
}

/// Fewer distinct sizes than this are not classified.
pub const MIN_SIZES: usize = 5;
/// The largest value of g(n) at a measured size for which a class is fitted (2^64).
pub const MAX_CLASS_VALUE: f64 = 18_446_744_073_709_551_616.0;
/// BIC differences below this count as a tie (weak evidence by the usual scale).
pub const TIE_MARGIN: f64 = 2.0;

/// Fits every class to the points and picks the one with the lowest BIC.
///
/// Classes are fitted as y = a + b·g(n) with b >= 0 (a class that needs a negative slope does
/// not describe growth and is skipped); the constant class has one parameter. Exact fits would
/// give a residual of 0 and an infinite log-likelihood, so residuals are floored at a tiny
/// fraction of the data's scale; among exact fits the simpler class then wins by its parameter
/// count, or, at equal counts, by the order of [`Growth::ALL`].
pub fn classify(points: &[(u64, f64)]) -> Classification {
    let mut sizes: Vec<u64> = points.iter().map(|p| p.0).collect();
    sizes.sort_unstable();
    sizes.dedup();
    if sizes.len() < MIN_SIZES {
        return Classification::NotClassified { sizes: sizes.len() };
    }
    let mut fits: Vec<ClassFit> = Growth::ALL
        .iter()
        .filter_map(|&g| fit_one(g, points))
        .collect();
    // A stable sort keeps the order of `Growth::ALL` among equal scores.
    fits.sort_by(|x, y| x.bic.total_cmp(&y.bic));
    let mut iter = fits.into_iter();
    match iter.next() {
        None => Classification::NotClassified { sizes: sizes.len() },
        Some(best) => {
            let runner_up = iter.next();
            let tie = runner_up.is_some_and(|r| r.bic - best.bic < TIE_MARGIN);
            Classification::Classified {
                best,
                runner_up,
                tie,
            }
        }
    }
}

/// The least-squares fit of one class to the points (`None` when the class cannot be fitted:
/// fewer than two distinct g values, a negative slope, or g past [`MAX_CLASS_VALUE`]).
pub fn fit_one(growth: Growth, points: &[(u64, f64)]) -> Option<ClassFit> {
    let m = points.len() as f64;
    let xs: Vec<f64> = points.iter().map(|p| growth.eval(p.0 as f64)).collect();
    // Measured quantities are 64-bit integers: a class that reaches past 2^64 at a measured size
    // (2^n at n = 1000) could only fit with a slope below one unit per 2^64 and a single point
    // carrying the whole fit; it describes nothing that was measured, so it is not fitted.
    if xs.iter().any(|x| !x.is_finite() || *x > MAX_CLASS_VALUE) {
        return None;
    }
    let ys: Vec<f64> = points.iter().map(|p| p.1).collect();
    let mean_y = ys.iter().sum::<f64>() / m;
    let (a, b, params) = if growth == Growth::Constant {
        (mean_y, 0.0, 1.0)
    } else {
        let mean_x = xs.iter().sum::<f64>() / m;
        let sxx: f64 = xs.iter().map(|x| (x - mean_x) * (x - mean_x)).sum();
        let sxy: f64 = xs
            .iter()
            .zip(&ys)
            .map(|(x, y)| (x - mean_x) * (y - mean_y))
            .sum();
        if sxx <= 0.0 {
            return None;
        }
        let b = sxy / sxx;
        if b < 0.0 {
            return None;
        }
        (mean_y - b * mean_x, b, 2.0)
    };
    let rss: f64 = xs
        .iter()
        .zip(&ys)
        .map(|(x, y)| {
            let r = y - (a + b * x);
            r * r
        })
        .sum();
    let scale = ys.iter().map(|y| y * y).sum::<f64>() / m + 1.0;
    let floor = scale * 1e-12;
    let bic = params * m.ln() + m * ((rss / m).max(floor)).ln();
    Some(ClassFit { growth, a, b, bic })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(g: impl Fn(f64) -> f64, sizes: &[u64]) -> Vec<(u64, f64)> {
        sizes.iter().map(|&n| (n, g(n as f64))).collect()
    }

    fn best(c: &Classification) -> Growth {
        match c {
            Classification::Classified { best, .. } => best.growth,
            other => panic!("not classified: {other:?}"),
        }
    }

    const POWERS: [u64; 7] = [4, 8, 16, 32, 64, 128, 256];

    #[test]
    fn exact_series_are_recognized() {
        assert_eq!(best(&classify(&series(|_| 7.0, &POWERS))), Growth::Constant);
        assert_eq!(
            best(&classify(&series(|n| 2.0 * n.log2() + 3.0, &POWERS))),
            Growth::Log
        );
        assert_eq!(
            best(&classify(&series(|n| n.log2() * n.log2() + 1.0, &POWERS))),
            Growth::LogSquared
        );
        assert_eq!(
            best(&classify(&series(|n| 3.0 * n + 1.0, &POWERS))),
            Growth::Linear
        );
        assert_eq!(
            best(&classify(&series(|n| n * n.log2(), &POWERS))),
            Growth::LinearLog
        );
        assert_eq!(
            best(&classify(&series(|n| n * n, &POWERS))),
            Growth::Quadratic
        );
        assert_eq!(
            best(&classify(&series(|n| n * n * n, &POWERS))),
            Growth::Cubic
        );
        let small = [2, 3, 4, 5, 6, 7, 8];
        assert_eq!(
            best(&classify(&series(|n| n.exp2() + 5.0, &small))),
            Growth::Exponential
        );
        assert_eq!(
            best(&classify(&series(|n| 3.0 * n * n.exp2() + 5.0, &small))),
            Growth::LinearExponential
        );
        assert_eq!(
            best(&classify(&series(|n| n * n * n.exp2(), &small))),
            Growth::QuadraticExponential
        );
    }

    #[test]
    fn labels_parse_back() {
        for g in Growth::ALL {
            assert_eq!(Growth::parse(g.label()), Some(g));
        }
        assert_eq!(Growth::parse("n*2^n"), Some(Growth::LinearExponential));
        assert_eq!(Growth::parse(" n log n "), Some(Growth::LinearLog));
        assert_eq!(Growth::parse("n^4"), None);
    }

    #[test]
    fn integer_rounding_does_not_change_the_class() {
        // ceil(log2 n) + small integer noise from a real schedule.
        let pts: Vec<(u64, f64)> = [5u64, 9, 17, 33, 65, 129, 257]
            .iter()
            .map(|&n| (n, (n as f64).log2().ceil() * 4.0 + 2.0))
            .collect();
        assert_eq!(best(&classify(&pts)), Growth::Log);
    }

    #[test]
    fn classes_past_64_bits_at_a_measured_size_are_not_fitted() {
        // log^2 n rounds at sizes up to 1000: 2^n and its kin reach past 2^64 there and must
        // not win by fitting the largest point alone.
        let pts = series(
            |n| (n.log2().ceil() * (n.log2().ceil() + 1.0) / 2.0).round(),
            &[1, 2, 5, 8, 64, 1000],
        );
        assert_eq!(best(&classify(&pts)), Growth::LogSquared);
    }

    #[test]
    fn too_few_sizes_are_not_classified() {
        let pts = series(|n| n, &[4, 8, 16, 16, 32]);
        assert_eq!(classify(&pts), Classification::NotClassified { sizes: 4 });
    }

    #[test]
    fn near_identical_classes_are_flagged_as_ties() {
        // Over a narrow range, integer-rounded n log n is hard to tell from n.
        let pts = series(|n| (n * n.log2()).round(), &[100, 101, 102, 103, 104]);
        match classify(&pts) {
            Classification::Classified { tie, .. } => assert!(tie),
            other => panic!("{other:?}"),
        }
    }
}
