//! `apmdm plot`: the committed figures under docs/figures/ are what the command draws, byte for
//! byte; the rows it saves are the rows the checker computes; fits agree with the checker's; bad
//! input is an error, never a panic.
//!
//! Running every row of the library takes a minute and a half in a release build, too long for
//! a debug test, so the figures are compared in two parts: all of them redrawn from the committed
//! rows (docs/figures/plot-data.json, drawing only), and one cheap program's rows computed from
//! scratch and compared, row and figure, with the committed ones.

use std::path::{Path, PathBuf};

use crate::common::apmdm;
use apmdm::check::apmdm::{check_apmdm_case_watched, ApmdmBounds};
use apmdm::check::mdm::{check_case, MdmBounds};
use apmdm::check::weights::ExecutorOptions;
use apmdm::compile::pram_to_apmdm::ApmdmMode;
use apmdm::compile::pram_to_mdm::CompileLimits;
use apmdm::plot::growth::{fits, PlotData, PlotRow};
use apmdm::pram::{library, RunConfig};

const FIGURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/figures");

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("apmdm-plot-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The `.svg` files of a folder, sorted.
fn svgs(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("the folder exists")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".svg"))
        .collect();
    names.sort();
    names
}

fn committed_rows() -> PlotData {
    let text = std::fs::read_to_string(Path::new(FIGURES).join("plot-data.json"))
        .expect("docs/figures/plot-data.json is committed");
    PlotData::parse(&text).expect("the committed rows parse")
}

#[test]
fn every_committed_figure_is_redrawn_byte_for_byte_from_the_committed_rows() {
    let out = scratch("redraw");
    let data = format!("{FIGURES}/plot-data.json");
    let (code, stdout, stderr) = apmdm(&["plot", "--data", &data, "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let drawn = svgs(&out);
    assert_eq!(drawn, svgs(Path::new(FIGURES)), "the same set of figures");
    // One figure per library program, the PSPACE figure and the parity figure.
    assert_eq!(drawn.len(), library::PROGRAMS.len() + 2);
    for name in &drawn {
        let a = std::fs::read(out.join(name)).unwrap();
        let b = std::fs::read(Path::new(FIGURES).join(name)).unwrap();
        assert!(
            a == b,
            "{name} differs from docs/figures/{name}: regenerate with `apmdm plot --out \
             docs/figures` (or --data docs/figures/plot-data.json for a drawing change)"
        );
    }
    assert!(
        !out.join("plot-data.json").exists(),
        "--data writes no data file"
    );
    let _ = std::fs::remove_dir_all(&out);
}

/// The cheapest library program to run in a debug build, at its own sizes and seeds.
const CHEAP: &str = "reduce_max";

#[test]
fn a_program_plotted_from_scratch_matches_its_committed_rows_and_figure() {
    let out = scratch("fresh");
    let (code, stdout, stderr) = apmdm(&["plot", CHEAP, "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let fresh = std::fs::read_to_string(out.join("plot-data.json")).unwrap();
    let fresh = PlotData::parse(&fresh).unwrap();
    let committed: Vec<PlotRow> = (committed_rows().rows.into_iter())
        .filter(|r| r.program == CHEAP)
        .collect();
    assert!(!committed.is_empty());
    assert_eq!(fresh.rows, committed);
    let svg = format!("{CHEAP}.svg");
    assert_eq!(svgs(&out), vec![svg.clone()]);
    assert!(
        std::fs::read(out.join(&svg)).unwrap()
            == std::fs::read(Path::new(FIGURES).join(&svg)).unwrap(),
        "{svg} differs from the committed figure"
    );
    // The same command writes the same bytes.
    let again = scratch("fresh-again");
    let (code, _, _) = apmdm(&["plot", CHEAP, "--out", again.to_str().unwrap()]);
    assert_eq!(code, 0);
    for f in [svg.as_str(), "plot-data.json"] {
        assert_eq!(
            std::fs::read(out.join(f)).unwrap(),
            std::fs::read(again.join(f)).unwrap()
        );
    }
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&again);
}

#[test]
fn the_committed_rows_say_what_the_readme_tables_say() {
    let rows = committed_rows().rows;
    let find = |p: &str, t: &str, n: i64| {
        rows.iter()
            .find(|r| r.program == p && r.target == t && r.n == n && r.seed == 1)
            .unwrap_or_else(|| panic!("{p} {t} n = {n}"))
    };
    // The PSPACE table: MDM contexts measured up to tqbf n = 5, predicted beyond.
    let r = find("tqbf", "mdm", 5);
    assert_eq!((r.ran, r.context.as_deref()), (true, Some("6822")));
    let r = find("tqbf", "mdm", 8);
    assert!(!r.ran && r.steps.is_none() && r.context.is_none());
    assert_eq!(r.predicted_context.as_deref(), Some("69679"));
    let r = find("geography", "mdm", 8);
    assert_eq!(r.predicted_context.as_deref(), Some("1358954583"));
    let r = find("tqbf", "apmdm", 8);
    assert_eq!((r.steps, r.context.as_deref()), (Some(11102), Some("48")));
    let r = find("geography", "apmdm", 8);
    assert_eq!((r.steps, r.context.as_deref()), (Some(4829), Some("95")));
    // Every row passed or was not run.
    assert!(rows.iter().all(|r| r.status != "fail"));
}

#[test]
fn fits_of_plot_rows_are_the_checkers_fits() {
    let program = library::load("prefix_sum").unwrap().unwrap();
    let limits = CompileLimits::default();
    let (mut mdm, mut ap) = (Vec::new(), Vec::new());
    for n in 1..=6 {
        let config = RunConfig::new(n);
        mdm.push(
            check_case(
                &program,
                &config,
                &limits,
                &MdmBounds::from_file(),
                u64::MAX,
            )
            .unwrap(),
        );
        ap.push(
            check_apmdm_case_watched(
                &program,
                &config,
                &limits,
                &ApmdmBounds::from_file(),
                u64::MAX,
                ExecutorOptions::seq(),
                ApmdmMode::Declared,
                &mut |_| {},
                &mut |_| {},
            )
            .unwrap(),
        );
    }
    // One row not run: it enters neither fit.
    let mut short = limits;
    short.max_length = 3;
    mdm.push(
        check_case(
            &program,
            &RunConfig::new(7),
            &short,
            &MdmBounds::from_file(),
            u64::MAX,
        )
        .unwrap(),
    );
    assert!(!mdm.last().unwrap().materialized);
    let mdm_rows: Vec<PlotRow> = mdm.iter().map(PlotRow::of_mdm).collect();
    let ap_rows: Vec<PlotRow> = ap.iter().map(PlotRow::of_apmdm).collect();
    let checker = apmdm::check::mdm::fits(&mdm);
    assert_eq!(fits(&mdm_rows), checker);
    assert_eq!(checker[0].sizes, 6);
    assert_eq!(fits(&ap_rows), apmdm::check::apmdm::fits(&ap));
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let out = scratch("errors");
    let o = out.to_str().unwrap();
    let (code, _, stderr) = apmdm(&["plot", "prefix_summ", "--out", o]);
    assert_eq!(code, 2);
    assert!(stderr.contains("did you mean prefix_sum"), "{stderr}");
    let (code, _, stderr) = apmdm(&["plot", "reverse-arm", "--out", o]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not a PRAM program"), "{stderr}");
    // An output folder under a regular file cannot be created.
    std::fs::create_dir_all(&out).unwrap();
    let file = out.join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let under = file.join("figures");
    let data = format!("{FIGURES}/plot-data.json");
    let (code, _, stderr) = apmdm(&[
        "plot",
        "tqbf",
        "--data",
        &data,
        "--out",
        under.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("cannot create the output folder"),
        "{stderr}"
    );
    // A folder where a figure should go cannot be written.
    let blocked = out.join("blocked");
    std::fs::create_dir_all(blocked.join("tqbf.svg")).unwrap();
    let (code, _, stderr) = apmdm(&[
        "plot",
        "tqbf",
        "--data",
        &data,
        "--out",
        blocked.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot write"), "{stderr}");
    // Data files: missing, malformed, without the program asked, and with options that run.
    let (code, _, stderr) = apmdm(&["plot", "--data", "/nonexistent/rows.json", "--out", o]);
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot read"), "{stderr}");
    let (code, _, stderr) = apmdm(&[
        "plot",
        "--data",
        &data,
        "--max-input-bytes",
        "1K",
        "--out",
        o,
    ]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("over the limit of 1024 (--max-input-bytes)"),
        "{stderr}"
    );
    let bad = out.join("bad.json");
    std::fs::write(&bad, "{\"format\": 1, \"rows\": [{}]}").unwrap();
    let (code, _, _) = apmdm(&["plot", "--data", bad.to_str().unwrap(), "--out", o]);
    assert_eq!(code, 2);
    let (code, _, stderr) = apmdm(&["plot", "tqbff", "--data", &data, "--out", o]);
    assert_eq!(code, 2);
    assert!(stderr.contains("did you mean tqbf"), "{stderr}");
    let (code, _, _) = apmdm(&["plot", "--data", &data, "--sizes", "4", "--out", o]);
    assert_eq!(code, 2);
    let (code, _, stderr) = apmdm(&["plot", "prefix_sum", "--sizes", "0", "--out", o]);
    assert_eq!(code, 2);
    assert!(stderr.contains("at least 1"), "{stderr}");
    let _ = std::fs::remove_dir_all(&out);
}
