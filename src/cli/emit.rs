//! The files `apmdm compile` emits: the schedule's envelope (`--emit-seq`) and its initial canvas
//! (`--emit-canvas`), in format 1 (`docs/envelope.md`), for both targets.

use anyhow::Result;

use apmdm::compile::envelope::Envelope;
use apmdm::compile::pram_to_mdm::CompileError;
use apmdm::machine::Token;
use apmdm::pram::RunConfig;
use apmdm::seq::Word;

use super::compile::CompileArgs;
use super::io::write_output;

/// Writes the envelope and the canvas `args` asks for; the canvas is built only when asked.
pub fn write(
    args: &CompileArgs,
    config: &RunConfig,
    envelope: &Envelope,
    canvas: impl FnOnce() -> Result<Vec<Token<Word>>, CompileError>,
) -> Result<()> {
    if let Some(path) = &args.emit_seq {
        write_output(path, envelope.to_json()?.as_bytes())?;
    }
    if let Some(path) = &args.emit_canvas {
        let file = envelope.canvas_file(config.seed, canvas()?);
        write_output(path, file.to_json()?.as_bytes())?;
    }
    Ok(())
}

/// Writes the hand-set weights of `seq` (for canvases up to its longest, at most `max_len`) and a
/// probe: the first `args.probe_steps` canvases of the seq evaluator's run from `x0`, each with
/// the seq evaluator's proposal.
#[allow(clippy::too_many_arguments)]
pub fn weights(
    args: &CompileArgs,
    seq: &apmdm::seq::Program,
    max_len: usize,
    x0: Vec<Token<Word>>,
    class: apmdm::machine::ModelClass,
    max_steps: usize,
    max_length: usize,
) -> Result<()> {
    use anyhow::Context;
    use apmdm::machine::{self, Canvas};
    use apmdm::seq::{propose, Evaluator, SeqStep};
    let Some(dir) = &args.emit_weights else {
        return Ok(());
    };
    let longest = apmdm::weights::longest_canvas(seq).map_or(max_len, |l| l.min(max_len));
    if longest > args.common.max_weights_length {
        anyhow::bail!(
            "no weights: the longest canvas {longest} is over --max-weights-length {}",
            args.common.max_weights_length
        );
    }
    let model = apmdm::weights::compile(seq, apmdm::weights::Options::new(longest.max(1)))
        .context("no weights")?;
    weights_profile(&model);
    let exported =
        apmdm::weights::export::export(&model, dir, args.max_export_bytes, args.weights_storage)?;
    // The probe: canvases from the seq evaluator's own run (not from the weights).
    let mut f = SeqStep::new(seq.clone(), Evaluator::Indexed);
    let config = machine::RunConfig::new(class)
        .max_steps(max_steps.min(args.probe_steps.saturating_sub(1)))
        .max_length(max_length)
        .full_trace();
    let run = machine::run(&mut f, Canvas::<Word>::new(x0.clone()), &config);
    let mut canvases: Vec<Vec<Token<Word>>> = vec![x0];
    for r in &run.trace.records {
        if let Some(d) = &r.detail {
            canvases.push(d.after.tokens().to_vec());
        }
    }
    canvases.truncate(args.probe_steps);
    let word = |t: &Token<Word>| match t {
        Token::Mask => serde_json::Value::Null,
        Token::Sym(w) => serde_json::json!(w.0),
    };
    let mut steps = Vec::new();
    for x in &canvases {
        let p = propose(seq, x, Evaluator::Indexed)?;
        steps.push(serde_json::json!({
            "canvas": x.iter().map(word).collect::<Vec<_>>(),
            "tokens": p.tokens.iter().map(|w| w.0.clone()).collect::<Vec<_>>(),
            "remask": p.bits.iter().map(|b| b.remask).collect::<Vec<_>>(),
            "insert": p.bits.iter().map(|b| b.insert).collect::<Vec<_>>(),
            "delete": p.bits.iter().map(|b| b.delete).collect::<Vec<_>>(),
        }));
    }
    let probe = serde_json::json!({"format": 1, "steps": steps});
    write_output(
        &dir.join("probe.json"),
        serde_json::to_string(&probe)?.as_bytes(),
    )?;
    eprintln!(
        "weights: {} {} ({} parameters, {} stored, {} bytes: model.safetensors {}; d_model {}, {} layers, {} heads x {}, d_ff {}) and {} probe canvases in {}",
        exported.storage,
        exported.dtype,
        exported.parameters,
        exported.stored,
        exported.bytes,
        exported.model_bytes,
        model.config.d_model,
        model.config.layers,
        model.config.heads,
        model.config.d_head,
        model.config.d_ff,
        canvases.len(),
        dir.display()
    );
    Ok(())
}

/// Prints where a model's parameters go (stderr), before it is exported or refused.
fn weights_profile(model: &apmdm::weights::Model) {
    let c = model.config;
    let p = model.profile();
    let at_most = |v: &[usize], frac: usize| v.iter().filter(|&&x| x * 2 > frac).count();
    let (mh, mu) = (c.heads, c.d_ff);
    eprintln!(
        "weights: d_model {}, {} layers, {} heads x d_head {}, d_ff {}, {} read-out rows; {} \
         parameters at the uniform shape ({} bytes in F32), {} at each layer's own heads and \
         width, {} non-zero; {} weights not exact in f32",
        c.d_model,
        c.layers,
        c.heads,
        c.d_head,
        c.d_ff,
        c.outputs,
        c.parameters(),
        c.parameters().saturating_mul(4),
        p.per_layer_parameters,
        p.nonzero,
        apmdm::weights::export::inexact_in_f32(model)
    );
    eprintln!(
        "weights: most heads ({mh}) in layer {}, {} of {} layers use more than half of them; \
         widest MLP ({mu}) in layer {}, {} layers use more than half of it",
        p.widest_heads_layer,
        at_most(&p.heads, mh),
        c.layers,
        p.widest_mlp_layer,
        at_most(&p.units, mu)
    );
    eprintln!("weights: heads per layer {:?}", p.heads);
    eprintln!("weights: units per layer {:?}", p.units);
}
