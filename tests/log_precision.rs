//! Log precision of the compiled step functions: the emitted seq programs of every library program
//! (both targets) hold no sentinel, no scaled priority, no 64-bit hash, no division for a
//! one-dimensional pardo, and declare no range wider than the bound of `proofs/*.bounds.json`;
//! their map depth (`Program::shape`) stays under 40.

use apmdm::compile::pram_to_apmdm::pram_to_apmdm;
use apmdm::compile::pram_to_mdm::{pram_to_mdm, CompileLimits};
use apmdm::compile::width::WidthBound;
use apmdm::pram::library;
use apmdm::seq::range::{value_width, width};
use apmdm::seq::{BinaryOp, Op, Program};
use num_traits::ToPrimitive;

/// Everything wrong with `seq` under a width bound of `bound` bits.
fn scan(seq: &Program, bound: u32, one_dimensional: bool) -> Vec<String> {
    let mut wrong = Vec::new();
    assert_eq!(
        seq.ranges.len(),
        seq.nodes.len(),
        "a compiled program is ranged"
    );
    for (k, op) in seq.nodes.iter().enumerate() {
        let w = width(seq.ranges[k]);
        if w > bound {
            wrong.push(format!(
                "node {k} {op:?}: range {:?} is {w} bits",
                seq.ranges[k]
            ));
        }
        match op {
            Op::Const(c) if value_width(*c) >= 40 => wrong.push(format!("node {k}: sentinel {c}")),
            Op::Binary(
                BinaryOp::Mul | BinaryOp::MulSat | BinaryOp::Shl | BinaryOp::ShlSat,
                a,
                b,
            ) => {
                for v in [a, b] {
                    if let Op::Const(c) = seq.nodes[v.index()] {
                        if value_width(c) > 24 {
                            wrong.push(format!("node {k}: scaled by the constant {c}"));
                        }
                    }
                }
            }
            Op::Binary(BinaryOp::DivEuclid | BinaryOp::RemEuclid, _, _) if one_dimensional => {
                wrong.push(format!("node {k}: {op:?} with one-dimensional pardos only"))
            }
            _ => {}
        }
    }
    wrong
}

#[test]
fn no_emitted_program_holds_a_value_wider_than_the_bound_or_a_deep_map_chain() {
    let limits = CompileLimits::default();
    let mut failures = Vec::new();
    for (name, source) in library::PROGRAMS {
        let program = library::load(name).unwrap().unwrap();
        // Division in the source, or a pardo over two or more indices, may divide.
        let one_dimensional = !source.contains('/')
            && !source.contains('%')
            && !source
                .lines()
                .any(|l| l.contains("pardo") && l.contains(','));
        let n = library::directive(source, "sizes")[0];
        let mdm = pram_to_mdm(&program, n, &limits).unwrap();
        let bound = WidthBound::mdm().bits(mdm.word, mdm.regions.length);
        let shape = mdm.seq.shape();
        println!(
            "{name} n={n} mdm: declared {} bits, bound {bound}, attention depth {}, map depth {}",
            shape.width_bits, shape.attention_depth, shape.map_depth
        );
        if shape.map_depth >= 40 {
            failures.push(format!("{name} n={n} mdm: map depth {}", shape.map_depth));
        }
        for w in scan(&mdm.seq, bound, one_dimensional) {
            failures.push(format!("{name} n={n} mdm: {w}"));
        }
        let ap = pram_to_apmdm(&program, n, &limits).unwrap();
        let peak = ap.layout.peak_declared.to_usize().unwrap_or(usize::MAX);
        let bound = WidthBound::apmdm().bits(ap.word, peak);
        let shape = ap.seq.shape();
        println!(
            "{name} n={n} apmdm: declared {} bits, bound {bound}, attention depth {}, map depth {}",
            shape.width_bits, shape.attention_depth, shape.map_depth
        );
        if shape.map_depth >= 40 {
            failures.push(format!("{name} n={n} apmdm: map depth {}", shape.map_depth));
        }
        for w in scan(&ap.seq, bound, one_dimensional) {
            failures.push(format!("{name} n={n} apmdm: {w}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn no_apmdm_value_grows_with_the_declared_rounds_or_work() {
    // The AP-MDM's tokens hold the round modulo 2^16 and no work (`proofs/apmdm.md`, "No
    // counters on the canvas"): declaring 2^(4n) rounds and work changes no node's range as n
    // grows from 4 to 15 (the bounds reach 2^60).
    let source = "program big; model erew; word 8; shared x; output x;\n\
                  bounds { rounds <= 1 << (4 * n); processors <= 1; work <= 1 << (4 * n); \
                  space <= 1; }\nx = 1;\nx = x + 1;\n";
    let program = apmdm::pram::parse("big.pram", source).unwrap();
    let limits = CompileLimits::default();
    let at = |n: i64| pram_to_apmdm(&program, n, &limits).unwrap().seq;
    let (small, large) = (at(4), at(15));
    assert_eq!(small.ranges, large.ranges);
    let widest = large.shape().width_bits;
    assert!(widest <= 17, "{widest} bits");
}
