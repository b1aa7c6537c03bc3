//! `pram_to_apmdm`: Theorem 4's construction. A PRAM program at size n becomes one seq program f
//! whose canvas holds one copy of memory and a processor region, so the context follows the
//! space S, not the work (`proofs/apmdm.md`).
//!
//! Canvas: `[header][header][memory cells ...][processor slots: P]`. Exactly one of the two
//! header positions is decoded; every step decodes the other with the next control state and
//! remasks the old one, so the phase of the schedule lives in a token. A memory cell is a token
//! (address, value) in any order; a round takes three steps: DECODE (slots fill, reading the
//! cells), EXEC (the header takes the transition; cells the round wrote remask) and COMMIT
//! (written cells unmask with their new values; slots remask). When a transition changes the
//! top of memory, DELETE drops the cells of scopes left (remasked at COMMIT) and GROW steps
//! insert fresh cells, every memory position and the second header inserting at most one mask,
//! so each GROW step at most doubles the memory region plus one.
//!
//! Shared with `pram_to_mdm` through `round`: the round compiler (slot bodies, reads, faults,
//! violations), the transition (free paths, limits, bounds) and the token format (`hf`, `kind`).

use num_bigint::BigInt;
use num_traits::{ToPrimitive, Zero};

use super::declared::Declared;
use super::mdm_layout::LayoutError;
use super::round::{
    hf, kind, prepare, status, CompileError, CompileLimits, Compiler, SlotCap, Stop, Targets,
};
use crate::pram::program::{AccessModel, Program};
use crate::pram::{interp, Metric, RunConfig};
use crate::seq::{BinaryOp as B, Cmp, Heads, Program as Seq, Selector, Value as V};

/// Schedule phases (the header's phase field).
pub mod phase {
    /// The next step fills the processor slots of the round the header describes.
    pub const DECODE: i64 = 1;
    /// The slots are decoded: the next step takes the transition, and cells they wrote remask.
    pub const EXEC: i64 = 2;
    /// Written cells unmask with their values; slots remask; cells of left scopes remask.
    pub const COMMIT: i64 = 3;
    /// Masks in the memory region are deleted (cells of left scopes).
    pub const DELETE: i64 = 4;
    /// Fresh cells are inserted and unmasked (an allocation).
    pub const GROW: i64 = 5;
    /// The run is over: nothing changes (a fixed point).
    pub const FINAL: i64 = 6;

    /// The phase's name.
    pub fn name(p: i64) -> &'static str {
        match p {
            DECODE => "decode",
            EXEC => "exec",
            COMMIT => "commit",
            DELETE => "delete",
            GROW => "grow",
            FINAL => "final",
            _ => "?",
        }
    }
}

/// How the memory region is laid out (`proofs/apmdm.md`, "Two layouts").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApmdmMode {
    /// The theorem's form: the region holds max(S_decl, static cells) cells from the start, cell
    /// j at position 2 + j for the whole run, so allocation costs no step (steps = 3T + 2) and
    /// the length never changes; an allocation finds its cells at value 0, and leaving a scope
    /// zeroes the cells it wrote (remasked at COMMIT, unmasked as 0 at the next DECODE).
    #[default]
    Declared,
    /// The region holds exactly the cells in use: scopes are inserted (GROW steps, each at most
    /// doubling the region plus one) and deleted (one DELETE step), so the context follows the
    /// space in use at every step.
    Tight,
}

impl ApmdmMode {
    /// `declared` or `tight`.
    pub fn parse(s: &str) -> Option<ApmdmMode> {
        match s {
            "declared" => Some(ApmdmMode::Declared),
            "tight" => Some(ApmdmMode::Tight),
            _ => None,
        }
    }

    /// The mode's name, as `--layout` spells it.
    pub fn name(self) -> &'static str {
        match self {
            ApmdmMode::Declared => "declared",
            ApmdmMode::Tight => "tight",
        }
    }
}

/// The exact sizes of an AP-MDM canvas at n, from the declarations alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApmdmLayout {
    /// Cells of the static arrays (the memory at the start).
    pub static_cells: BigInt,
    /// The processor region: max(1, P_decl).
    pub slots: BigInt,
    /// P_decl.
    pub processors_declared: BigInt,
    /// T_decl.
    pub rounds_declared: BigInt,
    /// S_decl, if declared.
    pub space_declared: Option<BigInt>,
    /// The initial length: 2 + static cells + slots.
    pub initial: BigInt,
    /// The longest canvas the declarations allow: 2 + max(S_decl, static cells) + slots (the
    /// declared layout's length at every step).
    pub peak_declared: BigInt,
}

impl ApmdmLayout {
    /// Lays out `program` at `n`.
    pub fn at(program: &Program, n: u64) -> Result<ApmdmLayout, LayoutError> {
        let d = Declared::at(program, n)?;
        let need = |v: &Option<BigInt>, name: &'static str| -> Result<BigInt, LayoutError> {
            let v = v.clone().ok_or(LayoutError::MissingBound(name))?;
            if v < BigInt::zero() {
                return Err(LayoutError::Negative(name));
            }
            Ok(v)
        };
        let rounds = need(&d.rounds, "rounds")?;
        let processors = need(&d.processors, "processors")?;
        let mut static_cells = BigInt::zero();
        for (id, a) in program.arrays.iter().enumerate() {
            if !a.scoped {
                static_cells += d.array_len(program, id as u32)?;
            }
        }
        if static_cells < BigInt::zero() {
            return Err(LayoutError::Negative("an array length"));
        }
        let slots = processors.clone().max(BigInt::from(1));
        let initial = 2 + &static_cells + &slots;
        let space = d.space.clone();
        let peak_memory = space
            .clone()
            .map_or_else(|| static_cells.clone(), |s| s.max(static_cells.clone()));
        Ok(ApmdmLayout {
            peak_declared: 2 + peak_memory + &slots,
            static_cells,
            slots,
            processors_declared: processors,
            rounds_declared: rounds,
            space_declared: space,
            initial,
        })
    }
}

/// A compiled program at one n.
#[derive(Debug, Clone)]
pub struct ApmdmCompiled {
    /// The step function.
    pub seq: Seq,
    /// The exact layout.
    pub layout: ApmdmLayout,
    /// Processor slots (the last positions of the canvas).
    pub slots: usize,
    /// Static cells.
    pub static_cells: usize,
    /// The memory region at the start: the static cells (tight), or max(S_decl, static cells)
    /// (declared; its length for the whole run).
    pub region: usize,
    /// The layout compiled for.
    pub mode: ApmdmMode,
    /// Output arrays in order: (array, base address, length, scalar).
    pub outputs: Vec<(u32, i64, i64, bool)>,
    /// Static arrays: (array, base address, length).
    pub places: Vec<(u32, i64, i64)>,
    /// Word fields.
    pub fields: usize,
    /// Registers in a header (as in MDM; the last is the top of memory).
    pub registers: usize,
    /// The header field holding the phase.
    pub phase_field: usize,
    /// The header field holding the lowest top of memory of the last transition.
    pub low_field: usize,
    /// Write sites per slot.
    pub write_sites: usize,
    /// Read sites per slot.
    pub read_sites: usize,
    /// The access model compiled for.
    pub model: AccessModel,
    /// The word range (a value outside it is an overflow fault).
    pub word: (i64, i64),
    /// Longest canvas a run may reach (the compile limit).
    pub max_length: usize,
    /// A step cap that no run within the declared rounds reaches.
    pub max_steps: usize,
    /// The most bytes a run may hold (`compile::memory`): the runner stops, with an error, before
    /// a step that would grow the canvas past what this affords.
    pub max_memory: u64,
    /// The header's and slots' round fields hold the round modulo this
    /// (`CompileLimits::apmdm_round_modulus`); the header has no work counter.
    pub round_modulus: i64,
    /// T_decl at n, which the runner holds the counted rounds to.
    pub rounds_declared: Option<i64>,
    /// W_decl at n, if declared, which the runner holds the counted work to.
    pub work_declared: Option<i64>,
}

/// Compiles `program` at `n` for the AP-MDM in the tight layout (its context follows the space in
/// use); [`pram_to_apmdm_in`] chooses the layout.
pub fn pram_to_apmdm(
    program: &Program,
    n: i64,
    limits: &CompileLimits,
) -> Result<ApmdmCompiled, CompileError> {
    pram_to_apmdm_in(program, n, limits, ApmdmMode::Tight)
}

/// Compiles `program` at `n` for the AP-MDM in layout `mode`.
pub fn pram_to_apmdm_in(
    program: &Program,
    n: i64,
    limits: &CompileLimits,
    mode: ApmdmMode,
) -> Result<ApmdmCompiled, CompileError> {
    let layout = ApmdmLayout::at(program, n.max(0) as u64)?;
    let declared = mode == ApmdmMode::Declared;
    if declared && layout.space_declared.is_none() && program.arrays.iter().any(|a| a.scoped) {
        return Err(CompileError::Unsupported(
            "the declared layout lays memory out for the declared space, and the program \
             allocates without declaring `space <= ...` in its bounds (use --layout tight)"
                .into(),
        ));
    }
    let too_long = |what: &str, v: &BigInt| {
        CompileError::TooLarge(format!(
            "the {what} has {v} positions, above the limit of {}",
            limits.max_length
        ))
    };
    let start = if declared {
        &layout.peak_declared
    } else {
        &layout.initial
    };
    let initial = start
        .to_usize()
        .filter(|&l| l <= limits.max_length)
        .ok_or_else(|| too_long("initial canvas", start))?;
    let slots = layout.slots.to_usize().unwrap_or(usize::MAX);
    let region = initial - 2 - slots;
    let static_cells = layout.static_cells.to_usize().unwrap_or(usize::MAX);
    let rounds_decl = layout.rounds_declared.to_i64().unwrap_or(i64::MAX);
    let (mut c, cfg, setup) = prepare(program, n, limits, rounds_decl, 2, true)?;
    let registers = c.top_reg + 1;
    let phase_field = hf::REGS + registers;
    let low_field = phase_field + 1;
    let top_field = hf::REGS + c.top_reg;
    let nf = c.fields;
    let z = c.k(0);
    let one = c.k(1);
    let m1 = c.k(-1);
    let steps_per = 3usize + 1 + 33;
    let max_steps = (rounds_decl.max(0) as usize)
        .saturating_add(1)
        .saturating_mul(steps_per)
        .saturating_add(4);
    // Exactly one header is decoded at a time, so no ordinal is needed to find the current one:
    // the header's ordinal field stays 0 (a counter growing with time would not fit the
    // log-precision bound on long runs). The shared transition's ordinal node is never read.
    c.ord_cap = 1;
    c.pid_cap = slots as i64;
    let o = c.observe(low_field + 1, Some((phase_field, phase::EXEC)));
    let h = o.h.clone();
    let (idx, is_mask, is_cell) = (o.idx, o.is_mask, o.is_given);
    // Regions: headers at 0 and 1, memory from 2, slots in the last `slots` positions.
    let length = c.b.length();
    let p_slots = c.k(slots as i64);
    let slot_start = c.bin(B::Sub, length, p_slots);
    let two = c.k(2);
    let region_size = c.bin(B::Sub, slot_start, two);
    let at_hdr = c.bin(B::Le, idx, one);
    let past_hdr = c.not(at_hdr);
    let before_slots = c.bin(B::Lt, idx, slot_start);
    let in_region = c.and(past_hdr, before_slots);
    let in_slots = c.not(before_slots);
    let region_mask = c.and(in_region, is_mask);
    // Fresh cells: a mask in the memory region outside COMMIT is a cell at value 0. Tight: its
    // address follows the decoded cells' by its rank among the region's masks. Declared: the
    // cell at position i has address i - 2 for the whole run (nothing is inserted or deleted).
    let (rank, decoded) = if declared {
        (c.bin(B::Sub, idx, two), z)
    } else {
        let rm_key = c.sel(region_mask, one, m1);
        let rank = c.b.sum(
            Selector {
                key: rm_key,
                query: one,
                position: Some(Cmp::Lt),
                pair: None,
            },
            one,
        );
        let cell_count_key = c.sel(is_cell, one, m1);
        let decoded = c.b.sum(
            Selector {
                key: cell_count_key,
                query: one,
                position: None,
                pair: None,
            },
            one,
        );
        (rank, decoded)
    };
    let cell_addr = c.b.field(1);
    let cell_key = c.sel(is_cell, cell_addr, m1);
    let fresh_key = c.sel(region_mask, rank, m1);
    c.targets = Some(Targets {
        cell_key,
        fresh_key,
        decoded,
    });
    let t = c.transition(
        &cfg,
        &o,
        limits,
        &setup,
        rounds_decl,
        SlotCap::Processors(slots as i64),
    );
    let ph = h[phase_field];
    let at = |c: &mut Compiler, p: i64| c.eqc(ph, p);
    let is_decode = at(&mut c, phase::DECODE);
    let is_exec = at(&mut c, phase::EXEC);
    let is_commit = at(&mut c, phase::COMMIT);
    let is_delete = at(&mut c, phase::DELETE);
    let is_grow = at(&mut c, phase::GROW);
    let is_final = at(&mut c, phase::FINAL);
    let running_h = o.started;
    let low = h[low_field];
    let top = h[top_field];
    // The next phase outside EXEC.
    let k = |c: &mut Compiler, p: i64| c.k(p);
    let (p_decode, p_exec, p_delete, p_grow, p_final, p_commit) = (
        k(&mut c, phase::DECODE),
        k(&mut c, phase::EXEC),
        k(&mut c, phase::DELETE),
        k(&mut c, phase::GROW),
        k(&mut c, phase::FINAL),
        k(&mut c, phase::COMMIT),
    );
    let after_commit = if declared {
        // The region is laid out for the declared space: nothing to delete or grow.
        p_decode
    } else {
        let short = c.bin(B::Lt, region_size, top);
        let grow_or_decode = c.sel(short, p_grow, p_decode);
        let excess = c.bin(B::Lt, low, region_size);
        c.sel(excess, p_delete, grow_or_decode)
    };
    let after_commit = c.sel(running_h, after_commit, p_final);
    let low_short = c.bin(B::Lt, low, top);
    let after_delete = c.sel(low_short, p_grow, p_decode);
    let missing = c.bin(B::Sub, top, region_size);
    let room = c.bin(B::Add, region_size, one);
    let ins = c.bin(B::Min, missing, room);
    let grown = c.bin(B::Add, region_size, ins);
    let still_short = c.bin(B::Lt, grown, top);
    let after_grow = c.sel(still_short, p_grow, p_decode);
    let mut next_phase = p_final;
    for (cond, p) in [
        (is_decode, p_exec),
        (is_commit, after_commit),
        (is_delete, after_delete),
        (is_grow, after_grow),
    ] {
        next_phase = c.sel(cond, p, next_phase);
    }
    // The next header: the transition at EXEC, else the current one with the next phase.
    let hk = c.k(kind::HEADER);
    let mut header = vec![z; nf];
    for (f, slot) in header.iter_mut().enumerate() {
        let copy = match f {
            0 => hk,
            hf::ORD => z,
            f if f == phase_field => next_phase,
            f if f < h.len() => h[f],
            _ => z,
        };
        let exec = match f {
            hf::ORD => z,
            f if f == phase_field => p_commit,
            f if f == low_field => t.low,
            _ => t.header[f],
        };
        *slot = c.sel(is_exec, exec, copy);
    }
    // Memory cells.
    let (_, written) = c.load_full(z, cell_addr);
    let exec_written = c.and(is_exec, written);
    let doomed = c.bin(B::Le, low, cell_addr);
    let doomed = c.and(doomed, running_h);
    // Declared: a left scope's cell already at 0 stays (it is what an allocation finds).
    let doomed = if declared {
        let cell_value = c.b.field(2);
        let nonzero = c.bin(B::Ne, cell_value, z);
        c.and(doomed, nonzero)
    } else {
        doomed
    };
    let commit_doomed = c.and(is_commit, doomed);
    let cell_remask = c.bin(B::Or, exec_written, commit_doomed);
    let cell_remask = c.and(cell_remask, is_cell);
    let (_, w_value, w_addr) = c.write_at(idx);
    let w_doomed = c.bin(B::Le, low, w_addr);
    let w_doomed = c.and(w_doomed, running_h);
    let fresh_addr = if declared {
        rank
    } else {
        c.bin(B::Add, decoded, rank)
    };
    let gk = c.k(kind::GIVEN);
    let new_cell_addr = c.sel(is_commit, w_addr, fresh_addr);
    let new_cell_value = c.sel(is_commit, w_value, z);
    let fill_phase = c.bin(B::Or, is_grow, is_decode);
    let fill_phase = c.bin(B::Or, fill_phase, is_commit);
    let commit_hold = c.and(is_commit, w_doomed);
    let fill = c.not(commit_hold);
    let fill = c.and(fill, fill_phase);
    let region_unmask = c.and(region_mask, fill);
    let (delete, insert) = if declared {
        (z, z)
    } else {
        let delete = c.and(region_mask, is_delete);
        // Inserts: while growing, positions 1..=ins (the second header and the memory region).
        let ins_pos = c.bin(B::Le, idx, ins);
        let not_first = c.bin(B::Le, one, idx);
        let insert = c.and(ins_pos, not_first);
        (delete, c.and(insert, is_grow))
    };
    // Processor slots.
    let pid = c.bin(B::Sub, idx, slot_start);
    let hregs: Vec<V> = (0..registers).map(|r| h[hf::REGS + r]).collect();
    let decode_now = c.and(is_decode, running_h);
    let mut scratch = Stop::none(z);
    let (_, sizes) = c.pardo_sizes(
        &cfg,
        &hregs,
        h[hf::PC],
        decode_now,
        &mut scratch,
        h[hf::T],
        None,
    );
    let slot = c.slot_body(&cfg, &hregs, h[hf::PC], decode_now, pid, h[hf::T], &sizes);
    let in_cnt = c.bin(B::Lt, pid, h[hf::CNT]);
    let slot_unmask = c.and(in_slots, is_mask);
    let slot_unmask = c.and(slot_unmask, in_cnt);
    let slot_unmask = c.and(slot_unmask, decode_now);
    let slot_remask = c.and(in_slots, o.is_slot);
    let slot_remask = c.and(slot_remask, is_commit);
    // Headers: the spare one takes the next state, the current one remasks (not when final).
    let spare = c.and(at_hdr, is_mask);
    let live = c.not(is_final);
    let header_unmask = c.and(spare, live);
    let current = c.not(is_mask);
    let current = c.and(at_hdr, current);
    let header_remask = c.and(current, live);
    // Proposed token: header, cell or slot by position.
    let sk = c.k(kind::SLOT);
    let mut token = vec![z; nf];
    for f in 0..nf {
        let cell_f = match f {
            0 => gk,
            1 => new_cell_addr,
            2 => new_cell_value,
            _ => z,
        };
        let slot_f = if f == 0 { sk } else { slot[f] };
        let v = c.sel(in_slots, slot_f, cell_f);
        token[f] = c.sel(at_hdr, header[f], v);
    }
    // Masks stay masked unless unmasked; decoded tokens remask where told.
    let unmask = c.bin(B::Or, header_unmask, region_unmask);
    let unmask = c.bin(B::Or, unmask, slot_unmask);
    let hold = c.not(unmask);
    let hold = c.and(is_mask, hold);
    let remask = c.bin(B::Or, hold, cell_remask);
    let remask = c.bin(B::Or, remask, slot_remask);
    let remask = c.bin(B::Or, remask, header_remask);
    // A deleted mask is dropped whatever its other bits say.
    let remask = {
        let keep = c.not(delete);
        c.and(remask, keep)
    };
    let cells = setup.cells.len() as i64;
    let initial = c.initial_fields(
        &setup,
        &[
            (phase_field, phase::EXEC),
            (low_field, cells),
            (low_field, 0),
        ],
    );
    // The longest canvas: the declared peak when space is declared (a run growing past it has
    // exceeded its declared space, and the evaluators report the position), else the compile
    // limit.
    let peak = match layout.space_declared {
        Some(_) => layout.peak_declared.to_i64().unwrap_or(i64::MAX),
        None => i64::MAX,
    }
    .min(limits.max_length as i64);
    let seq = c
        .finish(
            Heads {
                token,
                remask,
                insert,
                delete,
            },
            &initial,
            peak,
        )
        .map_err(|e| CompileError::Unsupported(format!("internal: {e}")))?;
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
    let declared_bound = |m: Metric| setup.bounds.iter().find(|b| b.0 == m).map(|b| b.1);
    let places = (0..program.arrays.len())
        .filter(|&a| !program.arrays[a].scoped)
        .map(|a| (a as u32, setup.base[a] as i64, setup.len[a] as i64))
        .collect();
    Ok(ApmdmCompiled {
        seq,
        layout,
        slots,
        static_cells,
        region,
        mode,
        outputs,
        places,
        fields: nf,
        registers,
        phase_field,
        low_field,
        write_sites: c.write_sites,
        read_sites: c.read_sites,
        model: setup.model,
        word: (setup.word_min, setup.word_max),
        max_length: limits.max_length,
        max_steps,
        max_memory: limits.max_memory,
        round_modulus: limits.apmdm_round_modulus,
        rounds_declared: declared_bound(Metric::Rounds),
        work_declared: declared_bound(Metric::Work),
    })
}

/// The initial canvas: the start header, a masked header, every static cell with its initial
/// value (inputs and generators from `config`), and masked processor slots.
pub fn initial_canvas(
    c: &ApmdmCompiled,
    program: &Program,
    config: &RunConfig,
) -> Result<Vec<crate::machine::Token<crate::seq::Word>>, CompileError> {
    use crate::machine::Token;
    use crate::seq::Word;
    let setup = interp::setup(program, config).map_err(|e| CompileError::Setup(e.to_string()))?;
    if setup.cells.len() != c.static_cells {
        return Err(CompileError::Setup(format!(
            "the input lays out {} static cells; the schedule was compiled for {}",
            setup.cells.len(),
            c.static_cells
        )));
    }
    let mut start = vec![0i64; c.fields];
    start[0] = kind::HEADER;
    start[hf::PC] = -1;
    start[hf::STATUS] = status::RUNNING;
    start[hf::S] = setup.cells.len() as i64;
    start[hf::SEED] = crate::pram::round::draw_seed(config.seed);
    for (r, &v) in setup.registers.iter().enumerate() {
        start[hf::REGS + r] = v;
    }
    start[hf::REGS + c.registers - 1] = setup.cells.len() as i64;
    start[c.phase_field] = phase::EXEC;
    start[c.low_field] = setup.cells.len() as i64;
    let mut x = Vec::with_capacity(2 + c.region + c.slots);
    x.push(Token::Sym(Word(start)));
    x.push(Token::Mask);
    // The static cells with their values; in the declared layout, the cells up to the declared
    // space follow at value 0.
    let values = setup.cells.iter().copied().chain(std::iter::repeat(0));
    for (addr, v) in values.take(c.region).enumerate() {
        let mut w = vec![0i64; c.fields];
        w[0] = kind::GIVEN;
        w[1] = addr as i64;
        w[2] = v;
        x.push(Token::Sym(Word(w)));
    }
    x.resize(2 + c.region + c.slots, Token::Mask);
    Ok(x)
}
