//! The step-through page: one self-contained HTML file (inline CSS and script, no network) built
//! from a format-1 trace. The page stores the trace's diffs, not its canvases; the script
//! rebuilds each canvas from the nearest stored one.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{json, Value};

use super::format::{JsonCanvas, TraceFile};

/// Steps times peak positions above which the page keeps a sample of the steps (each sampled
/// step with its canvas before it in full), and says so.
pub const SAMPLE_BUDGET: u64 = 10_000_000;

/// The default page-size limit (50 MB).
pub const DEFAULT_MAX_PAGE_BYTES: u64 = 50 * 1000 * 1000;

/// A page that could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The trace did not rebuild.
    #[error(transparent)]
    Format(#[from] super::format::FormatError),
    /// The page would be larger than allowed.
    #[error(
        "the page would be {bytes} bytes, above --max-page-bytes {limit}; raise the limit, or \
         view a smaller run"
    )]
    TooLarge {
        /// The page's size.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
}

/// Strings interned for the page: each distinct text or serves once.
#[derive(Default)]
struct Interner {
    index: HashMap<String, usize>,
    list: Vec<String>,
}

impl Interner {
    fn id(&mut self, s: &str) -> usize {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        self.list.push(s.to_string());
        self.index.insert(s.to_string(), self.list.len() - 1);
        self.list.len() - 1
    }

    /// A canvas as `[text ids]` (-1 a mask) and `[serves ids]`.
    fn canvas(&mut self, c: &JsonCanvas) -> Value {
        let t: Vec<i64> = c
            .tokens
            .iter()
            .zip(&c.text)
            .map(|(tok, text)| {
                if tok.is_null() {
                    -1
                } else {
                    self.id(text) as i64
                }
            })
            .collect();
        let s: Vec<usize> = c.serves.iter().map(|s| self.id(s)).collect();
        json!({"t": t, "s": s})
    }
}

#[derive(Serialize)]
struct PageData<'a> {
    title: String,
    kind: &'a str,
    class: Option<String>,
    program: Option<&'a str>,
    source: Option<&'a str>,
    n: Option<i64>,
    seed: Option<u64>,
    target: Option<&'a str>,
    layout: Option<&'a str>,
    registers: &'a [String],
    regions: &'a [super::format::Region],
    bound: Option<&'a super::format::Bounds>,
    total_steps: usize,
    stride: usize,
    lengths: Vec<usize>,
    texts: Vec<String>,
    init: Value,
    steps: Vec<Value>,
    rounds: Vec<Value>,
}

/// The page of `trace`, refused when over `max_bytes`; sampled past [`SAMPLE_BUDGET`].
pub fn render(trace: &TraceFile, max_bytes: u64) -> Result<String, PageError> {
    render_with(trace, max_bytes, SAMPLE_BUDGET)
}

/// [`render`] with another sampling budget (steps times peak positions): past it, every
/// `stride`-th step (and the last) is kept with its canvas before it, `stride` the smallest
/// that brings the kept steps within the budget.
pub fn render_with(trace: &TraceFile, max_bytes: u64, budget: u64) -> Result<String, PageError> {
    let h = &trace.header;
    let budget = budget.max(1);
    let canvases = trace.canvases()?;
    let total = trace.steps.len();
    let peak = trace.peak_length().max(1) as u64;
    let work = (total as u64).saturating_mul(peak);
    let stride = if work > budget {
        work.div_ceil(budget) as usize
    } else {
        1
    };
    let mut strings = Interner::default();
    strings.id("");
    let init = match canvases.first() {
        Some(c) => strings.canvas(c),
        None => json!({"t": [], "s": []}),
    };
    let mut steps = Vec::new();
    for (k, s) in trace.steps.iter().enumerate() {
        let number = k + 1;
        if stride > 1 && number % stride != 0 && number != total {
            continue;
        }
        let diff: Vec<Value> = s
            .diff
            .iter()
            .map(|d| {
                json!([
                    d.at,
                    strings.id(&d.text),
                    strings.id(d.serves.as_deref().unwrap_or(""))
                ])
            })
            .collect();
        let c = s.counts;
        let mut v = json!({
            "k": number,
            "o": s.ops,
            "d": diff,
            "L": s.length,
            "c": [c.unmask, c.remask, c.hold, c.insert, c.delete, c.keep],
            "r": s.round,
            "p": s.phase,
        });
        if stride > 1 {
            v["b"] = strings.canvas(&canvases[k]);
        }
        steps.push(v);
    }
    let rounds: Vec<Value> = trace
        .rounds
        .iter()
        .map(|r| {
            json!({
                "round": r.round, "line": r.line, "active": r.active, "failed": r.failed,
                "registers": r.registers, "space": r.space,
                "reads": r.reads.iter().take(200).map(|a| json!([a.processor, a.address, a.value, a.line])).collect::<Vec<_>>(),
                "nreads": r.reads.len(),
                "writes": r.writes.iter().take(200).map(|a| json!([a.processor, a.address, a.value, a.line])).collect::<Vec<_>>(),
                "nwrites": r.writes.len(),
            })
        })
        .collect();
    let mut lengths = vec![canvases.first().map_or(0, |c| c.tokens.len())];
    lengths.extend(trace.steps.iter().map(|s| s.length));
    let title = match (&h.program, &h.target) {
        (Some(p), Some(t)) => format!(
            "{p} -> {t}{}, n = {}",
            h.layout
                .as_deref()
                .map_or(String::new(), |l| format!(" ({l})")),
            h.n.map_or("?".into(), |n| n.to_string())
        ),
        (Some(p), None) => format!("{} ({})", p, h.kind),
        _ => format!("{} trace", h.kind),
    };
    let data = PageData {
        title: title.clone(),
        kind: &h.kind,
        class: h.class.map(|c| c.to_string()),
        program: h.program.as_deref(),
        source: h.source.as_deref(),
        n: h.n,
        seed: h.seed,
        target: h.target.as_deref(),
        layout: h.layout.as_deref(),
        registers: &h.registers,
        regions: &h.regions,
        bound: h.bound.as_ref(),
        total_steps: total,
        stride,
        lengths,
        texts: strings.list,
        init,
        steps,
        rounds,
    };
    // `</` cannot end the script element early when written as `<\/`.
    let json = serde_json::to_string(&data)
        .unwrap_or_default()
        .replace("</", "<\\/");
    let mut page = String::with_capacity(json.len() + SCRIPT.len() + STYLE.len() + 2048);
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
    page.push_str(&escape(&title));
    page.push_str("</title>\n<style>");
    page.push_str(STYLE);
    page.push_str("</style></head>\n<body>\n");
    page.push_str(BODY);
    page.push_str("<script id=\"trace-data\" type=\"application/json\">");
    page.push_str(&json);
    page.push_str("</script>\n<script>");
    page.push_str(SCRIPT);
    page.push_str("</script>\n</body></html>\n");
    let bytes = page.len() as u64;
    if bytes > max_bytes {
        return Err(PageError::TooLarge {
            bytes,
            limit: max_bytes,
        });
    }
    Ok(page)
}

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = include_str!("page.css");
const BODY: &str = include_str!("page_body.html");
const SCRIPT: &str = include_str!("page.js");
