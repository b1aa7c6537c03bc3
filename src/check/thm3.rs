//! Theorem 3 checked (`proofs/thm3.md`): every library program's Theorem 1 schedule goes
//! MDM -> `mdm_to_ao` -> AO-MDM -> `ao_to_marm` -> Masked ARM, each run under its class; the AO
//! canvas equals the MDM's after every complete MDM step, the Masked ARM's records read back to
//! the AO canvas after every step, and the final canvas decodes to the interpreter's result.
//! The seq form of the hand-written AO-MDM reverse machine goes through the same second half.

use serde::Serialize;

use crate::compile::envelope::Layout;
use crate::compile::mdm_run::{read_final_mdm, timed};
use crate::compile::pram_to_mdm::{initial_canvas, pram_to_mdm, CompileError, CompileLimits};
use crate::machine::library::{reverse_canvas, reverse_input, ReverseFill, Schedule};
use crate::machine::{self, Canvas, ModelClass, Token};
use crate::pram::program::Program;
use crate::pram::{self, RunConfig};
use crate::seq::{Evaluator, Program as Seq, SeqStep, Word};
use crate::transform::{
    ao_canvas, ao_to_marm, marm_canvas, mdm_to_ao, mdm_view, read_back, reverse,
};

use super::mdm::{agreement, failed_checks, reason, uncompiled};
use super::verdict::{Check, Status};

/// The default of `--max-ao-work`: S x masks(x_0) position-steps of one row's AO run.
pub const MAX_AO_WORK: u64 = 1_000_000;

/// Extra attention layers `mdm_to_ao` adds (`proofs/thm3.md`).
pub const AO_EXTRA_LAYERS: usize = 2;
/// Extra map depth `mdm_to_ao` adds.
pub const AO_EXTRA_MAPS: usize = 12;
/// Extra attention layers `ao_to_marm` adds.
pub const MARM_EXTRA_LAYERS: usize = 2;
/// Extra map depth `ao_to_marm` adds.
pub const MARM_EXTRA_MAPS: usize = 8;
/// context <= MARM_C * S + MARM_D for the Masked ARM.
pub const MARM_C: u64 = 2;
/// See [`MARM_C`].
pub const MARM_D: u64 = 0;

/// (attention depth, map depth, nodes) of a program.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Depth {
    /// Attention layers.
    pub attention: usize,
    /// Longest map chain between attention layers.
    pub maps: usize,
    /// Operators.
    pub nodes: usize,
}

fn depth(p: &Seq) -> Depth {
    let s = p.shape();
    Depth {
        attention: s.attention_depth,
        maps: s.map_depth,
        nodes: s.nodes,
    }
}

/// A transformed program's attention and map depth against its source's plus the constants the
/// transformation may add (`proofs/thm3.md`).
fn depth_checks(
    (name, got): (&str, Depth),
    (source, base): (&str, Depth),
    (layers, maps): (usize, usize),
) -> [Check; 2] {
    let bound = |what: &str, g: usize, b: usize| {
        Check::at_most(
            &format!("{name} {what} depth"),
            g,
            &format!("{source} + "),
            b,
            true,
        )
    };
    [
        bound("attention", got.attention, base.attention + layers),
        bound("map", got.maps, base.maps + maps),
    ]
}

/// One Theorem 3 row.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Thm3Row {
    /// The program (`reverse-ao-mdm` for the hand-written machine).
    pub program: String,
    /// The size.
    pub n: i64,
    /// The input seed.
    pub seed: u64,
    /// `pass`, `fail` or `not-run`.
    pub status: Status,
    /// Why it did not pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The MDM / AO context S.
    pub context: u64,
    /// Masks of x_0: the positions to decode.
    pub masks: u64,
    /// MDM steps (None for the reverse machine, which starts as an AO-MDM).
    pub mdm_steps: Option<u64>,
    /// Complete MDM steps after which the AO canvas was compared with the MDM's, and agreed.
    pub mdm_steps_agreeing: u64,
    /// AO-MDM steps.
    pub ao_steps: Option<u64>,
    /// Masked ARM steps.
    pub marm_steps: Option<u64>,
    /// Masked ARM steps whose records read back to the AO canvas of the same step.
    pub marm_steps_agreeing: u64,
    /// The Masked ARM's context.
    pub marm_context: Option<u64>,
    /// f (the MDM's step function, or the hand-written AO one).
    pub f: Depth,
    /// f_AO (equal to f for the reverse machine).
    pub f_ao: Depth,
    /// f' (the Masked ARM's).
    pub f_marm: Depth,
    /// Whether the decoded result equals the interpreter's (or the reversed input).
    pub agree: Option<bool>,
    /// Seconds for the three runs.
    pub seconds: f64,
    /// Every check made.
    pub checks: Vec<Check>,
    /// What failed.
    pub problems: Vec<String>,
}

impl Thm3Row {
    fn new(program: &str, n: i64, seed: u64) -> Thm3Row {
        Thm3Row {
            program: program.to_string(),
            n,
            seed,
            status: Status::NotRun,
            reason: None,
            context: 0,
            masks: 0,
            mdm_steps: None,
            mdm_steps_agreeing: 0,
            ao_steps: None,
            marm_steps: None,
            marm_steps_agreeing: 0,
            marm_context: None,
            f: Depth::default(),
            f_ao: Depth::default(),
            f_marm: Depth::default(),
            agree: None,
            seconds: 0.0,
            checks: Vec::new(),
            problems: Vec::new(),
        }
    }
}

fn finish(mut row: Thm3Row, ran: bool, not_run: Option<String>) -> Thm3Row {
    row.problems = failed_checks(&row.checks);
    row.status = Status::of(ran, &row.problems);
    row.reason = reason(row.status, &row.problems, not_run);
    row
}

fn fail(what: String) -> Check {
    Check {
        what,
        evidence: true,
        held: false,
    }
}

fn held(what: String, ok: bool) -> Check {
    Check {
        what,
        evidence: true,
        held: ok,
    }
}

/// Runs `f_ao` as an AO-MDM from `x0`, keeping every canvas (x_0 first).
fn run_ao(
    f_ao: &Seq,
    x0: Vec<Token<Word>>,
    masks: usize,
    checks: &mut Vec<Check>,
) -> (machine::Run<Word>, Vec<Vec<Token<Word>>>) {
    let s = x0.len();
    let mut canvases = vec![x0.clone()];
    let config = machine::RunConfig::new(ModelClass::AoMdm)
        .max_steps(masks + 1)
        .max_length(s);
    let mut f = SeqStep::new(f_ao.clone(), Evaluator::Indexed);
    let run = machine::run_watched(&mut f, Canvas::new(x0), &config, &mut |_, c| {
        canvases.push(c.tokens().to_vec())
    });
    if let Some(e) = run.stop.error() {
        checks.push(fail(format!("the AO-MDM run failed: {e}")));
    }
    checks.push(held(
        format!(
            "AO-MDM steps {} = masks(x0) {} (one decoded position per step)",
            run.steps(),
            masks
        ),
        run.steps() == masks,
    ));
    (run, canvases)
}

/// Builds f' from `f_ao`, runs it as a Masked ARM and compares its records with every AO
/// canvas; returns the AO canvas the final Masked ARM canvas reads back to.
fn marm_stage(
    row: &mut Thm3Row,
    f_ao: &Seq,
    ao: &[Vec<Token<Word>>],
    checks: &mut Vec<Check>,
) -> Option<Vec<Token<Word>>> {
    let x0 = &ao[0];
    let s = x0.len();
    let f_marm = match ao_to_marm(f_ao, s) {
        Ok(p) => p,
        Err(e) => {
            checks.push(fail(format!("ao_to_marm: {e}")));
            return None;
        }
    };
    row.f_marm = depth(&f_marm);
    let added = (MARM_EXTRA_LAYERS, MARM_EXTRA_MAPS);
    checks.extend(depth_checks(
        ("f'", row.f_marm),
        ("f_AO's", row.f_ao),
        added,
    ));
    let fields = f_ao.fields;
    let y0 = marm_canvas(x0, fields);
    let records = y0.len() - s;
    let config = machine::RunConfig::new(ModelClass::MaskedArm)
        .max_steps(records + 1)
        .max_length(y0.len());
    let mut f = SeqStep::new(f_marm, Evaluator::Indexed);
    let mut agreeing = 0u64;
    let mut first_bad: Option<String> = None;
    let run = machine::run_watched(&mut f, Canvas::<Word, ()>::new(y0), &config, &mut |r, c| {
        let ok = match read_back(c.tokens(), s, fields) {
            Ok(v) => ao.get(r.step).is_some_and(|a| *a == v),
            Err(_) => false,
        };
        if ok {
            agreeing += 1;
        } else if first_bad.is_none() {
            first_bad = Some(format!(
                "Masked ARM step {}: the records do not read back to the AO canvas",
                r.step
            ));
        }
    });
    row.marm_steps = Some(run.steps() as u64);
    row.marm_context = Some(run.context_length() as u64);
    row.marm_steps_agreeing = agreeing;
    if let Some(e) = run.stop.error() {
        checks.push(fail(format!("the Masked ARM run failed: {e}")));
    }
    if let Some(bad) = first_bad {
        checks.push(fail(bad));
    }
    checks.push(held(
        format!(
            "Masked ARM steps {} = decoded positions {} (every step legal in the Masked ARM class, \
             its records read back to the AO canvas of the same step: {agreeing})",
            run.steps(),
            row.masks
        ),
        run.steps() as u64 == row.masks && agreeing == row.masks,
    ));
    let bound = MARM_C * s as u64 + MARM_D;
    checks.push(Check::at_most(
        "Masked ARM context",
        run.context_length() as u64,
        "2S + 0 = ",
        bound,
        true,
    ));
    let last = match read_back(run.last.tokens(), s, fields) {
        Ok(v) => v,
        Err(e) => {
            checks.push(fail(format!("the final Masked ARM canvas: {e}")));
            return None;
        }
    };
    let same = ao.last().is_some_and(|a| *a == last);
    checks.push(held(
        format!(
            "the final Masked ARM canvas reads back to {} the AO-MDM's final canvas",
            if same {
                "exactly"
            } else {
                "something other than"
            }
        ),
        same,
    ));
    Some(last)
}

/// Theorem 3 on one library program at one size: MDM -> AO-MDM -> Masked ARM.
pub fn check_thm3_case(
    program: &Program,
    config: &RunConfig,
    limits: &CompileLimits,
    max_ao_work: u64,
) -> Result<Thm3Row, CompileError> {
    let mut config = config.clone();
    config.max_cells = limits.max_cells;
    config.max_processors = limits.max_processors;
    let want = pram::run(program, &config).map_err(|e| CompileError::Setup(e.to_string()))?;
    let mut row = Thm3Row::new(&program.name, config.n, config.seed);
    if want.outcome.uncompiled_limit().is_some() {
        return Ok(finish(row, false, Some(uncompiled(&want.outcome))));
    }
    let compiled = match pram_to_mdm(program, config.n, limits) {
        Ok(c) => c,
        Err(e @ (CompileError::TooLarge(_) | CompileError::OverMemory(_))) => {
            return Ok(finish(row, false, Some(e.to_string())))
        }
        Err(e) => return Err(e),
    };
    let x0 = initial_canvas(&compiled, program, &config)?;
    let s = x0.len();
    let masks = x0.iter().filter(|t| t.is_mask()).count();
    row.context = s as u64;
    row.masks = masks as u64;
    let work = (s as u64).saturating_mul(masks as u64);
    if work > max_ao_work {
        return Ok(finish(
            row,
            false,
            Some(format!(
                "S x masks(x0) = {work} over --max-ao-work {max_ao_work}"
            )),
        ));
    }
    let ((), seconds) = timed(|| {
        let mut checks = Vec::new();
        ao_path(&mut row, &compiled.seq, x0, masks, &mut checks, |last| {
            let mdm = mdm_view(last);
            match read_final_mdm(&Layout::mdm(&compiled, program), &mdm) {
                Ok(d) => agreement("masked-arm", &d.outcome, &d.output, &d.metrics, &want),
                Err(e) => fail(format!("the read-back canvas cannot be decoded: {e}")),
            }
        });
        row.checks = checks;
    });
    row.seconds = seconds;
    Ok(finish(row, true, None))
}

/// The MDM run, `mdm_to_ao`, the AO run checked after every complete MDM step, then the Masked
/// ARM stage and `result` on the AO canvas it reads back to.
fn ao_path(
    row: &mut Thm3Row,
    f: &Seq,
    x0: Vec<Token<Word>>,
    masks: usize,
    checks: &mut Vec<Check>,
    result: impl FnOnce(&[Token<Word>]) -> Check,
) {
    let s = x0.len();
    row.f = depth(f);
    // The MDM itself, every canvas kept.
    let mut mdm_canvases = vec![x0.clone()];
    let mut unmasked = vec![0usize];
    let config = machine::RunConfig::new(ModelClass::Mdm)
        .max_steps(masks + 1)
        .max_length(s);
    let mut step = SeqStep::new(f.clone(), Evaluator::Indexed);
    let mdm = machine::run_watched(
        &mut step,
        Canvas::<Word, ()>::new(x0.clone()),
        &config,
        &mut |r, c| {
            mdm_canvases.push(c.tokens().to_vec());
            unmasked.push(unmasked.last().copied().unwrap_or(0) + r.counts.unmask as usize);
        },
    );
    row.mdm_steps = Some(mdm.steps() as u64);
    if let Some(e) = mdm.stop.error() {
        checks.push(fail(format!("the MDM run failed: {e}")));
        return;
    }
    let f_ao = match mdm_to_ao(f, s) {
        Ok(p) => p,
        Err(e) => {
            checks.push(fail(format!("mdm_to_ao: {e}")));
            return;
        }
    };
    row.f_ao = depth(&f_ao);
    let added = (AO_EXTRA_LAYERS, AO_EXTRA_MAPS);
    checks.extend(depth_checks(("f_AO", row.f_ao), ("f's", row.f), added));
    let (ao, ao_canvases) = run_ao(&f_ao, ao_canvas(&x0), masks, checks);
    row.ao_steps = Some(ao.steps() as u64);
    // After every complete MDM step t (the AO has decoded exactly the positions of steps 1..t),
    // the AO canvas stands for the MDM's x_t.
    let mut agreeing = 0u64;
    let mut first_bad = None;
    for (t, &k) in unmasked.iter().enumerate().skip(1) {
        let same = ao_canvases
            .get(k)
            .is_some_and(|c| mdm_view(c) == mdm_canvases[t]);
        if same {
            agreeing += 1;
        } else if first_bad.is_none() {
            first_bad = Some(t);
        }
    }
    row.mdm_steps_agreeing = agreeing;
    checks.push(held(
        match first_bad {
            None => format!(
                "the AO canvas equals the MDM's after each of its {} steps",
                mdm.steps()
            ),
            Some(t) => format!("after MDM step {t} the AO canvas differs from the MDM's"),
        },
        first_bad.is_none(),
    ));
    let Some(last) = marm_stage(row, &f_ao, &ao_canvases, checks) else {
        return;
    };
    let c = result(&last);
    row.agree = Some(c.held);
    checks.push(c);
}

/// Theorem 3's second half on the seq form of the hand-written AO-MDM reverse machine at size
/// n: its run equals `ReverseFill(RightToLeft)` step for step, then `ao_to_marm`.
pub fn check_reverse_case(n: usize) -> Thm3Row {
    let mut row = Thm3Row::new("reverse-ao-mdm", n as i64, 0);
    let ((), seconds) = timed(|| {
        let mut checks = Vec::new();
        let f = match reverse::reverse_ao_mdm(n) {
            Ok(f) => f,
            Err(e) => {
                checks.push(fail(format!("the reverse machine's seq form: {e}")));
                row.checks = checks;
                return;
            }
        };
        let input = reverse_input(n);
        let x0 = reverse::reverse_words(&input);
        row.context = x0.len() as u64;
        row.masks = n as u64;
        row.f = depth(&f);
        row.f_ao = row.f;
        let (ao, ao_canvases) = run_ao(&f, x0, n, &mut checks);
        row.ao_steps = Some(ao.steps() as u64);
        // The hand-written machine, step for step.
        let mut hand = vec![reverse_canvas(&input).tokens().to_vec()];
        let config = machine::RunConfig::new(ModelClass::AoMdm).max_steps(n + 1);
        machine::run_watched(
            &mut ReverseFill(Schedule::RightToLeft),
            reverse_canvas(&input),
            &config,
            &mut |_, c| hand.push(c.tokens().to_vec()),
        );
        let as_words = |x: &[Token<char>]| -> Vec<Token<Word>> {
            x.iter()
                .map(|t| match t {
                    Token::Mask => Token::Mask,
                    Token::Sym(c) if *c == crate::machine::library::SEPARATOR => {
                        Token::Sym(Word(vec![reverse::SEP, *c as i64]))
                    }
                    Token::Sym(c) => Token::Sym(Word(vec![reverse::INPUT, *c as i64])),
                })
                .collect()
        };
        let same = hand.len() == ao_canvases.len()
            && hand
                .iter()
                .zip(&ao_canvases)
                .all(|(h, a)| as_words(h) == *a);
        checks.push(held(
            format!(
                "the seq form's {} canvases equal the hand-written machine's {}",
                ao_canvases.len(),
                hand.len()
            ),
            same,
        ));
        if let Some(last) = marm_stage(&mut row, &f, &ao_canvases, &mut checks) {
            let out: String = last[n + 1..]
                .iter()
                .map(|t| match t {
                    Token::Sym(w) => char::from_u32(w.0[1] as u32).unwrap_or('?'),
                    Token::Mask => 'M',
                })
                .collect();
            let want: String = input.chars().rev().collect();
            row.agree = Some(out == want);
            checks.push(held(
                format!("the read-back output {out:?} is the reversed input {want:?}"),
                out == want,
            ));
        }
        row.checks = checks;
    });
    row.seconds = seconds;
    finish(row, true, None)
}

/// Every AO-MDM canvas and every Masked ARM canvas of one Theorem 3 run, for `trace --theorem 3`.
#[derive(Clone, Debug)]
pub struct SideBySide {
    /// The AO canvases, x_0 first (words carry the three tag fields).
    pub ao: Vec<Vec<Token<Word>>>,
    /// The Masked ARM canvases, its x_0 first.
    pub marm: Vec<Vec<Token<Word>>>,
    /// The MDM's context S.
    pub s: usize,
    /// Fields of the AO words (f's fields + 3).
    pub ao_fields: usize,
}

/// Runs MDM step function `f` from `x0` through `mdm_to_ao` and `ao_to_marm`, keeping every
/// canvas of both runs; refused when S x masks(x_0) exceeds `max_ao_work`.
pub fn side_by_side(f: &Seq, x0: Vec<Token<Word>>, max_ao_work: u64) -> Result<SideBySide, String> {
    let s = x0.len();
    let masks = x0.iter().filter(|t| t.is_mask()).count();
    let work = (s as u64).saturating_mul(masks as u64);
    if work > max_ao_work {
        return Err(format!(
            "S x masks(x0) = {work} is over --max-ao-work {max_ao_work}"
        ));
    }
    let f_ao = mdm_to_ao(f, s).map_err(|e| format!("mdm_to_ao: {e}"))?;
    let mut checks = Vec::new();
    let (ao_run, ao) = run_ao(&f_ao, ao_canvas(&x0), masks, &mut checks);
    if let Some(e) = ao_run.stop.error() {
        return Err(format!("the AO-MDM run failed: {e}"));
    }
    let f_marm = ao_to_marm(&f_ao, s).map_err(|e| format!("ao_to_marm: {e}"))?;
    let y0 = marm_canvas(&ao[0], f_ao.fields);
    let config = machine::RunConfig::new(ModelClass::MaskedArm)
        .max_steps(y0.len() - s + 1)
        .max_length(y0.len());
    let mut marm = vec![y0.clone()];
    let mut step = SeqStep::new(f_marm, Evaluator::Indexed);
    let run = machine::run_watched(
        &mut step,
        Canvas::<Word, ()>::new(y0),
        &config,
        &mut |_, c| marm.push(c.tokens().to_vec()),
    );
    if let Some(e) = run.stop.error() {
        return Err(format!("the Masked ARM run failed: {e}"));
    }
    Ok(SideBySide {
        ao,
        marm,
        s,
        ao_fields: f_ao.fields,
    })
}
