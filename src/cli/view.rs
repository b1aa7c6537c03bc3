//! `apmdm view`: the step-through page (one self-contained HTML file) of a compiled schedule's
//! run or of a trace file (format 1, or the older header-less forms).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use super::compile::{Common, TraceArgs};
use super::io::write_output;

/// Options of `apmdm view`.
#[derive(Debug, Args)]
#[command(
    after_help = "INPUT is a trace file (format 1, docs/trace.md; or an older demo or run trace) \
when a file of that name exists and does not end in .pram; otherwise a program (a .pram file or \
a built-in name), compiled for --target at --n and run. The page needs no network: styles, \
script and the trace (as diffs) are inside it. Past 10^7 steps x positions the page keeps a \
sample of the steps and says so; a page over --max-page-bytes is refused (exit 2)."
)]
pub struct ViewArgs {
    #[command(flatten)]
    pub common: Common,
    /// The page to write (default: INPUT's name with `.html`, in the current folder).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The largest page written, in bytes (suffixes K, M, G: powers of 1024).
    #[arg(long, default_value = "50000000", value_parser = super::memory_size)]
    pub max_page_bytes: u64,
    /// The largest trace file read, in bytes (suffixes K, M, G: powers of 1024); a larger one is
    /// refused before it is read (exit 2).
    #[arg(long, default_value = "1G", value_parser = super::memory_size)]
    pub max_trace_bytes: u64,
}

pub fn run(args: ViewArgs) -> Result<ExitCode> {
    let input = Path::new(&args.common.program);
    let is_trace = input.is_file()
        && input
            .extension()
            .is_none_or(|e| !e.eq_ignore_ascii_case("pram"));
    if is_trace {
        let out = args.out.clone().unwrap_or_else(|| default_out(input, ""));
        let bytes = super::io::read_limited(
            input,
            args.max_trace_bytes,
            "the trace",
            "--max-trace-bytes",
        )?;
        let text = String::from_utf8(bytes)
            .map_err(|e| anyhow::anyhow!("{}: not UTF-8 text ({e})", input.display()))?;
        let file = apmdm::view::TraceFile::read(&text)
            .with_context(|| format!("reading the trace {}", input.display()))?;
        let page = apmdm::view::render(&file, args.max_page_bytes)?;
        write_output(&out, page.as_bytes())?;
        println!(
            "{} steps and {} rounds of {} rendered to {}",
            file.steps.len(),
            file.rounds.len(),
            input.display(),
            out.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let stem = Path::new(&args.common.program);
    let suffix = format!(".{}.n{}", args.common.target, args.common.n);
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_out(stem, &suffix));
    let trace = TraceArgs {
        common: args.common,
        jsonl: None,
        html: Some(out),
        max_html: usize::MAX,
        max_page_bytes: args.max_page_bytes,
        max_shown: 0,
        theorem: None,
    };
    super::compile::trace(trace)
}

/// `NAME{suffix}.html` in the current folder, NAME the input's file stem.
fn default_out(input: &Path, suffix: &str) -> PathBuf {
    let stem = input
        .file_stem()
        .map_or_else(|| "trace".into(), |s| s.to_string_lossy().into_owned());
    PathBuf::from(format!("{stem}{suffix}.html"))
}
