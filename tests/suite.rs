//! The whole integration suite as one test binary: each file beside this one is a module.
//!
//! One binary links the crate and its dependencies once instead of once per file, and its tests
//! share the harness's threads, so the suite builds and runs faster than 40 binaries did. Run
//! one file's tests with `cargo test --test suite FILE::` (e.g. `cargo test --test suite cli::`).
//! `every_test_file_is_a_module` below fails when a new file in `tests/` is not listed here.

mod kernel_cases;

mod common;

mod apmdm_compile;
mod apmdm_counters;
mod apmdm_layouts;
mod apmdm_properties;
mod cli;
mod control_properties;
mod envelope_cli;
mod front_reliability;
mod generate_cli;
mod generate_dyck;
mod generate_edits;
mod generate_edits_seq;
mod io_reliability;
mod kernels_cpu;
mod kernels_errors;
mod kernels_gradients;
mod kernels_wgpu;
mod log_precision;
mod machine_classes;
mod machine_properties;
mod mdm_compile;
mod mdm_layout;
mod mdm_properties;
mod neural_cli;
mod neural_reliability;
mod plot_figures;
mod pram_cli;
mod pram_counting;
mod pram_data;
mod pram_programs;
mod pram_properties;
mod pram_semantics;
mod readme_help;
mod reliability;
mod seq_columns;
mod seq_eval;
mod thm2;
mod thm3;
mod thm32_cli;
mod trace_format;
mod view_browser;
mod weights;
mod weights_ref;

/// Cargo builds only this file (`autotests = false`): a test file missing from the list above would
/// silently never run, so the list is compared with the directory.
#[test]
fn every_test_file_is_a_module() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let this = include_str!("suite.rs");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("tests/ is readable") {
        let name = entry.expect("a directory entry").file_name();
        let name = name.to_string_lossy();
        if let Some(stem) = name.strip_suffix(".rs") {
            if stem != "suite" && !this.contains(&format!("\nmod {stem};\n")) {
                missing.push(stem.to_string());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "tests/suite.rs does not list: {missing:?}"
    );
}
