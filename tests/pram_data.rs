//! Data-driven tests over `tests/data/*.pram`: each file says in comments what must happen.
//!
//! `//~ ERROR COLUMN: TEXT` on a line: parsing fails at that line and column with a message
//! containing TEXT. Otherwise `//# n: N` and `//# outcome: JSON`: the run's outcome, serialized,
//! equals JSON exactly.

use apmdm::pram::{self, library, RunConfig};

/// The expected parse error of a file: (line, column, text), from its `//~ ERROR` marker.
fn expected_error(source: &str) -> Option<(u32, u32, String)> {
    source.lines().enumerate().find_map(|(k, line)| {
        let marker = line.split("//~ ERROR").nth(1)?;
        let (column, text) = marker.split_once(':')?;
        Some((
            k as u32 + 1,
            column.trim().parse().ok()?,
            text.trim().to_string(),
        ))
    })
}

fn check(name: &str, source: &str) {
    let parsed = pram::parse(name, source);
    if let Some((line, column, text)) = expected_error(source) {
        let e = parsed.expect_err(name);
        assert_eq!((e.line, e.column), (line, column), "{name}: {e}");
        assert!(e.message.contains(&text), "{name}: {e}");
        assert!(e
            .to_string()
            .starts_with(&format!("{name}:{line}:{column}: ")));
        return;
    }
    let program = parsed.unwrap_or_else(|e| panic!("{e}"));
    let n = library::directive(source, "n");
    assert_eq!(n.len(), 1, "{name}: one `//# n:` directive");
    let outcome_line = source
        .lines()
        .find_map(|l| l.trim().strip_prefix("//# outcome:"))
        .unwrap_or_else(|| panic!("{name}: no `//# outcome:` directive"));
    let expected: serde_json::Value = serde_json::from_str(outcome_line).unwrap();
    let report = pram::run(&program, &RunConfig::new(n[0])).unwrap();
    assert_eq!(
        serde_json::to_value(&report.outcome).unwrap(),
        expected,
        "{name}"
    );
}

#[test]
fn every_data_file_behaves_as_its_comments_say() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pram"))
        .collect();
    files.sort();
    assert!(files.len() >= 10);
    for path in files {
        // Read as bytes: some files hold control characters on purpose.
        let source = String::from_utf8(std::fs::read(&path).unwrap()).unwrap();
        check(path.file_name().unwrap().to_str().unwrap(), &source);
    }
}
