//! The weights as a step function, with the shadow check: after every sublayer, every live wire
//! whose meaning is closed (an input feature, a node's value, a bit of a node) is compared with
//! the seq evaluator's value at every position, and every node's value form is compared once all
//! its wires are written; the proposal is compared with the seq evaluator's at every position.

use super::circuit::{Expect, Feature};
use super::f32_forward::F32Model;
use super::model::Model;
use crate::machine::{ControlBits, Proposal, StepFunction, StepFunctionError, Token};
use crate::seq::{evaluate_observed, Evaluator, Program, Word};

/// A deviation the shadow check found.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Deviation {
    /// The step (1-based).
    pub step: usize,
    /// The sublayer after which it was seen (2l: layer l's attention, 2l + 1: its MLP).
    pub sublayer: usize,
    /// The node.
    pub node: usize,
    /// The canvas position.
    pub position: usize,
    /// The seq evaluator's value.
    pub expected: f64,
    /// The residual's value.
    pub found: f64,
    /// What was compared.
    pub what: String,
}

/// A proposal that differs from the seq evaluator's.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Mismatch {
    /// The step (1-based).
    pub step: usize,
    /// The canvas position.
    pub position: usize,
    /// The field (`token[k]`, `remask`, `insert`, `delete`).
    pub field: String,
    /// The seq evaluator's value.
    pub expected: i64,
    /// The weights' value.
    pub found: i64,
}

/// What the weights did over a run.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct ShadowReport {
    /// Steps proposed.
    pub steps: usize,
    /// Steps whose proposal equalled the seq evaluator's at every position.
    pub agreeing_steps: usize,
    /// The first proposal mismatch.
    pub first_mismatch: Option<Mismatch>,
    /// The largest deviation of an exact value (node forms, bits, features) from the seq
    /// evaluator's; the construction makes it 0 in f64 (`proofs/weights.md`).
    pub max_exact_deviation: f64,
    /// The first exact deviation above the tolerance.
    pub first_deviation: Option<Deviation>,
    /// The largest distance of a rounded attention read from the bit it rounds to (bounded by
    /// delta in the proof).
    pub max_read_error: f64,
    /// Comparisons made.
    pub comparisons: u64,
    /// Total seconds spent in the forward pass (without the shadow check).
    pub forward_seconds: f64,
    /// The widest value any node took, in bits (from the shadow's evaluations).
    pub widest_bits: u32,
}

/// Exact values deviating by more than this are failures (the construction's values are exact
/// integers or halves in f64, so any deviation at all is a fault).
pub const EXACT_TOLERANCE: f64 = 1e-9;

/// The weights of a compiled step function as `machine`'s step function f.
pub struct WeightsStep {
    /// The model.
    pub model: Model,
    /// The seq program it was compiled from (the shadow's reference).
    pub program: Program,
    /// Whether to run the shadow check (it evaluates the seq program at every step).
    pub shadow: bool,
    /// Exact values deviating by more than this are reported (default [`EXACT_TOLERANCE`]).
    pub tolerance: f64,
    /// Per wire, a bound on its deviation (from `noise::propagate` for a noisy model): a wire
    /// or node form deviating by at most its bound is not a failure. `None`: [`Self::tolerance`]
    /// alone.
    pub bounds: Option<Vec<f64>>,
    /// The f32 executor (`--executor weights-f32`): when present, its proposals drive the run
    /// and are the ones compared with the seq evaluator's; the f64 forward still runs beside it
    /// (the shadow check reads the f64 residual, and the f32 margins are measured against it).
    pub f32: Option<F32Model>,
    /// What happened so far.
    pub report: ShadowReport,
    /// Per sublayer, the nodes whose value forms are complete after it (the last of their wires
    /// is written there): a fact of the model, computed once.
    due: Vec<Vec<usize>>,
    plan: Vec<SublayerPlan>,
}

/// Which wires the shadow check reads after one sublayer.
#[derive(Clone, Debug, Default)]
struct SublayerPlan {
    /// Live wires that are new after the sublayer (born at it, or first checked at sublayer 0)
    /// or whose coordinate the sublayer writes (a head's output or a unit's `w2`), and the
    /// attention reads born at it.
    check: Vec<u32>,
    /// Live compared wires the sublayer cannot change: each holds the value it held when last
    /// checked, so its comparison is that one again (counted, not recomputed).
    unchanged: u64,
}

/// The shadow check's plan per sublayer (it depends on the model's structure only: which
/// coordinates each sublayer writes and each wire's live range).
fn plan(model: &Model) -> Vec<SublayerPlan> {
    let sublayers = 2 * model.layers.len();
    let d = model.config.d_model;
    let mut touched = vec![false; d];
    let mut plans = vec![SublayerPlan::default(); sublayers];
    let wires = &model.lowered.circuit.wires;
    // Per sublayer, the wires live after it (scanned over each wire's live range).
    let mut live: Vec<Vec<u32>> = vec![Vec::new(); sublayers];
    for (w, p) in model.placement.iter().enumerate() {
        let from = p.born.unwrap_or(0);
        let to = p.cleared.unwrap_or(sublayers).min(sublayers);
        for list in live.iter_mut().take(to).skip(from) {
            list.push(w as u32);
        }
    }
    for (s, plan) in plans.iter_mut().enumerate() {
        touched.iter_mut().for_each(|t| *t = false);
        let layer = &model.layers[s / 2];
        if s % 2 == 0 {
            for h in &layer.heads {
                for &c in &h.o {
                    touched[c as usize] = true;
                }
            }
        } else {
            for u in &layer.units {
                for &(c, _) in &u.w2 {
                    touched[c as usize] = true;
                }
            }
        }
        for &w in &live[s] {
            let p = model.placement[w as usize];
            debug_assert!(p.live_after(Some(s)));
            let compared = !matches!(
                wires[w as usize].expect,
                Expect::Read(_) | Expect::Internal(_)
            );
            let new = s == 0 || p.born == Some(s);
            if new || touched[p.coord as usize] {
                plan.check.push(w);
            } else if compared {
                plan.unchanged += 1;
            }
        }
    }
    plans
}

/// Per sublayer, the nodes whose value form's last wire is written at it (inputs-only forms at 0).
fn due_nodes(model: &Model) -> Vec<Vec<usize>> {
    let mut due = vec![Vec::new(); 2 * model.layers.len()];
    for (n, form) in model.lowered.nodes.iter().enumerate() {
        let s = form
            .terms
            .iter()
            .filter_map(|&(w, _)| model.placement[w as usize].born)
            .max()
            .unwrap_or(0);
        if let Some(list) = due.get_mut(s) {
            list.push(n);
        }
    }
    due
}

impl WeightsStep {
    /// A step function for `model`, compiled from `program`.
    pub fn new(model: Model, program: Program, shadow: bool) -> WeightsStep {
        let due = due_nodes(&model);
        let plan = plan(&model);
        WeightsStep {
            model,
            program,
            shadow,
            tolerance: EXACT_TOLERANCE,
            bounds: None,
            f32: None,
            report: ShadowReport::default(),
            due,
            plan,
        }
    }

    /// Runs the forward pass on x, returning the proposal.
    pub fn forward(&mut self, x: &[Token<Word>]) -> Result<Proposal<Word>, StepFunctionError> {
        let step = self.report.steps + 1;
        let mut r = self
            .model
            .embed(x)
            .map_err(|e| StepFunctionError(format!("weights: {e}")))?;
        let values = if self.shadow {
            let (values, widest) = evaluate_observed(&self.program, x, Evaluator::Indexed)
                .map_err(|e| StepFunctionError(e.to_string()))?;
            self.report.widest_bits = self.report.widest_bits.max(widest);
            Some(values)
        } else {
            None
        };
        let started = std::time::Instant::now();
        // Time in the shadow check and in the f32 executor: not the f64 forward's.
        let mut shadow_time = std::time::Duration::ZERO;
        {
            let model = &self.model;
            let due = &self.due;
            let plans = &self.plan;
            let tolerance = self.tolerance;
            let bounds = self.bounds.as_deref();
            let report = &mut self.report;
            let mut f32m = self.f32.as_mut();
            if let Some(f) = f32m.as_deref_mut() {
                f.start(&r);
            }
            let mut f32_error: Option<String> = None;
            let len = x.len();
            let mut hook = |s: usize, r: &[f64]| {
                if let Some(f) = f32m.as_deref_mut() {
                    if s % 2 == 0 && f32_error.is_none() {
                        let t = std::time::Instant::now();
                        let l = s / 2;
                        if let Err(e) = f
                            .attention(l, len)
                            .and_then(|()| f.mlp(model, l, len, r, step))
                        {
                            f32_error = Some(e.to_string());
                        }
                        shadow_time += t.elapsed();
                    }
                }
                if let Some(values) = &values {
                    let t = std::time::Instant::now();
                    let nodes = due.get(s).map_or(&[][..], Vec::as_slice);
                    check_sublayer(
                        model,
                        values,
                        nodes,
                        &plans[s],
                        x,
                        step,
                        s,
                        r,
                        (tolerance, bounds),
                        report,
                    );
                    shadow_time += t.elapsed();
                }
            };
            self.model.run(&mut r, x.len(), &mut hook);
            if let Some(e) = f32_error {
                return Err(StepFunctionError(format!("weights (f32): {e}")));
            }
        }
        self.report.forward_seconds += (started.elapsed() - shadow_time).as_secs_f64();
        let f32_logits = match self.f32.as_mut() {
            Some(f) => Some(
                f.logits(&self.model, x.len(), &r, step)
                    .map_err(|e| StepFunctionError(format!("weights (f32): {e}")))?,
            ),
            None => None,
        };
        let mut tokens = Vec::with_capacity(x.len());
        let mut bits = Vec::with_capacity(x.len());
        for p in 0..x.len() {
            let logits = match &f32_logits {
                Some(all) => all[p].clone(),
                None => self.model.logits(&r, p),
            };
            let (w, b) = self.model.decode(&logits);
            tokens.push(w);
            bits.push(ControlBits {
                remask: b[0],
                insert: b[1],
                delete: b[2],
            });
        }
        let proposal = Proposal { tokens, bits };
        self.report.steps += 1;
        if let Some(values) = &values {
            let expected = expected_proposal(&self.program, values, x.len());
            match first_difference(&expected, &proposal, step) {
                None => self.report.agreeing_steps += 1,
                Some(m) => {
                    if self.report.first_mismatch.is_none() {
                        self.report.first_mismatch = Some(m);
                    }
                }
            }
        }
        Ok(proposal)
    }
}

impl StepFunction<Word> for WeightsStep {
    fn propose(&mut self, x: &[Token<Word>]) -> Result<Proposal<Word>, StepFunctionError> {
        self.forward(x)
    }
}

/// The seq evaluator's proposal, read off the values the shadow already computed.
fn expected_proposal(program: &Program, values: &[Vec<i64>], len: usize) -> Proposal<Word> {
    let h = &program.heads;
    let at = |v: crate::seq::Value, i: usize| values[v.index()][i];
    Proposal {
        tokens: (0..len)
            .map(|i| Word(h.token.iter().map(|&v| at(v, i)).collect()))
            .collect(),
        bits: (0..len)
            .map(|i| ControlBits {
                remask: at(h.remask, i) != 0,
                insert: at(h.insert, i) != 0,
                delete: at(h.delete, i) != 0,
            })
            .collect(),
    }
}

fn first_difference(e: &Proposal<Word>, f: &Proposal<Word>, step: usize) -> Option<Mismatch> {
    for p in 0..e.tokens.len() {
        for (k, (a, b)) in e.tokens[p].0.iter().zip(&f.tokens[p].0).enumerate() {
            if a != b {
                return Some(Mismatch {
                    step,
                    position: p,
                    field: format!("token[{k}]"),
                    expected: *a,
                    found: *b,
                });
            }
        }
        let (a, b) = (e.bits[p], f.bits[p]);
        for (name, x, y) in [
            ("remask", a.remask, b.remask),
            ("insert", a.insert, b.insert),
            ("delete", a.delete, b.delete),
        ] {
            if x != y {
                return Some(Mismatch {
                    step,
                    position: p,
                    field: name.to_string(),
                    expected: i64::from(x),
                    found: i64::from(y),
                });
            }
        }
    }
    None
}

fn feature_value(f: Feature, t: &Token<Word>, p: usize) -> f64 {
    let pm = |b: bool| if b { 1.0 } else { -1.0 };
    match f {
        Feature::One | Feature::Real | Feature::OnePart { .. } | Feature::RealPart { .. } => 1.0,
        Feature::Mask => f64::from(u8::from(matches!(t, Token::Mask))),
        Feature::FieldBit { field, bit } => {
            let v = match t {
                Token::Mask => 0,
                Token::Sym(w) => w.0[field],
            };
            pm((v >> bit) & 1 == 1)
        }
        Feature::PosBit { bit } => pm((p >> bit) & 1 == 1),
    }
}

#[allow(clippy::too_many_arguments)]
fn check_sublayer(
    model: &Model,
    values: &[Vec<i64>],
    due: &[usize],
    plan: &SublayerPlan,
    x: &[Token<Word>],
    step: usize,
    s: usize,
    r: &[f64],
    (base, bounds): (f64, Option<&[f64]>),
    report: &mut ShadowReport,
) {
    let d = model.config.d_model;
    let wires = &model.lowered.circuit.wires;
    let bound = |w: usize| bounds.map_or(0.0, |b| b[w]);
    let note = |report: &mut ShadowReport,
                tolerance: f64,
                node: usize,
                p: usize,
                e: f64,
                f: f64,
                what: &str| {
        report.comparisons += 1;
        let dev = (e - f).abs();
        if dev > report.max_exact_deviation || dev.is_nan() {
            report.max_exact_deviation = if dev.is_nan() { f64::INFINITY } else { dev };
        }
        if (dev > tolerance || dev.is_nan()) && report.first_deviation.is_none() {
            report.first_deviation = Some(Deviation {
                step,
                sublayer: s,
                node,
                position: p,
                expected: e,
                found: f,
                what: what.to_string(),
            });
        }
    };
    report.comparisons += plan.unchanged * x.len() as u64;
    for &w in &plan.check {
        let w = w as usize;
        let info = &wires[w];
        let place = model.placement[w];
        let c = place.coord as usize;
        let tolerance = base.max(bound(w));
        let note = |report: &mut ShadowReport, node, p, e, f, what| {
            note(report, tolerance, node, p, e, f, what)
        };
        match &info.expect {
            Expect::Feature(f) => {
                for (p, t) in x.iter().enumerate() {
                    note(
                        report,
                        usize::MAX,
                        p,
                        feature_value(*f, t, p),
                        r[(p + 1) * d + c],
                        "feature",
                    );
                }
            }
            Expect::Node(n) => {
                for p in 0..x.len() {
                    note(
                        report,
                        *n,
                        p,
                        values[*n][p] as f64,
                        r[(p + 1) * d + c],
                        "value wire",
                    );
                }
            }
            Expect::Bit { node, bit, .. } => {
                for p in 0..x.len() {
                    let e = f64::from(u8::from((values[*node][p] >> bit) & 1 == 1));
                    note(report, *node, p, e, r[(p + 1) * d + c], "bit wire");
                }
            }
            Expect::Digit {
                node,
                offset,
                shift,
                bits,
                level,
            } => {
                for p in 0..x.len() {
                    let u = values[*node][p] + offset;
                    let digit = (u >> shift) & ((1i64 << bits) - 1);
                    let e = f64::from(u8::from(digit >= i64::from(*level)));
                    note(report, *node, p, e, r[(p + 1) * d + c], "digit flag");
                }
            }
            Expect::Zero(node) | Expect::NonZero(node) => {
                let want_zero = matches!(info.expect, Expect::Zero(_));
                for p in 0..x.len() {
                    let e = f64::from(u8::from((values[*node][p] == 0) == want_zero));
                    note(report, *node, p, e, r[(p + 1) * d + c], "flag wire");
                }
            }
            Expect::Read(_) if place.born == Some(s) => {
                for p in 0..x.len() {
                    let v = r[(p + 1) * d + c];
                    let e = v.round();
                    report.max_read_error = report.max_read_error.max((v - e).abs());
                }
            }
            Expect::Read(_) | Expect::Internal(_) => {}
        }
    }
    // Node forms: checked after the sublayer at which the last of their wires is written.
    for &n in due {
        let form = &model.lowered.nodes[n];
        if !form
            .terms
            .iter()
            .all(|&(w, _)| model.placement[w as usize].live_after(Some(s)))
        {
            continue;
        }
        let tolerance = base.max(
            form.terms
                .iter()
                .map(|&(w, c)| c.abs() * bound(w as usize))
                .sum(),
        );
        for p in 0..x.len() {
            let row = &r[(p + 1) * d..(p + 2) * d];
            let f = form.eval(|w| row[model.placement[w as usize].coord as usize]);
            note(report, tolerance, n, p, values[n][p] as f64, f, "node form");
        }
    }
}
