//! `apmdm compile` and `apmdm trace`: one compiled schedule, run and compared with the interpreter.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::json;

use apmdm::check::mdm::{check_case_watched, MdmBounds, Row};
use apmdm::check::verdict::Summary;
use apmdm::check::weights::{Executor, ExecutorOptions};
use apmdm::compile::cfg::{Cfg, Node, RoundKind};
use apmdm::compile::envelope::Envelope;
use apmdm::compile::mdm_run::{run_mdm, run_with};
use apmdm::compile::pram_to_mdm::{
    hf, initial_canvas, kind, pram_to_mdm, sf, CompileLimits, MdmCompiled,
};
use apmdm::machine::{Canvas, ModelClass, Token};
use apmdm::pram::{self, Program, RunConfig};
use apmdm::seq::{Evaluator, Word};

use super::io::write_output;
use super::run::{load_source, read_inputs};

/// Options shared by `compile` and `trace`.
#[derive(Debug, Args)]
pub struct Common {
    /// A `.pram` file, or the name of a built-in program (e.g. `prefix_sum`).
    pub program: String,
    /// The construction: `mdm` (Theorem 1) or `apmdm` (Theorem 4).
    #[arg(long, default_value = "mdm", value_parser = ["mdm", "apmdm"])]
    pub target: String,
    /// The size n.
    #[arg(long, default_value_t = 8)]
    pub n: i64,
    /// Seed of generated inputs and of CRCW-arbitrary winners.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// A JSON file of inputs: an object mapping input names to numbers or arrays (inputs it does
    /// not name are generated from --seed).
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// The longest canvas built (longer ones are reported, exactly, as not materialized).
    #[arg(long, default_value_t = 1 << 22)]
    pub max_length: usize,
    /// The most memory a run may hold, in bytes (suffixes K, M, G, T: powers of 1024), checked
    /// against an estimate before anything is allocated.
    #[arg(long, default_value = "4G", value_parser = super::memory_size)]
    pub max_memory: u64,
    /// What runs the step function: `seq` (the seq evaluator), `weights` (the hand-set
    /// Transformer, f64, checked against the seq evaluator at every sublayer and step) or
    /// `weights-f32` (the same Transformer in f32 on the kernel layer's cpu backend, its
    /// proposals driving the run and compared at every step; the f64 shadow beside it).
    #[arg(long, default_value = "seq", value_parser = ["seq", "weights", "weights-f32"])]
    pub executor: String,
    /// The longest canvas the weights are built for (longer rows are not run).
    #[arg(long, default_value_t = apmdm::check::weights::MAX_WEIGHTS_LENGTH)]
    pub max_weights_length: usize,
    /// The AP-MDM layout (`--target apmdm` only): `declared` (the theorem's form: memory laid
    /// out for the declared space, steps <= 3T + 2) or `tight` (memory follows the space in use;
    /// allocations take GROW and DELETE steps). Default: declared.
    #[arg(long, value_parser = ["declared", "tight"])]
    pub layout: Option<String>,
}

impl Common {
    /// The AP-MDM layout these flags name; an error with `--target mdm`, whose layout is fixed
    /// by the declared bounds.
    pub fn mode(&self) -> Result<apmdm::compile::pram_to_apmdm::ApmdmMode> {
        use apmdm::compile::pram_to_apmdm::ApmdmMode;
        match self.layout.as_deref() {
            Some(_) if self.target != "apmdm" => {
                anyhow::bail!("--layout chooses an AP-MDM layout: give it with --target apmdm")
            }
            Some(s) => Ok(ApmdmMode::parse(s).unwrap_or_default()),
            None => Ok(ApmdmMode::Declared),
        }
    }

    /// The executor options these flags name.
    pub fn exec(&self) -> ExecutorOptions {
        ExecutorOptions {
            executor: Executor::parse(&self.executor).unwrap_or_default(),
            max_weights_length: self.max_weights_length,
        }
    }
}

/// Options of `apmdm compile`.
#[derive(Debug, Args)]
#[command(
    after_help = "The row is PASS (compiled, run, every check held), FAIL, or NOT RUN (its canvas \
is over --max-length: nothing checked; the exact length is printed as a prediction). Exit codes: \
0 = pass; 1 = a check failed (a disagreement with the interpreter, a bound, or the program's own \
declared bound exceeded); 2 = a usage, input or I/O error; 3 = not run."
)]
pub struct CompileArgs {
    #[command(flatten)]
    pub common: Common,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Write the compiled step function to this file: a format-1 envelope (JSON: the seq program
    /// and the layout its result is read with, docs/envelope.md), the same bytes for every seed
    /// and input; `apmdm step` runs it.
    #[arg(long)]
    pub emit_seq: Option<PathBuf>,
    /// Write the initial canvas to this file (JSON: a format-1 canvas file, words as lists of
    /// integers, masks as null).
    #[arg(long)]
    pub emit_canvas: Option<PathBuf>,
    /// Write the hand-set weights to this folder: `model.safetensors`, `config.json`,
    /// `layout.json` (docs/weights.md), the same bytes for every seed and input, and
    /// `probe.json` (the first --probe-steps canvases of this run with the seq evaluator's
    /// proposals, for independent loaders).
    #[arg(long)]
    pub emit_weights: Option<PathBuf>,
    /// The most bytes --emit-weights writes (model.safetensors, config.json and layout.json
    /// together; checked before anything is written).
    #[arg(long, default_value_t = 1 << 30)]
    pub max_export_bytes: u64,
    /// How model.safetensors stores each weight matrix: `coo` (the non-zero weights with their
    /// row and column), `sparse` (compressed rows of the non-zero weights) or `dense` (the
    /// uniform shape), docs/weights.md.
    #[arg(long, value_enum, default_value_t = apmdm::weights::export::Storage::Coo)]
    pub weights_storage: apmdm::weights::export::Storage,
    /// Canvases written to `probe.json` with --emit-weights.
    #[arg(long, default_value_t = 4)]
    pub probe_steps: usize,
}

/// Options of `apmdm trace`.
#[derive(Debug, Args)]
pub struct TraceArgs {
    #[command(flatten)]
    pub common: Common,
    /// Write one JSON record per decoding step to this file.
    #[arg(long)]
    pub jsonl: Option<PathBuf>,
    /// Write the step-through page to this file (the page `apmdm view` writes); canvases
    /// longer than --max-html positions are refused.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// The longest canvas rendered as HTML.
    #[arg(long, default_value_t = 4000)]
    pub max_html: usize,
    /// The largest page --html writes, in bytes (suffixes K, M, G: powers of 1024).
    #[arg(long, default_value = "50000000", value_parser = super::memory_size)]
    pub max_page_bytes: u64,
    /// Print at most this many positions per step in the text rendering.
    #[arg(long, default_value_t = 400)]
    pub max_shown: usize,
    /// `3`: the Theorem 3 path instead (MDM -> AO-MDM -> Masked ARM), the AO canvas and the
    /// Masked ARM canvas side by side after every step.
    #[arg(long, value_parser = ["3"])]
    pub theorem: Option<String>,
}

/// A parsed program with its run configuration and compile limits.
pub struct Loaded {
    pub program: Program,
    /// The program's source text (for trace headers).
    pub source: String,
    pub config: RunConfig,
    pub limits: CompileLimits,
}

pub fn load(c: &Common) -> Result<Loaded> {
    if c.n < 1 {
        bail!("--n must be at least 1 (got {})", c.n);
    }
    let (file, source) = load_source(&c.program)?;
    let program = pram::parse(&file, &source)?;
    let mut config = RunConfig::new(c.n);
    config.seed = c.seed;
    if let Some(path) = &c.input {
        config.inputs = read_inputs(path)?;
    }
    let limits = CompileLimits {
        max_length: c.max_length,
        max_memory: c.max_memory,
        ..CompileLimits::default()
    };
    Ok(Loaded {
        program,
        source,
        config,
        limits,
    })
}

pub fn compile(args: CompileArgs) -> Result<ExitCode> {
    let l = load(&args.common)?;
    // --layout names an AP-MDM layout: an error with --target mdm.
    args.common.mode()?;
    if args.common.target == "apmdm" {
        return super::compile_apmdm::compile(&args, &l);
    }
    if args.emit_seq.is_some() || args.emit_canvas.is_some() {
        let compiled = pram_to_mdm(&l.program, l.config.n, &l.limits)?;
        let envelope = Envelope::mdm(&compiled, &l.program, l.config.n);
        let canvas = || initial_canvas(&compiled, &l.program, &l.config);
        super::emit::write(&args, &l.config, &envelope, canvas)?;
    }
    if args.emit_weights.is_some() {
        let compiled = pram_to_mdm(&l.program, l.config.n, &l.limits)?;
        let x0 = initial_canvas(&compiled, &l.program, &l.config)?;
        let steps = compiled.regions.header_count + 2;
        super::emit::weights(
            &args,
            &compiled.seq,
            compiled.regions.length,
            x0,
            ModelClass::Mdm,
            steps,
            compiled.regions.length,
        )?;
    }
    let bar = super::compile_apmdm::step_progress(args.json);
    bar.set_message("compiling the schedule");
    let row = check_case_watched(
        &l.program,
        &l.config,
        &l.limits,
        &MdmBounds::from_file(),
        u64::MAX,
        None,
        args.common.exec(),
        &mut |bound| bar.set_length(bound),
        &mut |proposal| {
            if proposal == 1 {
                bar.set_message("");
            }
            bar.set_position((proposal as u64).min(bar.length().unwrap_or(u64::MAX)));
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

fn print_row(r: &Row) {
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
    let (Some(steps), Some(context), Some(used)) = (r.steps, &r.context, r.context_used) else {
        println!(
            "not run ({}): nothing was checked; the layout predicts a canvas of {} positions \
             (exact; bounds: paper {}, work {})",
            r.reason.as_deref().unwrap_or("-"),
            r.predicted_context.as_deref().unwrap_or("-"),
            r.context_bound_paper,
            r.context_bound_work
        );
        for p in &r.problems {
            println!("problem: {p}");
        }
        return;
    };
    println!(
        "schedule: {steps} steps (bound {}), context {context} (laid-out; identities: paper \
         bound {}, work bound {}), used {used} (bound {})",
        r.steps_bound, r.context_bound_paper, r.context_bound_work, r.context_used_bound
    );
    println!(
        "agrees with the interpreter: {}; operations: {} unmask, {} hold",
        if r.agree == Some(true) { "yes" } else { "NO" },
        r.unmask,
        r.hold
    );
    print_weights(r.weights.as_ref());
    print_seq_and_problems(
        [r.seq_nodes, r.seq_heads, r.seq_depth, r.map_depth, r.fields],
        [r.width_bits, r.width_declared, r.width_bound],
        r.seconds,
        &r.problems,
    );
}

/// After a trace driven by the weights: their summary on stderr, and an error when any step
/// differed from the seq evaluator (the trace then shows the weights' run, up to where it ran).
pub fn weights_trace_summary(f: &apmdm::weights::WeightsStep) -> Result<()> {
    let r = &f.report;
    eprintln!(
        "weights ({}): {} of {} steps equal to the seq evaluator at every position; exact values \
         (f64 shadow) off by at most {:e}; attention reads within {:.3e} of a bit",
        if f.f32.is_some() { "f32" } else { "f64" },
        r.agreeing_steps,
        r.steps,
        r.max_exact_deviation,
        r.max_read_error
    );
    if let Some(m) = &f.f32 {
        eprintln!(
            "f32: smallest margin {} ({}); {:.3} s in f32 forward passes",
            m.report
                .min_margin
                .map_or("-".to_string(), |x| format!("{x:.3e}")),
            m.report.site.as_ref().map_or("-".to_string(), |s| format!(
                "step {}, {}, position {}: f32 {} vs f64 {}",
                s.step,
                s.what,
                s.position.map_or("sink".to_string(), |p| p.to_string()),
                s.found,
                s.exact
            )),
            m.report.seconds
        );
    }
    if let Some(m) = &r.first_mismatch {
        bail!(
            "the weights' proposal differs from the seq evaluator's at step {}, position {}, {}: {} (seq {})",
            m.step,
            m.position,
            m.field,
            m.found,
            m.expected
        );
    }
    if let Some(d) = &r.first_deviation {
        bail!(
            "node {} deviates at step {} after sublayer {} at position {}: {} (seq {})",
            d.node,
            d.step,
            d.sublayer,
            d.position,
            d.found,
            d.expected
        );
    }
    Ok(())
}

/// The hand-set weights' shape and what the shadow check measured (rows run by the weights).
pub fn print_weights(w: Option<&apmdm::check::weights::WeightsRow>) {
    let Some(w) = w else {
        return;
    };
    println!(
        "weights: d_model {}, {} layers, {} heads x d_head {}, d_ff {}; {} parameters at the \
         uniform shape ({} non-zero); built in {:.3} s, {:.3} s per step (f64, sparse)",
        w.d_model,
        w.layers,
        w.heads,
        w.d_head,
        w.d_ff,
        w.parameters,
        w.nonzero,
        w.build_seconds,
        w.step_seconds
    );
    println!(
        "weights vs seq evaluator: {} of {} steps equal at every position; exact values off by \
         at most {:e} ({} comparisons); attention reads within {:.3e} of a bit (proved bound \
         {:.3e})",
        w.agreeing_steps,
        w.steps,
        w.max_exact_deviation,
        w.comparisons,
        w.max_read_error,
        w.read_bound
    );
    match (&w.noise_tolerance, &w.noise_limit) {
        (Some(t), _) => println!("derived relative weight-noise tolerance: 2^{}", t.log2()),
        (None, Some(why)) => println!("no derived weight-noise tolerance: {why}"),
        (None, None) => {}
    }
    println!(
        "shape: dense F32 {} bytes; {} parameters at each layer's own heads and MLP width; most \
         heads in layer {}, widest MLP in layer {}; mean {:.1} heads and {:.1} units per layer",
        w.f32_bytes,
        w.per_layer_parameters,
        w.widest_heads_layer,
        w.widest_mlp_layer,
        w.mean_heads,
        w.mean_units
    );
    if let Some(status) = &w.f32_status {
        println!(
            "f32 (kernels, cpu): {status}; {:.3} s per step",
            w.f32_step_seconds.unwrap_or(0.0)
        );
        if let Some(s) = &w.f32_margin_site {
            println!(
                "  smallest margin at step {}, {}, position {}: f32 {} vs f64 {}",
                s.step,
                s.what,
                s.position.map_or("sink".to_string(), |p| p.to_string()),
                s.found,
                s.exact
            );
        }
        if let Some(s) = &w.f32_first_violation {
            println!(
                "  first margin <= 0 at step {}, sublayer {}, {}, position {}: f32 {} vs f64 {}",
                s.step,
                s.sublayer.map_or("read-out".to_string(), |x| x.to_string()),
                s.what,
                s.position.map_or("sink".to_string(), |p| p.to_string()),
                s.found,
                s.exact
            );
        }
        if let Some(why) = &w.f32_bound_failure {
            println!("  not proved: {why}");
        }
    }
}

/// The seq program's size (operators, heads, attention depth, map depth, fields), its widths
/// (widest value, widest declared range, bound) and time, then each problem of the row.
pub fn print_seq_and_problems(
    shape: [usize; 5],
    widths: [u32; 3],
    seconds: f64,
    problems: &[String],
) {
    let [nodes, heads, depth, maps, fields] = shape;
    let [widest, declared, bound] = widths;
    println!(
        "seq program: {nodes} operators, {heads} attention heads, attention depth {depth}, map \
         depth {maps}, {fields} fields per token; widest value {widest} bits (declared \
         {declared}, bound {bound}); {seconds:.3} s"
    );
    for p in problems {
        println!("problem: {p}");
    }
}

pub fn trace(args: TraceArgs) -> Result<ExitCode> {
    let l = load(&args.common)?;
    // --layout names an AP-MDM layout: an error with --target mdm.
    args.common.mode()?;
    if args.theorem.is_some() {
        let work = apmdm::check::thm3::MAX_AO_WORK;
        super::check_thm32::trace_theorem3(&l.program, &l.config, &l.limits, work)?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.common.target == "apmdm" {
        return super::compile_apmdm::trace(&args, &l);
    }
    let compiled = pram_to_mdm(&l.program, l.config.n, &l.limits)?;
    // The trace keeps every canvas of the run (one per step, and the first).
    let kept = compiled.regions.header_count as u64 + 3;
    apmdm::compile::memory::check(
        &compiled.seq,
        compiled.regions.length as u64,
        kept,
        l.limits.max_memory,
    )?;
    if args.html.is_some() && compiled.regions.length > args.max_html {
        bail!(
            "the canvas has {} positions, above --max-html {}; use --jsonl, or a smaller --n",
            compiled.regions.length,
            args.max_html
        );
    }
    let (report, run) = match args.common.exec().executor {
        Executor::Seq => run_mdm(&compiled, &l.program, &l.config, Evaluator::Indexed, true)?,
        e @ (Executor::Weights | Executor::WeightsF32) => {
            let (mut f, _) = apmdm::check::weights::realize_as(
                &compiled.seq,
                compiled.regions.length,
                args.common.max_weights_length,
                e,
            )
            .map_err(anyhow::Error::msg)?;
            let x0 = initial_canvas(&compiled, &l.program, &l.config)?;
            // A step of the weights executor can take seconds: progress on a terminal.
            let bar = super::compile_apmdm::step_progress(false);
            bar.set_length(compiled.regions.header_count as u64 + 1);
            let mut watch = |p: usize| bar.set_position(p as u64);
            let mut watched = apmdm::check::mdm::Watched::new(&mut f, &mut watch);
            let out = run_with(&compiled, &l.program, Canvas::new(x0), &mut watched, true);
            bar.finish_and_clear();
            let out = out?;
            weights_trace_summary(&f)?;
            out
        }
    };
    let states = run.trace.states().context("the run kept no full trace")?;
    let rounds = round_sources(&l.program, run.last.tokens());
    let describe = |w: &Word| {
        let t = Token::Sym(w.clone());
        let serves = serves(&compiled, &l.program, &rounds, Some(&t));
        (
            short(&compiled, &l.program, &rounds, &t),
            Some(serves_text(&serves)),
        )
    };
    let mut header = schedule_header(&args.common, &l, ModelClass::Mdm)?;
    header.regions = mdm_regions(&compiled);
    let sb = MdmBounds::from_file().steps;
    header.bound = Some(apmdm::view::format::Bounds {
        steps: (sb.a as u64)
            .saturating_mul(report.metrics.rounds)
            .saturating_add(sb.b as u64),
        context: compiled.regions.length as u64,
    });
    header.initial = Some(apmdm::view::format::initial_of(states[0], &describe));
    let mut file = apmdm::view::TraceFile {
        header,
        steps: Vec::new(),
        rounds: interpreter_rounds(&l.program, &l.config)?,
        origin: apmdm::view::Origin::Format1,
    };
    for (k, rec) in run.trace.records.iter().enumerate() {
        let before = states[k];
        let after = states[k + 1];
        let mut line = apmdm::view::step_line(before, rec, &describe)
            .context("a recorded step that g does not apply")?;
        // The round a step serves: the highest round of a slot it decodes, else the ordinal
        // of the header it decodes (header j stands after round j - 1).
        line.round = before
            .tokens()
            .iter()
            .zip(after.tokens())
            .filter(|(a, _)| a.is_mask())
            .filter_map(|(_, b)| match b {
                Token::Sym(w) if w.0[0] == kind::SLOT => Some(w.0[sf::ROUND]),
                _ => None,
            })
            .max()
            .and_then(|r| u64::try_from(r).ok());
        file.steps.push(line);
        if args.jsonl.is_none() && args.html.is_none() {
            print_step(
                &compiled,
                &l.program,
                &rounds,
                rec.step,
                before,
                after,
                args.max_shown,
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
            "{} steps written to {} ({} positions, outcome {})",
            run.steps(),
            path.display(),
            compiled.regions.length,
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

/// The header of a schedule trace: program, source, n, seed, target, layout, registers.
pub fn schedule_header(c: &Common, l: &Loaded, class: ModelClass) -> Result<apmdm::view::Header> {
    let mut h = apmdm::view::Header::new("schedule");
    h.class = Some(class);
    h.program = Some(l.program.name.clone());
    h.source = Some(l.source.clone());
    h.n = Some(l.config.n);
    h.seed = Some(l.config.seed);
    h.target = Some(c.target.clone());
    if c.target == "apmdm" {
        h.layout = Some(c.mode()?.name().to_string());
    }
    h.registers = l.program.registers.clone();
    Ok(h)
}

/// The interpreter's round records of the same run (the state the viewer shows per round).
pub fn interpreter_rounds(
    program: &Program,
    config: &RunConfig,
) -> Result<Vec<apmdm::view::RoundLine>> {
    let mut rounds = Vec::new();
    let mut sink = |r: pram::TraceRound| rounds.push(apmdm::view::RoundLine::of(&r));
    pram::run_traced(program, config, Some(&mut sink))?;
    Ok(rounds)
}

/// The MDM canvas's regions, in position order.
fn mdm_regions(c: &MdmCompiled) -> Vec<apmdm::view::Region> {
    let r = &c.regions;
    let mut starts = [
        ("start", 0usize),
        ("given", r.given),
        ("header", r.headers),
        ("slot", r.slots),
        ("output", r.outputs),
        ("pad", r.outputs + r.output_count),
    ];
    starts.sort_by_key(|s| s.1);
    let mut out = Vec::new();
    for (i, (role, start)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(r.length, |s| s.1);
        if end > *start {
            out.push(apmdm::view::Region {
                role: (*role).to_string(),
                start: *start as i64,
                end: Some(end as i64),
            });
        }
    }
    out
}

/// A `serves` value in one line: `round 2, processor 1, line 21 (pardo)`, `header 3`, ...
fn serves_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(m) => m
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k} {s}"),
                other => format!("{k} {other}"),
            })
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

/// What a decoded token stands for: the round, processor and source line of a slot, the round
/// of a header, or the cell of an output.
/// Round number -> (source line, statement kind) of the round node it ran, read off the headers.
fn round_sources(program: &Program, tokens: &[Token<Word>]) -> BTreeMap<i64, (u32, &'static str)> {
    let cfg = Cfg::of(program);
    tokens
        .iter()
        .filter_map(|t| match t {
            Token::Sym(w) if w.0[0] == kind::HEADER && w.0[hf::PC] > 0 => {
                let node = *cfg.rounds.get(w.0[hf::PC] as usize - 1)?;
                let Node::Round { kind, line, .. } = &cfg.nodes[node] else {
                    return None;
                };
                let what = match kind {
                    RoundKind::Assign { .. } => "assign",
                    RoundKind::Test(_) => "test",
                    RoundKind::ForTest(_) => "for-test",
                    RoundKind::Pardo(_) => "pardo",
                };
                Some((w.0[hf::ORD], (*line, what)))
            }
            _ => None,
        })
        .collect()
}

fn serves(
    c: &MdmCompiled,
    program: &Program,
    rounds: &BTreeMap<i64, (u32, &'static str)>,
    t: Option<&Token<Word>>,
) -> serde_json::Value {
    let Some(Token::Sym(w)) = t else {
        return json!(null);
    };
    let f = &w.0;
    match f[0] {
        kind::HEADER => json!({
            "header": f[hf::ORD], "status": f[hf::STATUS], "program_counter": f[hf::PC],
            "rounds": f[hf::T], "work": f[hf::W],
        }),
        kind::SLOT => {
            let (line, what) = rounds.get(&f[sf::ROUND]).copied().unwrap_or((0, "?"));
            json!({"round": f[sf::ROUND], "processor": f[sf::PID], "line": line, "statement": what})
        }
        kind::OUTPUT => {
            let addr = f[1];
            let cell = c
                .outputs
                .iter()
                .find(|o| o.1 <= addr && addr < o.1 + o.2)
                .map(|o| format!("{}[{}]", program.arrays[o.0 as usize].name, addr - o.1));
            json!({"output": cell})
        }
        kind::PAD => json!("pad"),
        _ => json!(null),
    }
}

fn short(
    c: &MdmCompiled,
    program: &Program,
    rounds: &BTreeMap<i64, (u32, &'static str)>,
    t: &Token<Word>,
) -> String {
    match t {
        Token::Mask => apmdm::machine::MASK_TEXT.to_string(),
        Token::Sym(w) => {
            let f = &w.0;
            match f[0] {
                kind::HEADER => format!("H{}[pc{} st{}]", f[hf::ORD], f[hf::PC], f[hf::STATUS]),
                kind::GIVEN => format!("in@{}={}", f[1], f[2]),
                kind::SLOT => {
                    let writes: Vec<String> = (0..c.write_sites)
                        .filter_map(|s| {
                            let b = sf::WRITES + sf::PER_WRITE * s;
                            (f[b] >= 0).then(|| {
                                let a = program
                                    .arrays
                                    .get(f[b + 3] as usize)
                                    .map_or("?", |a| a.name.as_str());
                                format!("{a}[{}]:={}", f[b + 4], f[b + 1])
                            })
                        })
                        .collect();
                    let (line, what) = rounds.get(&f[sf::ROUND]).copied().unwrap_or((0, "?"));
                    let test = if what.ends_with("test") {
                        format!(" test={}", f[sf::BRANCH])
                    } else {
                        String::new()
                    };
                    format!(
                        "r{}p{}[{what} line {line}{test}]{{{}}}",
                        f[sf::ROUND],
                        f[sf::PID],
                        writes.join(",")
                    )
                }
                kind::OUTPUT => format!("out@{}={}", f[1], f[2]),
                kind::PAD => "_".into(),
                _ => "?".into(),
            }
        }
    }
}

fn print_step(
    c: &MdmCompiled,
    program: &Program,
    rounds: &BTreeMap<i64, (u32, &'static str)>,
    step: usize,
    before: &Canvas<Word>,
    after: &Canvas<Word>,
    max_shown: usize,
) {
    let changed: Vec<String> = before
        .tokens()
        .iter()
        .zip(after.tokens())
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .take(max_shown)
        .map(|(i, (_, b))| format!("{i}:{}", short(c, program, rounds, b)))
        .collect();
    let masks = after.tokens().iter().filter(|t| t.is_mask()).count();
    println!(
        "step {step}: {} positions decoded, {masks} masks held\n  {}",
        changed.len(),
        changed.join(" ")
    );
}
