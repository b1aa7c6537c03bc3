//! The README and the binary's help agree: the README's command table lists exactly the
//! subcommands `apmdm --help` lists, and every option the README or a help example writes after
//! `apmdm SUBCOMMAND` is an option that subcommand's help offers.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// `apmdm ARGS...`'s standard output; the command must succeed.
fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_apmdm"))
        .args(args)
        .output()
        .expect("the apmdm binary runs");
    assert!(out.status.success(), "apmdm {args:?} failed");
    String::from_utf8(out.stdout).expect("help is UTF-8")
}

/// The names under a help text's "Commands:" heading, `help` left out.
fn subcommands(text: &str) -> BTreeSet<String> {
    text.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// The long options (`--name`) a help text offers.
fn options(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| l.trim_start().starts_with('-'))
        .flat_map(|l| l.split(|c: char| c.is_whitespace() || c == ','))
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| w.split(['=', '<', '[']).next().unwrap_or(w).to_string())
        .collect()
}

/// Command lines written in a text: every line of a fenced block and every inline code span,
/// split at `&&`, `|` and `;`, with comments dropped.
fn command_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        let pieces: Vec<&str> = if fenced || line.starts_with("    ") || line.starts_with("  apmdm")
        {
            vec![line]
        } else {
            line.split('`').skip(1).step_by(2).collect()
        };
        for piece in pieces {
            let piece = piece.split(" #").next().unwrap_or(piece);
            out.extend(
                piece
                    .split(['|', ';'])
                    .flat_map(|p| p.split("&&"))
                    .map(|p| p.trim().to_string()),
            );
        }
    }
    out
}

/// (subcommand path, options) for every command line that runs `apmdm SUB ...` with a known SUB.
fn invocations(
    text: &str,
    known: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<(Vec<String>, Vec<String>)> {
    let mut found = Vec::new();
    for line in command_lines(text) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(start) = words.iter().position(|w| *w == "apmdm" || *w == "--") else {
            continue;
        };
        let rest = &words[start + 1..];
        let Some(sub) = rest.first() else { continue };
        let Some(nested) = known.get(*sub) else {
            continue;
        };
        let mut path = vec![sub.to_string()];
        if let Some(second) = rest.get(1).filter(|w| nested.contains(**w)) {
            path.push(second.to_string());
        }
        let opts = rest
            .iter()
            .filter(|w| w.starts_with("--") && w.len() > 2)
            .map(|w| {
                w.trim_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                    .split(['=', '['])
                    .next()
                    .unwrap_or("")
                    .to_string()
            })
            .filter(|w| w.len() > 2)
            .collect();
        found.push((path, opts));
    }
    found
}

#[test]
fn the_readme_and_the_help_agree() {
    let top = subcommands(&help(&["--help"]));
    assert!(top.contains("check") && top.contains("compile"), "{top:?}");
    let known: BTreeMap<String, BTreeSet<String>> = top
        .iter()
        .map(|s| (s.clone(), subcommands(&help(&["help", s]))))
        .collect();

    let readme = include_str!("../README.md");
    let table: BTreeSet<String> = readme
        .lines()
        .skip_while(|l| !l.starts_with("## Commands"))
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .filter_map(|l| l.strip_prefix("| `apmdm "))
        .filter_map(|l| l.split(['`', ' ']).next())
        .map(str::to_string)
        .collect();
    assert_eq!(
        table, top,
        "the README's \"## Commands\" table and `apmdm --help` list different subcommands"
    );

    let mut helps: BTreeMap<Vec<String>, BTreeSet<String>> = BTreeMap::new();
    let mut wrong = Vec::new();
    let mut checked = 0;
    let mut texts = vec![("README.md".to_string(), readme.to_string())];
    for (sub, nested) in &known {
        texts.push((format!("apmdm help {sub}"), help(&["help", sub])));
        for n in nested {
            texts.push((format!("apmdm help {sub} {n}"), help(&["help", sub, n])));
        }
    }
    for (source, text) in &texts {
        for (path, opts) in invocations(text, &known) {
            let offered = helps.entry(path.clone()).or_insert_with(|| {
                let mut args = vec!["help"];
                args.extend(path.iter().map(String::as_str));
                options(&help(&args))
            });
            for opt in opts {
                checked += 1;
                if !offered.contains(&opt) {
                    wrong.push(format!("{source}: apmdm {} {opt}", path.join(" ")));
                }
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} options found: the parser lost the README"
    );
    assert!(
        wrong.is_empty(),
        "options the help does not offer:\n{}",
        wrong.join("\n")
    );
}
