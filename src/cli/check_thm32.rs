//! `apmdm check --theorem 2` and `--theorem 3`: the rows of Theorem 2's accounting
//! (`check::thm2`) and Theorem 3's transformations (`check::thm3`), printed and as JSON members.

use anyhow::Result;
use clap::Args;
use serde_json::json;

use apmdm::check::thm2::{check_thm2_case, Thm2Row, MAX_NAIVE_WORK};
use apmdm::check::thm3::{check_reverse_case, check_thm3_case, Thm3Row};
use apmdm::check::verdict::Status;
use apmdm::compile::pram_to_mdm::CompileLimits;
use apmdm::pram::{Program, RunConfig};

use super::check::measured;
use super::check::Section;
use super::table::Table;

/// Options of the Theorem 2 and 3 rows.
#[derive(Debug, Args)]
pub struct Thm32Args {
    /// Theorem 2: the most naive pair tests A S^2 (T + 2) one row may take (a time limit; rows
    /// over it are not run). Default sizes of --theorem 2 and 3: each program's smallest size,
    /// first seed.
    #[arg(long, default_value_t = MAX_NAIVE_WORK)]
    pub max_naive_work: u64,
    /// Theorem 3: the most position-steps S x masks(x0) one row's any-order run may take (the
    /// Masked ARM run takes about twice that; a time limit: rows over it are not run).
    #[arg(long, default_value_t = apmdm::check::thm3::MAX_AO_WORK)]
    pub max_ao_work: u64,
    /// Theorem 3: the largest size of the reverse machine's row (it takes n steps of O(n)).
    #[arg(long, default_value_t = 4096)]
    pub max_reverse_n: usize,
}

/// The cases of one program for Theorem 2 or 3: the cases `check` chose when --sizes (resp.
/// --seeds) was given, else the smallest size (resp. the first seed).
fn small(cases: &[(i64, u64)], sizes_given: bool, seeds_given: bool) -> Vec<(i64, u64)> {
    let smallest = cases.iter().map(|c| c.0).min();
    let mut out: Vec<(i64, u64)> = Vec::new();
    for &(n, seed) in cases {
        if !sizes_given && Some(n) != smallest {
            continue;
        }
        if !seeds_given && out.iter().any(|c| c.0 == n) {
            continue;
        }
        out.push((n, seed));
    }
    out
}

/// The section of theorem `theorem` ("2" or "3") over `plans` (each program with its cases).
pub(super) fn section(
    theorem: &str,
    options: &Thm32Args,
    limits: &CompileLimits,
    plans: &[(&Program, Vec<(i64, u64)>)],
    given: (bool, bool),
    quiet: bool,
) -> Result<Section> {
    let mut jobs: Vec<(&Program, RunConfig)> = Vec::new();
    for (program, cases) in plans {
        for (n, seed) in small(cases, given.0, given.1) {
            let mut config = RunConfig::new(n);
            config.seed = seed;
            jobs.push((program, config));
        }
    }
    match theorem {
        "2" => {
            let mut rows = Vec::new();
            let bar = super::progress::items("theorem 2 cases", jobs.len() as u64, quiet);
            for (program, config) in jobs {
                bar.set_message(format!("{} n = {}", program.name, config.n));
                rows.push(
                    check_thm2_case(program, &config, limits, options.max_naive_work).map_err(
                        |e| anyhow::anyhow!("{} at n = {}: {e}", program.name, config.n),
                    )?,
                );
                bar.inc(1);
            }
            bar.finish_and_clear();
            Ok(Section {
                key: "theorem_2".into(),
                statuses: rows.iter().map(|r| r.status).collect(),
                json: json!({
                    "constants": {"c1": apmdm::check::thm2::C1, "c2": apmdm::check::thm2::C2,
                                  "d": apmdm::check::thm2::D},
                    "rows": rows,
                }),
                text: thm2_text(&rows),
            })
        }
        _ => {
            let mut rows = Vec::new();
            let mut sizes: Vec<i64> = Vec::new();
            let bar = super::progress::items("theorem 3 cases", jobs.len() as u64, quiet);
            for (program, config) in jobs {
                bar.set_message(format!("{} n = {}", program.name, config.n));
                if !sizes.contains(&config.n) {
                    sizes.push(config.n);
                }
                rows.push(
                    check_thm3_case(program, &config, limits, options.max_ao_work).map_err(
                        |e| anyhow::anyhow!("{} at n = {}: {e}", program.name, config.n),
                    )?,
                );
                bar.inc(1);
            }
            bar.finish_and_clear();
            // The hand-written AO-MDM reverse machine, in its seq form: at --sizes, else n = 8.
            let reverse_sizes: Vec<i64> = if given.0 { sizes } else { vec![8] };
            for n in reverse_sizes {
                let n = usize::try_from(n).unwrap_or(0);
                if n > options.max_reverse_n {
                    anyhow::bail!("reverse-ao-mdm: n = {n} is above --max-reverse-n");
                }
                rows.push(check_reverse_case(n));
            }
            Ok(Section {
                key: "theorem_3".into(),
                statuses: rows.iter().map(|r| r.status).collect(),
                json: json!({ "rows": rows }),
                text: thm3_text(&rows),
            })
        }
    }
}

fn thm2_text(rows: &[Thm2Row]) -> String {
    let mut table = Table::new(&[
        "program",
        "n",
        "seed",
        "S",
        "masks(x0)",
        "steps",
        "A",
        "M",
        "step ops",
        "c1S^2A+c2SM+d",
        "total ops",
        "(masks+1)*bound",
        "agree",
        "naive s",
        "indexed s (IR)",
        "result",
    ]);
    for r in rows {
        let ran = r.steps.is_some();
        table.row(vec![
            r.program.clone(),
            r.n.to_string(),
            r.seed.to_string(),
            r.context.to_string(),
            r.masks.to_string(),
            measured(r.steps),
            r.attention.to_string(),
            r.maps.to_string(),
            measured(r.step_ops),
            r.step_bound.to_string(),
            measured(r.total_ops),
            (r.masks + 1).saturating_mul(r.step_bound).to_string(),
            r.agree
                .map_or("-", |a| if a { "yes" } else { "NO" })
                .to_string(),
            if ran {
                format!("{:.2}", r.naive_seconds)
            } else {
                "-".into()
            },
            if ran {
                format!("{:.3}", r.indexed_seconds)
            } else {
                "-".into()
            },
            r.status.label().to_string(),
        ]);
    }
    let mut text = String::from(
        "Theorem 2 (MDM(context S) in PRAM(1, O~(S^3)), proofs/thm2.md): factor (i) steps <= \
         masks(x0) <= S, every step unmasking and changing no decoded token; factor (ii) the \
         naive evaluator's counted operations of every step <= c1 S^2 A + c2 S M + d with \
         c1 = 4, c2 = 2, d = 0; product: total ops <= (masks(x0) + 1) * step bound.\n",
    );
    text.push_str(&table.render());
    text.push_str(
        "IR only (not the theorem): the indexed evaluator answers the seq IR's closed selector \
         family in O(S log S) per attention node; its time is shown, nothing is checked \
         against it.\n",
    );
    for r in rows {
        let why = (r.problems.join("; "), r.reason.as_deref());
        text.push_str(&verdict_line("2", (&r.program, r.n, r.seed), r.status, why));
    }
    text.push('\n');
    text
}

/// The line a failed or not-run row adds under its table (nothing for a pass).
fn verdict_line(
    theorem: &str,
    (program, n, seed): (&str, i64, u64),
    status: Status,
    (problems, reason): (String, Option<&str>),
) -> String {
    let (label, why) = match status {
        Status::Fail => ("FAIL", problems),
        Status::NotRun => ("NOT RUN", reason.unwrap_or("-").to_string()),
        Status::Pass => return String::new(),
    };
    format!("{label} {program} n = {n} seed {seed} (theorem {theorem}): {why}\n")
}

fn thm3_text(rows: &[Thm3Row]) -> String {
    let mut table = Table::new(&[
        "program",
        "n",
        "seed",
        "S",
        "masks(x0)",
        "MDM steps",
        "agree",
        "AO steps",
        "MARM steps",
        "agree",
        "MARM context",
        "2S",
        "depth f/f_AO/f'",
        "maps f/f_AO/f'",
        "output",
        "time s",
        "result",
    ]);
    for r in rows {
        let ran = r.ao_steps.is_some();
        let dash = |s: String| if ran { s } else { "-".into() };
        table.row(vec![
            r.program.clone(),
            r.n.to_string(),
            r.seed.to_string(),
            r.context.to_string(),
            r.masks.to_string(),
            measured(r.mdm_steps),
            dash(r.mdm_steps_agreeing.to_string()),
            measured(r.ao_steps),
            measured(r.marm_steps),
            dash(r.marm_steps_agreeing.to_string()),
            measured(r.marm_context),
            (2 * r.context).to_string(),
            dash(format!(
                "{}/{}/{}",
                r.f.attention, r.f_ao.attention, r.f_marm.attention
            )),
            dash(format!("{}/{}/{}", r.f.maps, r.f_ao.maps, r.f_marm.maps)),
            r.agree
                .map_or("-", |a| if a { "yes" } else { "NO" })
                .to_string(),
            dash(format!("{:.2}", r.seconds)),
            r.status.label().to_string(),
        ]);
    }
    let mut text = String::from(
        "Theorem 3 (AO-MDM with context S in Masked ARM with context O(S), proofs/thm3.md): \
         MDM -> mdm_to_ao -> AO-MDM (canvas equal to the MDM's after every complete MDM step: \
         agree) -> ao_to_marm -> Masked ARM (every step legal in its class; its records read \
         back to the AO canvas of the same step: agree); output: the read-back final canvas \
         decoded against the interpreter (reverse-ao-mdm: against the reversed input).\n",
    );
    text.push_str(&table.render());
    for r in rows {
        let why = (r.problems.join("; "), r.reason.as_deref());
        text.push_str(&verdict_line("3", (&r.program, r.n, r.seed), r.status, why));
    }
    text.push('\n');
    text
}

/// `apmdm trace --theorem 3`: the AO-MDM canvas and the Masked ARM canvas after every step, side
/// by side. AO cells: `.` a token of x_0, `t` the MDM step that decoded the position (base 36),
/// `M` a mask; Masked ARM cells: `g` a given token, `p` a placeholder, then each record as the
/// AO position it names, `M` a record slot still masked.
pub(super) fn trace_theorem3(
    program: &Program,
    config: &RunConfig,
    limits: &CompileLimits,
    max_ao_work: u64,
) -> Result<()> {
    use apmdm::compile::pram_to_mdm::{initial_canvas, pram_to_mdm};
    use apmdm::machine::Token;
    use apmdm::transform::ao_to_marm::{GIVEN, PLACEHOLDER, POS};
    let compiled = pram_to_mdm(program, config.n, limits)?;
    let x0 = initial_canvas(&compiled, program, config)?;
    let t = apmdm::check::thm3::side_by_side(&compiled.seq, x0, max_ao_work)
        .map_err(anyhow::Error::msg)?;
    let tag = t.ao_fields - 3;
    let ao_cell = |x: &Token<apmdm::seq::Word>| match x {
        Token::Mask => "M".to_string(),
        Token::Sym(w) if w.0[tag] == 0 => ".".to_string(),
        Token::Sym(w) => std::char::from_digit((w.0[tag] % 36) as u32, 36)
            .unwrap_or('?')
            .to_string(),
    };
    let marm_cell = |i: usize, x: &Token<apmdm::seq::Word>| match x {
        Token::Mask => "M".to_string(),
        Token::Sym(w) if i < t.s && w.0[0] == GIVEN => "g".to_string(),
        Token::Sym(w) if i < t.s && w.0[0] == PLACEHOLDER => "p".to_string(),
        Token::Sym(w) => w.0[POS].to_string(),
    };
    println!(
        "{}: MDM context S = {}, {} positions to decode; AO-MDM ({} positions) | Masked ARM \
         ({} positions: x0, then records)",
        program.name,
        t.s,
        t.ao.len() - 1,
        t.s,
        t.marm.first().map_or(0, |m| m.len())
    );
    for (k, (a, m)) in t.ao.iter().zip(&t.marm).enumerate() {
        let ao: Vec<String> = a.iter().map(ao_cell).collect();
        let (given, records) = m.split_at(t.s.min(m.len()));
        let g: String = given
            .iter()
            .enumerate()
            .map(|(i, x)| marm_cell(i, x))
            .collect();
        let r: Vec<String> = records.iter().map(|x| marm_cell(t.s, x)).collect();
        println!(
            "step {k:>4}  AO {}  |  MARM {} {}",
            ao.concat(),
            g,
            r.join(" ")
        );
    }
    Ok(())
}
