//! `pram_to_mdm`: Theorem 1's construction. A PRAM program at size n becomes one seq program f and a
//! canvas laid out from n and the declared bounds; decoding step t fills the header of round t and
//! the slots of its processors, so the schedule takes T + 1 steps (`proofs/mdm.md`).
//!
//! The seq program depends on the program and n only (registers, word range, array places and the
//! declared bounds are constants in it); the input and the seed are tokens of the canvas. Every
//! position computes the same global state (the latest header and the results of the round just
//! decoded) with lookups, then its own role: the next header, a processor slot, an output cell, a
//! pad, or hold.
//!
//! The round compiler here (`prepare`, `observe`, `transition`, `slot_body`, memory loads) is
//! shared with `pram_to_apmdm`, which lays the same state out on a canvas rewritten in place.

// Parallel arrays of nodes (registers, fields, details) are updated index by index.
#![allow(clippy::needless_range_loop)]

use std::collections::HashMap;

use num_traits::ToPrimitive;

use super::cfg::{Action, Cfg, Node, RoundKind};
use super::mdm_layout::{LayoutError, MdmLayout};
use crate::pram::program::{AccessModel, BinOp, Expr, Op as PramOp, Program, UnOp};
use crate::pram::{interp, RunConfig};
use crate::seq::{
    BinaryOp as B, Builder, Heads, Prefer, Program as Seq, Selector, UnaryOp as U, Value as V,
};

/// Token kinds (field 0; a mask reads as 0).
pub mod kind {
    /// A header: the control state before a round, or the final status.
    pub const HEADER: i64 = 1;
    /// A given memory cell (an input, or an array with a generator).
    pub const GIVEN: i64 = 2;
    /// A processor slot: one processor's activation in one round.
    pub const SLOT: i64 = 3;
    /// An output cell.
    pub const OUTPUT: i64 = 4;
    /// Padding (positions the run did not need).
    pub const PAD: i64 = 5;
}

/// Header status codes.
pub mod status {
    /// Rounds remain.
    pub const RUNNING: i64 = 0;
    /// The program ended normally.
    pub const HALTED: i64 = 1;
    /// A fault (d: kind, round, processor, line, array, index, length).
    pub const FAULT: i64 = 2;
    /// An access violation (d: kind, round, first processor, line, array, index, second processor).
    pub const VIOLATION: i64 = 3;
    /// A resource limit (d: limit, round, -, line, value).
    pub const LIMIT: i64 = 4;
    /// A declared bound exceeded (d: metric, measured, bound).
    pub const BOUND: i64 = 5;
}

/// Header fields.
pub mod hf {
    /// Ordinal (0 for the start token, t for the header decoded at step t).
    pub const ORD: usize = 1;
    /// Program counter of the round this header starts (-1 at the start, 0 at the end).
    pub const PC: usize = 2;
    /// Status code.
    pub const STATUS: usize = 3;
    /// Processors of the round this header starts.
    pub const CNT: usize = 4;
    /// Rounds counted so far (this header's round included).
    pub const T: usize = 5;
    /// Work so far.
    pub const W: usize = 6;
    /// Largest processor count so far.
    pub const P: usize = 7;
    /// Largest space so far.
    pub const S: usize = 8;
    /// The seed (CRCW-arbitrary draws).
    pub const SEED: usize = 9;
    /// First of seven detail fields.
    pub const D: usize = 10;
    /// First register.
    pub const REGS: usize = 17;
}

/// Slot fields.
pub mod sf {
    /// The round.
    pub const ROUND: usize = 1;
    /// The processor id.
    pub const PID: usize = 2;
    /// A test's value.
    pub const BRANCH: usize = 3;
    /// Fault kind (0: none), line, and details a, b, c.
    pub const FAULT: usize = 4;
    /// First write site: key, value, address, array, index, line, target position.
    pub const WRITES: usize = 9;
    /// Fields per write site.
    pub const PER_WRITE: usize = 7;
    /// Offset of a write site's target position: where the written cell stands on the canvas
    /// (AP-MDM, whose cells are rewritten in place; 0 in MDM slots).
    pub const TARGET: usize = 6;
    // The target position is the last field of a write site.
    const _: () = assert!(TARGET + 1 == PER_WRITE);
    /// Fields per read site: address, array, index, line.
    pub const PER_READ: usize = 4;
}

/// Fault kind codes.
pub mod fault {
    /// Overflow of the word.
    pub const OVERFLOW: i64 = 1;
    /// Division or remainder by zero.
    pub const DIVISION_BY_ZERO: i64 = 2;
    /// An index outside its array (a: array, b: index, c: length).
    pub const OUT_OF_BOUNDS: i64 = 3;
    /// log2 of a non-positive value, a negative shift, a negative allocation.
    pub const DOMAIN: i64 = 4;
}

/// Why a program cannot be compiled at n.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// The canvas cannot be laid out.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// The interpreter refuses the set-up (size, declarations).
    #[error("{0}")]
    Setup(String),
    /// Beyond what the construction's integer encoding holds.
    #[error("{0}")]
    TooLarge(String),
    /// A feature the construction does not handle.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

/// Region starts and sizes of a materialized canvas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Regions {
    /// First given cell (the start token is position 0).
    pub given: usize,
    /// First header (ordinal 1).
    pub headers: usize,
    /// Number of headers (T_decl + 1).
    pub header_count: usize,
    /// First slot.
    pub slots: usize,
    /// Number of slots.
    pub slot_count: usize,
    /// First output cell.
    pub outputs: usize,
    /// Number of output cells.
    pub output_count: usize,
    /// The whole length.
    pub length: usize,
}

/// A compiled program at one n.
#[derive(Debug, Clone)]
pub struct MdmCompiled {
    /// The step function.
    pub seq: Seq,
    /// The canvas regions.
    pub regions: Regions,
    /// The exact layout.
    pub layout: MdmLayout,
    /// Given cells in canvas order: (array, index, address).
    pub given: Vec<(u32, i64, i64)>,
    /// Output arrays in order: (array, base address, length, scalar).
    pub outputs: Vec<(u32, i64, i64, bool)>,
    /// Word fields.
    pub fields: usize,
    /// Write sites per slot.
    pub write_sites: usize,
    /// Read sites per slot.
    pub read_sites: usize,
    /// Registers in a header (program registers, then loop counters and limits, scoped-array base,
    /// length and epoch, and the top of memory).
    pub registers: usize,
    /// The word range.
    pub word: (i64, i64),
    /// The declared bounds (rounds, processors, work, space) where declared.
    pub bounds: Vec<(crate::pram::Metric, i64)>,
    /// The access model compiled for.
    pub model: AccessModel,
}

/// Limits of the construction.
#[derive(Debug, Clone, Copy)]
pub struct CompileLimits {
    /// The longest canvas built.
    pub max_length: usize,
    /// As the interpreter's `max_processors`.
    pub max_processors: u64,
    /// As the interpreter's `max_cells`.
    pub max_cells: u64,
}

impl Default for CompileLimits {
    fn default() -> Self {
        let c = RunConfig::new(1);
        CompileLimits {
            max_length: 1 << 22,
            max_processors: c.max_processors,
            max_cells: c.max_cells,
        }
    }
}

/// A stop being accumulated in program order: the first one that fires wins. Stops recorded
/// since the status was last read wait in `pending` and are resolved together by one `FirstOf`
/// per field (a priority encoder: two layers, however many stops), not by a chain of selects.
#[derive(Clone)]
pub(super) struct Stop {
    status: V,
    d: [V; 7],
    /// (fires, status code, details) in program order, not yet folded into `status` and `d`.
    pending: Vec<(V, V, [V; 7])>,
}

impl Stop {
    /// No stop yet (`zero` is the constant 0).
    pub(super) fn none(zero: V) -> Stop {
        Stop {
            status: zero,
            d: [zero; 7],
            pending: Vec::new(),
        }
    }
}

/// What every position reads off the canvas before choosing its role (see `observe`).
pub(super) struct Observed {
    /// The current header's fields.
    pub h: Vec<V>,
    /// The round the current header started (its T).
    pub round_k: V,
    /// The header's status is running.
    pub started: V,
    /// Round k faulted or violated its access model.
    pub failed: V,
    /// Round k's test value.
    pub branch: V,
    /// Round k's own failure, as a stop.
    pub stop: Stop,
    /// This position's index.
    pub idx: V,
    /// This position holds the mask.
    pub is_mask: V,
    /// This position holds a decoded slot.
    pub is_slot: V,
    /// This position holds a decoded memory cell (a given cell in MDM).
    pub is_given: V,
}

/// The next control state (see `transition`).
pub(super) struct Transition {
    /// The new header, `fields` wide.
    pub header: Vec<V>,
    /// Rounds remain and nothing stopped.
    pub running: V,
    /// Registers after the free path.
    pub regs: Vec<V>,
    /// The next round's program counter.
    pub pc: V,
    /// The next round's processor count.
    pub cnt: V,
    /// Each pardo's (lo, size) per dimension at the new registers.
    pub sizes: Vec<Vec<(V, V)>>,
    /// round_k + 1.
    pub next_round: V,
    /// The new header's ordinal.
    pub ord: V,
    /// The lowest top of memory on the free path (scopes left, then entered).
    pub low: V,
}

/// What bounds the processor slots of a round.
#[derive(Clone, Copy)]
pub(super) enum SlotCap {
    /// MDM: the slots laid out, W_decl-style (work so far plus this round's count).
    Work(i64),
    /// AP-MDM: the processor region (this round's count).
    Processors(i64),
}

/// Per-processor (or per-transition) evaluation environment.
#[derive(Clone)]
struct Env {
    regs: Vec<V>,
    locals: Vec<V>,
}

/// One write site's values at a position.
#[derive(Clone, Copy)]
struct WriteSite {
    key: V,
    value: V,
    addr: V,
    array: V,
    index: V,
    line: V,
}

/// One read site's values at a position.
#[derive(Clone, Copy)]
struct ReadSite {
    addr: V,
    array: V,
    index: V,
    line: V,
}

pub(super) struct Compiler {
    pub(super) b: Builder,
    consts: HashMap<i64, V>,
    word: (i64, i64),
    /// Static arrays: (base, length); scoped: None.
    places: Vec<Option<(i64, i64)>>,
    /// Register index of each scoped array's (base, length, epoch).
    scoped: Vec<Option<usize>>,
    /// Register of each loop's (counter, limit).
    loop_regs: usize,
    pub(super) top_reg: usize,
    allocs: usize,
    model: AccessModel,
    /// Fields per token (the widest of header and slot).
    pub(super) fields: usize,
    pub(super) write_sites: usize,
    pub(super) read_sites: usize,
    /// Memory: per write site, the visible key, priority and value nodes; given key and value.
    mem: Option<Memory>,
    /// Memory held in place (AP-MDM): keys are plain addresses (no scope epochs) and every
    /// write records the canvas position of the cell it targets.
    in_place: bool,
    /// How writes find their target positions (AP-MDM, set before slot bodies are built).
    pub(super) targets: Option<Targets>,
    /// The declared space bound at n, checked at every allocation (`proofs/bounds.md`).
    space_decl: Option<i64>,
    /// T_decl + 1: the most a round ordinal reaches (next rounds past T_decl stop the run).
    round_cap: i64,
    /// The most a header's ordinal reaches (set by each construction before `transition`).
    pub(super) ord_cap: i64,
    /// The most the top of memory reaches: the cell limit plus a word per allocation on a path.
    top_cap: i64,
    /// Above every processor id (the slot cap; set by each construction before `observe`).
    pub(super) pid_cap: i64,
}

/// How a write finds its cell's position on an AP-MDM canvas: a decoded cell by address, else a
/// fresh (still masked) cell by its rank among the fresh ones, whose addresses follow the
/// decoded cells'.
#[derive(Clone, Copy)]
pub(super) struct Targets {
    /// A decoded cell's address, else -1.
    pub cell_key: V,
    /// A fresh cell's rank, else -1.
    pub fresh_key: V,
    /// How many cells are decoded.
    pub decoded: V,
}

/// The visible writes, per write site: the memory key as a pair (scope epoch, or -1 for no
/// visible write; address), the priority as a pair (round; inverted rank: larger wins), the value;
/// and the given cells' key pair and value.
#[derive(Clone)]
struct Memory {
    epochs: Vec<V>,
    addrs: Vec<V>,
    rounds: Vec<V>,
    invs: Vec<V>,
    values: Vec<V>,
    /// Per write site, its visible target position (AP-MDM; empty in MDM).
    targets: Vec<V>,
    given_epoch: V,
    given_addr: V,
    given_value: V,
}

/// Compiles `program` at `n` (the interpreter's set-up at this n supplies registers, word and
/// array places; no input value enters the seq program).
pub fn pram_to_mdm(
    program: &Program,
    n: i64,
    limits: &CompileLimits,
) -> Result<MdmCompiled, CompileError> {
    let layout = MdmLayout::at(program, n.max(0) as u64)?;
    let length = layout.materializable(limits.max_length).ok_or_else(|| {
        CompileError::TooLarge(format!(
            "the canvas has {} positions, above the limit of {}",
            layout.length, limits.max_length
        ))
    })?;
    let rounds_decl = layout.rounds_declared.to_i64().unwrap_or(i64::MAX);
    let (mut c, cfg, setup) = prepare(program, n, limits, rounds_decl, 0, false)?;
    let registers = c.top_reg + 1;
    let fields = c.fields;
    let (write_sites, read_sites) = (c.write_sites, c.read_sites);
    // Regions.
    let given: Vec<(u32, i64, i64)> = program
        .arrays
        .iter()
        .enumerate()
        .filter(|(_, a)| super::mdm_layout::is_given(a))
        .flat_map(|(a, _)| {
            let base = setup.base[a] as i64;
            (0..setup.len[a] as i64).map(move |i| (a as u32, i, base + i))
        })
        .collect();
    let outputs: Vec<(u32, i64, i64, bool)> = program
        .outputs
        .iter()
        .map(|&a| {
            (
                a,
                setup.base[a as usize] as i64,
                setup.len[a as usize] as i64,
                program.arrays[a as usize].len.is_none(),
            )
        })
        .collect();
    let header_count = layout.headers.to_usize().unwrap_or(usize::MAX);
    let slot_count = layout.slots.to_usize().unwrap_or(usize::MAX);
    let output_count = outputs.iter().map(|o| o.2 as usize).sum::<usize>();
    let regions = Regions {
        given: 1,
        headers: 1 + given.len(),
        header_count,
        slots: 1 + given.len() + header_count,
        slot_count,
        outputs: 1 + given.len() + header_count + slot_count,
        output_count,
        length,
    };
    if regions.outputs + output_count != length {
        return Err(CompileError::Unsupported(format!(
            "the laid-out length {length} does not match the regions ({} given cells, {} output cells)",
            given.len(),
            output_count
        )));
    }
    let seq = c.build(&cfg, &regions, &outputs, &layout, limits, &setup)?;
    Ok(MdmCompiled {
        seq,
        regions,
        layout,
        given,
        outputs,
        fields,
        write_sites,
        read_sites,
        registers,
        word: (setup.word_min, setup.word_max),
        bounds: setup.bounds.clone(),
        model: setup.model,
    })
}

/// The interpreter's set-up at n, the control-flow graph, and a compiler over them whose tokens
/// are wide enough for a header with `header_extra` more fields and for every round's slots.
pub(super) fn prepare<'p>(
    program: &'p Program,
    n: i64,
    limits: &CompileLimits,
    rounds_decl: i64,
    header_extra: usize,
    in_place: bool,
) -> Result<(Compiler, Cfg<'p>, interp::Setup), CompileError> {
    let mut config = RunConfig::new(n);
    config.max_cells = limits.max_cells;
    config.max_processors = limits.max_processors;
    let setup = interp::setup(program, &config).map_err(|e| CompileError::Setup(e.to_string()))?;
    for &o in &program.outputs {
        if program.arrays[o as usize].scoped {
            return Err(CompileError::Unsupported(format!(
                "output `{}` is a scoped array",
                program.arrays[o as usize].name
            )));
        }
    }
    let cfg = Cfg::of(program);
    // Sites per slot: the most write (read) operations of any round; an assignment writes once.
    let most = |read: bool| {
        cfg.rounds
            .iter()
            .map(|&r| match &cfg.nodes[r] {
                Node::Round {
                    kind: RoundKind::Pardo(round),
                    ..
                } => count_sites(&round.ops, read),
                Node::Round {
                    kind: RoundKind::Assign { .. },
                    ..
                } => usize::from(!read),
                _ => 0,
            })
            .max()
            .unwrap_or(0)
    };
    let write_sites = most(false).max(1);
    let read_sites = most(true);
    if write_sites > 16 {
        return Err(CompileError::TooLarge(format!(
            "a round has {write_sites} write sites; the priority encoding holds 16"
        )));
    }
    if limits.max_cells >= 1 << 62 || limits.max_processors >= 1 << 62 {
        return Err(CompileError::TooLarge(
            "the cell and processor limits must stay below 2^62".into(),
        ));
    }
    let program_regs = program.registers.len();
    let loop_regs = program_regs;
    let mut next_reg = loop_regs + 2 * cfg.loops;
    let mut scoped = vec![None; program.arrays.len()];
    for (a, decl) in program.arrays.iter().enumerate() {
        if decl.scoped {
            scoped[a] = Some(next_reg);
            next_reg += 3;
        }
    }
    let top_reg = next_reg;
    let registers = top_reg + 1;
    let places = (0..program.arrays.len())
        .map(|a| (!program.arrays[a].scoped).then(|| (setup.base[a] as i64, setup.len[a] as i64)))
        .collect();
    let fields = (hf::REGS + registers + header_extra)
        .max(sf::WRITES + sf::PER_WRITE * write_sites + sf::PER_READ * read_sites);
    let c = Compiler {
        b: Builder::new(fields),
        consts: HashMap::new(),
        word: (setup.word_min, setup.word_max),
        places,
        scoped,
        loop_regs,
        top_reg,
        allocs: cfg.allocs,
        model: setup.model,
        fields,
        write_sites,
        read_sites,
        mem: None,
        in_place,
        targets: None,
        space_decl: setup
            .bounds
            .iter()
            .find(|b| b.0 == crate::pram::Metric::Space)
            .map(|b| b.1),
        round_cap: rounds_decl.saturating_add(1),
        ord_cap: i64::MAX,
        pid_cap: i64::MAX,
        top_cap: (limits.max_cells as i64)
            .saturating_add((cfg.allocs as i64 + 2).saturating_mul(setup.word_max.max(0))),
    };
    Ok((c, cfg, setup))
}

/// The read operations (`read`) or write operations of a round body, both branches of every `if`.
fn count_sites(ops: &[PramOp], read: bool) -> usize {
    ops.iter()
        .map(|op| match op {
            PramOp::Read { .. } => usize::from(read),
            PramOp::Write { .. } => usize::from(!read),
            PramOp::If {
                then, otherwise, ..
            } => count_sites(then, read) + count_sites(otherwise, read),
            PramOp::Compute { .. } => 0,
        })
        .sum()
}

impl Compiler {
    pub(super) fn k(&mut self, v: i64) -> V {
        if let Some(&x) = self.consts.get(&v) {
            return x;
        }
        let x = self.b.constant(v);
        self.consts.insert(v, x);
        x
    }

    pub(super) fn bin(&mut self, op: B, a: V, b: V) -> V {
        self.b.binary(op, a, b)
    }

    /// `round_k + 1`, declared within `1..=T_decl + 1`.
    fn succ_round(&mut self, round_k: V) -> V {
        let one = self.k(1);
        let r = self.bin(B::Add, round_k, one);
        self.b.declare(r, (1, self.round_cap))
    }

    /// Ranges of the token fields on the canvases a run starts from: the start header (`extra`:
    /// construction-specific header fields and values) and the given cells, whose addresses are
    /// below `cells` and whose values are words.
    pub(super) fn initial_fields(
        &self,
        setup: &interp::Setup,
        extra: &[(usize, i64)],
    ) -> Vec<crate::seq::range::Range> {
        use crate::seq::range::union;
        let word = (setup.word_min, setup.word_max);
        let cells = setup.cells.len() as i64;
        let mut r = vec![(0i64, 0i64); self.fields];
        r[0] = (0, kind::PAD);
        r[hf::PC] = (-1, 0);
        r[hf::S] = (0, cells);
        r[hf::SEED] = (0, (1 << crate::pram::round::DRAW_BITS) - 1);
        for reg in 0..=self.top_reg {
            r[hf::REGS + reg] = word;
        }
        for (reg, &v) in setup.registers.iter().enumerate() {
            r[hf::REGS + reg] = union(r[hf::REGS + reg], (v, v));
        }
        r[hf::REGS + self.top_reg] = union(r[hf::REGS + self.top_reg], (0, cells));
        for &(f, v) in extra {
            r[f] = union(r[f], (v, v));
        }
        r[1] = union(r[1], (0, cells));
        r[2] = union(r[2], word);
        r
    }

    pub(super) fn and(&mut self, a: V, b: V) -> V {
        self.bin(B::And, a, b)
    }

    pub(super) fn not(&mut self, a: V) -> V {
        self.b.unary(U::Not, a)
    }

    pub(super) fn eqc(&mut self, a: V, c: i64) -> V {
        let c = self.k(c);
        self.bin(B::Eq, a, c)
    }

    pub(super) fn sel(&mut self, c: V, a: V, b: V) -> V {
        if a == b {
            return a;
        }
        self.b.select(c, a, b)
    }

    fn lookup(&mut self, key: V, query: V, prefer: Prefer, value: V, default: V) -> V {
        self.b
            .lookup(Selector::eq(key, query), prefer, value, default)
    }

    /// A lookup on the tuple key `(key, key2) == (query, query2)`.
    #[allow(clippy::too_many_arguments)]
    fn lookup2(&mut self, key: (V, V), query: (V, V), prefer: Prefer, value: V, default: V) -> V {
        let select = Selector {
            pair: Some((key.1, query.1)),
            ..Selector::eq(key.0, query.0)
        };
        self.b.lookup(select, prefer, value, default)
    }

    /// Records a stop when `guard && cond` and no earlier stop fired.
    /// A declared bound (or the canvas's capacity) exceeded: where `guard` holds and `measured`
    /// exceeds `bound`, stop with status BOUND and data (metric code, value, bound, -, round).
    fn bound_stop(&mut self, s: &mut Stop, guard: V, code: i64, measured: V, bound: i64, round: V) {
        let z = self.k(0);
        let bv = self.k(bound);
        let over = self.bin(B::Lt, bv, measured);
        let code = self.k(code);
        self.stop(
            s,
            guard,
            over,
            status::BOUND,
            [code, measured, bv, z, round, z, z],
        );
    }

    fn stop(&mut self, s: &mut Stop, guard: V, cond: V, status: i64, d: [V; 7]) {
        let fire = self.and(guard, cond);
        let st = self.k(status);
        s.pending.push((fire, st, d));
    }

    /// Folds the pending stops into the status and details: the earlier stop (status non-zero)
    /// first, then the pending ones in order.
    fn resolve(&mut self, s: &mut Stop) {
        if s.pending.is_empty() {
            return;
        }
        let z = self.k(0);
        let mut fires = Vec::new();
        if s.status != z {
            fires.push((self.bin(B::Ne, s.status, z), s.status, s.d));
        }
        fires.append(&mut s.pending);
        let status = fires.iter().map(|&(f, st, _)| (f, st)).collect();
        s.status = self.first_of(status, z);
        for i in 0..7 {
            let cases = fires.iter().map(|&(f, _, d)| (f, d[i])).collect();
            s.d[i] = self.first_of(cases, z);
        }
    }

    /// The status after every stop recorded so far (0: none fired).
    fn status(&mut self, s: &mut Stop) -> V {
        self.resolve(s);
        s.status
    }

    /// The value of the case whose condition holds, else `default`, for conditions that exclude
    /// each other (so any case giving the default can be dropped).
    fn one_of(&mut self, mut cases: Vec<(V, V)>, default: V) -> V {
        cases.retain(|&(_, v)| v != default);
        self.first_of(cases, default)
    }

    /// The value of the first case whose condition holds, else `default`; trailing cases that
    /// give the default are dropped, and one case is a select.
    pub(super) fn first_of(&mut self, mut cases: Vec<(V, V)>, default: V) -> V {
        while cases.last().is_some_and(|&(_, v)| v == default) {
            cases.pop();
        }
        match cases[..] {
            [] => default,
            [(c, v)] => self.sel(c, v, default),
            _ => self.b.first_of(cases, default),
        }
    }

    fn fault(&mut self, s: &mut Stop, guard: V, cond: V, kind: i64, ctx: &FaultCtx, abc: [V; 3]) {
        let kind = self.k(kind);
        let line = self.k(ctx.line as i64);
        self.stop(
            s,
            guard,
            cond,
            status::FAULT,
            [kind, ctx.round, ctx.pid, line, abc[0], abc[1], abc[2]],
        );
    }

    /// Clamps to the word and reports overflow.
    fn fit(&mut self, r: V, s: &mut Stop, guard: V, ctx: &FaultCtx) -> V {
        let (lo, hi) = self.word;
        let lo = self.k(lo);
        let hi = self.k(hi);
        let below = self.bin(B::Lt, r, lo);
        let above = self.bin(B::Lt, hi, r);
        let out = self.bin(B::Or, below, above);
        let z = self.k(0);
        self.fault(s, guard, out, fault::OVERFLOW, ctx, [z, z, z]);
        let r = self.bin(B::Min, r, hi);
        self.bin(B::Max, r, lo)
    }

    /// Compiles an expression: `guard` says whether it is executed (faults count only then).
    fn expr(
        &mut self,
        e: &Expr,
        env: &Env,
        guard: V,
        s: &mut Stop,
        ctx: &FaultCtx,
        reads: &mut Vec<(ReadSite, V)>,
    ) -> V {
        let z = self.k(0);
        match e {
            Expr::Const(v) => {
                let c = self.k(*v);
                self.fit(c, s, guard, ctx)
            }
            Expr::Reg(r) => env.regs[*r as usize],
            Expr::Local(l) => env.locals.get(*l as usize).copied().unwrap_or(z),
            Expr::Read { array, index } => {
                let i = self.expr(index, env, guard, s, ctx, reads);
                let (epoch, addr) = self.address(*array, i, env, guard, s, ctx);
                let arr = self.k(*array as i64);
                let line = self.k(ctx.line as i64);
                reads.push((
                    ReadSite {
                        addr,
                        array: arr,
                        index: i,
                        line,
                    },
                    guard,
                ));
                self.load(epoch, addr)
            }
            Expr::Un(op, a) => {
                let a = self.expr(a, env, guard, s, ctx, reads);
                self.unary(*op, a, guard, s, ctx)
            }
            Expr::Bin(op, a, b) => {
                let a = self.expr(a, env, guard, s, ctx, reads);
                let b = self.expr(b, env, guard, s, ctx, reads);
                self.binary(*op, a, b, guard, s, ctx)
            }
        }
    }

    fn unary(&mut self, op: UnOp, a: V, guard: V, s: &mut Stop, ctx: &FaultCtx) -> V {
        let z = self.k(0);
        let one = self.k(1);
        match op {
            UnOp::Neg => {
                let r = self.b.unary(U::Neg, a);
                self.fit(r, s, guard, ctx)
            }
            UnOp::Not => self.not(a),
            UnOp::BitNot => {
                let m1 = self.k(-1);
                self.bin(B::Sub, m1, a)
            }
            UnOp::Log2 | UnOp::Clog2 => {
                let bad = self.bin(B::Lt, a, one);
                self.fault(s, guard, bad, fault::DOMAIN, ctx, [z, z, z]);
                let l = self.b.unary(U::Log2, a);
                if op == UnOp::Log2 {
                    return l;
                }
                let am1 = self.bin(B::Sub, a, one);
                let and = self.bin(B::BitAnd, a, am1);
                let up = self.bin(B::Ne, and, z);
                self.bin(B::Add, l, up)
            }
        }
    }

    fn binary(&mut self, op: BinOp, a: V, b: V, guard: V, s: &mut Stop, ctx: &FaultCtx) -> V {
        let z = self.k(0);
        let simple = |op| -> Option<B> {
            Some(match op {
                BinOp::Min => B::Min,
                BinOp::Max => B::Max,
                BinOp::Eq => B::Eq,
                BinOp::Ne => B::Ne,
                BinOp::Lt => B::Lt,
                BinOp::Le => B::Le,
                BinOp::And => B::And,
                BinOp::Or => B::Or,
                BinOp::BitAnd => B::BitAnd,
                BinOp::BitOr => B::BitOr,
                BinOp::BitXor => B::BitXor,
                _ => return None,
            })
        };
        if let Some(o) = simple(op) {
            return self.bin(o, a, b);
        }
        match op {
            BinOp::Gt => self.bin(B::Lt, b, a),
            BinOp::Ge => self.bin(B::Le, b, a),
            BinOp::Add | BinOp::Sub | BinOp::Mul => {
                let o = match op {
                    BinOp::Add => B::Add,
                    BinOp::Sub => B::Sub,
                    _ => B::MulSat,
                };
                let r = self.bin(o, a, b);
                self.fit(r, s, guard, ctx)
            }
            BinOp::Div | BinOp::Rem => {
                let zero_div = self.eqc(b, 0);
                self.fault(s, guard, zero_div, fault::DIVISION_BY_ZERO, ctx, [z, z, z]);
                let o = if op == BinOp::Div {
                    B::DivEuclid
                } else {
                    B::RemEuclid
                };
                let r = self.bin(o, a, b);
                self.fit(r, s, guard, ctx)
            }
            BinOp::Shl => {
                let neg = self.bin(B::Lt, b, z);
                self.fault(s, guard, neg, fault::DOMAIN, ctx, [z, z, z]);
                let c64 = self.k(64);
                let big = self.bin(B::Le, c64, b);
                self.fault(s, guard, big, fault::OVERFLOW, ctx, [z, z, z]);
                // Shifting a non-zero word by its width already overflows it: clamping the
                // amount there keeps the result and its fault, in 2w bits.
                let wb = self.k(i64::from(crate::seq::range::width(self.word)));
                let b = self.bin(B::Min, b, wb);
                let r = self.bin(B::ShlSat, a, b);
                self.fit(r, s, guard, ctx)
            }
            BinOp::Shr => {
                let neg = self.bin(B::Lt, b, z);
                self.fault(s, guard, neg, fault::DOMAIN, ctx, [z, z, z]);
                self.bin(B::Shr, a, b)
            }
            _ => unreachable!("handled above"),
        }
    }

    /// The memory key of `array[i]` as (scope epoch, address): epoch 0 for static arrays and in
    /// place; with the bounds check.
    fn address(
        &mut self,
        array: u32,
        i: V,
        env: &Env,
        guard: V,
        s: &mut Stop,
        ctx: &FaultCtx,
    ) -> (V, V) {
        let z = self.k(0);
        let (base, len, epoch) = match self.places[array as usize] {
            Some((base, len)) => (self.k(base), self.k(len), None),
            None => {
                let r = self.scoped[array as usize].expect("scoped arrays have registers");
                (env.regs[r], env.regs[r + 1], Some(env.regs[r + 2]))
            }
        };
        let neg = self.bin(B::Lt, i, z);
        let past = self.bin(B::Le, len, i);
        let out = self.bin(B::Or, neg, past);
        let arr = self.k(array as i64);
        self.fault(s, guard, out, fault::OUT_OF_BOUNDS, ctx, [arr, i, len]);
        let addr = self.bin(B::Add, base, i);
        let key = match epoch {
            Some(e) if !self.in_place => e,
            _ => z,
        };
        (key, addr)
    }

    /// The value of memory at (epoch, addr) as of the visible writes: the highest-priority
    /// write, else the given cell, else 0.
    fn load(&mut self, epoch: V, addr: V) -> V {
        self.load_full(epoch, addr).0
    }

    /// `load`, with a flag: some visible write targets (epoch, addr). Per write site one lookup
    /// set on the tuple key, preferring the lexicographically largest (round, inverted rank); the
    /// sites merge in order, a later site winning ties (a processor's last write).
    pub(super) fn load_full(&mut self, epoch: V, addr: V) -> (V, V) {
        let m = self.mem.clone().expect("memory is set up before loads");
        let (z, one) = (self.k(0), self.k(1));
        let (mut has, mut round, mut inv, mut value) = (z, z, z, z);
        for s in 0..m.epochs.len() {
            let key = (m.epochs[s], m.addrs[s]);
            let q = (epoch, addr);
            let by = Prefer::MaxByPair(m.rounds[s], m.invs[s]);
            let found = self.lookup2(key, q, by, one, z);
            let r = if self.in_place {
                z
            } else {
                self.lookup2(key, q, by, m.rounds[s], z)
            };
            let i = self.lookup2(key, q, by, m.invs[s], z);
            let v = self.lookup2(key, q, by, m.values[s], z);
            if s == 0 {
                (has, round, inv, value) = (found, r, i, v);
                continue;
            }
            let take = self.lex_at_least(has, found, (r, i), (round, inv));
            round = self.sel(take, r, round);
            inv = self.sel(take, i, inv);
            value = self.sel(take, v, value);
            has = self.bin(B::Or, has, found);
        }
        let g = self.lookup2(
            (m.given_epoch, m.given_addr),
            (epoch, addr),
            Prefer::Latest,
            m.given_value,
            z,
        );
        (self.sel(has, value, g), has)
    }

    /// Whether a candidate (`found`, with priority `p`) replaces the current best (`has`, `best`):
    /// found, and either no best yet or `p >= best` lexicographically.
    fn lex_at_least(&mut self, has: V, found: V, p: (V, V), best: (V, V)) -> V {
        let above = self.bin(B::Lt, best.0, p.0);
        let level = self.bin(B::Eq, best.0, p.0);
        let at_least = self.bin(B::Le, best.1, p.1);
        let tie = self.and(level, at_least);
        let better = self.bin(B::Or, above, tie);
        let none = self.not(has);
        let wins = self.bin(B::Or, none, better);
        self.and(found, wins)
    }

    /// In-place memory: the winning visible write whose target position is `pos`, as
    /// (written, value, address).
    pub(super) fn write_at(&mut self, pos: V) -> (V, V, V) {
        let m = self.mem.clone().expect("memory is set up before loads");
        let (z, one) = (self.k(0), self.k(1));
        let (mut has, mut inv, mut value, mut addr) = (z, z, z, z);
        for s in 0..m.targets.len() {
            let by = Prefer::MaxBy(m.invs[s]);
            let a = self.b.field(sf::WRITES + sf::PER_WRITE * s + 2);
            let found = self.lookup(m.targets[s], pos, by, one, z);
            let i = self.lookup(m.targets[s], pos, by, m.invs[s], z);
            let v = self.lookup(m.targets[s], pos, by, m.values[s], z);
            let a = self.lookup(m.targets[s], pos, by, a, z);
            let take = self.lex_at_least(has, found, (z, i), (z, inv));
            inv = self.sel(take, i, inv);
            value = self.sel(take, v, value);
            addr = self.sel(take, a, addr);
            has = self.bin(B::Or, has, found);
        }
        (has, value, addr)
    }

    /// In-place memory: the canvas position of the cell at address `key` (-1 for none): a
    /// decoded cell, else a fresh one by rank.
    fn target_of(&mut self, key: V, t: Targets) -> V {
        let m1 = self.k(-1);
        let idx = self.b.index();
        let rank = self.bin(B::Sub, key, t.decoded);
        let fresh = self.lookup(t.fresh_key, rank, Prefer::Latest, idx, m1);
        self.lookup(t.cell_key, key, Prefer::Latest, idx, fresh)
    }

    /// What every position reads off the canvas: the current header (`width` fields), the
    /// results of the round it started (test value, lowest fault, violations), and memory.
    /// `exec` names a header field and value that must hold for those slots to count as
    /// decoded (AP-MDM's phase); MDM's slots count whenever their round has a header.
    pub(super) fn observe(&mut self, width: usize, exec: Option<(usize, i64)>) -> Observed {
        let z = self.k(0);
        let one = self.k(1);
        let m1 = self.k(-1);
        let kind_f = self.b.field(0);
        let idx = self.b.index();
        let is_mask = self.b.is_mask();
        let is_header = self.eqc(kind_f, kind::HEADER);
        let is_slot = self.eqc(kind_f, kind::SLOT);
        let is_given = self.eqc(kind_f, kind::GIVEN);
        // The latest header, read by every position.
        let hkey = self.sel(is_header, one, m1);
        let mut h = vec![z; width];
        for (f, slot) in h.iter_mut().enumerate().skip(1) {
            let fv = self.b.field(f);
            *slot = self.lookup(hkey, one, Prefer::Latest, fv, z);
        }
        self.b.name(h[hf::ORD], "header.ord");
        self.b.name(h[hf::PC], "header.pc");
        let round_k = h[hf::T];
        // Slots of round k (the round the latest header started).
        let slot_round = self.b.field(sf::ROUND);
        let slot_pid = self.b.field(sf::PID);
        let rkey = self.sel(is_slot, slot_round, m1);
        let started = self.eqc(h[hf::STATUS], status::RUNNING);
        let real_round = self.bin(B::Lt, z, h[hf::PC]);
        let mut round_done = self.and(started, real_round);
        if let Some((field, value)) = exec {
            let at = self.eqc(h[field], value);
            round_done = self.and(round_done, at);
        }
        let qround = self.sel(round_done, round_k, m1);
        let bf = self.b.field(sf::BRANCH);
        let branch = self.lookup(rkey, qround, Prefer::Earliest, bf, z);
        // Faults of round k: the lowest faulting processor.
        let fk_f = self.b.field(sf::FAULT);
        let has_fault = self.bin(B::Ne, fk_f, z);
        let has_fault = self.and(is_slot, has_fault);
        let fkey = self.sel(has_fault, slot_round, m1);
        let mut fv = Vec::new();
        for f in sf::FAULT..sf::FAULT + 5 {
            let x = self.b.field(f);
            fv.push(self.lookup(fkey, qround, Prefer::Earliest, x, z));
        }
        let fpid = self.lookup(fkey, qround, Prefer::Earliest, slot_pid, z);
        let fd = [fv[0], round_k, fpid, fv[1], fv[2], fv[3], fv[4]];
        let round_faulted = self.bin(B::Ne, fv[0], z);
        // Violations of round k.
        let (violated, vd) = self.violations(is_slot, slot_round, slot_pid, qround, round_k);
        let failed = self.bin(B::Or, round_faulted, violated);
        // Memory: writes of decoded slots, except those of a failed round.
        let last_round = self.bin(B::Eq, slot_round, round_k);
        let hidden = self.and(failed, last_round);
        let visible = self.not(hidden);
        let visible = self.and(visible, is_slot);
        let mut epochs = Vec::new();
        let mut addrs = Vec::new();
        let mut rounds = Vec::new();
        let mut invs = Vec::new();
        let mut values = Vec::new();
        let mut targets = Vec::new();
        for s in 0..self.write_sites {
            let base = sf::WRITES + sf::PER_WRITE * s;
            let epoch = self.b.field(base);
            let val = self.b.field(base + 1);
            let addr = self.b.field(base + 2);
            let has = self.bin(B::Le, z, epoch);
            let ok = self.and(visible, has);
            epochs.push(self.sel(ok, epoch, m1));
            addrs.push(addr);
            if self.in_place {
                let t = self.b.field(base + sf::TARGET);
                targets.push(self.sel(ok, t, m1));
            }
            // Priority, lexicographic: (round, inverted rank); the later round wins, then the
            // lowest rank (the processor id, or the CRCW-arbitrary draw); sites merge in order.
            let rank = if self.model == AccessModel::CrcwArbitrary {
                let x = self.bin(B::Draw, addr, slot_pid);
                let x = self.bin(B::Draw, slot_round, x);
                self.bin(B::Draw, h[hf::SEED], x)
            } else {
                slot_pid
            };
            rounds.push(slot_round);
            invs.push(self.b.unary(U::Neg, rank));
            values.push(val);
        }
        let gk = self.b.field(1);
        let gv = self.b.field(2);
        let given_epoch = self.sel(is_given, z, m1);
        self.mem = Some(Memory {
            epochs,
            addrs,
            rounds,
            invs,
            values,
            targets,
            given_epoch,
            given_addr: gk,
            given_value: gv,
        });
        // Round k's own failure comes first.
        let vs = self.k(status::VIOLATION);
        let fs = self.k(status::FAULT);
        let st = self.sel(violated, vs, z);
        let mut stop = Stop {
            status: self.sel(round_faulted, fs, st),
            d: [z; 7],
            pending: Vec::new(),
        };
        for i in 0..7 {
            let v = self.sel(violated, vd[i], z);
            stop.d[i] = self.sel(round_faulted, fd[i], v);
        }
        Observed {
            h,
            round_k,
            started,
            failed,
            branch,
            stop,
            idx,
            is_mask,
            is_slot,
            is_given,
        }
    }

    /// The next control state from the current header and round k's results: the free path the
    /// (pc, test value) pair selects, the next round's processor count, limits and bounds, and
    /// the new header (`self.fields` wide, the caller's extra fields left 0).
    pub(super) fn transition<'p>(
        &mut self,
        cfg: &Cfg<'p>,
        o: &Observed,
        limits: &CompileLimits,
        setup: &interp::Setup,
        rounds_declared: i64,
        cap: SlotCap,
    ) -> Transition {
        let z = self.k(0);
        let one = self.k(1);
        let h = &o.h;
        let round_k = o.round_k;
        let started = o.started;
        let hregs: Vec<V> = (0..=self.top_reg).map(|r| h[hf::REGS + r]).collect();
        let mut stop = o.stop.clone();
        let mut new_regs = hregs.clone();
        let mut new_pc = z;
        let mut new_s = h[hf::S];
        let mut new_low = hregs[self.top_reg];
        // Edges: (guard, actions, target).
        let mut edges: Vec<Edge<'p>> = Vec::new();
        let at_entry = self.eqc(h[hf::PC], -1);
        let (acts, target) = cfg.path(cfg.entry);
        edges.push((at_entry, acts, target));
        for (i, &r) in cfg.rounds.iter().enumerate() {
            let Node::Round { next, .. } = &cfg.nodes[r] else {
                continue;
            };
            let at = self.eqc(h[hf::PC], i as i64 + 1);
            let at = self.and(at, started);
            if next.len() == 1 {
                let (acts, target) = cfg.path(next[0]);
                edges.push((at, acts, target));
            } else {
                let taken = self.bin(B::Ne, o.branch, z);
                let not_taken = self.not(taken);
                for (out, cond) in [(0, not_taken), (1, taken)] {
                    let g = self.and(at, cond);
                    let (acts, target) = cfg.path(next[out]);
                    edges.push((g, acts, target));
                }
            }
        }
        let ok_so_far = self.not(o.failed);
        // The edges' guards exclude each other: each register's new value is one priority
        // encoder over the edges, not a chain of selects.
        let mut regs_by_edge: Vec<Vec<(V, V)>> = vec![Vec::new(); new_regs.len()];
        let (mut s_by_edge, mut low_by_edge, mut pc_by_edge) = (Vec::new(), Vec::new(), Vec::new());
        for (guard, acts, target) in edges {
            let guard = self.and(guard, ok_so_far);
            let mut env = Env {
                regs: hregs.clone(),
                locals: Vec::new(),
            };
            let mut span = (h[hf::S], hregs[self.top_reg]);
            for (action, line) in acts {
                let ctx = FaultCtx {
                    line,
                    round: round_k,
                    pid: z,
                };
                self.action(
                    action, &mut env, &mut span, guard, &mut stop, &ctx, round_k, limits,
                );
            }
            for r in 0..env.regs.len() {
                regs_by_edge[r].push((guard, env.regs[r]));
            }
            s_by_edge.push((guard, span.0));
            low_by_edge.push((guard, span.1));
            let pc = self.k(cfg.pc(target));
            pc_by_edge.push((guard, pc));
        }
        for (r, cases) in regs_by_edge.into_iter().enumerate() {
            new_regs[r] = self.one_of(cases, new_regs[r]);
        }
        new_s = self.one_of(s_by_edge, new_s);
        new_low = self.one_of(low_by_edge, new_low);
        new_pc = self.one_of(pc_by_edge, new_pc);
        // The next round: processor count (and faults evaluating a pardo's ranges).
        let running_pc = self.bin(B::Lt, z, new_pc);
        let st = self.status(&mut stop);
        let no_stop = self.eqc(st, 0);
        let next_round = self.succ_round(round_k);
        let (cnt, sizes) = self.pardo_sizes(
            cfg,
            &new_regs,
            new_pc,
            no_stop,
            &mut stop,
            round_k,
            Some(limits),
        );
        // The new header.
        let st = self.status(&mut stop);
        let no_stop = self.eqc(st, 0);
        let running = self.and(no_stop, running_pc);
        let halted_now = self.not(running_pc);
        let halted_now = self.and(no_stop, halted_now);
        let t_decl = self.k(rounds_declared);
        let over_rounds = self.bin(B::Lt, t_decl, next_round);
        let c_rounds = self.k(1);
        self.stop(
            &mut stop,
            running,
            over_rounds,
            status::BOUND,
            [c_rounds, next_round, t_decl, z, next_round, z, z],
        );
        let (cap_count, cap_work) = match cap {
            SlotCap::Work(total) => (total, total),
            SlotCap::Processors(p) => (p, p.saturating_mul(self.round_cap)),
        };
        // Before the round runs, as the interpreter checks them: processors, then work
        // (`proofs/bounds.md`); then the canvas's own capacity of slots, which the declared
        // bounds imply when both are declared.
        let work_after = self.bin(B::Add, h[hf::W], cnt);
        for (metric, code, measured) in [
            (crate::pram::Metric::Processors, 2, cnt),
            (crate::pram::Metric::Work, 3, work_after),
        ] {
            let Some(&(_, bound)) = setup.bounds.iter().find(|b| b.0 == metric) else {
                continue;
            };
            self.bound_stop(&mut stop, running, code, measured, bound, next_round);
        }
        let (code, measured, bound) = match cap {
            SlotCap::Work(total) => (3, work_after, total),
            SlotCap::Processors(p) => (2, cnt, p),
        };
        self.bound_stop(&mut stop, running, code, measured, bound, next_round);
        let st = self.status(&mut stop);
        let no_stop = self.eqc(st, 0);
        let running = self.and(no_stop, running_pc);
        // Declared bounds, checked as the interpreter does when the program ends.
        let metric_of = |m: crate::pram::Metric| match m {
            crate::pram::Metric::Rounds => (1, hf::T),
            crate::pram::Metric::Processors => (2, hf::P),
            crate::pram::Metric::Work => (3, hf::W),
            crate::pram::Metric::Space => (4, hf::S),
        };
        for &(metric, bound) in &setup.bounds {
            let (code, field) = metric_of(metric);
            let measured = if field == hf::S { new_s } else { h[field] };
            self.bound_stop(&mut stop, halted_now, code, measured, bound, round_k);
        }
        let st = self.status(&mut stop);
        let halted_ok = self.eqc(st, 0);
        let halted_ok = self.and(halted_ok, halted_now);
        let hs = self.k(status::HALTED);
        let new_status = self.sel(halted_ok, hs, stop.status);
        // A running round passed the slot cap; work is at most T_decl rounds of it.
        let cnt_h = self.sel(running, cnt, z);
        let cnt_h = self.b.declare(cnt_h, (0, cap_count));
        let t_new = self.sel(running, next_round, round_k);
        let w_new = self.bin(B::Add, h[hf::W], cnt_h);
        let w_new = self.b.declare(w_new, (0, cap_work));
        let p_new = self.bin(B::Max, h[hf::P], cnt_h);
        let ord_new = self.bin(B::Add, h[hf::ORD], one);
        let ord_new = self.b.declare(ord_new, (1, self.ord_cap));
        let pc_h = self.sel(running, new_pc, z);
        let hk = self.k(kind::HEADER);
        let mut header = vec![z; self.fields];
        header[0] = hk;
        header[hf::ORD] = ord_new;
        header[hf::PC] = pc_h;
        header[hf::STATUS] = new_status;
        header[hf::CNT] = cnt_h;
        header[hf::T] = t_new;
        header[hf::W] = w_new;
        header[hf::P] = p_new;
        header[hf::S] = new_s;
        header[hf::SEED] = h[hf::SEED];
        header[hf::D..hf::D + 7].copy_from_slice(&stop.d);
        header[hf::REGS..hf::REGS + new_regs.len()].copy_from_slice(&new_regs);
        Transition {
            header,
            running,
            regs: new_regs,
            pc: new_pc,
            cnt,
            sizes,
            next_round,
            ord: ord_new,
            low: new_low,
        }
    }

    /// Each pardo's per-dimension (lo, size) at `regs` and the processor count of the round at
    /// `pc` (1 for a sequential round). With `limits`, faults evaluating the ranges and the
    /// processor limit are recorded in `stop` under `guard`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn pardo_sizes<'p>(
        &mut self,
        cfg: &Cfg<'p>,
        regs: &[V],
        pc: V,
        guard: V,
        stop: &mut Stop,
        round_k: V,
        limits: Option<&CompileLimits>,
    ) -> (V, Vec<Vec<(V, V)>>) {
        let one = self.k(1);
        let z = self.k(0);
        let next_round = self.succ_round(round_k);
        let mut counts = Vec::new();
        let mut sizes: Vec<Vec<(V, V)>> = Vec::new();
        for (i, &r) in cfg.rounds.iter().enumerate() {
            let Node::Round { kind, line, .. } = &cfg.nodes[r] else {
                continue;
            };
            let mut here = Vec::new();
            if let RoundKind::Pardo(round) = kind {
                let at = self.eqc(pc, i as i64 + 1);
                let g = self.and(at, guard);
                let ctx = FaultCtx {
                    line: *line,
                    round: round_k,
                    pid: z,
                };
                let env = Env {
                    regs: regs.to_vec(),
                    locals: Vec::new(),
                };
                let mut p = one;
                for (lo, hi) in &round.indices {
                    let mut reads = Vec::new();
                    let lo = self.expr(lo, &env, g, stop, &ctx, &mut reads);
                    let hi = self.expr(hi, &env, g, stop, &ctx, &mut reads);
                    let d = self.bin(B::Sub, hi, lo);
                    let d = self.bin(B::Max, d, z);
                    p = self.bin(B::MulSat, p, d);
                    // Clamped one above what any test compares it with (the processor limit, or
                    // the slot cap): the tests keep their answers, the product its width.
                    let cap = limits.map_or(self.pid_cap, |l| l.max_processors as i64);
                    let cap = self.k(cap.saturating_add(1));
                    p = self.bin(B::Min, p, cap);
                    here.push((lo, d));
                }
                counts.push((at, p));
                if let Some(limits) = limits {
                    // Limit: more processors than allowed.
                    let maxp = self.k(limits.max_processors as i64);
                    let over = self.bin(B::Lt, maxp, p);
                    let code = self.k(2);
                    let lk = self.k(*line as i64);
                    self.stop(
                        stop,
                        g,
                        over,
                        status::LIMIT,
                        [code, next_round, z, lk, maxp, z, z],
                    );
                }
            }
            sizes.push(here);
        }
        // The rounds' program counters exclude each other.
        let cnt = self.one_of(counts, one);
        (cnt, sizes)
    }

    #[allow(clippy::too_many_arguments)]
    fn build<'p>(
        &mut self,
        cfg: &Cfg<'p>,
        regions: &Regions,
        outputs: &[(u32, i64, i64, bool)],
        layout: &MdmLayout,
        limits: &CompileLimits,
        setup: &interp::Setup,
    ) -> Result<Seq, CompileError> {
        let z = self.k(0);
        // A run takes at most header_count + 2 steps, each reading the last header's ordinal.
        self.ord_cap = regions.header_count as i64 + 3;
        self.pid_cap = regions.slot_count as i64;
        let o = self.observe(hf::REGS + self.top_reg + 1, None);
        let t = self.transition(
            cfg,
            &o,
            limits,
            setup,
            layout.rounds_declared.to_i64().unwrap_or(i64::MAX),
            SlotCap::Work(regions.slot_count as i64),
        );
        let (h, idx, is_mask) = (&o.h, o.idx, o.is_mask);
        let (running, cnt, header, ord_new) = (t.running, t.cnt, &t.header, t.ord);
        let final_step = self.not(running);
        // Roles.
        let hdr_pos = self.k(regions.headers as i64 - 1);
        let hdr_pos = self.bin(B::Add, hdr_pos, ord_new);
        let at_header = self.bin(B::Eq, idx, hdr_pos);
        let sb = self.k(regions.slots as i64);
        let rel = self.bin(B::Sub, idx, sb);
        let rel = self.bin(B::Sub, rel, h[hf::W]);
        let in_lo = self.bin(B::Le, z, rel);
        let in_hi = self.bin(B::Lt, rel, cnt);
        let in_slot = self.and(in_lo, in_hi);
        let at_slot = self.and(in_slot, running);
        let pid = rel;
        let (new_regs, new_pc, next_round, sizes) = (t.regs.clone(), t.pc, t.next_round, &t.sizes);
        // Slot contents.
        let slot = self.slot_body(cfg, &new_regs, new_pc, running, pid, next_round, sizes);
        // Output cells.
        let ob = self.k(regions.outputs as i64);
        let orel = self.bin(B::Sub, idx, ob);
        let mut oaddr = z;
        let mut start = 0i64;
        for &(_, base, len, _) in outputs {
            let lo = self.k(start);
            let hi = self.k(start + len);
            let a = self.bin(B::Le, lo, orel);
            let b2 = self.bin(B::Lt, orel, hi);
            let inside = self.and(a, b2);
            let off = self.k(base - start);
            let addr = self.bin(B::Add, orel, off);
            oaddr = self.sel(inside, addr, oaddr);
            start += len;
        }
        let ovalue = self.load(z, oaddr);
        let in_out_lo = self.bin(B::Le, z, orel);
        let in_output = self.and(in_out_lo, is_mask);
        let at_output = self.and(in_output, final_step);
        // Proposed token.
        let nf = self.fields;
        let mut token = vec![z; nf];
        let pk = self.k(kind::PAD);
        let ok = self.k(kind::OUTPUT);
        let sk = self.k(kind::SLOT);
        for f in 0..nf {
            let out_f = match f {
                0 => ok,
                1 => oaddr,
                2 => ovalue,
                _ => z,
            };
            let pad_f = if f == 0 { pk } else { z };
            let slot_f = if f == 0 { sk } else { slot[f] };
            let v = self.sel(at_output, out_f, pad_f);
            let v = self.sel(at_slot, slot_f, v);
            token[f] = self.sel(at_header, header[f], v);
        }
        let decode = self.bin(B::Or, at_header, at_slot);
        let decode = self.bin(B::Or, decode, final_step);
        let hold = self.not(decode);
        let remask = self.and(is_mask, hold);
        let initial = self.initial_fields(setup, &[]);
        self.finish(
            Heads {
                token,
                remask,
                insert: z,
                delete: z,
            },
            &initial,
            regions.length as i64,
        )
        .map_err(|e| CompileError::Unsupported(format!("internal: {e}")))
    }

    /// The finished seq program with these output heads, every node ranged from the initial
    /// fields and the longest canvas.
    pub(super) fn finish(
        &mut self,
        heads: Heads,
        initial: &[crate::seq::range::Range],
        max_length: i64,
    ) -> Result<Seq, crate::seq::ProgramError> {
        let b = std::mem::replace(&mut self.b, Builder::new(self.fields));
        b.finish_ranged(heads, initial, max_length)
    }

    #[allow(clippy::too_many_arguments)]
    fn action<'p>(
        &mut self,
        action: Action<'p>,
        env: &mut Env,
        span: &mut (V, V),
        guard: V,
        stop: &mut Stop,
        ctx: &FaultCtx,
        round_k: V,
        limits: &CompileLimits,
    ) {
        let z = self.k(0);
        let one = self.k(1);
        let mut reads = Vec::new();
        match action {
            Action::ForInit { the_loop, lo, hi } => {
                let lo = self.expr(lo, env, guard, stop, ctx, &mut reads);
                let hi = self.expr(hi, env, guard, stop, ctx, &mut reads);
                env.regs[self.loop_regs + 2 * the_loop] = lo;
                env.regs[self.loop_regs + 2 * the_loop + 1] = hi;
            }
            Action::ForVar { the_loop, var } => {
                env.regs[var as usize] = env.regs[self.loop_regs + 2 * the_loop];
            }
            Action::ForStep(the_loop) => {
                // A loop steps only below its limit (a word), so the counter stays within a
                // word and one.
                let r = self.loop_regs + 2 * the_loop;
                let next = self.bin(B::Add, env.regs[r], one);
                let (lo, hi) = self.word;
                env.regs[r] = self.b.declare(next, (lo.min(0), hi.saturating_add(1)));
            }
            Action::AllocEnter { array, size, site } => {
                let len = self.expr(size, env, guard, stop, ctx, &mut reads);
                let neg = self.bin(B::Lt, len, z);
                self.fault(stop, guard, neg, fault::DOMAIN, ctx, [z, z, z]);
                let top = env.regs[self.top_reg];
                let end = self.bin(B::Add, top, len);
                let end = self.b.declare(end, (self.word.0.min(0), self.top_cap));
                let maxc = self.k(limits.max_cells as i64);
                let over = self.bin(B::Lt, maxc, end);
                let code = self.k(3);
                let next_round = self.succ_round(round_k);
                let line = self.k(ctx.line as i64);
                self.stop(
                    stop,
                    guard,
                    over,
                    status::LIMIT,
                    [code, next_round, z, line, maxc, z, z],
                );
                // The declared space bound, after the cell limit (the interpreter's order).
                if let Some(bound) = self.space_decl {
                    self.bound_stop(stop, guard, 4, end, bound, next_round);
                }
                let r = self.scoped[array as usize].expect("an alloc names a scoped array");
                let len = self.bin(B::Max, len, z);
                let end = self.bin(B::Add, top, len);
                let end = self.b.declare(end, (0, self.top_cap));
                env.regs[r] = top;
                env.regs[r + 1] = len;
                let a = self.k(self.allocs as i64);
                let e = self.bin(B::MulSat, round_k, a);
                let s1 = self.k(site as i64 + 1);
                env.regs[r + 2] = self.bin(B::Add, e, s1);
                env.regs[self.top_reg] = end;
                // An allocation refused by a limit or bound (or after any earlier stop on the
                // path) never counts in S, as in the interpreter.
                let st = self.status(stop);
                let no_stop = self.eqc(st, 0);
                let counted = self.sel(no_stop, end, z);
                span.0 = self.bin(B::Max, span.0, counted);
            }
            Action::AllocExit(array) => {
                let r = self.scoped[array as usize].expect("an alloc names a scoped array");
                env.regs[self.top_reg] = env.regs[r];
                env.regs[r + 1] = z;
                span.1 = self.bin(B::Min, span.1, env.regs[r]);
            }
        }
    }

    /// The slot fields every position computes for round k + 1 (used where it is a slot).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn slot_body<'p>(
        &mut self,
        cfg: &Cfg<'p>,
        regs: &[V],
        pc: V,
        running: V,
        pid: V,
        round: V,
        sizes: &[Vec<(V, V)>],
    ) -> Vec<V> {
        let z = self.k(0);
        let m1 = self.k(-1);
        let nf = self.fields;
        let mut out = vec![z; nf];
        let mut stop = Stop::none(z);
        let mut branch = z;
        let mut branch_cases: Vec<(V, V)> = Vec::new();
        let mut write_cases: Vec<[Vec<(V, V)>; 6]> = (0..self.write_sites)
            .map(|_| std::array::from_fn(|_| Vec::new()))
            .collect();
        let mut read_cases: Vec<[Vec<(V, V)>; 4]> = (0..self.read_sites)
            .map(|_| std::array::from_fn(|_| Vec::new()))
            .collect();
        let mut writes: Vec<WriteSite> = (0..self.write_sites)
            .map(|_| WriteSite {
                key: m1,
                value: z,
                addr: z,
                array: z,
                index: z,
                line: z,
            })
            .collect();
        let mut reads_all: Vec<ReadSite> = (0..self.read_sites)
            .map(|_| ReadSite {
                addr: m1,
                array: z,
                index: z,
                line: z,
            })
            .collect();
        for (i, &r) in cfg.rounds.iter().enumerate() {
            let Node::Round { kind, line, .. } = &cfg.nodes[r] else {
                continue;
            };
            let at = self.eqc(pc, i as i64 + 1);
            let gate = self.and(at, running);
            let ctx = FaultCtx {
                line: *line,
                round,
                pid,
            };
            let env = Env {
                regs: regs.to_vec(),
                locals: Vec::new(),
            };
            let mut my_writes: Vec<(WriteSite, V)> = Vec::new();
            let mut my_reads: Vec<(ReadSite, V)> = Vec::new();
            match kind {
                RoundKind::Assign {
                    array,
                    index,
                    value,
                } => {
                    let mut reads = Vec::new();
                    let iv = self.expr(index, &env, gate, &mut stop, &ctx, &mut reads);
                    let vv = self.expr(value, &env, gate, &mut stop, &ctx, &mut reads);
                    let (key, addr) = self.address(*array, iv, &env, gate, &mut stop, &ctx);
                    let arr = self.k(*array as i64);
                    let lk = self.k(*line as i64);
                    my_writes.push((
                        WriteSite {
                            key,
                            value: vv,
                            addr,
                            array: arr,
                            index: iv,
                            line: lk,
                        },
                        gate,
                    ));
                }
                RoundKind::Test(cond) => {
                    let mut reads = Vec::new();
                    let v = self.expr(cond, &env, gate, &mut stop, &ctx, &mut reads);
                    branch_cases.push((gate, v));
                }
                RoundKind::ForTest(the_loop) => {
                    let c = env.regs[self.loop_regs + 2 * the_loop];
                    let h = env.regs[self.loop_regs + 2 * the_loop + 1];
                    let v = self.bin(B::Lt, c, h);
                    branch_cases.push((gate, v));
                }
                RoundKind::Pardo(round_ast) => {
                    let mut env = env.clone();
                    env.locals = vec![z; round_ast.locals as usize];
                    // Processor id -> indices, lexicographic (the last index fastest).
                    let dims = &sizes[i];
                    if let [(lo, _)] = dims[..] {
                        // One dimension: the index is lo + pid (a slot's pid is below the size).
                        env.locals[0] = self.bin(B::Add, lo, pid);
                    } else {
                        let mut stride = self.k(1);
                        let cap = self.k(self.pid_cap.saturating_add(1));
                        for (m, &(lo, size)) in dims.iter().enumerate().rev() {
                            let q = self.bin(B::DivEuclid, pid, stride);
                            let q = self.bin(B::RemEuclid, q, size);
                            env.locals[m] = self.bin(B::Add, lo, q);
                            // A stride above every pid gives quotient 0 whatever its value.
                            stride = self.bin(B::MulSat, stride, size);
                            stride = self.bin(B::Min, stride, cap);
                        }
                    }
                    self.ops(
                        &round_ast.ops,
                        &mut env,
                        gate,
                        &mut stop,
                        &ctx,
                        &mut my_writes,
                        &mut my_reads,
                    );
                }
            }
            for (s, (w, g)) in my_writes.into_iter().enumerate() {
                let key = self.sel(g, w.key, m1);
                let fields = [key, w.value, w.addr, w.array, w.index, w.line];
                for (cases, v) in write_cases[s].iter_mut().zip(fields) {
                    cases.push((gate, v));
                }
            }
            for (q, (rd, g)) in my_reads.into_iter().enumerate() {
                let addr = self.sel(g, rd.addr, m1);
                let fields = [addr, rd.array, rd.index, rd.line];
                for (cases, v) in read_cases[q].iter_mut().zip(fields) {
                    cases.push((gate, v));
                }
            }
        }
        // The rounds' gates exclude each other: one priority encoder per field.
        branch = self.one_of(branch_cases, branch);
        for (s, cases) in write_cases.into_iter().enumerate() {
            let [key, value, addr, array, index, line] = cases;
            let cur = writes[s];
            writes[s] = WriteSite {
                key: self.one_of(key, cur.key),
                value: self.one_of(value, cur.value),
                addr: self.one_of(addr, cur.addr),
                array: self.one_of(array, cur.array),
                index: self.one_of(index, cur.index),
                line: self.one_of(line, cur.line),
            };
        }
        for (q, cases) in read_cases.into_iter().enumerate() {
            let [addr, array, index, line] = cases;
            let cur = reads_all[q];
            reads_all[q] = ReadSite {
                addr: self.one_of(addr, cur.addr),
                array: self.one_of(array, cur.array),
                index: self.one_of(index, cur.index),
                line: self.one_of(line, cur.line),
            };
        }
        out[sf::ROUND] = round;
        out[sf::PID] = pid;
        out[sf::BRANCH] = branch;
        self.resolve(&mut stop);
        out[sf::FAULT] = stop.d[0];
        out[sf::FAULT + 1] = stop.d[3];
        out[sf::FAULT + 2] = stop.d[4];
        out[sf::FAULT + 3] = stop.d[5];
        out[sf::FAULT + 4] = stop.d[6];
        for (s, w) in writes.iter().enumerate() {
            let b = sf::WRITES + sf::PER_WRITE * s;
            if let Some(t) = self.targets {
                let pos = self.target_of(w.addr, t);
                let has = self.bin(B::Le, z, w.key);
                out[b + sf::TARGET] = self.sel(has, pos, m1);
            }
            out[b] = w.key;
            out[b + 1] = w.value;
            out[b + 2] = w.addr;
            out[b + 3] = w.array;
            out[b + 4] = w.index;
            out[b + 5] = w.line;
        }
        for (q, r) in reads_all.iter().enumerate() {
            let b = sf::WRITES + sf::PER_WRITE * self.write_sites + sf::PER_READ * q;
            out[b] = r.addr;
            out[b + 1] = r.array;
            out[b + 2] = r.index;
            out[b + 3] = r.line;
        }
        out
    }

    /// A round body under `guard`, predicated: both branches of an `if` are computed and merged.
    #[allow(clippy::too_many_arguments)]
    fn ops(
        &mut self,
        ops: &[PramOp],
        env: &mut Env,
        guard: V,
        stop: &mut Stop,
        ctx: &FaultCtx,
        writes: &mut Vec<(WriteSite, V)>,
        reads: &mut Vec<(ReadSite, V)>,
    ) {
        for op in ops {
            match op {
                PramOp::Read {
                    dst,
                    array,
                    index,
                    span,
                } => {
                    let ctx = FaultCtx {
                        line: span.line,
                        ..*ctx
                    };
                    let mut none = Vec::new();
                    let i = self.expr(index, env, guard, stop, &ctx, &mut none);
                    let (epoch, addr) = self.address(*array, i, env, guard, stop, &ctx);
                    let v = self.load(epoch, addr);
                    let arr = self.k(*array as i64);
                    let line = self.k(span.line as i64);
                    reads.push((
                        ReadSite {
                            addr,
                            array: arr,
                            index: i,
                            line,
                        },
                        guard,
                    ));
                    env.locals[*dst as usize] = v;
                }
                PramOp::Compute { dst, expr, span } => {
                    let ctx = FaultCtx {
                        line: span.line,
                        ..*ctx
                    };
                    let mut none = Vec::new();
                    let v = self.expr(expr, env, guard, stop, &ctx, &mut none);
                    env.locals[*dst as usize] = v;
                }
                PramOp::Write {
                    array,
                    index,
                    value,
                    span,
                } => {
                    let ctx = FaultCtx {
                        line: span.line,
                        ..*ctx
                    };
                    let mut none = Vec::new();
                    let i = self.expr(index, env, guard, stop, &ctx, &mut none);
                    let v = self.expr(value, env, guard, stop, &ctx, &mut none);
                    let (key, addr) = self.address(*array, i, env, guard, stop, &ctx);
                    let arr = self.k(*array as i64);
                    let line = self.k(span.line as i64);
                    writes.push((
                        WriteSite {
                            key,
                            value: v,
                            addr,
                            array: arr,
                            index: i,
                            line,
                        },
                        guard,
                    ));
                }
                PramOp::If {
                    cond,
                    then,
                    otherwise,
                    span,
                } => {
                    let ctx2 = FaultCtx {
                        line: span.line,
                        ..*ctx
                    };
                    let mut none = Vec::new();
                    let c = self.expr(cond, env, guard, stop, &ctx2, &mut none);
                    let taken = self.bin(B::Ne, c, self.consts[&0]);
                    let not_taken = self.not(taken);
                    let g1 = self.and(guard, taken);
                    let g0 = self.and(guard, not_taken);
                    let mut e1 = env.clone();
                    self.ops(then, &mut e1, g1, stop, ctx, writes, reads);
                    let mut e0 = env.clone();
                    self.ops(otherwise, &mut e0, g0, stop, ctx, writes, reads);
                    for l in 0..env.locals.len() {
                        env.locals[l] = self.sel(taken, e1.locals[l], e0.locals[l]);
                    }
                }
            }
        }
    }

    /// Conflicts of round k under the access model, found as the interpreter finds them: the
    /// lowest address with two processors in conflict, its two lowest processor ids, and the line
    /// of the lowest one's access. Returns (violated, details).
    fn violations(
        &mut self,
        is_slot: V,
        slot_round: V,
        slot_pid: V,
        qround: V,
        round_k: V,
    ) -> (V, [V; 7]) {
        let z = self.k(0);
        let one = self.k(1);
        let m1 = self.k(-1);
        // Above every processor id: "no processor" for the lowest-pid lookups.
        let none = self.k(self.pid_cap);
        let in_round = self.bin(B::Eq, slot_round, qround);
        let in_round = self.and(in_round, is_slot);
        let ws = self.write_sites;
        let writes_checked = matches!(
            self.model,
            AccessModel::Erew | AccessModel::Crew | AccessModel::CrcwCommon
        );
        let reads_checked = self.model == AccessModel::Erew;
        // Per position: whether it holds a candidate, the candidate's address (its processor is
        // the position's), and the first processor, line, array, index and kind that go with it.
        let mut w_has = z;
        let mut w_addr = z;
        let mut wd = [z; 5]; // first pid, line, array, index, kind
        if writes_checked {
            let f = |s: usize, k: usize| sf::WRITES + sf::PER_WRITE * s + k;
            let mut addr = Vec::new();
            let mut valid = Vec::new();
            for s in 0..ws {
                let key = self.b.field(f(s, 0));
                let a = self.b.field(f(s, 2));
                let v = self.bin(B::Le, z, key);
                addr.push(a);
                valid.push(self.and(v, in_round));
            }
            // A processor's effective write to an address is its last one there.
            let mut wkey = Vec::new();
            for s in 0..ws {
                let mut eff = valid[s];
                for t in s + 1..ws {
                    let same = self.bin(B::Eq, addr[t], addr[s]);
                    let later = self.and(same, valid[t]);
                    let no = self.not(later);
                    eff = self.and(eff, no);
                }
                wkey.push(self.sel(eff, addr[s], m1));
            }
            for s in 0..ws {
                // The lowest writer of this site's address, its value and line.
                let mut first = none;
                let mut v0 = z;
                let mut line0 = z;
                for t in 0..ws {
                    let val = self.b.field(f(t, 1));
                    let line = self.b.field(f(t, 5));
                    let p = self.lookup(wkey[t], wkey[s], Prefer::Earliest, slot_pid, none);
                    let v = self.lookup(wkey[t], wkey[s], Prefer::Earliest, val, z);
                    let l = self.lookup(wkey[t], wkey[s], Prefer::Earliest, line, z);
                    let better = self.bin(B::Lt, p, first);
                    first = self.bin(B::Min, first, p);
                    v0 = self.sel(better, v, v0);
                    line0 = self.sel(better, l, line0);
                }
                let mine = self.bin(B::Le, z, wkey[s]);
                let (conflict, kind) = if self.model == AccessModel::CrcwCommon {
                    let val = self.b.field(f(s, 1));
                    (self.bin(B::Ne, val, v0), 3)
                } else {
                    (self.bin(B::Ne, first, slot_pid), 2)
                };
                let cand = self.and(mine, conflict);
                // The lowest address wins; an earlier site keeps a tie.
                let lower = self.bin(B::Lt, addr[s], w_addr);
                let fresh = self.not(w_has);
                let wins = self.bin(B::Or, fresh, lower);
                let take = self.and(cand, wins);
                w_addr = self.sel(take, addr[s], w_addr);
                w_has = self.bin(B::Or, w_has, cand);
                let arr = self.b.field(f(s, 3));
                let idx = self.b.field(f(s, 4));
                let kind = self.k(kind);
                for (slot, v) in wd.iter_mut().zip([first, line0, arr, idx, kind]) {
                    *slot = self.sel(take, v, *slot);
                }
            }
        }
        let mut r_has = z;
        let mut r_addr = z;
        let mut rd = [z; 5];
        if reads_checked && self.read_sites > 0 {
            let base = sf::WRITES + sf::PER_WRITE * ws;
            let f = |q: usize, k: usize| base + sf::PER_READ * q + k;
            let mut rkey = Vec::new();
            for q in 0..self.read_sites {
                let a = self.b.field(f(q, 0));
                let has = self.bin(B::Le, z, a);
                let ok = self.and(has, in_round);
                rkey.push(self.sel(ok, a, m1));
            }
            for q in 0..self.read_sites {
                let mut first = none;
                for t in 0..self.read_sites {
                    let p = self.lookup(rkey[t], rkey[q], Prefer::Earliest, slot_pid, none);
                    first = self.bin(B::Min, first, p);
                }
                // The lowest line among the first reader's reads of this address.
                let mut l_has = z;
                let mut line0 = z;
                for t in 0..self.read_sites {
                    let line = self.b.field(f(t, 3));
                    let p = self.lookup(rkey[t], rkey[q], Prefer::Earliest, slot_pid, none);
                    let l = self.lookup(rkey[t], rkey[q], Prefer::Earliest, line, z);
                    let found = self.bin(B::Lt, p, none);
                    let same = self.bin(B::Eq, p, first);
                    let same = self.and(same, found);
                    let lower = self.bin(B::Lt, l, line0);
                    let fresh = self.not(l_has);
                    let wins = self.bin(B::Or, fresh, lower);
                    let take = self.and(same, wins);
                    line0 = self.sel(take, l, line0);
                    l_has = self.bin(B::Or, l_has, same);
                }
                let mine = self.bin(B::Le, z, rkey[q]);
                let other = self.bin(B::Ne, first, slot_pid);
                let cand = self.and(mine, other);
                let lower = self.bin(B::Lt, rkey[q], r_addr);
                let fresh = self.not(r_has);
                let wins = self.bin(B::Or, fresh, lower);
                let take = self.and(cand, wins);
                r_addr = self.sel(take, rkey[q], r_addr);
                r_has = self.bin(B::Or, r_has, cand);
                let arr = self.b.field(f(q, 1));
                let idx = self.b.field(f(q, 2));
                let kind = self.k(1);
                for (slot, v) in rd.iter_mut().zip([first, line0, arr, idx, kind]) {
                    *slot = self.sel(take, v, *slot);
                }
            }
        }
        // Global: the least (address, processor) write candidate and the least read candidate
        // over the round's slots; the interpreter prefers the write violation only at a strictly
        // lower address.
        let global = |this: &mut Self, has: V, addr: V, d: [V; 5]| {
            let key = this.sel(has, one, m1);
            let by = Prefer::MinByPair(addr, slot_pid);
            let g_has = this.lookup(key, one, by, one, z);
            let g_addr = this.lookup(key, one, by, addr, z);
            let g_pid = this.lookup(key, one, by, slot_pid, z);
            let mut g = [z; 5];
            for i in 0..5 {
                g[i] = this.lookup(key, one, by, d[i], z);
            }
            (g_has, g_addr, g_pid, g)
        };
        let (hw, wa, wp, dw) = global(self, w_has, w_addr, wd);
        let (hr, ra, rp, dr) = global(self, r_has, r_addr, rd);
        let lower = self.bin(B::Lt, wa, ra);
        let no_read = self.not(hr);
        let write_first = self.bin(B::Or, no_read, lower);
        let use_write = self.and(hw, write_first);
        let mut g = [z; 5];
        for i in 0..5 {
            g[i] = self.sel(use_write, dw[i], dr[i]);
        }
        let violated = self.bin(B::Or, hw, hr);
        let second = self.sel(use_write, wp, rp);
        // d: kind, round, first processor, line, array, index, second processor.
        (violated, [g[4], round_k, g[0], g[1], g[2], g[3], second])
    }
}

/// A transition edge: its guard, the free actions on it, and the round node (or end) it reaches.
type Edge<'p> = (V, Vec<(Action<'p>, u32)>, usize);

/// Where a fault is reported.
#[derive(Clone, Copy)]
struct FaultCtx {
    line: u32,
    round: V,
    pid: V,
}

/// Builds the initial canvas: the start header, given cells, and masks.
pub fn initial_canvas(
    c: &MdmCompiled,
    program: &Program,
    config: &RunConfig,
) -> Result<Vec<crate::machine::Token<crate::seq::Word>>, CompileError> {
    use crate::machine::Token;
    use crate::seq::Word;
    let setup = interp::setup(program, config).map_err(|e| CompileError::Setup(e.to_string()))?;
    let mut x = Vec::with_capacity(c.regions.length);
    let mut start = vec![0i64; c.fields];
    start[0] = kind::HEADER;
    start[hf::PC] = -1;
    start[hf::S] = setup.cells.len() as i64;
    start[hf::SEED] = crate::pram::round::draw_seed(config.seed);
    for (r, &v) in setup.registers.iter().enumerate() {
        start[hf::REGS + r] = v;
    }
    start[hf::REGS + c.registers - 1] = setup.cells.len() as i64;
    x.push(Token::Sym(Word(start)));
    for &(_, _, addr) in &c.given {
        let mut w = vec![0i64; c.fields];
        w[0] = kind::GIVEN;
        w[1] = addr;
        w[2] = setup.cells[addr as usize];
        x.push(Token::Sym(Word(w)));
    }
    x.resize(c.regions.length, Token::Mask);
    Ok(x)
}
