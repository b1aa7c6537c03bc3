//! `apmdm compile --target apmdm` and `apmdm trace --target apmdm`: one Theorem 4 schedule, run
//! and compared with the interpreter; the trace names each position's operation (unmask, remask,
//! insert, delete) and the header, memory cell or processor it serves.

use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use apmdm::check::apmdm::{check_apmdm_case_watched, ApmdmBounds, ApmdmRow};
use apmdm::check::verdict::Summary;
use apmdm::compile::apmdm_run::{current_header, run_apmdm};
use apmdm::compile::envelope::Envelope;
use apmdm::compile::pram_to_apmdm::{
    initial_canvas, phase, pram_to_apmdm_in, ApmdmCompiled, ApmdmMode,
};
use apmdm::compile::pram_to_mdm::{hf, kind, sf};
use apmdm::machine::{Canvas, StepRecord, Token};
use apmdm::pram::Program;
use apmdm::seq::{Evaluator, Word};

use super::compile::{print_seq_and_problems, CompileArgs, Loaded, TraceArgs};
use super::io::write_output;

pub fn compile(args: &CompileArgs, l: &Loaded) -> Result<ExitCode> {
    if args.emit_seq.is_some() || args.emit_canvas.is_some() {
        let compiled = pram_to_apmdm_in(&l.program, l.config.n, &l.limits, args.common.mode()?)?;
        let envelope = Envelope::apmdm(&compiled, &l.program, l.config.n);
        let canvas = || initial_canvas(&compiled, &l.program, &l.config);
        super::emit::write(args, &l.config, &envelope, canvas)?;
    }
    if args.emit_weights.is_some() {
        let compiled = pram_to_apmdm_in(&l.program, l.config.n, &l.limits, args.common.mode()?)?;
        let x0 = initial_canvas(&compiled, &l.program, &l.config)?;
        super::emit::weights(
            args,
            &compiled.seq,
            compiled.max_length,
            x0,
            apmdm::machine::ModelClass::ApMdm,
            compiled.max_steps,
            compiled.max_length,
        )?;
    }
    let bar = step_progress(args.json);
    let row = check_apmdm_case_watched(
        &l.program,
        &l.config,
        &l.limits,
        &ApmdmBounds::from_file(),
        u64::MAX,
        args.common.exec(),
        args.common.mode()?,
        &mut |bound| bar.set_length(bound),
        &mut |s: &apmdm::compile::apmdm_run::StepInfo| {
            bar.inc(1);
            if bar.position() % 1024 == 0 {
                bar.set_message(format!("round {}, length {}", s.round, s.length));
            }
        },
    )?;
    bar.finish_and_clear();
    if args.json {
        println!("{}", serde_json::to_string(&row)?);
    } else {
        print_row(&row);
    }
    Ok(ExitCode::from(Summary::of([row.status]).exit_code(false)))
}

/// A step counter on stderr for long runs (drawn only on a terminal, never with `--json`); its
/// total, the proof's steps bound, is set once the interpreter has run.
pub(super) fn step_progress(hidden: bool) -> ProgressBar {
    let bar = ProgressBar::no_length();
    bar.set_draw_target(if hidden {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    });
    if let Ok(style) =
        ProgressStyle::with_template("decoding step {pos}/{len} ({per_sec}, eta {eta}) {msg}")
    {
        bar.set_style(style);
    }
    bar
}

fn print_row(r: &ApmdmRow) {
    println!(
        "{} -> {} at n = {} (seed {}): {}",
        r.program,
        r.target,
        r.n,
        r.seed,
        r.status.label()
    );
    println!(
        "interpreter: T = {}, P = {}, W = {}, S = {}; outcome {}; {}",
        r.rounds, r.processors, r.work, r.space, r.outcome_detail, r.answer
    );
    let declared = r.layout == ApmdmMode::Declared;
    let steps_form = if declared {
        "3T + 2".to_string()
    } else {
        format!("3T + {} allocation steps + 2", r.allocation_steps)
    };
    let context_form = if declared {
        format!(
            "max(S_decl, static cells) + {} slots + 2, the declared layout (an identity)",
            r.slots
        )
    } else {
        format!("S + {} slots + 2", r.slots)
    };
    let (Some(steps), Some(context)) = (r.steps, r.context) else {
        println!(
            "not run ({}): nothing was checked; the proof predicts {} steps at most ({steps_form}) \
             and a peak context of {} ({context_form})",
            r.reason.as_deref().unwrap_or("-"),
            r.steps_bound,
            r.predicted_context.unwrap_or(r.context_bound),
        );
        return;
    };
    println!(
        "schedule ({} layout): {steps} steps (bound {steps_form} = {}), context {context} \
         (bound {context_form} = {}), initial {}",
        r.layout.name(),
        r.steps_bound,
        r.context_bound,
        r.initial
    );
    if declared {
        println!(
            "positions in use: at most {} (bound S + {} slots + 2 = {}, S the interpreter's)",
            r.context_used.unwrap_or(0),
            r.slots,
            r.context_used_bound
        );
    }
    println!(
        "every step within the space in use: {} of {steps} steps checked; agrees with the \
         interpreter: {}",
        r.steps_checked,
        if r.agree == Some(true) { "yes" } else { "NO" }
    );
    println!(
        "operations: {} unmask, {} remask, {} insert, {} delete",
        r.unmask, r.remask, r.insert, r.delete
    );
    super::compile::print_weights(r.weights.as_ref());
    print_seq_and_problems(
        [r.seq_nodes, r.seq_heads, r.seq_depth, r.map_depth, r.fields],
        [r.width_bits, r.width_declared, r.width_bound],
        r.seconds,
        &r.problems,
    );
}

/// What one position of x_{k-1} did in step k.
struct PositionOp {
    position: usize,
    op: &'static str,
    inserted: bool,
    serves: String,
    token: Option<Word>,
}

/// The operations of one step: every position that did more than keep or hold.
fn ops_of(
    c: &ApmdmCompiled,
    program: &Program,
    before: &Canvas<Word>,
    rec: &StepRecord<Word>,
) -> Vec<PositionOp> {
    let Some(detail) = &rec.detail else {
        return Vec::new();
    };
    let tokens = before.tokens();
    let len = tokens.len();
    let mut out = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        let bits = detail.bits.0[i];
        let y = &detail.y[i];
        let op = match (t, bits.delete, bits.remask) {
            (Token::Mask, true, _) => "delete",
            (Token::Mask, false, true) => "hold",
            (Token::Mask, false, false) => "unmask",
            (Token::Sym(_), _, true) => "remask",
            (Token::Sym(_), _, false) => "keep",
        };
        let inserted = bits.insert && !(t.is_mask() && bits.delete);
        if (op == "keep" || op == "hold") && !inserted {
            continue;
        }
        let serves = if i < 2 {
            "header".to_string()
        } else if i + c.slots >= len {
            format!("processor {}", i + c.slots - len)
        } else {
            let addr = match t {
                Token::Sym(w) => Some(w.0[1]),
                Token::Mask if op == "unmask" => Some(y.0[1]),
                Token::Mask => None,
            };
            addr.map_or_else(|| "memory cell".to_string(), |a| cell_name(c, program, a))
        };
        out.push(PositionOp {
            position: i,
            op,
            inserted,
            serves,
            token: (op == "unmask").then(|| y.clone()),
        });
    }
    out
}

/// `A[3] (cell 7)` for an address of a static array, `cell 12 (scoped)` above them.
fn cell_name(c: &ApmdmCompiled, program: &Program, addr: i64) -> String {
    c.places
        .iter()
        .find(|p| p.1 <= addr && addr < p.1 + p.2)
        .map_or_else(
            || format!("cell {addr} (scoped)"),
            |p| {
                let a = &program.arrays[p.0 as usize];
                if a.len.is_none() {
                    format!("{} (cell {addr})", a.name)
                } else {
                    format!("{}[{}] (cell {addr})", a.name, addr - p.1)
                }
            },
        )
}

fn short(w: &Word) -> String {
    let f = &w.0;
    match f[0] {
        // The header holds the round modulo `apmdm_round_modulus` (2^16 by default), not T.
        kind::HEADER => format!("H[pc{} st{} r{}]", f[hf::PC], f[hf::STATUS], f[hf::T]),
        kind::GIVEN => format!("@{}={}", f[1], f[2]),
        kind::SLOT => format!("r{}p{}", f[sf::ROUND], f[sf::PID]),
        _ => "?".into(),
    }
}

pub fn trace(args: &TraceArgs, l: &Loaded) -> Result<ExitCode> {
    let compiled = pram_to_apmdm_in(&l.program, l.config.n, &l.limits, args.common.mode()?)?;
    // The trace keeps every canvas: the proof's step bound times its peak context sizes them
    // (from the interpreter's T, space profile and S; the runner holds the columns' ceiling
    // whatever the canvas does).
    let (want, space) = apmdm::check::apmdm::profile(&l.program, &l.config)?;
    let sb = ApmdmBounds::from_file().steps;
    let tight = compiled.mode == ApmdmMode::Tight;
    let steps = (sb.a as u64)
        .saturating_mul(want.metrics.rounds)
        .saturating_add(if tight { space.allocation_steps() } else { 0 })
        .saturating_add(sb.b as u64);
    let memory = if tight {
        want.metrics.space
    } else {
        compiled.region as u64
    };
    let peak = memory
        .saturating_add(compiled.slots as u64)
        .saturating_add(2);
    apmdm::compile::memory::check(
        &compiled.seq,
        peak,
        steps.saturating_add(1),
        l.limits.max_memory,
    )?;
    let (report, run) = match args.common.exec().executor {
        apmdm::check::weights::Executor::Seq => {
            run_apmdm(&compiled, &l.program, &l.config, Evaluator::Indexed, true)?
        }
        e @ (apmdm::check::weights::Executor::Weights
        | apmdm::check::weights::Executor::WeightsF32) => {
            let (mut f, _) = apmdm::check::weights::realize_as(
                &compiled.seq,
                compiled.max_length,
                args.common.max_weights_length,
                e,
            )
            .map_err(anyhow::Error::msg)?;
            let x0 = initial_canvas(&compiled, &l.program, &l.config)?;
            // A step of the weights executor can take seconds: progress on a terminal.
            let bar = step_progress(false);
            bar.set_length(steps.saturating_add(1));
            let out = apmdm::compile::apmdm_run::run_apmdm_with(
                &compiled,
                &l.program,
                Canvas::new(x0),
                &mut f,
                true,
                &mut |_| bar.inc(1),
            );
            bar.finish_and_clear();
            let out = out?;
            super::compile::weights_trace_summary(&f)?;
            out
        }
    };
    if args.html.is_some() && report.context > args.max_html {
        bail!(
            "the canvas reaches {} positions, above --max-html {}; use --jsonl, or a smaller --n",
            report.context,
            args.max_html
        );
    }
    let states = run.trace.states().context("the run kept no full trace")?;
    let describe = |w: &Word| (short(w), Some(token_serves(&compiled, &l.program, w)));
    let mut header =
        super::compile::schedule_header(&args.common, l, apmdm::machine::ModelClass::ApMdm)?;
    let slots = compiled.slots as i64;
    header.regions = vec![
        apmdm::view::Region {
            role: "header".into(),
            start: 0,
            end: Some(2),
        },
        apmdm::view::Region {
            role: "slot".into(),
            start: -slots,
            end: None,
        },
        apmdm::view::Region {
            role: "cell".into(),
            start: 2,
            end: Some(-slots),
        },
    ];
    header.bound = Some(apmdm::view::format::Bounds {
        steps,
        context: peak,
    });
    header.initial = Some(apmdm::view::format::initial_of(states[0], &describe));
    let mut file = apmdm::view::TraceFile {
        header,
        steps: Vec::new(),
        rounds: super::compile::interpreter_rounds(&l.program, &l.config)?,
        origin: apmdm::view::Origin::Format1,
    };
    for (k, rec) in run.trace.records.iter().enumerate() {
        let before = states[k];
        let after = states[k + 1];
        let ph =
            |x: &Canvas<Word>| current_header(x.tokens()).map_or(0, |h| h.0[compiled.phase_field]);
        let round = current_header(before.tokens()).map_or(0, |h| h.0[hf::T]);
        let mut line = apmdm::view::step_line(before, rec, &describe)
            .context("a recorded step that g does not apply")?;
        // T and the phase after the step, as the runner reports them.
        if let Some(info) = report.per_step.get(k) {
            line.round = Some(info.round);
            line.phase = Some(phase::name(info.phase).to_string());
        }
        file.steps.push(line);
        if args.jsonl.is_none() && args.html.is_none() {
            let ops = ops_of(&compiled, &l.program, before, rec);
            let shown: Vec<String> = ops
                .iter()
                .take(args.max_shown)
                .map(|o| {
                    let mut s = format!("{}:{} {}", o.position, o.op, o.serves);
                    if let Some(t) = &o.token {
                        s.push_str(&format!(" {}", short(t)));
                    }
                    if o.inserted {
                        s.push_str(" +insert");
                    }
                    s
                })
                .collect();
            println!(
                "step {} [{} -> {}, round {round}, length {} -> {}]\n  {}",
                rec.step,
                phase::name(ph(before)),
                phase::name(ph(after)),
                before.len(),
                rec.length,
                shown.join("; ")
            );
        }
    }
    if let Some(path) = &args.html {
        let html = apmdm::view::render(&file, args.max_page_bytes)?;
        write_output(path, html.as_bytes())?;
        println!("{} steps rendered to {}", run.steps(), path.display());
    }
    if let Some(path) = &args.jsonl {
        write_output(path, file.to_jsonl().as_bytes())?;
        println!(
            "{} steps written to {} (peak {} positions, outcome {})",
            run.steps(),
            path.display(),
            report.context,
            report.outcome
        );
    } else if args.html.is_none() {
        println!(
            "outcome {}; output {}",
            report.outcome,
            apmdm::check::mdm::output_words(&report.output)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// What a decoded token serves: the control header, a memory cell by name, or a processor.
fn token_serves(c: &ApmdmCompiled, program: &Program, w: &Word) -> String {
    let f = &w.0;
    match f[0] {
        kind::HEADER => "header".into(),
        kind::GIVEN => cell_name(c, program, f[1]),
        kind::SLOT => format!("processor {} of round {}", f[sf::PID], f[sf::ROUND]),
        _ => String::new(),
    }
}
