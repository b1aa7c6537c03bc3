//! One synchronous round: every processor reads the snapshot, computes, then all writes apply.
//!
//! Processors run in parallel chunks (rayon); each chunk buffers its reads and writes in processor
//! order, so the merged buffers, and therefore every decision below, are the same for any number
//! of threads. Conflicts are found on the merged buffers, canonically: the lowest faulting
//! processor first; otherwise the lowest address with a violation and its two lowest processors.

use rayon::prelude::*;

use super::columns::run_columns;
use super::lower::{Code, Instr};
use super::outcome::{Fault, FaultKind, Outcome, Violation, ViolationKind};
use super::program::AccessModel;
use super::word::Word;

/// Shared memory: one flat array of cells; each array is a window `base .. base + len`.
#[derive(Debug, Clone, Default)]
pub struct Memory {
    /// The cells.
    pub cells: Vec<i64>,
    /// Base address of each array (scoped arrays: while allocated).
    pub base: Vec<u64>,
    /// Length of each array (0 while a scoped array is not allocated).
    pub len: Vec<u64>,
    /// Array names, for reports.
    pub names: Vec<String>,
}

impl Memory {
    /// The address of `array[index]`, or the fault of an out-of-bounds access.
    #[inline]
    pub fn address(&self, array: u32, index: i64) -> Result<u64, FaultKind> {
        let a = array as usize;
        if index < 0 || index as u64 >= self.len[a] {
            return Err(self.out_of_bounds(a, index));
        }
        Ok(self.base[a] + index as u64)
    }

    // Kept out of line so that `address`, on every read and write, stays small enough to inline.
    #[cold]
    #[inline(never)]
    fn out_of_bounds(&self, a: usize, index: i64) -> FaultKind {
        FaultKind::OutOfBounds {
            array: self.names[a].clone(),
            index,
            len: self.len[a],
        }
    }

    /// The array and index of an address (the innermost allocated window holding it).
    pub fn locate(&self, addr: u64) -> (String, i64) {
        (0..self.base.len())
            .rev()
            .find(|&a| self.len[a] > 0 && self.base[a] <= addr && addr < self.base[a] + self.len[a])
            .map_or((String::from("?"), addr as i64), |a| {
                (self.names[a].clone(), (addr - self.base[a]) as i64)
            })
    }
}

/// A read made in a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadRecord {
    /// Address read.
    pub addr: u64,
    /// Reading processor.
    pub pid: u64,
    /// Value read.
    pub value: i64,
    /// Source line.
    pub line: u32,
}

/// A buffered write of a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteRecord {
    /// Address written.
    pub addr: u64,
    /// Writing processor.
    pub pid: u64,
    /// Value.
    pub value: i64,
    /// Source line.
    pub line: u32,
    /// Write site (program order of the write in the body).
    pub site: u32,
}

/// What a round needs besides memory.
pub struct RoundSetup<'a> {
    /// The lowered body, uniform subexpressions hoisted into its prologue.
    pub code: &'a Code,
    /// The same body without hoisting, used where the prologue faults.
    pub plain: &'a Code,
    /// Uniform registers.
    pub registers: &'a [i64],
    /// Each index: first value and range size.
    pub ranges: &'a [(i64, u64)],
    /// Total processors (product of sizes).
    pub processors: u64,
    /// Word range.
    pub word: Word,
    /// Access model.
    pub model: AccessModel,
    /// Round number (1-based).
    pub round: u64,
    /// Seed for CRCW-arbitrary winners.
    pub seed: u64,
    /// Whether to keep every read and write for a trace.
    pub trace: bool,
    /// When set, processors execute one by one in an order shuffled by this seed (to test that
    /// nothing depends on the order: faults, conflicts and winners are decided on sorted data).
    pub shuffle: Option<u64>,
}

/// The accesses of a round, kept when tracing.
#[derive(Debug, Clone, Default)]
pub struct RoundAccesses {
    /// Reads in processor order.
    pub reads: Vec<ReadRecord>,
    /// Writes that were applied (winners), by address.
    pub writes: Vec<WriteRecord>,
}

/// A write buffered by the fast first pass: address and value only (16 bytes), which is all the
/// write phase needs when no address is written twice.
#[derive(Debug, Clone, Copy)]
pub(super) struct Store {
    pub(super) addr: u64,
    pub(super) value: i64,
}

/// Writes of consecutive processors to consecutive addresses (processor i writes `A[i]`, the
/// common case), buffered as their values alone: `len` values from `start` of the site's
/// `values`, for addresses `addr..addr + len`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Run {
    addr: u64,
    start: usize,
    len: usize,
}

/// The writes of one site by one chunk in the fast first pass, in processor order: single
/// stores and runs of consecutive addresses (applied with one copy each). The chunk also notes
/// whether the addresses strictly increase in processor order, and the first and last, so that
/// the round can decide without another pass that no address is written twice.
#[derive(Debug, Clone)]
pub(super) struct SiteWrites {
    stores: Vec<Store>,
    runs: Vec<Run>,
    values: Vec<i64>,
    /// The first address written and the last (highest, when `increasing`).
    span: Option<(u64, u64)>,
    /// The lowest and highest address written (`u64::MAX` and 0 before the first write).
    range: (u64, u64),
    /// Whether every write's address is above every earlier one's.
    increasing: bool,
    /// Capacity to reserve on first use (the chunk's processor count, capped).
    expected: usize,
}

impl SiteWrites {
    fn new(expected: usize) -> Self {
        SiteWrites {
            stores: Vec::new(),
            runs: Vec::new(),
            values: Vec::new(),
            span: None,
            range: (u64::MAX, 0),
            increasing: true,
            expected,
        }
    }

    /// Notes writes to `lo..=hi` after every earlier one.
    #[inline]
    fn note(&mut self, lo: u64, hi: u64) {
        self.range = (self.range.0.min(lo), self.range.1.max(hi));
        match &mut self.span {
            Some((_, last)) => {
                self.increasing &= lo > *last;
                *last = hi;
            }
            None => self.span = Some((lo, hi)),
        }
    }

    /// Buffers one write.
    #[inline]
    pub(super) fn push(&mut self, addr: u64, value: i64) {
        if self.stores.capacity() == 0 {
            self.stores.reserve(self.expected);
        }
        self.note(addr, addr);
        self.stores.push(Store { addr, value });
    }

    /// Buffers writes of consecutive processors to `addr`, `addr + 1`, ...
    pub(super) fn push_run(&mut self, addr: u64, values: &[i64]) {
        let len = values.len();
        if len == 0 {
            return;
        }
        self.note(addr, addr + len as u64 - 1);
        if self.values.capacity() == 0 {
            self.values.reserve(self.expected);
        }
        match self.runs.last_mut() {
            // Continues the previous run: one copy applies both.
            Some(r) if r.addr + r.len as u64 == addr => r.len += len,
            _ => self.runs.push(Run {
                addr,
                start: self.values.len(),
                len,
            }),
        }
        self.values.extend_from_slice(values);
    }

    /// Buffers writes of consecutive processors to the addresses `addrs` with `values`.
    pub(super) fn push_all(&mut self, addrs: impl Iterator<Item = u64>, values: &[i64]) {
        if self.stores.capacity() == 0 {
            self.stores.reserve(self.expected);
        }
        for (addr, &value) in addrs.zip(values) {
            self.note(addr, addr);
            self.stores.push(Store { addr, value });
        }
    }

    /// Applies the writes to `cells`, which starts at address `offset`.
    fn apply(&self, cells: &mut [i64], offset: u64) {
        for r in &self.runs {
            let at = (r.addr - offset) as usize;
            cells[at..at + r.len].copy_from_slice(&self.values[r.start..r.start + r.len]);
        }
        for w in &self.stores {
            cells[(w.addr - offset) as usize] = w.value;
        }
    }

    fn count(&self) -> usize {
        self.stores.len() + self.values.len()
    }
}

#[derive(Default)]
pub(super) struct ChunkOut {
    /// Whether writes are recorded in full (`writes`) or as `stores` per site.
    full: bool,
    /// Per write site, in execution order (fast pass).
    pub(super) stores: Vec<SiteWrites>,
    /// Every write with its processor, line and site (full pass).
    writes: Vec<WriteRecord>,
    pub(super) reads: Vec<ReadRecord>,
    pub(super) fault: Option<Fault>,
}

/// Runs every processor of the round (in chunks, or one by one in shuffled order).
fn run_processors(mem: &Memory, s: &RoundSetup<'_>, keep_reads: bool, full: bool) -> Vec<ChunkOut> {
    let threads = rayon::current_num_threads() as u64;
    let chunk = (s.processors / (threads * 8)).max(512);
    let chunks = s.processors.div_ceil(chunk);
    match s.shuffle {
        None => (0..chunks)
            .into_par_iter()
            .map(|c| {
                let lo = c * chunk;
                let hi = (lo + chunk).min(s.processors);
                run_chunk(mem, s, lo..hi, keep_reads, full, Some((lo, hi)))
            })
            .collect(),
        Some(seed) => {
            let mut order: Vec<u64> = (0..s.processors).collect();
            let mut stream = super::input::Stream::new(seed, s.round);
            for i in (1..order.len()).rev() {
                order.swap(i, stream.below(i as u64 + 1) as usize);
            }
            vec![run_chunk(mem, s, order.into_iter(), keep_reads, full, None)]
        }
    }
}

/// Runs one round against `memory`, applying its writes when it ends without a fault or
/// violation. Returns the stopping outcome, if any, and the accesses when tracing.
///
/// The first pass buffers bare (address, value) stores. When they show that no address is
/// written twice (the common case) they are applied directly; otherwise the round is run again
/// from the same snapshot with full records (processor, line, site) to resolve the conflicts,
/// which gives the same result because a round is a pure function of the snapshot.
pub fn run_round(memory: &mut Memory, s: &RoundSetup<'_>) -> (Option<Outcome>, RoundAccesses) {
    let keep_reads = s.trace || !s.model.concurrent_read();
    let full_first = s.trace || s.shuffle.is_some();
    let outs = run_processors(memory, s, keep_reads, full_first);
    if let Some(f) = outs
        .iter()
        .filter_map(|o| o.fault.clone())
        .min_by_key(|f| f.processor)
    {
        return (Some(Outcome::Fault(f)), RoundAccesses::default());
    }
    let mut reads = Vec::new();
    let mut stores: Vec<Vec<SiteWrites>> = Vec::with_capacity(outs.len());
    let mut writes: Vec<WriteRecord> = Vec::new();
    for mut o in outs {
        reads.append(&mut o.reads);
        writes.append(&mut o.writes);
        stores.push(o.stores);
    }
    let read_violation = if s.model.concurrent_read() {
        None
    } else {
        concurrent_read(&reads, s.round)
    };
    if !full_first {
        let ordered = exclusive_writes(&stores);
        if ordered || distinct_writes(&stores) {
            if let Some((addr, v)) = read_violation {
                return (Some(located(memory, addr, v)), RoundAccesses::default());
            }
            if ordered {
                apply_stores(&mut memory.cells, &stores);
            } else {
                // No address twice, so the order of application does not matter.
                stores
                    .iter()
                    .flatten()
                    .for_each(|w| w.apply(&mut memory.cells, 0));
            }
            return (None, RoundAccesses::default());
        }
    }
    if !full_first {
        writes = run_processors(memory, s, false, true)
            .into_iter()
            .flat_map(|o| o.writes)
            .collect();
    }
    let (write_violation, winners) = resolve_writes(writes, s);
    let violation = match (read_violation, write_violation) {
        (Some(r), Some(w)) => Some(if w.0 < r.0 { w } else { r }),
        (r, w) => r.or(w),
    };
    if let Some((addr, v)) = violation {
        return (Some(located(memory, addr, v)), RoundAccesses::default());
    }
    for w in &winners {
        memory.cells[w.addr as usize] = w.value;
    }
    let accesses = if s.trace {
        RoundAccesses {
            reads,
            writes: winners,
        }
    } else {
        RoundAccesses::default()
    };
    (None, accesses)
}

/// The violation as an outcome, its address named as array and index.
fn located(memory: &Memory, addr: u64, mut v: Violation) -> Outcome {
    let (array, index) = memory.locate(addr);
    v.array = array;
    v.index = index;
    Outcome::Violation(v)
}

/// Runs the processors `pids` in that order. The chunk's fault is its lowest faulting processor
/// (processors after a fault still run only when the order is not increasing). A fast pass over
/// a contiguous `span` of processors runs column-wise (`columns.rs`).
fn run_chunk(
    mem: &Memory,
    s: &RoundSetup<'_>,
    pids: impl Iterator<Item = u64>,
    keep_reads: bool,
    full: bool,
    span: Option<(u64, u64)>,
) -> ChunkOut {
    let mut code = s.code;
    // Most sites write once per processor: reserving the chunk's length avoids regrowing.
    let expected = if full {
        0
    } else {
        pids.size_hint().0.min(1 << 16)
    };
    let mut out = ChunkOut {
        full,
        stores: (0..code.sites.max(s.plain.sites))
            .map(|_| SiteWrites::new(expected))
            .collect(),
        ..ChunkOut::default()
    };
    let mut slots = vec![0i64; code.slots.max(s.plain.slots) as usize];
    slots[..s.registers.len()].copy_from_slice(s.registers);
    let prologue = Code {
        instrs: code.prologue.clone(),
        lines: code.prologue_lines.clone(),
        prologue: Vec::new(),
        prologue_lines: Vec::new(),
        slots: code.slots,
        sites: 0,
        registers: code.registers,
    };
    // The prologue has no reads or writes; if it faults, some processor might not have
    // evaluated that expression, so this chunk runs the unhoisted code instead.
    if run_processor(&prologue, &mut slots, mem, s.word, 0, false, &mut out).is_err() {
        code = s.plain;
    }
    if let (false, Some(span)) = (full, span) {
        run_columns(code, &slots, mem, s, span, keep_reads, &mut out);
        return out;
    }
    let first_local = code.registers as usize;
    for pid in pids {
        if let [(start, _)] = s.ranges {
            // One index (the common case): no division needed.
            slots[first_local] = start + pid as i64;
        } else {
            let mut rest = pid;
            for (k, &(start, size)) in s.ranges.iter().enumerate().rev() {
                slots[first_local + k] = start + (rest % size) as i64;
                rest /= size;
            }
        }
        if let Err((kind, pc)) =
            run_processor(code, &mut slots, mem, s.word, pid, keep_reads, &mut out)
        {
            if out.fault.as_ref().is_none_or(|f| f.processor > pid) {
                out.fault = Some(Fault {
                    kind,
                    round: s.round,
                    processor: pid,
                    line: code.lines[pc],
                });
            }
            if s.shuffle.is_none() {
                return out;
            }
        }
    }
    out
}

#[inline]
fn run_processor(
    code: &Code,
    slots: &mut [i64],
    mem: &Memory,
    word: Word,
    pid: u64,
    keep_reads: bool,
    out: &mut ChunkOut,
) -> Result<(), (FaultKind, usize)> {
    let mut pc = 0;
    let instrs = &code.instrs;
    while pc < instrs.len() {
        match instrs[pc] {
            Instr::Const { dst, value } => {
                slots[dst as usize] = word.fit(value).map_err(|k| (k, pc))?;
            }
            Instr::Move { dst, src } => slots[dst as usize] = slots[src as usize],
            Instr::Un { op, dst, a } => {
                slots[dst as usize] = word.un(op, slots[a as usize]).map_err(|k| (k, pc))?;
            }
            Instr::Bin { op, dst, a, b } => {
                slots[dst as usize] = word
                    .bin(op, slots[a as usize], slots[b as usize])
                    .map_err(|k| (k, pc))?;
            }
            Instr::Read { dst, array, index } => {
                let addr = mem
                    .address(array, slots[index as usize])
                    .map_err(|k| (k, pc))?;
                let value = mem.cells[addr as usize];
                slots[dst as usize] = value;
                if keep_reads {
                    out.reads.push(ReadRecord {
                        addr,
                        pid,
                        value,
                        line: code.lines[pc],
                    });
                }
            }
            Instr::Write {
                site,
                array,
                index,
                value,
            } => {
                let addr = mem
                    .address(array, slots[index as usize])
                    .map_err(|k| (k, pc))?;
                let value = slots[value as usize];
                if out.full {
                    out.writes.push(WriteRecord {
                        addr,
                        pid,
                        value,
                        line: code.lines[pc],
                        site,
                    });
                } else {
                    out.stores[site as usize].push(addr, value);
                }
            }
            Instr::JumpIfZero { cond, target } => {
                if slots[cond as usize] == 0 {
                    pc = target as usize;
                    continue;
                }
            }
            Instr::Jump { target } => {
                pc = target as usize;
                continue;
            }
        }
        pc += 1;
    }
    Ok(())
}

/// The lowest address read by two processors, with its two lowest readers.
fn concurrent_read(reads: &[ReadRecord], round: u64) -> Option<(u64, Violation)> {
    let mut keys: Vec<(u64, u64, u32)> = reads.iter().map(|r| (r.addr, r.pid, r.line)).collect();
    keys.par_sort_unstable();
    keys.dedup_by_key(|k| (k.0, k.1));
    keys.windows(2).find(|w| w[0].0 == w[1].0).map(|w| {
        (
            w[0].0,
            Violation {
                kind: ViolationKind::ConcurrentRead,
                round,
                array: String::new(),
                index: 0,
                processors: [w[0].1, w[1].1],
                line: w[0].2,
            },
        )
    })
}

/// Whether no address is written twice, checked without sorting, from what each chunk noted
/// while buffering: within each chunk every write site's addresses strictly increase; across
/// chunks (in processor order) each site's addresses keep increasing; and the sites' address
/// ranges are disjoint. This is the common case (processor i writes A[i]); when it fails, the
/// round is rerun with full records and the writes are sorted by `resolve_writes`.
fn exclusive_writes(chunks: &[Vec<SiteWrites>]) -> bool {
    let sites = chunks.first().map_or(0, Vec::len);
    let mut spans: Vec<(u64, u64)> = Vec::with_capacity(sites);
    for k in 0..sites {
        let mut span: Option<(u64, u64)> = None;
        for c in chunks {
            let w = &c[k];
            if !w.increasing {
                return false;
            }
            if let Some((a, b)) = w.span {
                match &mut span {
                    Some((_, hi)) if *hi >= a => return false,
                    Some((_, hi)) => *hi = b,
                    None => span = Some((a, b)),
                }
            }
        }
        spans.extend(span);
    }
    spans.sort_unstable();
    spans.windows(2).all(|p| p[0].1 < p[1].0)
}

/// Whether no address is written twice, by a bit per address over the range written: for
/// writes that `exclusive_writes` cannot order (sites that interleave, as the two branches of an
/// `if` writing `A[i]`). False, leaving the decision to the sorting path, when the range is
/// more than 64 times the number of writes (the bit set would outweigh the writes).
fn distinct_writes(chunks: &[Vec<SiteWrites>]) -> bool {
    let all = || chunks.iter().flatten().filter(|w| w.span.is_some());
    let Some(lo) = all().map(|w| w.range.0).min() else {
        return true;
    };
    let hi = all().map(|w| w.range.1).max().unwrap_or(lo);
    let total: u64 = all().map(|w| w.count() as u64).sum();
    let range = hi - lo + 1;
    if range / 64 > total {
        return false;
    }
    let mut seen = vec![0u64; range.div_ceil(64) as usize];
    let mut mark = |addr: u64| {
        let (word, bit) = (((addr - lo) / 64) as usize, (addr - lo) % 64);
        let fresh = seen[word] & (1 << bit) == 0;
        seen[word] |= 1 << bit;
        fresh
    };
    all().all(|w| {
        w.runs
            .iter()
            .all(|r| (r.addr..r.addr + r.len as u64).all(&mut mark))
            && w.stores.iter().all(|st| mark(st.addr))
    })
}

/// Applies the writes of a round that `exclusive_writes` accepted, in parallel. Each chunk's
/// writes of one site lie in their own address interval, and the intervals are pairwise
/// disjoint, so ordered by their first address they split memory into disjoint parts.
fn apply_stores(cells: &mut [i64], stores: &[Vec<SiteWrites>]) {
    let mut parts: Vec<(u64, &SiteWrites)> = stores
        .iter()
        .flatten()
        .filter_map(|w| w.span.map(|(lo, _)| (lo, w)))
        .collect();
    parts.sort_unstable_by_key(|p| p.0);
    apply_parts(cells, 0, &parts);
}

/// Applies `parts` (disjoint, ordered by first address) to `cells`, which starts at address
/// `offset`.
fn apply_parts(cells: &mut [i64], offset: u64, parts: &[(u64, &SiteWrites)]) {
    let total: usize = parts.iter().map(|p| p.1.count()).sum();
    if parts.len() < 2 || total < 1 << 14 {
        for p in parts {
            p.1.apply(cells, offset);
        }
        return;
    }
    let mid = parts.len() / 2;
    let split = parts[mid].0;
    let (lo, hi) = cells.split_at_mut((split - offset) as usize);
    rayon::join(
        || apply_parts(lo, offset, &parts[..mid]),
        || apply_parts(hi, split, &parts[mid..]),
    );
}

/// Checks the writes against the model and picks the winner of every written address.
/// Returns the lowest-address violation (if any) and the winning writes.
fn resolve_writes(
    mut all: Vec<WriteRecord>,
    s: &RoundSetup<'_>,
) -> (Option<(u64, Violation)>, Vec<WriteRecord>) {
    all.par_sort_unstable_by_key(|w| (w.addr, w.pid, w.site));
    let mut winners = Vec::new();
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].addr == all[i].addr {
            j += 1;
        }
        // One entry per processor: its last write (highest site) to this address.
        let mut group: Vec<WriteRecord> = Vec::with_capacity(j - i);
        for w in &all[i..j] {
            match group.last_mut() {
                Some(g) if g.pid == w.pid => *g = *w,
                _ => group.push(*w),
            }
        }
        let addr = all[i].addr;
        let violation = |kind, p0: &WriteRecord, p1: &WriteRecord| {
            Some((
                addr,
                Violation {
                    kind,
                    round: s.round,
                    array: String::new(),
                    index: 0,
                    processors: [p0.pid, p1.pid],
                    line: p0.line,
                },
            ))
        };
        let winner = if group.len() == 1 {
            group[0]
        } else {
            match s.model {
                AccessModel::Erew | AccessModel::Crew => {
                    return (
                        violation(ViolationKind::ConcurrentWrite, &group[0], &group[1]),
                        Vec::new(),
                    );
                }
                AccessModel::CrcwCommon => {
                    if let Some(other) = group.iter().find(|w| w.value != group[0].value) {
                        return (
                            violation(ViolationKind::DifferentValues, &group[0], other),
                            Vec::new(),
                        );
                    }
                    group[0]
                }
                AccessModel::CrcwPriority => group[0],
                AccessModel::CrcwArbitrary => *group
                    .iter()
                    .max_by_key(|w| {
                        (
                            u32::MAX - arbitrary_rank(s.seed, s.round, addr, w.pid),
                            w.site,
                            w.pid,
                        )
                    })
                    .expect("a group has a writer"),
            }
        };
        winners.push(winner);
        i = j;
    }
    (None, winners)
}

/// Bits of a CRCW-arbitrary draw: draws lie in `0..2^DRAW_BITS`.
pub const DRAW_BITS: u32 = 16;

/// Rounds enter the CRCW-arbitrary draw modulo this (2^16), so that a schedule whose canvas
/// holds only the round modulo 2^16 (the AP-MDM's, whose tokens may not carry a counter that
/// grows with time) computes the same winners.
pub const DRAW_ROUND_MODULUS: u64 = 1 << DRAW_BITS;

/// The CRCW-arbitrary draw of processor `pid` writing `addr` in `round`: the writer with the
/// smallest draw wins (ties: its last write's site, then the higher processor id). A seeded hash
/// of (seed, round modulo [`DRAW_ROUND_MODULUS`], address, processor) built from [`draw`] on
/// bounded inputs, so a compiled schedule computes the same winner from the decoded writes alone
/// with values of O(log n) bits (the seed enters as [`draw_seed`], which is what a compiled
/// canvas holds).
pub fn arbitrary_rank(seed: u64, round: u64, addr: u64, pid: u64) -> u32 {
    let inner = draw(addr as i64, pid as i64);
    let inner = draw((round % DRAW_ROUND_MODULUS) as i64, inner);
    draw(draw_seed(seed), inner) as u32
}

/// The seed as the draws use it: a 16-bit hash of the 64-bit seed.
pub fn draw_seed(seed: u64) -> i64 {
    (mix(seed) >> (64 - DRAW_BITS)) as i64
}

/// A well-mixed hash of the pair (a, b) into `0..2^DRAW_BITS`; the seq map `Draw`.
pub fn draw(a: i64, b: i64) -> i64 {
    (mix((a as u64) ^ mix(b as u64)) >> (64 - DRAW_BITS)) as i64
}

/// SplitMix64's finalizer: a well-mixed 64-bit hash, so arbitrary winners look random but replay.
pub fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
