//! `envelope_layout`: the [`Layout`] part of an envelope: what a reader needs besides f to run a
//! schedule and read its final canvas (kind and status codes, header and slot field indices,
//! output places, array names, regions, word range, caps), built from a compiled schedule and
//! checked on read (`docs/envelope.md`).

use serde::{Deserialize, Serialize};

use super::envelope::Target;
use super::pram_to_apmdm::{phase, ApmdmCompiled};
use super::pram_to_mdm::MdmCompiled;
use super::round::{hf, kind, sf, status};
use crate::pram::program::{AccessModel, Program};

/// A half-open range of canvas positions `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Span {
    /// First position.
    pub start: usize,
    /// One past the last position.
    pub end: usize,
}

/// The values of a word's field 0 (its kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kinds {
    /// A header (control state, or the final status).
    pub header: i64,
    /// A given cell (MDM) or memory cell (AP-MDM): fields 1 and 2 are address and value.
    pub cell: i64,
    /// A processor slot.
    pub slot: i64,
    /// An output cell (MDM): fields 1 and 2 are address and value.
    pub output: i64,
    /// Padding.
    pub pad: i64,
}

/// The values of a header's status field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statuses {
    /// Rounds remain.
    pub running: i64,
    /// The program ended normally.
    pub halted: i64,
    /// A processor fault.
    pub fault: i64,
    /// An access violation.
    pub violation: i64,
    /// A resource limit.
    pub limit: i64,
    /// A declared bound exceeded.
    pub bound: i64,
}

/// Field indices of a header word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderFields {
    /// Ordinal: the decoded header is the one with the highest.
    pub ordinal: usize,
    /// Program counter.
    pub program_counter: usize,
    /// Status code ([`Statuses`]).
    pub status: usize,
    /// Processors of the round the header starts.
    pub active: usize,
    /// T so far (AP-MDM: T modulo the regions' `round_modulus`).
    pub rounds: usize,
    /// W so far (AP-MDM: 0; the runner counts W).
    pub work: usize,
    /// P so far.
    pub processors: usize,
    /// S so far.
    pub space: usize,
    /// The seed of CRCW-arbitrary draws.
    pub seed: usize,
    /// First of the seven detail fields of a final status (`docs/envelope.md`).
    pub detail: usize,
    /// First register.
    pub registers: usize,
    /// Registers (program registers, loop state, scope state, top of memory).
    pub register_count: usize,
}

/// Field indices of a processor slot word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotFields {
    /// The round.
    pub round: usize,
    /// The processor id.
    pub processor: usize,
    /// A test's value.
    pub branch: usize,
    /// Fault kind (0: none), then line and three details.
    pub fault: usize,
    /// First write site.
    pub writes: usize,
    /// Fields per write site (key, value, address, array, index, line, target position).
    pub per_write: usize,
    /// Write sites per slot.
    pub write_sites: usize,
    /// Read sites per slot.
    pub read_sites: usize,
}

/// An output array or scalar: where its cells stand in the address space.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputPlace {
    /// Its name in the program.
    pub name: String,
    /// Its array id (the index into [`Layout::arrays`]).
    pub array: u32,
    /// Its first address.
    pub base: i64,
    /// Its number of cells.
    pub length: i64,
    /// Whether it is a scalar (one cell, printed as a number).
    pub scalar: bool,
}

/// A static array of an AP-MDM canvas and its addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArrayPlace {
    /// Its name.
    pub name: String,
    /// Its first address.
    pub base: i64,
    /// Its number of cells.
    pub length: i64,
}

/// The runner's caps: a run within the declared bounds stops at a fixed point before either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Caps {
    /// Decoding steps.
    pub max_steps: usize,
    /// Canvas length.
    pub max_length: usize,
}

/// The Theorem 1 canvas: `[start][given][headers][slots][outputs]`, of a fixed length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MdmRegions {
    /// The start token (position 0, the header of ordinal 0).
    pub start: Span,
    /// Given cells.
    pub given: Span,
    /// Headers of ordinal 1 and on.
    pub headers: Span,
    /// Processor slots.
    pub slots: Span,
    /// Output cells.
    pub outputs: Span,
    /// The canvas length (it never changes).
    pub length: usize,
}

/// The values of an AP-MDM header's phase field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phases {
    /// Slots fill.
    pub decode: i64,
    /// The header takes the transition.
    pub exec: i64,
    /// Written cells unmask.
    pub commit: i64,
    /// Masks of left scopes are deleted.
    pub delete: i64,
    /// Fresh cells are inserted.
    pub grow: i64,
    /// The run is over.
    pub r#final: i64,
}

/// The Theorem 4 canvas: `[header][header][memory cells][slots]`; its length changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApmdmRegions {
    /// The two header positions (exactly one is decoded).
    pub headers: Span,
    /// The memory region of the initial canvas (static cells).
    pub memory: Span,
    /// The processor region: always the last `slots` positions.
    pub slots: usize,
    /// The initial canvas length.
    pub initial_length: usize,
    /// The static arrays in address order.
    pub static_arrays: Vec<ArrayPlace>,
    /// The header field holding the phase.
    pub phase_field: usize,
    /// The header field holding the lowest top of memory of the last transition.
    pub low_field: usize,
    /// The phase codes.
    pub phases: Phases,
    /// The header's round field (and each slot's) holds the round modulo this; the runner
    /// counts T, W and P from the successive headers (`apmdm_run::RoundCounter`). 0: the field
    /// holds the whole count (schedules written before the counters left the canvas).
    #[serde(default)]
    pub round_modulus: i64,
    /// T_decl at n: the runner stops a run before a round past it.
    #[serde(default)]
    pub rounds_declared: Option<i64>,
    /// W_decl at n: the runner stops a run before a round that would take the work past it.
    #[serde(default)]
    pub work_declared: Option<i64>,
}

/// The regions of one construction's canvas.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Regions {
    /// Theorem 1.
    Mdm(MdmRegions),
    /// Theorem 4.
    Apmdm(ApmdmRegions),
}

/// Everything a reader needs besides f: how to run it and how to read its final canvas.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    /// Integer fields per word.
    pub fields: usize,
    /// The word range of the program (a value outside it is an overflow fault).
    pub word: (i64, i64),
    /// The access model compiled for.
    pub access_model: AccessModel,
    /// Array names by id (fault and violation details name arrays by id).
    pub arrays: Vec<String>,
    /// Output arrays and scalars in declaration order.
    pub outputs: Vec<OutputPlace>,
    /// Kind codes (field 0).
    pub kinds: Kinds,
    /// Status codes of the header's status field.
    pub statuses: Statuses,
    /// Header field indices.
    pub header: HeaderFields,
    /// Slot field indices.
    pub slot: SlotFields,
    /// The runner's caps.
    pub caps: Caps,
    /// The canvas regions.
    pub regions: Regions,
}

fn kinds() -> Kinds {
    Kinds {
        header: kind::HEADER,
        cell: kind::GIVEN,
        slot: kind::SLOT,
        output: kind::OUTPUT,
        pad: kind::PAD,
    }
}

fn statuses() -> Statuses {
    Statuses {
        running: status::RUNNING,
        halted: status::HALTED,
        fault: status::FAULT,
        violation: status::VIOLATION,
        limit: status::LIMIT,
        bound: status::BOUND,
    }
}

fn header(register_count: usize) -> HeaderFields {
    HeaderFields {
        ordinal: hf::ORD,
        program_counter: hf::PC,
        status: hf::STATUS,
        active: hf::CNT,
        rounds: hf::T,
        work: hf::W,
        processors: hf::P,
        space: hf::S,
        seed: hf::SEED,
        detail: hf::D,
        registers: hf::REGS,
        register_count,
    }
}

fn slot(write_sites: usize, read_sites: usize) -> SlotFields {
    SlotFields {
        round: sf::ROUND,
        processor: sf::PID,
        branch: sf::BRANCH,
        fault: sf::FAULT,
        writes: sf::WRITES,
        per_write: sf::PER_WRITE,
        write_sites,
        read_sites,
    }
}

fn outputs(program: &Program, places: &[(u32, i64, i64, bool)]) -> Vec<OutputPlace> {
    places
        .iter()
        .map(|&(array, base, length, scalar)| OutputPlace {
            name: array_name(program, array),
            array,
            base,
            length,
            scalar,
        })
        .collect()
}

fn array_name(program: &Program, array: u32) -> String {
    program
        .arrays
        .get(array as usize)
        .map_or_else(|| "?".to_string(), |a| a.name.clone())
}

fn span(start: usize, count: usize) -> Span {
    Span {
        start,
        end: start + count,
    }
}

impl Layout {
    /// The layout of a Theorem 1 schedule.
    pub fn mdm(c: &MdmCompiled, program: &Program) -> Layout {
        let r = &c.regions;
        Layout {
            fields: c.fields,
            word: c.word,
            access_model: c.model,
            arrays: program.arrays.iter().map(|a| a.name.clone()).collect(),
            outputs: outputs(program, &c.outputs),
            kinds: kinds(),
            statuses: statuses(),
            header: header(c.registers),
            slot: slot(c.write_sites, c.read_sites),
            // As `mdm_run` runs it: one step per header, and the step that finds the fixed point.
            caps: Caps {
                max_steps: r.header_count + 2,
                max_length: r.length,
            },
            regions: Regions::Mdm(MdmRegions {
                start: span(0, 1),
                given: span(r.given, r.headers - r.given),
                headers: span(r.headers, r.header_count),
                slots: span(r.slots, r.slot_count),
                outputs: span(r.outputs, r.output_count),
                length: r.length,
            }),
        }
    }

    /// The layout of a Theorem 4 schedule.
    pub fn apmdm(c: &ApmdmCompiled, program: &Program) -> Layout {
        Layout {
            fields: c.fields,
            word: c.word,
            access_model: c.model,
            arrays: program.arrays.iter().map(|a| a.name.clone()).collect(),
            outputs: outputs(program, &c.outputs),
            kinds: kinds(),
            statuses: statuses(),
            header: header(c.registers),
            slot: slot(c.write_sites, c.read_sites),
            caps: Caps {
                max_steps: c.max_steps,
                max_length: c.max_length,
            },
            regions: Regions::Apmdm(ApmdmRegions {
                headers: span(0, 2),
                memory: span(2, c.region),
                slots: c.slots,
                initial_length: 2 + c.region + c.slots,
                static_arrays: c
                    .places
                    .iter()
                    .map(|&(a, base, length)| ArrayPlace {
                        name: array_name(program, a),
                        base,
                        length,
                    })
                    .collect(),
                phase_field: c.phase_field,
                low_field: c.low_field,
                phases: Phases {
                    decode: phase::DECODE,
                    exec: phase::EXEC,
                    commit: phase::COMMIT,
                    delete: phase::DELETE,
                    grow: phase::GROW,
                    r#final: phase::FINAL,
                },
                round_modulus: c.round_modulus,
                rounds_declared: c.rounds_declared,
                work_declared: c.work_declared,
            }),
        }
    }

    /// The MDM regions, if this is a Theorem 1 layout.
    pub fn mdm_regions(&self) -> Option<&MdmRegions> {
        match &self.regions {
            Regions::Mdm(r) => Some(r),
            Regions::Apmdm(_) => None,
        }
    }

    /// The AP-MDM regions, if this is a Theorem 4 layout.
    pub fn apmdm_regions(&self) -> Option<&ApmdmRegions> {
        match &self.regions {
            Regions::Apmdm(r) => Some(r),
            Regions::Mdm(_) => None,
        }
    }

    /// The name of array `id`, `?` when there is none.
    pub fn array_name(&self, id: i64) -> String {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.arrays.get(i))
            .map_or_else(|| "?".to_string(), Clone::clone)
    }

    /// Checks that every index the decoders read lies within a word and the regions are
    /// consistent with `target`.
    pub(crate) fn validate(&self, target: Target) -> Result<(), String> {
        let bad = |s: String| Err(format!("the layout {s}"));
        let h = &self.header;
        let mut needed = [
            h.ordinal,
            h.program_counter,
            h.status,
            h.active,
            h.rounds,
            h.work,
            h.processors,
            h.space,
            h.seed,
            h.detail.saturating_add(6),
            // The last register.
            h.registers
                .saturating_add(h.register_count)
                .saturating_sub(1),
        ]
        .into_iter()
        .max()
        .unwrap_or(0);
        if self.fields < 3 {
            return bad(format!(
                "has {} fields per word; a cell needs at least 3",
                self.fields
            ));
        }
        match (&self.regions, target) {
            (Regions::Mdm(r), Target::Mdm) => {
                let ordered = [r.start, r.given, r.headers, r.slots, r.outputs];
                if r.start.start != 0
                    || ordered.windows(2).any(|w| w[0].end != w[1].start)
                    || ordered.iter().any(|s| s.start > s.end)
                    || r.outputs.end != r.length
                {
                    return bad("has MDM regions that do not tile the canvas".into());
                }
                if self.caps.max_length < r.length {
                    return bad("caps the length below the MDM canvas".into());
                }
                let cells = self
                    .outputs
                    .iter()
                    .fold(0i64, |t, o| t.saturating_add(o.length));
                if usize::try_from(cells).ok() != Some(r.outputs.end - r.outputs.start) {
                    return bad(format!(
                        "lists {cells} output cells for an output region of {}",
                        r.outputs.end - r.outputs.start
                    ));
                }
            }
            (Regions::Apmdm(r), Target::Apmdm) => {
                needed = needed.max(r.phase_field).max(r.low_field);
                if r.headers != span(0, 2)
                    || r.memory.start != 2
                    || r.memory.start > r.memory.end
                    || r.initial_length != r.memory.end.saturating_add(r.slots)
                {
                    return bad("has AP-MDM regions that do not tile the canvas".into());
                }
                if r.round_modulus != 0
                    && (r.round_modulus < 2 || r.round_modulus.count_ones() != 1)
                {
                    return bad(format!(
                        "has round modulus {}, not 0 or a power of two from 2",
                        r.round_modulus
                    ));
                }
                // Outputs are static arrays: their addresses lie below the static cells.
                let cells = i64::try_from(r.memory.end - r.memory.start).unwrap_or(i64::MAX);
                if let Some(o) = self
                    .outputs
                    .iter()
                    .find(|o| o.base.saturating_add(o.length) > cells)
                {
                    return bad(format!(
                        "places output {} beyond the {cells} static cells",
                        o.name
                    ));
                }
            }
            (_, t) => {
                return bad(format!(
                    "has regions of the other construction (target {t})"
                ))
            }
        }
        if needed >= self.fields {
            return bad(format!(
                "names field {needed}, beyond the {} fields of a word",
                self.fields
            ));
        }
        if self
            .outputs
            .iter()
            .any(|o| o.length < 0 || o.base < 0 || (o.scalar && o.length != 1))
        {
            return bad(
                "has an output of negative place or a scalar of length other than 1".into(),
            );
        }
        Ok(())
    }
}
