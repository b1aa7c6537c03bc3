//! The seq evaluator's column memory on compiled schedules: a step holds the columns of the
//! simultaneously live nodes only (position-uniform nodes hold one value, no column), counted
//! exactly, and the schedule's result is unchanged.

use apmdm::compile::apmdm_run::run_apmdm_with;
use apmdm::compile::mdm_run::run_with;
use apmdm::compile::pram_to_apmdm::{self, pram_to_apmdm};
use apmdm::compile::pram_to_mdm::{self, pram_to_mdm, CompileLimits};
use apmdm::machine::{Canvas, Proposal, StepFunction, StepFunctionError, Token};
use apmdm::pram::{self, library, RunConfig};
use apmdm::seq::{uniform_nodes, Evaluator, Program, SeqStep, Word};

/// The most nodes holding a column live at once in node order (a node lives from its evaluation to
/// its last reader's, a head to the end; `uniform[v]`: node v holds one value, no column).
fn most_live_nodes(p: &Program, uniform: &[bool]) -> u64 {
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
    for (v, &e) in end.iter().enumerate().filter(|&(v, _)| !uniform[v]) {
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

/// `SeqStep` with, beside it, the most live column-holding nodes of any step, from the program
/// and the nodes the evaluator held as one value at that step.
struct Counted {
    f: SeqStep,
    most: u64,
    most_bytes: u64,
    uniform_steps: usize,
}

impl Counted {
    fn new(p: &Program) -> Self {
        Counted {
            f: SeqStep::new(p.clone(), Evaluator::Indexed),
            most: 0,
            most_bytes: 0,
            uniform_steps: 0,
        }
    }
}

impl StepFunction<Word> for Counted {
    fn propose(&mut self, x: &[Token<Word>]) -> Result<Proposal<Word>, StepFunctionError> {
        let uniform = uniform_nodes(&self.f.program, x, Evaluator::Indexed).unwrap();
        let most = most_live_nodes(&self.f.program, &uniform);
        self.most = self.most.max(most);
        self.most_bytes = self.most_bytes.max(8 * most * x.len() as u64);
        self.uniform_steps += usize::from(uniform.iter().any(|&u| u));
        self.f.propose(x)
    }
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
        let mut c = Counted::new(&mdm.seq);
        let (got, _) = run_with(&mdm, &program, Canvas::new(x0), &mut c, false).unwrap();
        assert_eq!(got.output, want.output, "{name}");
        assert!(c.uniform_steps > 0, "{name}: no uniform node");
        assert_eq!(c.f.column_bytes_per_position, 8 * c.most, "{name} mdm");
        assert_eq!(c.f.peak_column_bytes, c.most_bytes, "{name} mdm");
        let all = most_live_nodes(&mdm.seq, &vec![false; mdm.seq.nodes.len()]);
        assert!(c.most < all, "{name}: {} of {all} live nodes", c.most);
        assert!(
            all < mdm.seq.nodes.len() as u64 / 2,
            "{name}: {all} live nodes"
        );

        let ap = pram_to_apmdm(&program, n, &limits).unwrap();
        let x0 = pram_to_apmdm::initial_canvas(&ap, &program, &config).unwrap();
        let mut c = Counted::new(&ap.seq);
        let (got, _) =
            run_apmdm_with(&ap, &program, Canvas::new(x0), &mut c, false, &mut |_| {}).unwrap();
        assert_eq!(got.output, want.output, "{name}");
        assert_eq!(c.f.column_bytes_per_position, 8 * c.most, "{name} apmdm");
        assert_eq!(c.f.peak_column_bytes, c.most_bytes, "{name} apmdm");
    }
}
