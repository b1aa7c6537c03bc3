//! The front end on hostile input: long operator chains, deep nesting and deep JSON are located
//! errors, never a crash; large shallow expressions run; every diagnostic is one line in words.

use crate::common::apmdm;
use std::path::{Path, PathBuf};

/// Writes `bytes` to a fresh file named `name` in this test's own folder.
fn file(test: &str, name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("apmdm-front-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A program whose line 7 is `stmt`.
fn program(stmt: &str) -> String {
    format!("program t;\nmodel crew;\nword 40;\nshared x;\nshared A[4];\noutput x;\n{stmt}\n")
}

/// Runs `args` (the program path appended) and checks the user-error status and one line.
fn refused(args: &[&str], path: &Path, message: &str) {
    let mut all = args.to_vec();
    all.push(path.to_str().unwrap());
    let (code, stdout, stderr) = apmdm(&all);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stdout, "");
    assert_eq!(stderr, format!("error: {}:{message}\n", path.display()));
}

const DEEP: &str = "expression is more than 256 operators deep (a chain `a + b + ...` is one level per operator); split it with `let` or shared scalars";

/// `1 op 1 op ...` with `terms` terms.
fn chain(op: &str, terms: usize) -> String {
    vec!["1"; terms].join(&format!(" {op} "))
}

#[test]
fn long_operator_chains_are_located_errors_in_every_position() {
    // (statement before the chain, operator, statement after it)
    let cases = [
        ("x = ", "+", ";"),
        ("if ", "&&", " { x = 1; }"),
        ("while ", "||", " { x = 1; }"),
        ("A[", "*", "] = 1;"),
        ("x = A[", "-", "];"),
        ("for i in 0..", "^", " { x = i; }"),
        ("pardo i in 0..", "|", " { A[i] = i; }"),
        ("pardo i in 0..4 { A[i] = ", "+", "; }"),
        ("pardo i in 0..4 { if ", "<<", " { A[i] = i; } }"),
    ];
    for (k, (before, op, after)) in cases.iter().enumerate() {
        let source = program(&format!("{before}{}{after}", chain(op, 45_000)));
        let path = file("chains", &format!("c{k}.pram"), source.as_bytes());
        // The 256th operator makes the tree 257 deep.
        let column = before.len() + 2 + 255 * (op.len() + 3) + 1;
        let message = format!("7:{column}: {DEEP}");
        refused(&["run", "--n", "4"], &path, &message);
        refused(&["compile", "--n", "4"], &path, &message);
    }
    // The first case, written out.
    let path = file("chains", "c0.pram", b"");
    std::fs::write(&path, program(&format!("x = {};", chain("+", 45_000)))).unwrap();
    refused(&["run", "--n", "4"], &path, &format!("7:1027: {DEEP}"));
}

#[test]
fn chains_at_the_depth_limit_run_and_compile() {
    // 255 operators: 256 deep, the most accepted, outside and inside a round.
    let source = format!(
        "program t;\nmodel crew;\nword 40;\nshared x;\nshared A[4];\noutput x, A;\n\
         bounds {{ rounds <= 2; processors <= 4; work <= 5; space <= 5; }}\n\
         x = {};\npardo i in 0..4 {{ A[i] = {}; }}\n",
        chain("+", 256),
        vec!["i"; 256].join(" + ")
    );
    let path = file("at-limit", "t.pram", source.as_bytes());
    let (code, stdout, stderr) = apmdm(&["run", "--n", "4", "--json", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["output"]["x"], 256);
    assert_eq!(v["output"]["A"], serde_json::json!([0, 256, 512, 768]));
    for target in ["mdm", "apmdm"] {
        let (code, stdout, stderr) = apmdm(&[
            "compile",
            "--n",
            "4",
            "--target",
            target,
            "--json",
            path.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{target}: {stderr}");
        let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!(v["agree"], true, "{target}: {stdout}");
    }
}

#[test]
fn long_else_if_chains_are_located_errors() {
    let arms: String = (1..45_000)
        .map(|i| format!(" else if x == {i} {{ x = 1; }}"))
        .collect();
    for (name, stmt) in [
        ("seq.pram", format!("if x == 0 {{ x = 1; }}{arms}")),
        (
            "round.pram",
            format!("pardo i in 0..1 {{ if x == 0 {{ x = 1; }}{arms} }}"),
        ),
    ] {
        let path = file("else-if", name, program(&stmt).as_bytes());
        let (code, _, stderr) = apmdm(&["run", "--n", "4", path.to_str().unwrap()]);
        assert_eq!(code, 2, "{stderr}");
        assert!(
            stderr.starts_with(&format!("error: {}:7:", path.display())),
            "{stderr}"
        );
        assert!(
            stderr.ends_with(": nested more than 64 levels deep\n"),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1);
    }
}

/// A balanced sum of `leaves` copies of `leaf`, fully parenthesized (depth log2 leaves).
fn balanced(leaves: usize, leaf: &str) -> String {
    if leaves == 1 {
        return leaf.to_string();
    }
    let half = leaves / 2;
    format!(
        "({} + {})",
        balanced(half, leaf),
        balanced(leaves - half, leaf)
    )
}

#[test]
fn a_large_balanced_expression_in_a_round_runs_and_compiles() {
    // 32,768 leaves: 65,535 nodes, the largest balanced sum under the size limit.
    let source = format!(
        "program t;\nmodel crew;\nword 40;\nshared A[4];\noutput A;\n\
         bounds {{ rounds <= 1; processors <= 4; work <= 4; space <= 4; }}\n\
         pardo i in 0..4 {{ A[i] = {}; }}\n",
        balanced(32_768, "i")
    );
    let path = file("balanced", "t.pram", source.as_bytes());
    let (code, stdout, stderr) = apmdm(&["run", "--n", "4", "--json", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(
        v["output"]["A"],
        serde_json::json!([0, 32768, 65536, 98304])
    );
    // A smaller one through both compilers (their runs are checked against the interpreter).
    let source = source.replace(&balanced(32_768, "i"), &balanced(4_096, "i"));
    let path = file("balanced", "small.pram", source.as_bytes());
    for target in ["mdm", "apmdm"] {
        let (code, stdout, stderr) = apmdm(&[
            "compile",
            "--n",
            "4",
            "--target",
            target,
            "--json",
            path.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{target}: {stderr}");
        let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!(v["agree"], true, "{target}: {stdout}");
    }
}

#[test]
fn an_expression_over_the_size_limit_is_a_located_error() {
    let source = program(&format!(
        "pardo i in 0..4 {{ A[i] = {}; }}",
        balanced(32_769, "i")
    ));
    let path = file("too-big", "t.pram", source.as_bytes());
    let (code, _, stderr) = apmdm(&["run", "--n", "4", path.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.starts_with(&format!("error: {}:7:", path.display())),
        "{stderr}"
    );
    assert!(stderr.ends_with(": expression has more than 65536 operators and operands; split it with `let` or shared scalars\n"), "{stderr}");
}

#[test]
fn deeply_nested_json_is_an_error_not_an_abort() {
    let deep = format!("{{\"A\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    let input = file("deep-json", "in.json", deep.as_bytes());
    let (code, _, stderr) = apmdm(&[
        "run",
        "reduce_sum",
        "--n",
        "4",
        "--input",
        input.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "error: {}:1:8: invalid type: sequence, expected an integer\n",
            input.display()
        )
    );
    // Programs and envelopes (seq programs) are read with serde_json's nesting limit.
    let expr = format!(
        "{}{{\"Const\": 1}}{}",
        "{\"Un\": [\"Neg\", ".repeat(100_000),
        "]}".repeat(100_000)
    );
    let e = serde_json::from_str::<apmdm::pram::program::Expr>(&expr).unwrap_err();
    assert!(e.to_string().starts_with("recursion limit exceeded"), "{e}");
    let deep = "[".repeat(100_000);
    let e =
        apmdm::compile::envelope::Envelope::from_json(&format!("{{\"format\": 1, \"seq\": {deep}"));
    assert!(e
        .unwrap_err()
        .to_string()
        .contains("recursion limit exceeded"));
}

#[test]
fn declaration_errors_name_their_place_in_words() {
    let cases = [
        (
            "word",
            "program t;\nmodel crew;\nword n * 9223372036854775807;\nshared x;\noutput x;\n",
            "3:6: the word size cannot be evaluated at this n: overflow",
        ),
        (
            "param",
            "program t;\nmodel crew;\nparam k = n / 0;\nword 8;\nshared x;\noutput x;\n",
            "3:11: parameter `k` cannot be evaluated at this n: division by zero",
        ),
        (
            "bound",
            "program t;\nmodel crew;\nword 8;\nshared x;\noutput x;\nbounds {\n  rounds <= n % 0;\n}\n",
            "7:13: the rounds bound cannot be evaluated at this n: division by zero",
        ),
    ];
    for (name, source, message) in cases {
        let path = file("decl", &format!("{name}.pram"), source.as_bytes());
        refused(&["run", "--n", "2"], &path, message);
    }
}

#[test]
fn invalid_utf8_names_its_place_and_a_bom_is_skipped() {
    let path = file("utf8", "bad.pram", b"program t;\nmodel cr\xffew;\n");
    refused(
        &["run", "--n", "2"],
        &path,
        "2:9: invalid UTF-8 at byte offset 19 (byte 0xFF); the file must be UTF-8 text",
    );
    let mut bom = "\u{feff}".as_bytes().to_vec();
    bom.extend_from_slice(program("x = 7;").as_bytes());
    let path = file("utf8", "bom.pram", &bom);
    let (code, stdout, stderr) = apmdm(&["run", "--n", "2", "--json", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["output"]["x"], 7);
}

/// Runs reduce_max at n = 2 with `json` as its input file; returns the status and stderr.
fn with_input(test: &str, json: &str) -> (i32, String, PathBuf) {
    let input = file(test, "in.json", json.as_bytes());
    let (code, _, stderr) = apmdm(&[
        "run",
        "reduce_max",
        "--n",
        "2",
        "--input",
        input.to_str().unwrap(),
    ]);
    (code, stderr, input)
}

#[test]
fn input_numbers_past_64_bits_and_repeated_names_are_refused_in_words() {
    let (code, stderr, input) = with_input("big", r#"{"A": [1, 100000000000000000000000000000]}"#);
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        format!(
            "error: {}:1:40: 1e29 is outside the 64-bit integer range \
             (-9223372036854775808 to 9223372036854775807)\n",
            input.display()
        )
    );
    let (code, stderr, input) = with_input("twice", r#"{"A": [1, 2], "A": [3, 4]}"#);
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        format!("error: {}:1:17: `A` is given twice\n", input.display())
    );
    let (code, stderr, input) = with_input("fraction", r#"{"A": [1, 2.5]}"#);
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        format!("error: {}:1:13: 2.5 is not an integer\n", input.display())
    );
}

#[test]
fn a_huge_identifier_is_echoed_cut_short() {
    let name = "a".repeat(1 << 20);
    let path = file(
        "huge",
        "t.pram",
        program(&format!("x = {name};")).as_bytes(),
    );
    refused(
        &["run", "--n", "2"],
        &path,
        &format!("7:5: unknown name `{}...`", "a".repeat(64)),
    );
    let path = file(
        "huge",
        "m.pram",
        format!("program t;\nmodel {name};\n").as_bytes(),
    );
    refused(
        &["run", "--n", "2"],
        &path,
        &format!(
            "2:7: unknown access model `{}...`; expected erew, crew, crcw-common, \
             crcw-arbitrary or crcw-priority (written with `_` or `-`)",
            "a".repeat(64)
        ),
    );
}

#[test]
fn access_models_are_accepted_with_either_spelling() {
    for (k, spelling) in ["crcw-common", "crcw_common"].iter().enumerate() {
        let source = format!(
            "program t;\nmodel {spelling};\nword 8;\nshared x;\noutput x;\n\
             pardo i in 0..4 {{ x = 3; }}\n"
        );
        let path = file("models", &format!("t{k}.pram"), source.as_bytes());
        let (code, stdout, stderr) = apmdm(&["run", "--n", "2", "--json", path.to_str().unwrap()]);
        assert_eq!(code, 0, "{stderr}");
        let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!(v["model"], "crcw-common");
        assert_eq!(v["output"]["x"], 3);
        let (code, stdout, stderr) = apmdm(&[
            "run",
            "prefix_sum",
            "--n",
            "4",
            "--json",
            "--model",
            spelling,
        ]);
        assert_eq!(code, 0, "{stderr}");
        let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!(v["model"], "crcw-common");
    }
    let (code, _, stderr) = apmdm(&["run", "prefix_sum", "--n", "4", "--model", "crcw common"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains(
            "unknown model `crcw common`; expected erew, crew, crcw-common, crcw-arbitrary or \
             crcw-priority (written with `-` or `_`)"
        ),
        "{stderr}"
    );
}

#[test]
fn assigning_a_let_or_an_index_says_what_it_is() {
    let path = file(
        "let",
        "t.pram",
        program("pardo i in 0..4 {\n  let go = i;\n  go = 1;\n}").as_bytes(),
    );
    refused(
        &["run", "--n", "2"],
        &path,
        "9:3: `go` is a `let` binding and cannot be assigned; bind a new name with `let`, \
         or write to a shared array",
    );
    let path = file(
        "let",
        "i.pram",
        program("pardo i in 0..4 {\n  i = 1;\n}").as_bytes(),
    );
    refused(
        &["run", "--n", "2"],
        &path,
        "8:3: `i` is a processor index and cannot be assigned",
    );
}

#[test]
fn an_os_error_is_said_once() {
    let missing =
        std::env::temp_dir().join(format!("apmdm-front-{}-none.ckpt", std::process::id()));
    let (code, stdout, stderr) =
        apmdm(&["eval", "parity", "--checkpoint", missing.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stdout, "");
    let m = missing.display();
    assert_eq!(
        stderr,
        format!("error: {m}: No such file or directory (os error 2)\n")
    );
}

#[test]
fn lowering_reuses_temporaries_and_hoists_each_constant_once() {
    use apmdm::pram::program::Stmt;
    let source = format!(
        "program t;\nmodel crew;\nword 40;\nshared A[4];\noutput A;\n\
         pardo i in 0..4 {{ A[i] = {}; }}\npardo i in 0..4 {{ A[i] = i{}; }}\n",
        balanced(32_768, "i"),
        " + 1".repeat(255)
    );
    let p = apmdm::pram::parse("t.pram", &source).unwrap();
    let (Stmt::Pardo(wide), Stmt::Pardo(long)) = (&p.body[0], &p.body[1]) else {
        panic!("two rounds expected");
    };
    for hoist in [true, false] {
        let code = apmdm::pram::lower::lower(wide, 1, hoist);
        // 32,767 additions and the write; a balanced tree of height 16 needs 15 temporaries
        // (n and i come first).
        assert_eq!(code.instrs.len(), 32_768);
        assert_eq!(code.slots, 2 + 15);
        let code = apmdm::pram::lower::lower(long, 1, hoist);
        if hoist {
            // `1` once in the prologue; each sum overwrites the one before it.
            assert_eq!(code.prologue.len(), 1);
            assert_eq!(code.instrs.len(), 256);
            assert_eq!(code.slots, 2 + 1 + 1);
        } else {
            // Each `1` is loaded into a temporary: two alternate.
            assert_eq!(code.instrs.len(), 2 * 255 + 1);
            assert_eq!(code.slots, 2 + 2);
        }
    }
}
