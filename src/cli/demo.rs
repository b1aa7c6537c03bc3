//! `apmdm demo`: a student's step-through of a hand-written machine, as text and optionally JSONL.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Args;

use apmdm::generate::dyck::{render_word, DyckGenerator, DyckToken, Language};
use apmdm::generate::Sampler;
use apmdm::machine::library::{
    parity_canvas, reverse_arm_canvas, reverse_canvas, ParityEliminator, ReverseArm, ReverseFill,
    Schedule, END, SEPARATOR,
};
use apmdm::machine::{self, ModelClass, Run, RunConfig, Symbol, TraceText};
use serde::Serialize;

/// Options of `apmdm demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// parity, reverse-arm, reverse-mdm, reverse-ao-mdm, reverse-masked-arm, or dyck (the
    /// stochastic AP-MDM of Theorem 5, which takes no input).
    machine: String,
    /// The input: a bit string for parity (e.g. 0110), any text without | or $ otherwise.
    #[arg(long)]
    input: Option<String>,
    /// dyck: bracket types (1 to 4).
    #[arg(long, default_value_t = 2)]
    k: u8,
    /// dyck: generate two-sided Dyck-k (x x' and x' x both cancel) instead of one-sided.
    #[arg(long)]
    two_sided: bool,
    /// dyck: the seed of the draws (the same seed gives the same generation).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Run under this class instead of the machine's own, to see a class violation: arm, mdm,
    /// ao-mdm, masked-arm or ap-mdm.
    #[arg(long)]
    class: Option<ModelClass>,
    /// The most decoding steps before stopping.
    #[arg(long, default_value_t = 10_000)]
    max_steps: usize,
    /// Also write the trace (format 1, docs/trace.md: a header with x_0, then one record per
    /// step with its operations and the diff).
    #[arg(long)]
    jsonl: Option<PathBuf>,
    /// The longest input accepted: a full trace keeps every step's sequence, so its memory grows
    /// with the square of the input length.
    #[arg(long, default_value_t = 2000)]
    max_input: usize,
}

pub fn run(args: DemoArgs) -> Result<ExitCode> {
    if args.machine == "dyck" {
        return dyck(&args);
    }
    let Some(input) = args.input.as_deref() else {
        bail!("{} needs --input", args.machine);
    };
    let length = input.chars().count();
    if length > args.max_input {
        bail!(
            "the input has {length} characters, above --max-input {} (a full trace grows with \
             its square; raise the limit to go on)",
            args.max_input
        );
    }
    let config = |own| demo_config(&args, own);
    if args.machine == "parity" {
        let bits = input
            .chars()
            .enumerate()
            .map(|(i, c)| match c {
                '0' => Ok(false),
                '1' => Ok(true),
                _ => bail!(
                    "parity input: character {} is {c:?}; expected 0 or 1",
                    i + 1
                ),
            })
            .collect::<Result<Vec<bool>>>()?;
        let config = demo_config(&args, ModelClass::ApMdm);
        let r = machine::run(&mut ParityEliminator, parity_canvas(&bits), &config);
        return report(&r, args.jsonl.as_deref(), &header(&args));
    }
    if let Some(c) = input.chars().find(|&c| c == SEPARATOR || c == END) {
        bail!("reverse input may not contain {c:?} (it is the separator or end token)");
    }
    let schedule = match args.machine.as_str() {
        "reverse-arm" => {
            let config = demo_config(&args, ModelClass::Arm).end_token(END);
            let r = machine::run(&mut ReverseArm, reverse_arm_canvas(input), &config);
            return report(&r, args.jsonl.as_deref(), &header(&args));
        }
        "reverse-mdm" => (Schedule::HeapLevels, ModelClass::Mdm),
        "reverse-ao-mdm" => (Schedule::RightToLeft, ModelClass::AoMdm),
        "reverse-masked-arm" => (Schedule::LeftToRight, ModelClass::MaskedArm),
        other => bail!(
            "unknown machine {other:?}; expected parity, reverse-arm, reverse-mdm, \
             reverse-ao-mdm, reverse-masked-arm or dyck"
        ),
    };
    let r = machine::run(
        &mut ReverseFill(schedule.0),
        reverse_canvas(input),
        &config(schedule.1),
    );
    report(&r, args.jsonl.as_deref(), &header(&args))
}

/// The header of a demo's format-1 trace: the machine, and the seed of a generator's draws.
fn header(args: &DemoArgs) -> apmdm::view::Header {
    let mut h = apmdm::view::Header::new("demo");
    h.program = Some(args.machine.clone());
    if args.machine == "dyck" {
        h.seed = Some(args.seed);
    }
    h
}

/// The run configuration: the machine's own class unless `--class` overrides it, full recording.
fn demo_config<A>(args: &DemoArgs, own: ModelClass) -> RunConfig<A> {
    let limit = args.input.as_deref().unwrap_or("").chars().count() * 4 + 16;
    RunConfig::new(args.class.unwrap_or(own))
        .max_steps(args.max_steps)
        .max_length(limit)
        .full_trace()
}

/// One seeded generation of the Dyck-k generator (Theorem 5), step by step.
fn dyck(args: &DemoArgs) -> Result<ExitCode> {
    if args.input.is_some() {
        bail!("dyck takes no --input (it generates; use --k, --two-sided and --seed)");
    }
    let language = Language::new(args.k, args.two_sided).map_err(anyhow::Error::msg)?;
    let generator = DyckGenerator::new(language, 0);
    let mut f = Sampler::new(&generator, args.seed);
    let config = RunConfig::new(args.class.unwrap_or(ModelClass::ApMdm))
        .max_steps(args.max_steps)
        .max_length(args.max_input)
        .full_trace();
    let initial: machine::Canvas<DyckToken> = DyckGenerator::initial().into_iter().collect();
    let r = machine::run(&mut f, initial, &config);
    println!(
        "{} generator, seed {} (each draw is shown as the step's proposal)",
        language.name(),
        args.seed
    );
    let code = report(&r, args.jsonl.as_deref(), &header(args))?;
    if let Some(w) = DyckGenerator::word_of(r.last.tokens()) {
        println!(
            "word: {:?} ({} letters; in the language: {}; formulas: {} steps, context {})",
            render_word(&w, language.k),
            w.len(),
            if language.contains(&w) { "yes" } else { "NO" },
            DyckGenerator::steps_formula(w.len()),
            DyckGenerator::context_formula(w.len())
        );
    }
    Ok(code)
}

fn report<A: Symbol + Serialize, P: Clone + Serialize>(
    r: &Run<A, P>,
    jsonl: Option<&std::path::Path>,
    header: &apmdm::view::Header,
) -> Result<ExitCode> {
    print!("{}", TraceText(&r.trace));
    println!(
        "stopped: {} after {} steps; context length {}",
        r.stop,
        r.steps(),
        r.context_length()
    );
    if let Some(path) = jsonl {
        let text = apmdm::view::format::trace_to_format1(&r.trace, header.clone());
        super::io::write_output(path, text.as_bytes())?;
        println!("trace written to {}", path.display());
    }
    Ok(if r.stop.error().is_some() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
