//! The seq evaluator's column memory on compiled schedules: a step holds the columns of the
//! simultaneously live nodes only (position-uniform nodes hold one value, no column), counted
//! exactly, and the schedule's result is unchanged.

use apmdm::compile::apmdm_run::run_apmdm_with;
use apmdm::compile::mdm_run::run_with;
use apmdm::compile::pram_to_apmdm::{self, pram_to_apmdm};
use apmdm::compile::pram_to_mdm::{self, pram_to_mdm, CompileLimits};
use apmdm::machine::{Canvas, Proposal, StepFunction, StepFunctionError, Token};
use apmdm::pram::{self, library, RunConfig};
use apmdm::seq::{uniform_nodes, Evaluator, Op, Prefer, Program, SeqStep, Value, Word};

/// The most nodes holding a column live at once in node order (a node lives from its evaluation to
/// its last reader's, a head to the end; `uniform[v]`: node v holds one value, no column).
fn most_live_nodes(p: &Program, uniform: &[bool]) -> u64 {
    let n = p.nodes.len();
    let holds: Vec<bool> = uniform.iter().map(|&u| !u).collect();
    most_live(p, &holds, &vec![true; n], &vec![false; n])
}

/// The most simultaneously live nodes among those that `holds` a column: a node lives from its
/// evaluation through its last reader's among the nodes `reads` marks, through the end when it
/// is a head or `kept`.
fn most_live(p: &Program, holds: &[bool], reads: &[bool], kept: &[bool]) -> u64 {
    let n = p.nodes.len();
    let mut end: Vec<usize> = (0..n).collect();
    for (k, op) in p.nodes.iter().enumerate().filter(|&(k, _)| reads[k]) {
        for v in op.inputs() {
            end[v.index()] = end[v.index()].max(k);
        }
    }
    let h = &p.heads;
    for v in h.token.iter().chain([&h.remask, &h.insert, &h.delete]) {
        end[v.index()] = n;
    }
    for (v, _) in kept.iter().enumerate().filter(|&(_, &k)| k) {
        end[v] = n;
    }
    // Sweep: +1 where a node starts, -1 after its end.
    let mut delta = vec![0i64; n + 2];
    for (v, &e) in end.iter().enumerate().filter(|&(v, _)| holds[v]) {
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

/// The nodes a demand-driven evaluation computes at every position, derived here on its own: the
/// control-bit heads, keys, read values and preferences, and backwards through maps, queries and
/// defaults (`seq/eval/demand.rs`); and those of them some other node reads.
fn everywhere_nodes(p: &Program) -> (Vec<bool>, Vec<bool>) {
    let n = p.nodes.len();
    // 0: nowhere, 1: where a mask is unmasked, 2: everywhere.
    let mut need = vec![0u8; n];
    let h = &p.heads;
    for v in [h.remask, h.insert, h.delete] {
        need[v.index()] = 2;
    }
    for v in &h.token {
        need[v.index()] = need[v.index()].max(1);
    }
    for k in (0..n).rev() {
        let d = need[k];
        if d == 0 {
            continue;
        }
        let (everywhere, same): (Vec<Value>, Vec<Value>) = match &p.nodes[k] {
            Op::Lookup {
                select,
                prefer,
                value,
                default,
            } => {
                let mut all = vec![select.key, *value];
                all.extend(select.pair.map(|(k2, _)| k2));
                all.extend(match prefer {
                    Prefer::MaxBy(v) | Prefer::MinBy(v) => vec![*v],
                    Prefer::MaxByPair(a, b) | Prefer::MinByPair(a, b) => vec![*a, *b],
                    _ => vec![],
                });
                let mut same = vec![select.query, *default];
                same.extend(select.pair.map(|(_, q2)| q2));
                (all, same)
            }
            Op::Sum { select, value } => {
                let mut all = vec![select.key, *value];
                all.extend(select.pair.map(|(k2, _)| k2));
                let mut same = vec![select.query];
                same.extend(select.pair.map(|(_, q2)| q2));
                (all, same)
            }
            op => (vec![], op.inputs()),
        };
        for v in everywhere {
            need[v.index()] = 2;
        }
        for v in same {
            need[v.index()] = need[v.index()].max(d);
        }
    }
    let everywhere: Vec<bool> = need.iter().map(|&d| d == 2).collect();
    let mut read_late = vec![false; n];
    for (k, op) in p.nodes.iter().enumerate() {
        if need[k] == 1 {
            for v in op.inputs() {
                read_late[v.index()] |= everywhere[v.index()];
            }
        }
    }
    (everywhere, read_late)
}

/// `most_live_nodes` for the demand-driven evaluation's column pass: only nodes computed
/// everywhere hold columns and count as readers, and the columns a late node reads are held
/// to the end.
fn most_live_demanded(p: &Program, uniform: &[bool]) -> u64 {
    let (everywhere, read_late) = everywhere_nodes(p);
    let holds: Vec<bool> = everywhere
        .iter()
        .zip(uniform)
        .map(|(&e, &u)| e && !u)
        .collect();
    most_live(p, &holds, &everywhere, &read_late)
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

    /// The demand-driven evaluation (`SeqStep::demanded`), counted by `most_live_demanded`.
    fn demanded(p: &Program) -> Self {
        Counted {
            f: SeqStep::demanded(p.clone()),
            ..Counted::new(p)
        }
    }

    /// The evaluator's counted column bytes equal the model's most live nodes, per position and
    /// at the peak.
    fn assert_exact(&self, label: &str) {
        assert_eq!(self.f.column_bytes_per_position, 8 * self.most, "{label}");
        assert_eq!(self.f.peak_column_bytes, self.most_bytes, "{label}");
    }
}

impl StepFunction<Word> for Counted {
    fn propose(&mut self, x: &[Token<Word>]) -> Result<Proposal<Word>, StepFunctionError> {
        let uniform = uniform_nodes(&self.f.program, x, Evaluator::Indexed).unwrap();
        let most = if self.f.demand.is_some() {
            most_live_demanded(&self.f.program, &uniform)
        } else {
            most_live_nodes(&self.f.program, &uniform)
        };
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
        c.assert_exact(&format!("{name} mdm"));
        let all = most_live_nodes(&mdm.seq, &vec![false; mdm.seq.nodes.len()]);
        assert!(c.most < all, "{name}: {} of {all} live nodes", c.most);
        assert!(
            all < mdm.seq.nodes.len() as u64 / 2,
            "{name}: {all} live nodes"
        );

        // The demand-driven evaluation: the same run, its columns counted exactly (the
        // columns late nodes read are held to the end, so the peak may be higher).
        let x0 = pram_to_mdm::initial_canvas(&mdm, &program, &config).unwrap();
        let mut d = Counted::demanded(&mdm.seq);
        let (lazy, _) = run_with(&mdm, &program, Canvas::new(x0), &mut d, false).unwrap();
        assert_eq!(lazy, got, "{name} mdm demanded");
        d.assert_exact(&format!("{name} mdm demanded"));
        // It does skip work: the slot bodies and the header's proposal are late nodes.
        let (_, late, _) = d.f.demand.as_ref().unwrap().counts();
        assert!(late > mdm.seq.nodes.len() / 4, "{name}: {late} late nodes");

        let ap = pram_to_apmdm(&program, n, &limits).unwrap();
        let x0 = pram_to_apmdm::initial_canvas(&ap, &program, &config).unwrap();
        let mut c = Counted::new(&ap.seq);
        let (got, _) = run_apmdm_with(
            &ap,
            &program,
            Canvas::new(x0.clone()),
            &mut c,
            false,
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(got.output, want.output, "{name}");
        c.assert_exact(&format!("{name} apmdm"));
        let mut d = Counted::demanded(&ap.seq);
        let (lazy, _) =
            run_apmdm_with(&ap, &program, Canvas::new(x0), &mut d, false, &mut |_| {}).unwrap();
        assert_eq!(lazy, got, "{name} apmdm demanded");
        d.assert_exact(&format!("{name} apmdm demanded"));
    }
}
