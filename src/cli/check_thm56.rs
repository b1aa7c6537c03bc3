//! `apmdm check --theorem 5|6`: the Dyck generators' support, probabilities and seeded runs
//! (Theorem 5) and the edit tracker (Theorem 6), as rows, JSON and tables.

use anyhow::{bail, Result};
use clap::Args;
use serde_json::json;

use apmdm::check::verdict::Status;
use apmdm::generate::dyck::{Language, MAX_K};
use apmdm::generate::edits::{check_every_single_edit, check_random, check_s5, EditRow};
use apmdm::generate::thm5::{
    check_probabilities, check_samples, check_support, ProbabilityRow, SampleRow, SupportRow,
};

use super::table::Table;

/// The most seeded generations per language (`--dyck-samples`; a time limit).
const MAX_DYCK_SAMPLES: usize = 1_000_000;
/// The most random instances per size (`--edit-instances`; a time limit).
const MAX_EDIT_INSTANCES: usize = 100_000;

/// Options of `check --theorem 5` and `--theorem 6`.
#[derive(Debug, Args)]
pub struct Thm56Args {
    /// Theorem 5: bracket types to check, comma-separated (1 to 4).
    #[arg(long, value_delimiter = ',', default_value = "1,2,3,4")]
    dyck_k: Vec<u8>,
    /// Theorem 5: which languages, comma-separated: `one` (one-sided), `two` (two-sided).
    #[arg(long, value_delimiter = ',', default_value = "one,two", value_parser = ["one", "two"])]
    dyck_sides: Vec<String>,
    /// Theorem 5: the longest word of the exhaustive support search (default: 12 for k = 1,
    /// 10 for k = 2, 8 for k = 3 and 4; 16 with k = 2 takes minutes and about 2 GB).
    #[arg(long)]
    dyck_length: Option<usize>,
    /// Theorem 5: the longest word whose exact probability is computed (every path, no memo).
    #[arg(long, default_value_t = 6)]
    dyck_prob_length: usize,
    /// Theorem 5: words up to this length are listed with their probability.
    #[arg(long, default_value_t = 2)]
    dyck_list_length: usize,
    /// Theorem 5: seeded generations run through the machine runner per language.
    #[arg(long, default_value_t = 200)]
    dyck_samples: usize,
    /// Theorem 5: the most distinct canvases the support search may memoize (a memory limit:
    /// about 40 bytes each).
    #[arg(long, default_value_t = 60_000_000)]
    dyck_max_states: u64,
    /// Theorem 6: input lengths of the random instances, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0,1,2,5,16,64")]
    edit_sizes: Vec<usize>,
    /// Theorem 6: edits per instance (default 2n + 3 for input length n).
    #[arg(long)]
    edit_count: Option<usize>,
    /// Theorem 6: random instances per size.
    #[arg(long, default_value_t = 20)]
    edit_instances: usize,
    /// Theorem 6: the longest input or edit list accepted (a time limit: a run costs about
    /// (n + m) * m).
    #[arg(long, default_value_t = 4096)]
    edit_max: usize,
}

/// One theorem's section: the JSON key, the rows' verdicts, the JSON member, the printed text.
pub type SectionParts = (String, Vec<Status>, serde_json::Value, String);

fn status(ran: bool, problems: &[String]) -> Status {
    Status::of(ran, problems)
}

/// Theorem 5's rows: per language, the support search, the exact probabilities, the samples.
pub fn theorem5(args: &Thm56Args, seed: u64, quiet: bool) -> Result<SectionParts> {
    let mut languages = Vec::new();
    for &k in &args.dyck_k {
        if k == 0 || k > MAX_K {
            bail!("--dyck-k {k}: bracket types must be 1 to {MAX_K}");
        }
        for side in &args.dyck_sides {
            languages.push(Language::new(k, side == "two").map_err(anyhow::Error::msg)?);
        }
    }
    if let Some(l) = args.dyck_length {
        if l > 24 {
            bail!("--dyck-length {l}: at most 24 (the memo keys hold 128 bits)");
        }
    }
    if args.dyck_prob_length > 12 {
        bail!("--dyck-prob-length {}: at most 12", args.dyck_prob_length);
    }
    if args.dyck_samples > MAX_DYCK_SAMPLES {
        bail!(
            "--dyck-samples {}: at most {MAX_DYCK_SAMPLES}",
            args.dyck_samples
        );
    }
    let mut support: Vec<SupportRow> = Vec::new();
    let mut probs: Vec<ProbabilityRow> = Vec::new();
    let mut samples: Vec<SampleRow> = Vec::new();
    let mut statuses = Vec::new();
    let bar = super::progress::items("languages", languages.len() as u64, quiet);
    for lang in languages {
        let length = args.dyck_length.unwrap_or(match lang.k {
            1 => 12,
            2 => 10,
            _ => 8,
        });
        bar.set_message(format!("theorem 5: {} up to length {length}", lang.name()));
        let s = check_support(lang, length, args.dyck_max_states);
        statuses.push(status(s.ran, &s.problems));
        support.push(s);
        let p = check_probabilities(
            lang,
            args.dyck_prob_length,
            args.dyck_list_length,
            50_000_000,
        );
        statuses.push(status(p.ran, &p.problems));
        probs.push(p);
        let r = check_samples(lang, args.dyck_samples, seed);
        statuses.push(status(args.dyck_samples > 0, &r.problems));
        samples.push(r);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let json = json!({ "support": support, "probabilities": probs, "samples": samples });
    Ok((
        "theorem_5".into(),
        statuses,
        json,
        text5(&support, &probs, &samples),
    ))
}

fn label(ran: bool, problems: &[String]) -> String {
    status(ran, problems).label().to_string()
}

fn text5(support: &[SupportRow], probs: &[ProbabilityRow], samples: &[SampleRow]) -> String {
    let mut out = String::from(
        "Theorem 5: support of the stochastic AP-MDM = the language (exhaustive search vs independent enumeration)\n",
    );
    let mut t = Table::new(&[
        "language",
        "max len",
        "words",
        "generated",
        "states",
        "visits",
        "g applied",
        "pruned",
        "search s",
        "compare s",
        "equal",
        "result",
    ]);
    for r in support {
        let words: u64 = r.lengths.iter().map(|c| c.language).sum();
        let generated: u64 = r.lengths.iter().map(|c| c.generated).sum();
        t.row(vec![
            r.language.clone(),
            r.max_length.to_string(),
            words.to_string(),
            generated.to_string(),
            r.states.to_string(),
            r.visits.to_string(),
            r.transitions.to_string(),
            r.pruned.to_string(),
            format!("{:.2}", r.search_seconds),
            format!("{:.2}", r.compare_seconds),
            if r.equal { "yes" } else { "no" }.into(),
            label(r.ran, &r.problems),
        ]);
    }
    out.push_str(&t.render());
    for r in support.iter().filter(|r| !r.problems.is_empty()) {
        out.push_str(&format!("  {}: {}\n", r.language, r.problems.join("; ")));
    }
    for r in support {
        if let Some(why) = &r.not_run {
            out.push_str(&format!("  {} not run: {why}\n", r.language));
        }
    }
    out.push_str("\nTheorem 5: exact length distribution, steps (3L+1) and context (L+2) per word length L\n");
    let mut t = Table::new(&[
        "language",
        "L",
        "words",
        "P(length L)",
        "2^-(L/2+1)",
        "min P(word)",
        "max P(word)",
        "steps",
        "context",
    ]);
    for r in probs {
        for l in r.lengths.iter().filter(|l| l.length % 2 == 0) {
            t.row(vec![
                r.language.clone(),
                l.length.to_string(),
                l.words.to_string(),
                l.mass.clone(),
                l.expected_mass.clone(),
                l.min_probability.clone(),
                l.max_probability.clone(),
                l.steps.to_string(),
                l.context.to_string(),
            ]);
        }
    }
    out.push_str(&t.render());
    for r in probs {
        let listed: Vec<String> = r
            .words
            .iter()
            .map(|w| format!("{:?} {}", w.word, w.probability))
            .collect();
        out.push_str(&format!(
            "  {} [{}]: {}\n",
            r.language,
            label(r.ran, &r.problems),
            listed.join(", ")
        ));
        for p in r.problems.iter().take(5) {
            out.push_str(&format!("    {p}\n"));
        }
    }
    out.push_str("\nTheorem 5: seeded generations through the runner (g, AP-MDM class check)\n");
    let mut t = Table::new(&["language", "runs", "seeds", "longest", "lengths", "result"]);
    for r in samples {
        let lengths: Vec<String> = r.lengths.iter().map(|(l, c)| format!("{l}:{c}")).collect();
        t.row(vec![
            r.language.clone(),
            r.samples.to_string(),
            format!("{}..{}", r.seed, r.seed + r.samples as u64),
            r.longest.to_string(),
            lengths.join(" "),
            label(r.samples > 0, &r.problems),
        ]);
    }
    out.push_str(&t.render());
    for r in samples.iter().filter(|r| !r.problems.is_empty()) {
        out.push_str(&format!("  {}: {}\n", r.language, r.problems.join("; ")));
    }
    out.push('\n');
    out
}

/// Theorem 6's rows: every single edit at length 5, random instances per size, and the S5 word
/// problem as moves.
pub fn theorem6(args: &Thm56Args, seed: u64) -> Result<SectionParts> {
    if args.edit_instances > MAX_EDIT_INSTANCES {
        bail!(
            "--edit-instances {}: at most {MAX_EDIT_INSTANCES}",
            args.edit_instances
        );
    }
    // Every size is checked against --edit-max before any row runs.
    let sizes: Vec<(usize, usize)> = (args.edit_sizes.iter())
        .map(|&n| (n, args.edit_count.unwrap_or(2 * n + 3)))
        .collect();
    if let Some((n, m)) = sizes
        .iter()
        .find(|&&(n, m)| n > args.edit_max || m > args.edit_max)
    {
        bail!(
            "theorem 6: n = {n} with {m} edits is above --edit-max {}",
            args.edit_max
        );
    }
    let mut rows: Vec<EditRow> = vec![check_every_single_edit(5)];
    for (n, m) in sizes {
        rows.push(check_random(n, m, args.edit_instances, seed));
    }
    rows.push(check_s5(40, 3, args.edit_instances, seed));
    let statuses = rows
        .iter()
        .map(|r| status(r.instances > 0, &r.problems))
        .collect();
    let mut t = Table::new(&[
        "instances",
        "n",
        "m",
        "runs",
        "steps",
        "formula",
        "context",
        "formula",
        "steps/edit",
        "seq steps",
        "seq agrees",
        "result",
    ]);
    for r in &rows {
        t.row(vec![
            r.kind.clone(),
            r.n.to_string(),
            r.m.to_string(),
            r.instances.to_string(),
            r.steps.to_string(),
            r.expected_steps.to_string(),
            r.context.to_string(),
            r.expected_context.to_string(),
            r.steps_per_edit.to_string(),
            r.seq_steps.to_string(),
            if r.instances > 0 && r.seq_agrees {
                "yes".to_string()
            } else {
                "NO".to_string()
            },
            label(r.instances > 0, &r.problems),
        ]);
    }
    let mut text = String::from(
        "Theorem 6: edit tracking (insert / delete / move) by a hand-built AP-MDM vs a direct reference;\n  seq: the same AP-MDM as a seq program, run alongside and compared after every step\n",
    );
    text.push_str(&t.render());
    for r in rows.iter().filter(|r| !r.problems.is_empty()) {
        text.push_str(&format!(
            "  {} n = {}: {}\n",
            r.kind,
            r.n,
            r.problems.join("; ")
        ));
    }
    text.push('\n');
    Ok(("theorem_6".into(), statuses, json!({ "rows": rows }), text))
}
