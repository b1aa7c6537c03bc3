//! The files `apmdm compile` emits: the schedule's envelope (`--emit-seq`) and its initial canvas
//! (`--emit-canvas`), in format 1 (`docs/envelope.md`), for both targets.

use anyhow::Result;

use apmdm::compile::envelope::Envelope;
use apmdm::compile::pram_to_mdm::CompileError;
use apmdm::machine::Token;
use apmdm::pram::RunConfig;
use apmdm::seq::Word;

use super::compile::CompileArgs;
use super::run::write_atomically;

/// Writes the envelope and the canvas `args` asks for; the canvas is built only when asked.
pub fn write(
    args: &CompileArgs,
    config: &RunConfig,
    envelope: &Envelope,
    canvas: impl FnOnce() -> Result<Vec<Token<Word>>, CompileError>,
) -> Result<()> {
    if let Some(path) = &args.emit_seq {
        write_atomically(path, envelope.to_json()?.as_bytes())?;
    }
    if let Some(path) = &args.emit_canvas {
        let file = envelope.canvas_file(config.seed, canvas()?);
        write_atomically(path, file.to_json()?.as_bytes())?;
    }
    Ok(())
}
