//! Declared against measured growth of a program's own costs.
//!
//! A program declares the textbook class of its rounds T, work W and space S in a test directive,
//! `//# growth: T = log n; W = n log n; S = n` (`instance` where the cost depends on the input
//! beyond n, as in a search). `check` fits the interpreter's measured T, W and S over the sizes it
//! ran and puts the fitted class beside the declared one. Fits describe; they never decide a row.
//! A mismatch is a warning about the *program* (its declaration or its algorithm), a failure only
//! under `--strict-growth`.

use serde::Serialize;

use super::fit::{classify, fit_one, Classification, Growth, TIE_MARGIN};
use crate::pram::Metrics;

/// What a program declares for one quantity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Declared {
    /// A growth class in n.
    Class(Growth),
    /// Depends on the instance beyond its size (a search): reported, never compared.
    Instance,
}

/// The classes a program declares for T, W and S (each `None` when not declared).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Declaration {
    /// Rounds T.
    pub rounds: Option<Declared>,
    /// Work W.
    pub work: Option<Declared>,
    /// Space S.
    pub space: Option<Declared>,
}

/// Reads the `//# growth:` directives of a source (`T = ..; W = ..; S = ..`, in any order, on
/// one or several lines). An unknown quantity or class is an error naming it.
pub fn declaration(source: &str) -> Result<Declaration, String> {
    let mut d = Declaration::default();
    for line in source.lines() {
        let Some(rest) = line.trim().strip_prefix("//#") else {
            continue;
        };
        let Some(rest) = rest.trim().strip_prefix("growth") else {
            continue;
        };
        let Some(rest) = rest.trim().strip_prefix(':') else {
            continue;
        };
        for part in rest.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, class) = part
                .split_once('=')
                .ok_or_else(|| format!("growth directive {part:?}: expected `T = class`"))?;
            let class = class.trim();
            let value = if class == "instance" {
                Declared::Instance
            } else {
                Declared::Class(Growth::parse(class).ok_or_else(|| {
                    format!(
                        "growth directive {part:?}: unknown class {class:?} (classes: {}, instance)",
                        Growth::ALL.map(Growth::label).join(", ")
                    )
                })?)
            };
            let slot = match name.trim() {
                "T" => &mut d.rounds,
                "W" => &mut d.work,
                "S" => &mut d.space,
                other => {
                    return Err(format!(
                        "growth directive {part:?}: unknown quantity {other:?} (T, W or S)"
                    ))
                }
            };
            *slot = Some(value);
        }
    }
    Ok(d)
}

/// How a measured class compares with the declared one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Agreement {
    /// The fitted class is the declared one, or the declared one fits within the tie margin.
    Match,
    /// The fitted class differs from the declared one.
    Mismatch,
    /// Too few sizes ran to classify.
    NotClassified,
    /// The program declares the quantity instance-dependent: reported, not compared.
    Instance,
    /// The program declares nothing for the quantity.
    Undeclared,
}

/// One quantity of one program: declared class, fitted class, and how they compare.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GrowthRow {
    /// The program.
    pub program: String,
    /// `T`, `W` or `S`.
    pub quantity: String,
    /// The declared class (`"n log n"`, `"instance"`, or `"-"`).
    pub declared: String,
    /// The fitted class, or `"not classified"`.
    pub measured: String,
    /// The runner-up class when it is within the tie margin of the best.
    pub tie_with: Option<String>,
    /// Distinct sizes fitted.
    pub sizes: usize,
    /// The comparison.
    pub agreement: Agreement,
}

/// Reads one metric.
type Getter = fn(&Metrics) -> u64;

/// Fits T, W and S of `program` over `points` (n and the interpreter's metrics at n; several
/// seeds may share an n) and compares each with the declaration.
pub fn compare(program: &str, declared: &Declaration, points: &[(i64, Metrics)]) -> Vec<GrowthRow> {
    let quantities: [(&str, Option<Declared>, Getter); 3] = [
        ("T", declared.rounds, |m| m.rounds),
        ("W", declared.work, |m| m.work),
        ("S", declared.space, |m| m.space),
    ];
    quantities
        .into_iter()
        .map(|(name, decl, get)| {
            let xy: Vec<(u64, f64)> = points
                .iter()
                .map(|(n, m)| (*n as u64, get(m) as f64))
                .collect();
            let c = classify(&xy);
            let (measured, tie_with, sizes) = match &c {
                Classification::NotClassified { sizes } => ("not classified".into(), None, *sizes),
                Classification::Classified {
                    best,
                    runner_up,
                    tie,
                } => {
                    let mut s: Vec<u64> = xy.iter().map(|p| p.0).collect();
                    s.sort_unstable();
                    s.dedup();
                    (
                        best.growth.label().to_string(),
                        runner_up
                            .filter(|_| *tie)
                            .map(|r| r.growth.label().to_string()),
                        s.len(),
                    )
                }
            };
            let agreement = match (decl, &c) {
                (None, _) => Agreement::Undeclared,
                (Some(Declared::Instance), _) => Agreement::Instance,
                (Some(Declared::Class(_)), Classification::NotClassified { .. }) => {
                    Agreement::NotClassified
                }
                (Some(Declared::Class(g)), Classification::Classified { best, .. }) => {
                    // The declared class matches when it is the best fit or fits within the tie
                    // margin of it (sizes that cannot tell the two apart decide nothing).
                    let declared_bic = fit_one(g, &xy).map_or(f64::INFINITY, |f| f.bic);
                    if g == best.growth || declared_bic - best.bic < TIE_MARGIN {
                        Agreement::Match
                    } else {
                        Agreement::Mismatch
                    }
                }
            };
            GrowthRow {
                program: program.to_string(),
                quantity: name.to_string(),
                declared: match decl {
                    None => "-".into(),
                    Some(Declared::Instance) => "instance".into(),
                    Some(Declared::Class(g)) => g.label().into(),
                },
                measured,
                tie_with,
                sizes,
                agreement,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(t: u64, w: u64, s: u64) -> Metrics {
        Metrics {
            rounds: t,
            processors: 1,
            work: w,
            space: s,
        }
    }

    #[test]
    fn directives_parse_and_errors_name_the_part() {
        let d =
            declaration("//# growth: T = log n; W = n log n\n//# growth: S = instance\n").unwrap();
        assert_eq!(d.rounds, Some(Declared::Class(Growth::Log)));
        assert_eq!(d.work, Some(Declared::Class(Growth::LinearLog)));
        assert_eq!(d.space, Some(Declared::Instance));
        let e = declaration("//# growth: T = n^4").unwrap_err();
        assert!(e.contains("n^4"), "{e}");
        let e = declaration("//# growth: Q = n").unwrap_err();
        assert!(e.contains("\"Q\""), "{e}");
        assert_eq!(
            declaration("// no directive").unwrap(),
            Declaration::default()
        );
    }

    #[test]
    fn a_wrong_declaration_is_a_mismatch_and_a_right_one_matches() {
        let points: Vec<(i64, Metrics)> = [1i64, 2, 4, 8, 16, 32]
            .iter()
            .map(|&n| {
                (
                    n,
                    metrics(2 * (n as f64).log2() as u64 + 1, (n * n) as u64, n as u64),
                )
            })
            .collect();
        let right = declaration("//# growth: T = log n; W = n^2; S = n").unwrap();
        let rows = compare("p", &right, &points);
        assert!(
            rows.iter().all(|r| r.agreement == Agreement::Match),
            "{rows:?}"
        );
        let wrong = declaration("//# growth: T = n; W = n^2; S = instance").unwrap();
        let rows = compare("p", &wrong, &points);
        assert_eq!(rows[0].agreement, Agreement::Mismatch);
        assert_eq!(rows[0].measured, "log n");
        assert_eq!(rows[1].agreement, Agreement::Match);
        assert_eq!(rows[2].agreement, Agreement::Instance);
        let few = &points[..3];
        assert_eq!(
            compare("p", &right, few)[0].agreement,
            Agreement::NotClassified
        );
    }
}
