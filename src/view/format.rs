//! Trace format 1 (`docs/trace.md`): a header record, then step records (per-position operations
//! and the diff from the previous canvas) and PRAM round records, one JSON object per line.
//!
//! The reader also takes the two older forms: `apmdm demo --jsonl`'s `{"class", "initial"}`
//! header followed by full step records, and `apmdm run --trace`'s header-less round records.
//! Canvases are rebuilt here from the diffs by this module's own code ([`advance`]), not by
//! `machine::apply`, so replaying a read trace through `apply` is a check of both.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::machine::{
    apply, Canvas, ControlBits, ModelClass, OpCounts, StepDetail, StepRecord, Symbol, Token, Trace,
};

/// The format number this crate writes and reads.
pub const FORMAT: u64 = 1;

/// The first record of a format-1 trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Always [`FORMAT`]; checked before anything else is read.
    pub format: u64,
    /// `schedule` (a compiled MDM or AP-MDM run), `pram` (interpreter rounds only) or `demo` (a
    /// hand-written machine).
    pub kind: String,
    /// The class every step was checked against (absent for `pram`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<ModelClass>,
    /// The program's name (`prefix_sum.pram`) or the demo machine's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// The `.pram` source text, line numbers as in round records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The size n.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<i64>,
    /// The seed of generated inputs (and of CRCW-arbitrary winners, or of a demo's draws).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// `mdm` or `apmdm` for a schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The AP-MDM layout (`declared`, `tight`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<String>,
    /// The registers' names, in the order of a round record's `registers`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registers: Vec<String>,
    /// What each position serves, by region (first matching region wins).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<Region>,
    /// The proved bounds the run is held against, when the writer knows them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound: Option<Bounds>,
    /// x_0, in full (the only canvas a format-1 trace stores whole).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial: Option<Initial>,
}

impl Header {
    /// A header of `kind` with nothing else filled in.
    pub fn new(kind: &str) -> Header {
        Header {
            format: FORMAT,
            kind: kind.to_string(),
            class: None,
            program: None,
            source: None,
            n: None,
            seed: None,
            target: None,
            layout: None,
            registers: Vec::new(),
            regions: Vec::new(),
            bound: None,
            initial: None,
        }
    }
}

/// A run of positions serving one thing: `start..end`, where a negative number counts from the
/// end of the current canvas and a missing `end` is its length.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    /// `header`, `cell`, `slot`, `given`, `output`, `pad`, `input`, ...
    pub role: String,
    /// First position (negative: from the end).
    pub start: i64,
    /// One past the last position (negative: from the end; absent: the canvas's end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<i64>,
}

/// The proved step and context bounds of the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bounds {
    /// Decoding steps.
    pub steps: u64,
    /// Peak context (positions).
    pub context: u64,
}

/// x_0: tokens (`null` is the mask), payloads when they carry data, each token's text as a
/// person reads it, and what each decoded token serves (when the writer knows).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Initial {
    /// The tokens, as the alphabet serializes them; `null` is `M`.
    pub tokens: Vec<Value>,
    /// One payload per position, absent when payloads carry nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payloads: Option<Vec<Value>>,
    /// Each token's text (`M` for a mask).
    pub text: Vec<String>,
    /// What each token serves (empty when nothing is known).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub serves: Vec<String>,
}

/// One step record: x_{k-1} -> x_k.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepLine {
    /// k, from 1.
    pub step: usize,
    /// The length of x_k.
    pub length: usize,
    /// What g did, counted.
    pub counts: OpCounts,
    /// One letter per position of x_{k-1}: `k` keep, `u` unmask, `r` remask, `h` hold, `d`
    /// delete; upper case (`K`, `U`, `R`, `H`) when a mask is also inserted after the position.
    pub ops: String,
    /// The unmasked positions (indices into x_{k-1}) with their new tokens, in position order:
    /// the only token contents that change (remasks, holds, deletes and inserts are in `ops`).
    pub diff: Vec<Change>,
    /// The PRAM round this step serves (schedules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<u64>,
    /// The AP-MDM phase the decoded header names after the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
}

/// One unmasked position of a step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The position in x_{k-1}.
    pub at: usize,
    /// The new token.
    pub token: Value,
    /// Its text.
    pub text: String,
    /// What it serves, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serves: Option<String>,
}

/// One PRAM round as the interpreter ran it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundLine {
    /// The round number, from 1.
    pub round: u64,
    /// The source line of the statement or pardo.
    pub line: u32,
    /// Active processors.
    pub active: u64,
    /// The round faulted or violated the access model (the run's last; no accesses recorded).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub failed: bool,
    /// Shared-memory reads.
    pub reads: Vec<Access>,
    /// Applied writes.
    pub writes: Vec<Access>,
    /// Register values while the round ran, in the header's `registers` order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registers: Vec<i64>,
    /// Cells in use during the round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space: Option<u64>,
}

/// One read or write.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    /// The shared-memory address.
    pub address: u64,
    /// The source line of the access.
    pub line: u32,
    /// The processor.
    pub processor: u64,
    /// The value read or written.
    pub value: i64,
}

impl RoundLine {
    /// The record of one interpreter round.
    pub fn of(r: &crate::pram::TraceRound) -> RoundLine {
        let reads = r
            .reads
            .iter()
            .map(|a| Access {
                address: a.addr,
                line: a.line,
                processor: a.pid,
                value: a.value,
            })
            .collect();
        let writes = r
            .writes
            .iter()
            .map(|a| Access {
                address: a.addr,
                line: a.line,
                processor: a.pid,
                value: a.value,
            })
            .collect();
        RoundLine {
            round: r.round,
            line: r.line,
            active: r.active,
            failed: r.failed,
            reads,
            writes,
            registers: r.registers.clone(),
            space: Some(r.space),
        }
    }
}

/// A record after the header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "lowercase")]
pub enum Record {
    /// A decoding step.
    Step(StepLine),
    /// A PRAM round.
    Round(RoundLine),
}

/// Which form a trace was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Format 1.
    Format1,
    /// `demo --jsonl` before format 1: `{"class", "initial"}`, then full step records.
    OldDemo,
    /// `run --trace` before format 1: round records without a header.
    OldRounds,
}

/// A trace read into memory: the header, the step records and the round records.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceFile {
    /// The header (made up for an old trace, with what the old form carried).
    pub header: Header,
    /// The step records, in order.
    pub steps: Vec<StepLine>,
    /// The round records, in order.
    pub rounds: Vec<RoundLine>,
    /// The form read.
    pub origin: Origin,
}

/// A trace that could not be read or rebuilt.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("trace line {line}: {message}")]
pub struct FormatError {
    /// The 1-based line (0: the trace as a whole).
    pub line: usize,
    /// What was wrong.
    pub message: String,
}

fn fail(line: usize, message: impl Into<String>) -> FormatError {
    FormatError {
        line,
        message: message.into(),
    }
}

/// One JSON line (no newline) of a serializable value.
pub fn line<T: Serialize>(value: &T) -> String {
    // Plain data with string keys: serializing cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

/// The step record of `record` (x_{k-1} = `before`), its tokens described by `describe` (text,
/// what it serves). `None` when the record carries no detail or g rejects it.
pub fn step_line<A: Symbol + Serialize, P: Clone>(
    before: &Canvas<A, P>,
    record: &StepRecord<A, P>,
    describe: &dyn Fn(&A) -> (String, Option<String>),
) -> Option<StepLine> {
    let d = record.detail.as_ref()?;
    let t = apply(before, &d.y, &d.bits.0).ok()?;
    let mut ops = String::with_capacity(t.actions.len());
    let mut diff = Vec::new();
    for (i, a) in t.actions.iter().enumerate() {
        let letter = a.op.letter();
        ops.push(if a.inserted {
            letter.to_ascii_uppercase()
        } else {
            letter
        });
        if letter == 'u' {
            let (text, serves) = describe(&d.y[i]);
            diff.push(Change {
                at: i,
                token: serde_json::to_value(&d.y[i]).unwrap_or(Value::Null),
                text,
                serves,
            });
        }
    }
    Some(StepLine {
        step: record.step,
        length: record.length,
        counts: record.counts,
        ops,
        diff,
        round: None,
        phase: None,
    })
}

/// The `initial` of a header: x_0 with each token described.
pub fn initial_of<A: Serialize, P: Serialize>(
    x: &Canvas<A, P>,
    describe: &dyn Fn(&A) -> (String, Option<String>),
) -> Initial {
    let mut text = Vec::with_capacity(x.len());
    let mut serves = Vec::with_capacity(x.len());
    for t in x.tokens() {
        match t {
            Token::Mask => {
                text.push(crate::machine::MASK_TEXT.to_string());
                serves.push(String::new());
            }
            Token::Sym(a) => {
                let (t, s) = describe(a);
                text.push(t);
                serves.push(s.unwrap_or_default());
            }
        }
    }
    if serves.iter().all(String::is_empty) {
        serves.clear();
    }
    let payloads = (std::mem::size_of::<P>() != 0).then(|| {
        x.payloads()
            .iter()
            .map(|p| serde_json::to_value(p).unwrap_or(Value::Null))
            .collect()
    });
    Initial {
        tokens: x
            .tokens()
            .iter()
            .map(|t| serde_json::to_value(t).unwrap_or(Value::Null))
            .collect(),
        payloads,
        text,
        serves,
    }
}

/// A whole in-memory trace in format 1 (header with x_0, then one step record per step), every
/// token's text its `Display`.
pub fn trace_to_format1<A: Symbol + Serialize, P: Clone + Serialize>(
    trace: &Trace<A, P>,
    mut header: Header,
) -> String {
    let describe = |a: &A| (a.to_string(), None);
    header.class = Some(trace.class);
    header.initial = Some(initial_of(&trace.initial, &describe));
    let mut out = line(&header);
    out.push('\n');
    let mut before = &trace.initial;
    for r in &trace.records {
        let (Some(s), Some(d)) = (step_line(before, r, &describe), &r.detail) else {
            break;
        };
        out.push_str(&line(&Record::Step(s)));
        out.push('\n');
        before = &d.after;
    }
    out
}

/// The old demo header: `{"class", "initial"}`.
#[derive(Deserialize)]
struct OldDemoHeader {
    class: ModelClass,
    initial: OldCanvas,
}

#[derive(Deserialize)]
struct OldCanvas {
    tokens: Vec<Value>,
    #[serde(default)]
    payloads: Option<Vec<Value>>,
}

/// An old demo step record: the proposal y, the bits as a digit string, and x_k.
#[derive(Deserialize)]
struct OldDemoStep {
    step: usize,
    length: usize,
    counts: OpCounts,
    y: Vec<Value>,
    bits: String,
}

/// The old `run --trace` record (no `record` tag).
#[derive(Deserialize)]
struct OldRound {
    round: u64,
    line: u32,
    active: u64,
    #[serde(default)]
    failed: bool,
    reads: Vec<Access>,
    writes: Vec<Access>,
}

/// Text of a JSON token as the demo's `Display` would give it for plain values.
fn value_text(v: &Value) -> String {
    match v {
        Value::Null => crate::machine::MASK_TEXT.to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl TraceFile {
    /// Reads format 1, or one of the older forms (see the module's documentation).
    pub fn read(text: &str) -> Result<TraceFile, FormatError> {
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l))
            .filter(|(_, l)| !l.trim().is_empty());
        let (first_no, first) = lines.next().ok_or_else(|| fail(1, "empty trace"))?;
        let first_value: Value = serde_json::from_str(first)
            .map_err(|e| fail(first_no, format!("not a JSON object: {e}")))?;
        let Value::Object(obj) = &first_value else {
            return Err(fail(first_no, "not a JSON object"));
        };
        if let Some(f) = obj.get("format") {
            if f.as_u64() != Some(FORMAT) {
                return Err(fail(
                    first_no,
                    format!(
                        "trace format {}; this apmdm reads format {FORMAT} (and the header-less \
                         forms before it)",
                        crate::pram::parse::echo(&f.to_string())
                    ),
                ));
            }
            let header: Header = serde_json::from_value(first_value.clone())
                .map_err(|e| fail(first_no, format!("header: {e}")))?;
            let mut file = TraceFile {
                header,
                steps: Vec::new(),
                rounds: Vec::new(),
                origin: Origin::Format1,
            };
            for (no, l) in lines {
                match serde_json::from_str::<Record>(l).map_err(|e| fail(no, e.to_string()))? {
                    Record::Step(s) => file.steps.push(s),
                    Record::Round(r) => file.rounds.push(r),
                }
            }
            file.validate()?;
            return Ok(file);
        }
        if obj.contains_key("class") && obj.contains_key("initial") {
            return Self::read_old_demo(first_no, first, lines);
        }
        if obj.contains_key("round") && obj.contains_key("active") {
            let mut rounds = Vec::new();
            for (no, l) in std::iter::once((first_no, first)).chain(lines) {
                let r: OldRound = serde_json::from_str(l).map_err(|e| fail(no, e.to_string()))?;
                rounds.push(RoundLine {
                    round: r.round,
                    line: r.line,
                    active: r.active,
                    failed: r.failed,
                    reads: r.reads,
                    writes: r.writes,
                    registers: Vec::new(),
                    space: None,
                });
            }
            return Ok(TraceFile {
                header: Header::new("pram"),
                steps: Vec::new(),
                rounds,
                origin: Origin::OldRounds,
            });
        }
        if obj.contains_key("step") && obj.contains_key("positions") {
            return Err(fail(
                first_no,
                "a schedule trace written before format 1 (no header, no initial canvas): it \
                 cannot be rebuilt; write it again with `apmdm trace --jsonl`",
            ));
        }
        Err(fail(
            first_no,
            "not an apmdm trace: the first record has no `format` (format 1), no `class` and \
             `initial` (a demo trace) and no `round` (a run trace)",
        ))
    }

    fn read_old_demo<'a>(
        first_no: usize,
        first: &str,
        lines: impl Iterator<Item = (usize, &'a str)>,
    ) -> Result<TraceFile, FormatError> {
        let h: OldDemoHeader =
            serde_json::from_str(first).map_err(|e| fail(first_no, e.to_string()))?;
        let mut header = Header::new("demo");
        header.class = Some(h.class);
        let initial = Initial {
            text: h.initial.tokens.iter().map(value_text).collect(),
            tokens: h.initial.tokens,
            payloads: h.initial.payloads,
            serves: Vec::new(),
        };
        let mut len = initial.tokens.len();
        let mut masks: Vec<bool> = initial.tokens.iter().map(Value::is_null).collect();
        header.initial = Some(initial);
        let mut steps = Vec::new();
        for (no, l) in lines {
            let s: OldDemoStep = serde_json::from_str(l).map_err(|e| fail(no, e.to_string()))?;
            if s.y.len() != len || s.bits.chars().count() != len {
                return Err(fail(
                    no,
                    format!(
                        "step {}: {} proposed tokens and {} control digits for a canvas of {len}",
                        s.step,
                        s.y.len(),
                        s.bits.chars().count()
                    ),
                ));
            }
            let mut ops = String::with_capacity(len);
            let mut diff = Vec::new();
            let mut next_masks = Vec::with_capacity(len);
            for (i, c) in s.bits.chars().enumerate() {
                let b = c
                    .to_digit(8)
                    .and_then(|d| ControlBits::from_code(d as u8))
                    .ok_or_else(|| fail(no, format!("control digit {c:?} is not 0 to 7")))?;
                let letter = match (masks[i], b.delete, b.remask) {
                    (true, true, _) => 'd',
                    (true, false, true) => 'h',
                    (false, _, true) => 'r',
                    (true, false, false) => 'u',
                    (false, _, false) => 'k',
                };
                let inserted = b.insert && letter != 'd';
                ops.push(if inserted {
                    letter.to_ascii_uppercase()
                } else {
                    letter
                });
                match letter {
                    'd' => {}
                    'u' => {
                        diff.push(Change {
                            at: i,
                            token: s.y[i].clone(),
                            text: value_text(&s.y[i]),
                            serves: None,
                        });
                        next_masks.push(false);
                    }
                    'k' => next_masks.push(false),
                    _ => next_masks.push(true),
                }
                if inserted {
                    next_masks.push(true);
                }
            }
            masks = next_masks;
            len = masks.len();
            steps.push(StepLine {
                step: s.step,
                length: s.length,
                counts: s.counts,
                ops,
                diff,
                round: None,
                phase: None,
            });
        }
        let file = TraceFile {
            header,
            steps,
            rounds: Vec::new(),
            origin: Origin::OldDemo,
        };
        file.validate()?;
        Ok(file)
    }

    /// Checks that every step's operations cover its canvas, that diffs name unmasked
    /// positions in order, and that counts and lengths agree with the operations, by rebuilding
    /// every canvas.
    pub fn validate(&self) -> Result<(), FormatError> {
        let mut x = match &self.header.initial {
            Some(i) => JsonCanvas::of(i).map_err(|m| fail(1, m))?,
            None if self.steps.is_empty() => return Ok(()),
            None => return Err(fail(1, "step records but no initial canvas in the header")),
        };
        for (k, s) in self.steps.iter().enumerate() {
            if s.step != k + 1 {
                return Err(fail(
                    0,
                    format!("step record {} is numbered {}", k + 1, s.step),
                ));
            }
            x = advance(&x, s).map_err(|m| fail(0, format!("step {}: {m}", s.step)))?;
        }
        Ok(())
    }

    /// x_0, x_1, ... rebuilt from the diffs (tokens and payloads as JSON, with their texts).
    pub fn canvases(&self) -> Result<Vec<JsonCanvas>, FormatError> {
        let Some(i) = &self.header.initial else {
            return Ok(Vec::new());
        };
        let mut out = vec![JsonCanvas::of(i).map_err(|m| fail(1, m))?];
        for s in &self.steps {
            let next = advance(out.last().unwrap_or(&JsonCanvas::default()), s)
                .map_err(|m| fail(0, format!("step {}: {m}", s.step)))?;
            out.push(next);
        }
        Ok(out)
    }

    /// The trace as the machine's typed [`Trace`], with canvases rebuilt from the diffs and
    /// control bits from the operations; [`Trace::replay`] then checks it against g.
    pub fn to_trace<A, P>(&self) -> Result<Trace<A, P>, FormatError>
    where
        A: DeserializeOwned + Clone,
        P: DeserializeOwned + Default + Clone,
    {
        let class = self
            .header
            .class
            .ok_or_else(|| fail(1, "the trace names no model class (a PRAM-only trace?)"))?;
        let canvases = self.canvases()?;
        let typed = |c: &JsonCanvas| -> Result<Canvas<A, P>, FormatError> {
            let tokens = c
                .tokens
                .iter()
                .map(|v| serde_json::from_value::<Token<A>>(v.clone()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| fail(0, format!("token: {e}")))?;
            let payloads = match &c.payloads {
                Some(p) => p
                    .iter()
                    .map(|v| serde_json::from_value::<P>(v.clone()))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| fail(0, format!("payload: {e}")))?,
                None => tokens.iter().map(|_| P::default()).collect(),
            };
            Canvas::with_payloads(tokens, payloads)
                .ok_or_else(|| fail(0, "tokens and payloads differ in number"))
        };
        let Some(first) = canvases.first() else {
            return Err(fail(1, "the trace has no initial canvas"));
        };
        let initial = typed(first)?;
        // A symbol to stand in the proposal where g ignores it (holds, deletes).
        let filler: Option<A> = canvases
            .iter()
            .flat_map(|c| c.tokens.iter())
            .find(|v| !v.is_null())
            .and_then(|v| serde_json::from_value(v.clone()).ok());
        let mut records = Vec::with_capacity(self.steps.len());
        for (k, s) in self.steps.iter().enumerate() {
            let before = typed(&canvases[k])?;
            let after = typed(&canvases[k + 1])?;
            let mut diff = s.diff.iter().peekable();
            let mut y = Vec::with_capacity(before.len());
            let mut bits = Vec::with_capacity(before.len());
            for (i, (c, t)) in s.ops.chars().zip(before.tokens()).enumerate() {
                let lower = c.to_ascii_lowercase();
                let mut b = match lower {
                    'r' | 'h' => ControlBits::REMASK,
                    'd' => ControlBits::DELETE,
                    _ => ControlBits::NONE,
                };
                if c.is_ascii_uppercase() {
                    b = b.with_insert();
                }
                bits.push(b);
                let a = match (lower, t) {
                    ('u', _) => {
                        let ch = diff
                            .next_if(|d| d.at == i)
                            .ok_or_else(|| fail(0, format!("step {}: no token for {i}", s.step)))?;
                        serde_json::from_value(ch.token.clone())
                            .map_err(|e| fail(0, format!("step {}: token: {e}", s.step)))?
                    }
                    (_, Token::Sym(a)) => a.clone(),
                    (_, Token::Mask) => filler.clone().ok_or_else(|| {
                        fail(0, "no symbol anywhere in the trace to fill a proposal")
                    })?,
                };
                y.push(a);
            }
            records.push(StepRecord {
                step: s.step,
                length: s.length,
                counts: s.counts,
                detail: Some(StepDetail {
                    y,
                    bits: crate::machine::BitsRow(bits),
                    after,
                }),
            });
        }
        Ok(Trace {
            class,
            initial,
            records,
        })
    }

    /// The format-1 text: the header, the round records, then the step records, a line each.
    pub fn to_jsonl(&self) -> String {
        let mut out = line(&self.header);
        out.push('\n');
        for r in &self.rounds {
            out.push_str(&line(&Record::Round(r.clone())));
            out.push('\n');
        }
        for s in &self.steps {
            out.push_str(&line(&Record::Step(s.clone())));
            out.push('\n');
        }
        out
    }

    /// The longest canvas, x_0 included (0 without canvases).
    pub fn peak_length(&self) -> usize {
        let first = self.header.initial.as_ref().map_or(0, |i| i.tokens.len());
        self.steps.iter().map(|s| s.length).fold(first, usize::max)
    }

    /// Round records by round number.
    pub fn rounds_by_number(&self) -> BTreeMap<u64, &RoundLine> {
        self.rounds.iter().map(|r| (r.round, r)).collect()
    }
}

/// A canvas as JSON: tokens (`null` the mask), payloads when present, texts and serves.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JsonCanvas {
    /// Tokens.
    pub tokens: Vec<Value>,
    /// Payloads (absent when they carry nothing).
    pub payloads: Option<Vec<Value>>,
    /// Each position's text.
    pub text: Vec<String>,
    /// What each position's token serves ("" when unknown or a mask).
    pub serves: Vec<String>,
}

impl JsonCanvas {
    fn of(i: &Initial) -> Result<JsonCanvas, String> {
        let n = i.tokens.len();
        if i.text.len() != n {
            return Err(format!("{n} initial tokens but {} texts", i.text.len()));
        }
        if !i.serves.is_empty() && i.serves.len() != n {
            return Err(format!("{n} initial tokens but {} serves", i.serves.len()));
        }
        if let Some(p) = &i.payloads {
            if p.len() != n {
                return Err(format!("{n} initial tokens but {} payloads", p.len()));
            }
        }
        Ok(JsonCanvas {
            tokens: i.tokens.clone(),
            payloads: i.payloads.clone(),
            text: i.text.clone(),
            serves: if i.serves.is_empty() {
                vec![String::new(); n]
            } else {
                i.serves.clone()
            },
        })
    }
}

/// x_k from x_{k-1} and a step record, by the record alone (this module's own rebuilding, not
/// `machine::apply`): deletes drop a mask, remasks and holds leave a mask, unmasks take the
/// diff's token, an upper-case letter inserts a mask after the position with its payload.
pub fn advance(x: &JsonCanvas, s: &StepLine) -> Result<JsonCanvas, String> {
    let n = x.tokens.len();
    if s.ops.len() != n || s.ops.chars().count() != n {
        return Err(format!(
            "{} operations for a canvas of {n}",
            s.ops.chars().count()
        ));
    }
    let mut out = JsonCanvas {
        payloads: x.payloads.as_ref().map(|_| Vec::with_capacity(n)),
        ..JsonCanvas::default()
    };
    let mut diff = s.diff.iter().peekable();
    let mut counts = OpCounts::default();
    let mask = crate::machine::MASK_TEXT.to_string();
    for (i, c) in s.ops.chars().enumerate() {
        let is_mask = x.tokens[i].is_null();
        let lower = c.to_ascii_lowercase();
        let inserted = c.is_ascii_uppercase();
        let ok = match lower {
            'k' | 'r' => !is_mask,
            'u' | 'h' | 'd' => is_mask,
            _ => return Err(format!("operation {c:?} at position {i}")),
        };
        if !ok {
            return Err(format!(
                "operation {c:?} at position {i}, which holds {}",
                if is_mask { "a mask" } else { "a token" }
            ));
        }
        if lower == 'd' && inserted {
            return Err(format!("a delete cannot insert (position {i})"));
        }
        let payload = x.payloads.as_ref().map(|p| p[i].clone());
        let mut push = |token: Value, text: String, serves: String| {
            out.tokens.push(token);
            out.text.push(text);
            out.serves.push(serves);
            if let (Some(p), Some(v)) = (out.payloads.as_mut(), &payload) {
                p.push(v.clone());
            }
        };
        match lower {
            'k' => {
                counts.keep += 1;
                push(x.tokens[i].clone(), x.text[i].clone(), x.serves[i].clone());
            }
            'r' | 'h' => {
                if lower == 'r' {
                    counts.remask += 1;
                } else {
                    counts.hold += 1;
                }
                push(Value::Null, mask.clone(), String::new());
            }
            'u' => {
                counts.unmask += 1;
                let d = diff
                    .next_if(|d| d.at == i)
                    .ok_or_else(|| format!("position {i} unmasks but the diff has no token"))?;
                if d.token.is_null() {
                    return Err(format!("position {i} unmasks to a mask"));
                }
                push(
                    d.token.clone(),
                    d.text.clone(),
                    d.serves.clone().unwrap_or_default(),
                );
            }
            _ => counts.delete += 1,
        }
        if inserted {
            counts.insert += 1;
            push(Value::Null, mask.clone(), String::new());
        }
    }
    if let Some(d) = diff.next() {
        return Err(format!(
            "the diff names position {}, which does not unmask",
            d.at
        ));
    }
    if out.tokens.len() != s.length {
        return Err(format!(
            "the operations give length {} but the record says {}",
            out.tokens.len(),
            s.length
        ));
    }
    if counts != s.counts {
        return Err("the recorded counts differ from the operations".into());
    }
    Ok(out)
}
