//! The seq evaluator's column memory on compiled schedules: a step holds the columns of the
//! simultaneously live nodes only, counted exactly, and the schedule's result is unchanged.

use apmdm::compile::apmdm_run::run_apmdm_with;
use apmdm::compile::mdm_run::run_with;
use apmdm::compile::pram_to_apmdm::{self, pram_to_apmdm};
use apmdm::compile::pram_to_mdm::{self, pram_to_mdm, CompileLimits};
use apmdm::machine::Canvas;
use apmdm::pram::{self, library, RunConfig};
use apmdm::seq::{Evaluator, Program, SeqStep};

/// The most nodes live at once in node order (a node lives from its evaluation to its last
/// reader's, a head to the end), computed from the program alone.
fn most_live_nodes(p: &Program) -> u64 {
    let n = p.nodes.len();
    let mut end: Vec<usize> = (0..n).collect();
    for (k, op) in p.nodes.iter().enumerate() {
        for v in op.inputs() {
            end[v.index()] = end[v.index()].max(k);
        }
    }
    let h = &p.heads;
    for v in h.token.iter().chain([&h.remask, &h.insert, &h.delete]) {
        end[v.index()] = n;
    }
    // Sweep: +1 where a node starts, -1 after its end.
    let mut delta = vec![0i64; n + 2];
    for (v, &e) in end.iter().enumerate() {
        delta[v] += 1;
        delta[e + 1] -= 1;
    }
    let mut live = 0i64;
    let mut most = 0i64;
    for d in &delta[..n] {
        live += d;
        most = most.max(live);
    }
    most as u64
}

#[test]
fn compiled_schedules_hold_only_live_columns() {
    for (name, n) in [
        ("prefix_sum", 8),
        ("list_ranking", 8),
        ("matrix_multiply", 2),
    ] {
        let program = library::load(name).unwrap().unwrap();
        let config = RunConfig::new(n);
        let want = pram::run(&program, &config).unwrap();
        let limits = CompileLimits::default();

        let mdm = pram_to_mdm(&program, n, &limits).unwrap();
        let x0 = pram_to_mdm::initial_canvas(&mdm, &program, &config).unwrap();
        let mut f = SeqStep::new(mdm.seq.clone(), Evaluator::Indexed);
        let (got, _) = run_with(&mdm, &program, Canvas::new(x0), &mut f, false).unwrap();
        assert_eq!(got.output, want.output, "{name}");
        let most = most_live_nodes(&mdm.seq);
        assert_eq!(f.column_bytes_per_position, 8 * most, "{name} mdm");
        assert_eq!(
            f.peak_column_bytes,
            8 * most * got.context as u64,
            "{name} mdm"
        );
        assert!(
            most < mdm.seq.nodes.len() as u64 / 2,
            "{name}: {most} live nodes"
        );

        let ap = pram_to_apmdm(&program, n, &limits).unwrap();
        let x0 = pram_to_apmdm::initial_canvas(&ap, &program, &config).unwrap();
        let mut f = SeqStep::new(ap.seq.clone(), Evaluator::Indexed);
        let (got, _) =
            run_apmdm_with(&ap, &program, Canvas::new(x0), &mut f, false, &mut |_| {}).unwrap();
        assert_eq!(got.output, want.output, "{name}");
        let most = most_live_nodes(&ap.seq);
        assert_eq!(f.column_bytes_per_position, 8 * most, "{name} apmdm");
        assert_eq!(
            f.peak_column_bytes,
            8 * most * got.context as u64,
            "{name} apmdm"
        );
    }
}
