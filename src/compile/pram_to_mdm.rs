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
//! The round compiler (`round`: `prepare`, `observe`, `transition`, `slot_body`, memory loads) is
//! shared with `pram_to_apmdm`, which lays the same state out on a canvas rewritten in place; its
//! token format and errors are re-exported here under their first paths.

use num_traits::ToPrimitive;

use super::cfg::Cfg;
use super::mdm_layout::MdmLayout;
use super::round::{prepare, Compiler, SlotCap};
use crate::pram::program::{AccessModel, Program};
use crate::pram::{interp, RunConfig};
use crate::seq::{BinaryOp as B, Heads, Program as Seq};

pub use super::round::{fault, hf, kind, sf, status, CompileError, CompileLimits};

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
    let seq = build(&mut c, &cfg, &regions, &outputs, &layout, limits, &setup)?;
    super::memory::check(&seq, length as u64, 0, limits.max_memory)?;
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

/// The MDM schedule: every position's role (next header, processor slot, output cell, pad or
/// hold) and its proposed token.
#[allow(clippy::too_many_arguments)]
fn build<'p>(
    c: &mut Compiler,
    cfg: &Cfg<'p>,
    regions: &Regions,
    outputs: &[(u32, i64, i64, bool)],
    layout: &MdmLayout,
    limits: &CompileLimits,
    setup: &interp::Setup,
) -> Result<Seq, CompileError> {
    let z = c.k(0);
    // A run takes at most header_count + 2 steps, each reading the last header's ordinal.
    c.ord_cap = regions.header_count as i64 + 3;
    c.pid_cap = regions.slot_count as i64;
    let o = c.observe(hf::REGS + c.top_reg + 1, None);
    let t = c.transition(
        cfg,
        &o,
        limits,
        setup,
        layout.rounds_declared.to_i64().unwrap_or(i64::MAX),
        SlotCap::Work(regions.slot_count as i64),
    );
    let (h, idx, is_mask) = (&o.h, o.idx, o.is_mask);
    let (running, cnt, header, ord_new) = (t.running, t.cnt, &t.header, t.ord);
    let final_step = c.not(running);
    // Roles.
    let hdr_pos = c.k(regions.headers as i64 - 1);
    let hdr_pos = c.bin(B::Add, hdr_pos, ord_new);
    let at_header = c.bin(B::Eq, idx, hdr_pos);
    let sb = c.k(regions.slots as i64);
    let rel = c.bin(B::Sub, idx, sb);
    let rel = c.bin(B::Sub, rel, h[hf::W]);
    let in_lo = c.bin(B::Le, z, rel);
    let in_hi = c.bin(B::Lt, rel, cnt);
    let in_slot = c.and(in_lo, in_hi);
    let at_slot = c.and(in_slot, running);
    let pid = rel;
    let (new_regs, new_pc, next_round, sizes) = (t.regs.clone(), t.pc, t.next_round, &t.sizes);
    // Slot contents.
    let slot = c.slot_body(cfg, &new_regs, new_pc, running, pid, next_round, sizes);
    // Output cells.
    let ob = c.k(regions.outputs as i64);
    let orel = c.bin(B::Sub, idx, ob);
    let mut oaddr = z;
    let mut start = 0i64;
    for &(_, base, len, _) in outputs {
        let lo = c.k(start);
        let hi = c.k(start + len);
        let a = c.bin(B::Le, lo, orel);
        let b2 = c.bin(B::Lt, orel, hi);
        let inside = c.and(a, b2);
        let off = c.k(base - start);
        let addr = c.bin(B::Add, orel, off);
        oaddr = c.sel(inside, addr, oaddr);
        start += len;
    }
    let ovalue = c.load(z, oaddr);
    let in_out_lo = c.bin(B::Le, z, orel);
    let in_output = c.and(in_out_lo, is_mask);
    let at_output = c.and(in_output, final_step);
    // Proposed token.
    let nf = c.fields;
    let mut token = vec![z; nf];
    let pk = c.k(kind::PAD);
    let ok = c.k(kind::OUTPUT);
    let sk = c.k(kind::SLOT);
    for f in 0..nf {
        let out_f = match f {
            0 => ok,
            1 => oaddr,
            2 => ovalue,
            _ => z,
        };
        let pad_f = if f == 0 { pk } else { z };
        let slot_f = if f == 0 { sk } else { slot[f] };
        let v = c.sel(at_output, out_f, pad_f);
        let v = c.sel(at_slot, slot_f, v);
        token[f] = c.sel(at_header, header[f], v);
    }
    let decode = c.bin(B::Or, at_header, at_slot);
    let decode = c.bin(B::Or, decode, final_step);
    let hold = c.not(decode);
    let remask = c.and(is_mask, hold);
    let initial = c.initial_fields(setup, &[]);
    c.finish(
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
