//! The round compiler both constructions share (`pram_to_mdm`: Theorem 1, `pram_to_apmdm`:
//! Theorem 4). `prepare` sets it up from the interpreter's set-up at n and the control-flow graph;
//! every position of a canvas then computes, with lookups, what it reads off the canvas
//! (`observe`), the next control state (`transition`) and a processor slot of the next round
//! (`slot_body`); each construction lays these out on its own canvas and schedule
//! (`proofs/mdm.md`, `proofs/apmdm.md`).
//!
//! `token`: the token format (kinds, status and fault codes, header and slot fields); `stop`:
//! stops in program order; `expr`: expressions and addresses; `memory`: loads and in-place write
//! targets; `observe`, `transition`, `slot`: the three parts above.

// Parallel arrays of nodes (registers, fields, details) are updated index by index.
#![allow(clippy::needless_range_loop)]

mod expr;
mod memory;
mod observe;
mod slot;
mod stop;
mod token;
mod transition;

use std::collections::HashMap;

use crate::compile::cfg::{Cfg, Node, RoundKind};
use crate::compile::mdm_layout::LayoutError;
use crate::pram::program::{AccessModel, Op as PramOp, Program};
use crate::pram::{interp, RunConfig};
use crate::seq::{
    BinaryOp as B, Builder, Heads, Prefer, Program as Seq, Selector, UnaryOp as U, Value as V,
};
use memory::Memory;

pub(super) use memory::Targets;
pub(super) use stop::Stop;
pub use token::{fault, hf, kind, sf, status};
pub(super) use transition::SlotCap;

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
    /// Running the schedule would hold more memory than allowed.
    #[error(transparent)]
    OverMemory(#[from] crate::compile::memory::OverMemory),
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
    /// The most bytes a run of the schedule may hold (`compile::memory`).
    pub max_memory: u64,
    /// The modulus the AP-MDM's header and slots hold the round in (its tokens carry no counter
    /// that grows with time): [`crate::pram::round::DRAW_ROUND_MODULUS`] (2^16, what the
    /// CRCW-arbitrary draw reads), or a smaller power of two, at least 4, so that tests see the
    /// count wrap on short runs (refused for CRCW-arbitrary programs, whose draws need 2^16).
    pub apmdm_round_modulus: i64,
}

impl Default for CompileLimits {
    fn default() -> Self {
        let c = RunConfig::new(1);
        CompileLimits {
            max_length: 1 << 22,
            max_processors: c.max_processors,
            max_cells: c.max_cells,
            max_memory: crate::compile::memory::DEFAULT_MAX_MEMORY,
            apmdm_round_modulus: crate::pram::round::DRAW_ROUND_MODULUS as i64,
        }
    }
}

/// The round compiler: a seq program under construction over one program at n.
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
    /// AP-MDM: rounds are held modulo this (`CompileLimits::apmdm_round_modulus`), and the
    /// rounds and work bounds are left to the runner, which counts them from the headers
    /// (`apmdm_run::RoundCounter`). MDM: `None` (full counters, checked in the transition).
    pub(super) round_modulus: Option<i64>,
    /// The most a header's ordinal reaches (set by each construction before `transition`).
    pub(super) ord_cap: i64,
    /// The most the top of memory reaches: the cell limit plus a word per allocation on a path.
    top_cap: i64,
    /// Above every processor id (the slot cap; set by each construction before `observe`).
    pub(super) pid_cap: i64,
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
    if in_place {
        let m = limits.apmdm_round_modulus;
        let full = crate::pram::round::DRAW_ROUND_MODULUS as i64;
        if !(2..=full).contains(&m) || m.count_ones() != 1 {
            return Err(CompileError::Unsupported(format!(
                "the AP-MDM's round modulus must be a power of two from 2 to {full}, not {m}"
            )));
        }
        if m != full && setup.model == AccessModel::CrcwArbitrary {
            return Err(CompileError::Unsupported(format!(
                "a CRCW-arbitrary program's draws read the round modulo {full}; the AP-MDM's \
                 round modulus cannot be {m}"
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
        round_modulus: in_place.then_some(limits.apmdm_round_modulus),
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

    /// `round_k + 1`, declared within `1..=T_decl + 1`; modulo the round modulus where rounds
    /// are held modulo one (AP-MDM), declared within `0..modulus`.
    fn succ_round(&mut self, round_k: V) -> V {
        let one = self.k(1);
        let r = self.bin(B::Add, round_k, one);
        match self.round_modulus {
            Some(m) => {
                let wrap = self.eqc(r, m);
                let z = self.k(0);
                let r = self.sel(wrap, z, r);
                self.b.declare(r, (0, m - 1))
            }
            None => self.b.declare(r, (1, self.round_cap)),
        }
    }

    /// The round a CRCW-arbitrary draw reads: the round modulo 2^16
    /// (`pram::round::arbitrary_rank`). A round held modulo 2^16 (AP-MDM), or one that never
    /// reaches 2^16, is read as it is.
    pub(super) fn draw_round(&mut self, round: V) -> V {
        let m = crate::pram::round::DRAW_ROUND_MODULUS as i64;
        if self.round_modulus.is_some() || self.round_cap < m {
            return round;
        }
        let mask = self.k(m - 1);
        self.bin(B::BitAnd, round, mask)
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
}
