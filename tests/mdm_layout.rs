//! The Theorem 1 canvas layout: exact at every n (num-bigint), consistent with the interpreter's
//! measurements, and growing like the declared work (exponentially for search programs).

use apmdm::check::fit::{classify, Classification, Growth};
use apmdm::compile::mdm_layout::MdmLayout;
use apmdm::pram::{self, library, RunConfig};
use num_bigint::BigInt;

fn program(name: &str) -> pram::Program {
    library::load(name).unwrap().unwrap()
}

/// Every library program lays out at its default sizes; its measured T, P and W never exceed the
/// declared values the layout is built from (the two evaluators of declarations agree where it
/// matters), and the length meets both the paper's P_decl * T_decl form and the work form.
#[test]
fn every_library_program_lays_out_and_the_interpreter_stays_inside() {
    for (name, source) in library::PROGRAMS {
        let p = program(name);
        for n in library::directive(source, "sizes") {
            let layout =
                MdmLayout::at(&p, n as u64).unwrap_or_else(|e| panic!("{name} at {n}: {e}"));
            assert!(layout.length <= layout.paper_form(), "{name} at {n}");
            assert!(layout.length <= layout.work_form(), "{name} at {n}");
            assert!(
                layout.input_cells >= BigInt::from(0) && layout.output_cells >= BigInt::from(1)
            );
            let report = pram::run(&p, &RunConfig::new(n)).unwrap();
            let m = report.metrics;
            assert!(
                BigInt::from(m.rounds) <= layout.rounds_declared,
                "{name} at {n}"
            );
            assert!(
                BigInt::from(m.processors) <= layout.processors_declared,
                "{name} at {n}"
            );
            assert!(BigInt::from(m.work) <= layout.slots, "{name} at {n}");
            // What a run uses of the canvas fits in what was laid out.
            let used = 2 + m.rounds + m.work;
            assert!(
                BigInt::from(used) + &layout.input_cells + &layout.output_cells <= layout.length
            );
        }
    }
}

#[test]
fn input_and_output_regions_follow_the_declared_arrays() {
    // matrix_multiply: inputs A and B of n*n cells, output C of n*n cells.
    let l = MdmLayout::at(&program("matrix_multiply"), 4).unwrap();
    assert_eq!(
        (l.input_cells.clone(), l.output_cells.clone()),
        (BigInt::from(32), BigInt::from(16))
    );
    // prefix_sum at n = 8: A is both input and output; T_decl = 2*3+1, W_decl = 8*3+3+1.
    let l = MdmLayout::at(&program("prefix_sum"), 8).unwrap();
    assert_eq!(l.rounds_declared, BigInt::from(7));
    assert_eq!(l.work_declared, BigInt::from(28));
    assert_eq!(l.length, BigInt::from(1 + 8 + 8 + 28 + 8));
}

/// TQBF's declared time is exponential in the number of variables: at n = 70 the canvas is longer
/// than any machine integer, and its length is still exact.
#[test]
fn search_programs_get_exact_lengths_beyond_64_bits() {
    let p = program("tqbf");
    let n = 70u32;
    let l = MdmLayout::at(&p, u64::from(n)).unwrap();
    let m = BigInt::from(n);
    let two_n = BigInt::from(1) << n;
    let rounds = &two_n * (10 * &m + 8) + (&two_n * 2) * 24 + 10;
    assert_eq!(l.rounds_declared, rounds);
    assert!(l.length > BigInt::from(u64::MAX));
    assert_eq!(l.materializable(1 << 24), None);
    assert!(MdmLayout::at(&p, 5)
        .unwrap()
        .materializable(1 << 24)
        .is_some());
}

fn growth_of_length(name: &str, sizes: &[u64]) -> Growth {
    let p = program(name);
    let points: Vec<(u64, f64)> = sizes
        .iter()
        .map(|&n| {
            let l = MdmLayout::at(&p, n).unwrap();
            (n, l.length.to_string().parse::<f64>().unwrap())
        })
        .collect();
    match classify(&points) {
        Classification::Classified { best, .. } => best.growth,
        other => panic!("{name}: {other:?}"),
    }
}

/// The MDM canvas grows like the declared work: n log n for Hillis-Steele prefix sums,
/// n^3 log n for matrix multiplication with n^3 processors in each of its log n rounds (work
/// declared as n^3 (clog2 n + 2)), n 2^n for depth-first TQBF (rounds declared as
/// 2^n (10 m + 8) + 2^(n+1) 24 + 10 with m = n clauses).
#[test]
fn laid_out_context_grows_like_the_declared_work() {
    let powers = [8, 16, 32, 64, 128, 256, 512, 1024];
    assert_eq!(growth_of_length("prefix_sum", &powers), Growth::LinearLog);
    assert_eq!(
        growth_of_length("matrix_multiply", &[2, 4, 8, 16, 32, 64]),
        Growth::CubicLog
    );
    assert_eq!(
        growth_of_length("tqbf", &[4, 6, 8, 10, 12, 14, 16]),
        Growth::LinearExponential
    );
}
