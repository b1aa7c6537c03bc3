//! Traces: one record per step, their JSONL form, replay through g, and text renderings for people.

use std::fmt::{self, Write as _};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::class::{check_step, ModelClass};
use super::control::BitsRow;
use super::step::{apply, Action, Canvas, OpCounts};
use super::token::{Symbol, Token};

/// Everything a run recorded: the class, the initial sequence, and one record per counted step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace<A, P = ()> {
    /// The class every step was checked against.
    pub class: ModelClass,
    /// x_0.
    pub initial: Canvas<A, P>,
    /// Records of steps 1, 2, ... in order.
    pub records: Vec<StepRecord<A, P>>,
}

/// One counted step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(
    serialize = "A: Serialize, P: Serialize",
    deserialize = "A: Deserialize<'de>, P: Deserialize<'de> + Default"
))]
pub struct StepRecord<A, P = ()> {
    /// The step number k (x_{k-1} to x_k), from 1.
    pub step: usize,
    /// The length of x_k.
    pub length: usize,
    /// What g did, counted.
    pub counts: OpCounts,
    /// The proposal and x_k, when the run recorded full detail.
    #[serde(flatten, default = "Option::default")]
    pub detail: Option<StepDetail<A, P>>,
}

/// The full record of a step: enough to replay it through g and to render it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(
    serialize = "A: Serialize, P: Serialize",
    deserialize = "A: Deserialize<'de>, P: Deserialize<'de> + Default"
))]
pub struct StepDetail<A, P = ()> {
    /// The proposed tokens y.
    pub y: Vec<A>,
    /// The control bits, as a digit string (remask 1 + insert 2 + delete 4).
    pub bits: BitsRow,
    /// The new sequence x_k with payloads.
    pub after: Canvas<A, P>,
}

impl<A, P> Trace<A, P> {
    /// Counted steps.
    pub fn steps(&self) -> usize {
        self.records.len()
    }

    /// The longest sequence held, x_0 included.
    pub fn peak_length(&self) -> usize {
        self.records
            .iter()
            .map(|r| r.length)
            .fold(self.initial.len(), usize::max)
    }

    /// Operation counts summed over all steps.
    pub fn totals(&self) -> OpCounts {
        let mut total = OpCounts::default();
        for r in &self.records {
            total += r.counts;
        }
        total
    }

    /// x_0, x_1, ..., when every step was recorded in full; `None` otherwise.
    pub fn states(&self) -> Option<Vec<&Canvas<A, P>>> {
        let mut states = vec![&self.initial];
        for r in &self.records {
            states.push(&r.detail.as_ref()?.after);
        }
        Some(states)
    }
}

/// A recorded trace that g does not reproduce (or that was not recorded in full).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("replay of step {step}: {reason}")]
pub struct ReplayError {
    /// The first step that did not replay.
    pub step: usize,
    /// What differed.
    pub reason: String,
}

impl<A: Symbol, P: Clone + PartialEq> Trace<A, P> {
    /// Re-applies g to every recorded proposal and checks the class, the counts, the lengths and
    /// the recorded sequences (tokens and payloads).
    pub fn replay(&self) -> Result<(), ReplayError> {
        let mut x = &self.initial;
        for (i, r) in self.records.iter().enumerate() {
            let fail = |reason: String| ReplayError {
                step: r.step,
                reason,
            };
            if r.step != i + 1 {
                return Err(fail(format!("record {i} is numbered {}", r.step)));
            }
            let d = r
                .detail
                .as_ref()
                .ok_or_else(|| fail("the step was recorded without detail".into()))?;
            let t = apply(x, &d.y, &d.bits.0).map_err(|e| fail(e.to_string()))?;
            check_step(self.class, r.step, x.tokens(), &d.bits.0)
                .map_err(|v| fail(v.to_string()))?;
            if t.next != d.after {
                return Err(fail(format!(
                    "g gives {} but the trace records {}",
                    super::token::render(t.next.tokens()),
                    super::token::render(d.after.tokens())
                )));
            }
            if t.counts != r.counts || t.next.len() != r.length {
                return Err(fail("recorded counts or length differ from g's".into()));
            }
            x = &d.after;
        }
        Ok(())
    }
}

/// The first line of a JSONL trace.
#[derive(Serialize, Deserialize)]
struct TraceHeader<C> {
    class: ModelClass,
    initial: C,
}

/// A JSONL trace that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("trace line {line}: {message}")]
pub struct TraceFormatError {
    /// 1-based line number.
    pub line: usize,
    /// What was wrong.
    pub message: String,
}

impl<A: Serialize, P: Serialize> Trace<A, P> {
    /// The JSONL form: a header line `{"class", "initial"}`, then one line per step.
    pub fn to_jsonl(&self) -> String {
        let mut out = String::new();
        let header = TraceHeader {
            class: self.class,
            initial: &self.initial,
        };
        push_json_line(&mut out, &header);
        for r in &self.records {
            push_json_line(&mut out, r);
        }
        out
    }
}

fn push_json_line<T: Serialize>(out: &mut String, value: &T) {
    // Serializing plain data with string keys cannot fail.
    out.push_str(&serde_json::to_string(value).unwrap_or_default());
    out.push('\n');
}

impl<A: DeserializeOwned, P: DeserializeOwned + Default> Trace<A, P> {
    /// Reads the JSONL form written by [`Trace::to_jsonl`].
    pub fn from_jsonl(text: &str) -> Result<Self, TraceFormatError> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let (_, first) = lines.next().ok_or(TraceFormatError {
            line: 1,
            message: "empty trace: expected a header line".into(),
        })?;
        let err = |line: usize, e: serde_json::Error| TraceFormatError {
            line: line + 1,
            message: e.to_string(),
        };
        let header: TraceHeader<Canvas<A, P>> =
            serde_json::from_str(first).map_err(|e| err(0, e))?;
        let records = lines
            .map(|(i, l)| serde_json::from_str(l).map_err(|e| err(i, e)))
            .collect::<Result<Vec<StepRecord<A, P>>, _>>()?;
        Ok(Trace {
            class: header.class,
            initial: header.initial,
            records,
        })
    }
}

/// In JSON a canvas is `{"tokens": [...], "payloads": [...]}`; payloads of a zero-sized type
/// (such as `()`) carry nothing and are left out.
impl<A: Serialize, P: Serialize> Serialize for Canvas<A, P> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Out<'a, A, P> {
            tokens: &'a [Token<A>],
            #[serde(skip_serializing_if = "zero_sized")]
            payloads: &'a [P],
        }
        Out {
            tokens: &self.tokens,
            payloads: &self.payloads,
        }
        .serialize(s)
    }
}

fn zero_sized<P>(_: &&[P]) -> bool {
    std::mem::size_of::<P>() == 0
}

impl<'de, A: Deserialize<'de>, P: Deserialize<'de> + Default> Deserialize<'de> for Canvas<A, P> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct In<A, P> {
            tokens: Vec<Token<A>>,
            #[serde(default = "Option::default")]
            payloads: Option<Vec<P>>,
        }
        let raw = In::<A, P>::deserialize(d)?;
        let payloads = match raw.payloads {
            Some(p) => p,
            None if std::mem::size_of::<P>() == 0 => {
                raw.tokens.iter().map(|_| P::default()).collect()
            }
            None => return Err(serde::de::Error::missing_field("payloads")),
        };
        let (t, p) = (raw.tokens.len(), payloads.len());
        Canvas::with_payloads(raw.tokens, payloads)
            .ok_or_else(|| serde::de::Error::custom(format!("{t} tokens but {p} payloads")))
    }
}

/// One step as a student reads it: x_{k-1} with each position's operation under it, then x_k.
///
/// Letters: k keep, u unmask, r remask, h hold, d delete; a `+` means a new mask was inserted
/// after the position.
pub fn render_step<A: Symbol, P: Clone>(
    before: &Canvas<A, P>,
    record: &StepRecord<A, P>,
) -> Option<String> {
    let d = record.detail.as_ref()?;
    let t = apply(before, &d.y, &d.bits.0).ok()?;
    let mut top = String::new();
    let mut marks = String::new();
    for (token, action) in before.tokens().iter().zip(&t.actions) {
        let text = token.to_string();
        let mark = action_mark(*action);
        let width = text.chars().count().max(mark.chars().count());
        let _ = write!(top, "{text:<width$} ");
        let _ = write!(marks, "{mark:<width$} ");
    }
    let c = record.counts;
    Some(format!(
        "step {}: {}\n  ops    {}\n  after  {}\n  ({} unmask, {} remask, {} hold, {} insert, {} delete, {} keep; length {})",
        record.step,
        top.trim_end(),
        marks.trim_end(),
        super::token::render(d.after.tokens()),
        c.unmask,
        c.remask,
        c.hold,
        c.insert,
        c.delete,
        c.keep,
        record.length
    ))
}

fn action_mark(action: Action) -> String {
    let mut s = String::from(action.op.letter());
    if action.inserted {
        s.push('+');
    }
    s
}

/// The whole trace rendered step by step, when it was recorded in full.
pub struct TraceText<'a, A, P>(pub &'a Trace<A, P>);

impl<A: Symbol, P: Clone> fmt::Display for TraceText<'_, A, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let trace = self.0;
        writeln!(
            f,
            "{} trace, x_0 = {}",
            trace.class,
            super::token::render(trace.initial.tokens())
        )?;
        let mut before = &trace.initial;
        for r in &trace.records {
            match (render_step(before, r), &r.detail) {
                (Some(text), Some(d)) => {
                    writeln!(f, "{text}")?;
                    before = &d.after;
                }
                _ => {
                    return writeln!(f, "step {}: recorded without detail", r.step);
                }
            }
        }
        Ok(())
    }
}
