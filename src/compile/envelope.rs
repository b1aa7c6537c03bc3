//! `envelope`: the versioned file form of a compiled schedule (format 1, `docs/envelope.md`).
//!
//! An [`Envelope`] holds a seq program f together with the [`Layout`] a reader needs to run it and
//! to decode a final canvas without the PRAM program: the canvas regions, the header and slot
//! field indices, the kind and status codes, the output places and the runner's caps. A
//! [`CanvasFile`] holds one canvas for it. Both depend on the program and n only, except the
//! canvas (input and seed are tokens). Reading checks the format number first, so a file of an
//! unknown format is refused with its number, never misread.

use serde::{Deserialize, Serialize};

pub use super::envelope_layout::{
    ApmdmRegions, ArrayPlace, Caps, HeaderFields, Kinds, Layout, MdmRegions, OutputPlace, Phases,
    Regions, SlotFields, Span, Statuses,
};
use super::pram_to_apmdm::ApmdmCompiled;
use super::pram_to_mdm::MdmCompiled;
use crate::machine::{ModelClass, Token};
use crate::pram::program::Program;
use crate::seq::{Program as Seq, Word};

/// The format this crate writes and reads.
pub const FORMAT: u32 = 1;

/// Which construction a schedule belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// Theorem 1 (`pram_to_mdm`), run under the MDM class.
    Mdm,
    /// Theorem 4 (`pram_to_apmdm`), run under the AP-MDM class.
    Apmdm,
}

impl Target {
    /// The model class every step of the schedule must respect.
    pub fn class(self) -> ModelClass {
        match self {
            Target::Mdm => ModelClass::Mdm,
            Target::Apmdm => ModelClass::ApMdm,
        }
    }

    /// `mdm` or `apmdm`, as the command line spells it.
    pub fn name(self) -> &'static str {
        match self {
            Target::Mdm => "mdm",
            Target::Apmdm => "apmdm",
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A compiled step function with everything needed to run it and read its result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// The format number ([`FORMAT`]).
    pub format: u32,
    /// The construction.
    pub target: Target,
    /// The PRAM program's name (informative: nothing reads the program).
    pub program: String,
    /// The size compiled for.
    pub n: i64,
    /// How to run the schedule and read its canvas.
    pub layout: Layout,
    /// The step function f.
    pub seq: Seq,
}

/// One canvas for an envelope's schedule (the initial canvas as `compile --emit-canvas` writes it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CanvasFile {
    /// The format number ([`FORMAT`]).
    pub format: u32,
    /// The construction.
    pub target: Target,
    /// The program's name.
    pub program: String,
    /// The size.
    pub n: i64,
    /// The seed the generated inputs were drawn with.
    pub seed: u64,
    /// The tokens, masks as `null`.
    pub canvas: Vec<Token<Word>>,
}

/// Why an envelope or canvas file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Not JSON, or not of the expected shape.
    #[error("{what}: {why}")]
    Malformed {
        /// Which file kind.
        what: &'static str,
        /// The parser's message.
        why: String,
    },
    /// A format this crate does not read.
    #[error("{what}: format {found} is not one this apmdm reads (it reads format {FORMAT})")]
    UnknownFormat {
        /// Which file kind.
        what: &'static str,
        /// The number found.
        found: String,
    },
    /// The parts of the file contradict each other or the canvas does not fit the schedule.
    #[error("{0}")]
    Mismatch(String),
}

fn malformed(what: &'static str) -> impl Fn(serde_json::Error) -> EnvelopeError {
    move |e| EnvelopeError::Malformed {
        what,
        why: e.to_string(),
    }
}

/// Checks the `format` field of a JSON object before anything else is read.
fn check_format(what: &'static str, value: &serde_json::Value) -> Result<(), EnvelopeError> {
    let Some(object) = value.as_object() else {
        return Err(EnvelopeError::Malformed {
            what,
            why: "expected a JSON object with a \"format\" field".into(),
        });
    };
    match object.get("format") {
        None => Err(EnvelopeError::Malformed {
            what,
            why: "no \"format\" field (a bare seq program or canvas from before format 1? \
                  emit it again with `apmdm compile --emit-seq`)"
                .into(),
        }),
        Some(v) if v.as_u64() == Some(u64::from(FORMAT)) => Ok(()),
        Some(v) => Err(EnvelopeError::UnknownFormat {
            what,
            found: v.to_string(),
        }),
    }
}

impl Envelope {
    /// The envelope of a compiled Theorem 1 schedule.
    pub fn mdm(c: &MdmCompiled, program: &Program, n: i64) -> Envelope {
        Envelope {
            format: FORMAT,
            target: Target::Mdm,
            program: program.name.clone(),
            n,
            layout: Layout::mdm(c, program),
            seq: c.seq.clone(),
        }
    }

    /// The envelope of a compiled Theorem 4 schedule.
    pub fn apmdm(c: &ApmdmCompiled, program: &Program, n: i64) -> Envelope {
        Envelope {
            format: FORMAT,
            target: Target::Apmdm,
            program: program.name.clone(),
            n,
            layout: Layout::apmdm(c, program),
            seq: c.seq.clone(),
        }
    }

    /// The JSON text (the same bytes for the same program and n).
    pub fn to_json(&self) -> Result<String, EnvelopeError> {
        serde_json::to_string(self).map_err(malformed("envelope"))
    }

    /// Reads an envelope: the format first, then the shape, then the layout against the target
    /// and the seq program's node order.
    pub fn from_json(text: &str) -> Result<Envelope, EnvelopeError> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(malformed("envelope"))?;
        check_format("envelope", &value)?;
        let e: Envelope = serde_json::from_value(value).map_err(malformed("envelope"))?;
        e.layout
            .validate(e.target)
            .map_err(EnvelopeError::Mismatch)?;
        e.seq.validate().map_err(|err| {
            EnvelopeError::Mismatch(format!("the envelope's seq program is invalid: {err}"))
        })?;
        Ok(e)
    }

    /// The canvas file of `canvas` for this schedule.
    pub fn canvas_file(&self, seed: u64, canvas: Vec<Token<Word>>) -> CanvasFile {
        CanvasFile {
            format: FORMAT,
            target: self.target,
            program: self.program.clone(),
            n: self.n,
            seed,
            canvas,
        }
    }

    /// Checks that `canvas` can be a canvas of this schedule: every word has the layout's fields,
    /// and the length is the MDM canvas's (which never changes) or, for the AP-MDM, holds the
    /// headers and slots and stays within the length cap.
    pub fn check_canvas(&self, canvas: &[Token<Word>]) -> Result<(), EnvelopeError> {
        let bad = |s: String| Err(EnvelopeError::Mismatch(s));
        if let Some((i, w)) = canvas.iter().enumerate().find_map(|(i, t)| match t {
            Token::Sym(w) if w.0.len() != self.layout.fields => Some((i, w)),
            _ => None,
        }) {
            return bad(format!(
                "canvas position {i} holds a word of {} fields; the schedule's words have {}",
                w.0.len(),
                self.layout.fields
            ));
        }
        match &self.layout.regions {
            Regions::Mdm(r) if canvas.len() != r.length => bad(format!(
                "the canvas has {} positions; this MDM schedule's canvas has {}",
                canvas.len(),
                r.length
            )),
            Regions::Apmdm(r)
                if canvas.len() < r.slots.saturating_add(2)
                    || canvas.len() > self.layout.caps.max_length =>
            {
                bad(format!(
                    "the canvas has {} positions; this AP-MDM schedule needs at least {} (two \
                     headers and {} slots) and at most {}",
                    canvas.len(),
                    r.slots.saturating_add(2),
                    r.slots,
                    self.layout.caps.max_length
                ))
            }
            _ => Ok(()),
        }
    }
}

impl CanvasFile {
    /// The JSON text.
    pub fn to_json(&self) -> Result<String, EnvelopeError> {
        serde_json::to_string(self).map_err(malformed("canvas"))
    }

    /// Reads a canvas file (format first), checking that it belongs to `envelope`'s schedule:
    /// the same target, program and n, and a canvas that fits the layout.
    pub fn from_json(text: &str, envelope: &Envelope) -> Result<CanvasFile, EnvelopeError> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(malformed("canvas"))?;
        check_format("canvas", &value)?;
        let c: CanvasFile = serde_json::from_value(value).map_err(malformed("canvas"))?;
        if (c.target, &c.program, c.n) != (envelope.target, &envelope.program, envelope.n) {
            return Err(EnvelopeError::Mismatch(format!(
                "the canvas is for {} -> {} at n = {}, the schedule for {} -> {} at n = {}",
                c.program, c.target, c.n, envelope.program, envelope.target, envelope.n
            )));
        }
        envelope.check_canvas(&c.canvas)?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::pram_to_apmdm::pram_to_apmdm;
    use crate::compile::pram_to_mdm::{pram_to_mdm, CompileLimits};

    fn envelopes() -> Vec<Envelope> {
        let program = crate::pram::library::load("prefix_sum").unwrap().unwrap();
        let limits = CompileLimits::default();
        vec![
            Envelope::mdm(&pram_to_mdm(&program, 6, &limits).unwrap(), &program, 6),
            Envelope::apmdm(&pram_to_apmdm(&program, 6, &limits).unwrap(), &program, 6),
        ]
    }

    fn refused(e: &Envelope) -> EnvelopeError {
        Envelope::from_json(&e.to_json().unwrap()).unwrap_err()
    }

    #[test]
    fn an_envelope_reads_back_as_written() {
        for e in envelopes() {
            assert_eq!(Envelope::from_json(&e.to_json().unwrap()).unwrap(), e);
        }
    }

    #[test]
    fn a_layout_that_leaves_the_word_or_the_canvas_is_refused() {
        for e in envelopes() {
            let mut bad = e.clone();
            bad.layout.header.detail = bad.layout.fields - 3;
            assert!(
                matches!(refused(&bad), EnvelopeError::Mismatch(m) if m.contains("beyond the")),
                "{}",
                e.target
            );
            let mut bad = e.clone();
            bad.target = match e.target {
                Target::Mdm => Target::Apmdm,
                Target::Apmdm => Target::Mdm,
            };
            assert!(matches!(refused(&bad), EnvelopeError::Mismatch(m) if m.contains("other")));
            let mut bad = e.clone();
            bad.layout.outputs[0].length = i64::MAX;
            assert!(matches!(refused(&bad), EnvelopeError::Mismatch(_)));
        }
        let mut mdm = envelopes().remove(0);
        if let Regions::Mdm(r) = &mut mdm.layout.regions {
            r.slots.end += 1;
        }
        assert!(matches!(refused(&mdm), EnvelopeError::Mismatch(m) if m.contains("tile")));
    }

    #[test]
    fn a_canvas_of_another_width_or_length_is_refused() {
        for e in envelopes() {
            let width = vec![Token::Sym(Word(vec![0; e.layout.fields + 1]))];
            assert!(e.check_canvas(&width).is_err());
            assert!(e.check_canvas(&[Token::Mask]).is_err(), "{}", e.target);
        }
    }
}
