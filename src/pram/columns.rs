//! Column-wise execution of a round: each instruction runs over a whole batch of processors.
//!
//! The per-processor loop of `round::run_processor` pays one instruction dispatch per processor
//! per instruction. Here a batch of up to `BATCH` consecutive processors keeps one column per
//! slot, and each instruction is dispatched once for every processor that reaches it. Which
//! processors reach an instruction is a bit set per instruction: jumps only go forward, so
//! visiting instructions in order sees every arrival before it runs, and bit sets keep the
//! processors of a batch in increasing order (writes of a site stay in processor order). The
//! outcome is the same as running the processors one by one (checked against that path by the
//! shuffled-order property tests).

use super::lower::{Code, Instr};
use super::outcome::{Fault, FaultKind};
use super::program::BinOp;
use super::round::{ChunkOut, Memory, ReadRecord, RoundSetup};
use super::word::Word;

/// Processors per batch.
const BATCH: usize = 512;
/// Words of a batch bit set.
const WORDS: usize = BATCH / 64;

type Lanes = [u64; WORDS];

/// What a column of the batch holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    /// Its cells, one per lane.
    Cells,
    /// `start + k` at lane k, not written out: the processor index and values that count up
    /// with it (`i - 1`, `i + c`). A read or write at such an index is one copy, with bounds
    /// and consecutiveness known without a pass; anything else writes the cells out first.
    Counting(i64),
}

/// What the instructions of a batch share besides its columns.
struct Ctx<'a, 's> {
    mem: &'a Memory,
    s: &'a RoundSetup<'s>,
    /// Whether each slot is uniform (a register or a prologue result: the same in every lane,
    /// never written by the body).
    uniform: &'a [bool],
    /// Lanes of the batch (`0..count`).
    count: usize,
}

/// Writes out column `slot` if it is counting.
fn cells(cols: &mut [i64], state: &mut [Col], slot: u32, count: usize) {
    if let Col::Counting(start) = state[slot as usize] {
        let at = slot as usize * BATCH;
        for (k, x) in cols[at..at + count].iter_mut().enumerate() {
            *x = start + k as i64;
        }
        state[slot as usize] = Col::Cells;
    }
}

/// The slots `instr` reads and the one it writes.
fn slots_of(instr: Instr) -> ([Option<u32>; 2], Option<u32>) {
    match instr {
        Instr::Const { dst, .. } => ([None, None], Some(dst)),
        Instr::Move { dst, src } => ([Some(src), None], Some(dst)),
        Instr::Un { dst, a, .. } => ([Some(a), None], Some(dst)),
        Instr::Bin { dst, a, b, .. } => ([Some(a), Some(b)], Some(dst)),
        Instr::Read { dst, index, .. } => ([Some(index), None], Some(dst)),
        Instr::Write { index, value, .. } => ([Some(index), Some(value)], None),
        Instr::JumpIfZero { cond, .. } => ([Some(cond), None], None),
        Instr::Jump { .. } => ([None, None], None),
    }
}

/// Runs processors `lo..hi` of the round with `code`; `scalars` is the slot file after the
/// prologue (registers and hoisted values, the same for every processor). Stops after the first
/// batch with a fault, recording its lowest faulting processor.
pub(super) fn run_columns(
    code: &Code,
    scalars: &[i64],
    mem: &Memory,
    s: &RoundSetup<'_>,
    (lo, hi): (u64, u64),
    keep_reads: bool,
    out: &mut ChunkOut,
) {
    let slots = code.slots as usize;
    let mut cols = vec![0i64; slots * BATCH];
    // Slots that hold the same value for every processor: registers and the prologue's results.
    let mut uniform = vec![false; slots];
    uniform[..code.registers as usize].fill(true);
    for i in &code.prologue {
        if let Instr::Const { dst, .. } | Instr::Un { dst, .. } | Instr::Bin { dst, .. } = i {
            uniform[*dst as usize] = true;
        }
    }
    // No instruction of the body writes a uniform slot (registers are read-only and the
    // prologue's temporaries are never reused by the body), so they are filled once.
    for (u, _) in uniform.iter().enumerate().filter(|u| *u.1) {
        cols[u * BATCH..(u + 1) * BATCH].fill(scalars[u]);
    }
    let mut state = vec![Col::Cells; slots];
    let mut lanes: Vec<Lanes> = vec![[0; WORDS]; code.instrs.len() + 1];
    let first_local = code.registers as usize;
    let mut first = lo;
    while first < hi {
        let count = ((hi - first) as usize).min(BATCH);
        // A slot the previous batch left counting is read by no lane before it is written
        // (a processor reads only what it wrote earlier on its path).
        state.fill(Col::Cells);
        if let [(start, _)] = s.ranges {
            // One index (the common case): the processor's index is `start + pid`.
            state[first_local] = Col::Counting(start + first as i64);
        } else {
            for l in 0..count {
                let pid = first + l as u64;
                let mut rest = pid;
                for (k, &(start, size)) in s.ranges.iter().enumerate().rev() {
                    cols[(first_local + k) * BATCH + l] = start + (rest % size) as i64;
                    rest /= size;
                }
            }
        }
        lanes.iter_mut().for_each(|m| *m = [0; WORDS]);
        // Lanes `0..count`, a word at a time.
        for (w, m) in lanes[0].iter_mut().enumerate() {
            let bits = count.saturating_sub(w * 64).min(64);
            *m = if bits == 64 {
                u64::MAX
            } else {
                (1 << bits) - 1
            };
        }
        let ctx = Ctx {
            mem,
            s,
            uniform: &uniform,
            count,
        };
        run_batch(
            code, &mut cols, &mut state, &mut lanes, &ctx, first, keep_reads, out,
        );
        if out.fault.is_some() {
            return;
        }
        first += count as u64;
    }
}

/// Each set bit of `m`, in increasing order.
fn each(m: &Lanes, mut f: impl FnMut(usize)) {
    for (w, &word) in m.iter().enumerate() {
        let mut bits = word;
        while bits != 0 {
            f(w * 64 + bits.trailing_zeros() as usize);
            bits &= bits - 1;
        }
    }
}

fn join(into: &mut Lanes, from: &Lanes) {
    for (a, b) in into.iter_mut().zip(from) {
        *a |= b;
    }
}

#[allow(clippy::too_many_arguments)]
fn run_batch(
    code: &Code,
    cols: &mut [i64],
    state: &mut [Col],
    lanes: &mut [Lanes],
    ctx: &Ctx<'_, '_>,
    first: u64,
    keep_reads: bool,
    out: &mut ChunkOut,
) {
    let (mem, s) = (ctx.mem, ctx.s);
    let word = s.word;
    let mut fault: Option<(usize, FaultKind, usize)> = None;
    let mut fail = |l: usize, kind: FaultKind, pc: usize, live: &mut Lanes| {
        live[l / 64] &= !(1 << (l % 64));
        if fault.as_ref().is_none_or(|f| f.0 > l) {
            fault = Some((l, kind, pc));
        }
    };
    // Every processor of the batch: the common case, where an instruction runs as one
    // branch-free loop over the columns (`dense`) and falls back to the lane-by-lane path below
    // only when some lane would fault.
    let all = lanes[0];
    let count = ctx.count;
    let mut scratch = [0i64; BATCH];
    for pc in 0..code.instrs.len() {
        let here = lanes[pc];
        if here.iter().fold(0, |any, &w| any | w) == 0 {
            continue;
        }
        if !keep_reads && here.iter().zip(&all).all(|(h, a)| h == a) {
            if let Some(taken) = dense(code.instrs[pc], cols, state, &mut scratch, ctx, out) {
                match code.instrs[pc] {
                    Instr::JumpIfZero { target, .. } => {
                        join(&mut lanes[target as usize], &taken);
                        let mut rest = here;
                        for (w, t) in rest.iter_mut().zip(taken) {
                            *w &= !t;
                        }
                        join(&mut lanes[pc + 1], &rest);
                    }
                    Instr::Jump { target } => join(&mut lanes[target as usize], &here),
                    _ => join(&mut lanes[pc + 1], &here),
                }
                continue;
            }
        }
        // Lane by lane: every column involved holds its cells (the destination's too, as the
        // lanes that do not reach this instruction keep theirs).
        let (reads, written) = slots_of(code.instrs[pc]);
        for slot in reads.into_iter().chain([written]).flatten() {
            cells(cols, state, slot, count);
        }
        // Processors that fault here are cleared from `live`; the rest go on.
        let mut live = here;
        let col = |slot: u32| slot as usize * BATCH;
        match code.instrs[pc] {
            Instr::Const { dst, value } => match word.fit(value) {
                Ok(v) => each(&here, |l| cols[col(dst) + l] = v),
                Err(k) => each(&here, |l| fail(l, k.clone(), pc, &mut live)),
            },
            Instr::Move { dst, src } => each(&here, |l| cols[col(dst) + l] = cols[col(src) + l]),
            Instr::Un { op, dst, a } => each(&here, |l| match word.un(op, cols[col(a) + l]) {
                Ok(v) => cols[col(dst) + l] = v,
                Err(k) => fail(l, k, pc, &mut live),
            }),
            Instr::Bin { op, dst, a, b } => {
                each(&here, |l| {
                    match word.bin(op, cols[col(a) + l], cols[col(b) + l]) {
                        Ok(v) => cols[col(dst) + l] = v,
                        Err(k) => fail(l, k, pc, &mut live),
                    }
                });
            }
            Instr::Read { dst, array, index } => {
                each(&here, |l| match mem.address(array, cols[col(index) + l]) {
                    Ok(addr) => {
                        let value = mem.cells[addr as usize];
                        cols[col(dst) + l] = value;
                        if keep_reads {
                            out.reads.push(ReadRecord {
                                addr,
                                pid: first + l as u64,
                                value,
                                line: code.lines[pc],
                            });
                        }
                    }
                    Err(k) => fail(l, k, pc, &mut live),
                })
            }
            Instr::Write {
                site,
                array,
                index,
                value,
            } => each(&here, |l| match mem.address(array, cols[col(index) + l]) {
                Ok(addr) => out.stores[site as usize].push(addr, cols[col(value) + l]),
                Err(k) => fail(l, k, pc, &mut live),
            }),
            Instr::JumpIfZero { cond, target } => {
                let mut taken = [0u64; WORDS];
                each(&here, |l| {
                    if cols[col(cond) + l] == 0 {
                        taken[l / 64] |= 1 << (l % 64);
                    }
                });
                join(&mut lanes[target as usize], &taken);
                for (w, t) in live.iter_mut().zip(taken) {
                    *w &= !t;
                }
            }
            Instr::Jump { target } => {
                join(&mut lanes[target as usize], &live);
                live = [0; WORDS];
            }
        }
        join(&mut lanes[pc + 1], &live);
    }
    if let Some((l, kind, pc)) = fault {
        out.fault = Some(Fault {
            kind,
            round: s.round,
            processor: first + l as u64,
            line: code.lines[pc],
        });
    }
}

/// Runs `instr` for lanes `0..count` at once. Returns `None` when some lane would fault (or the
/// instruction has no dense form), having changed nothing but perhaps its destination column
/// where that is not one of its operands (so the lane-by-lane path, which then runs it and finds
/// the lowest faulting lane, sees the same operands; the faulting lanes stop there, and every
/// other lane's destination is written again) and the cells of counting columns. For a
/// conditional jump, returns the lanes that jump.
fn dense(
    instr: Instr,
    cols: &mut [i64],
    state: &mut [Col],
    scratch: &mut [i64; BATCH],
    ctx: &Ctx<'_, '_>,
    out: &mut ChunkOut,
) -> Option<Lanes> {
    let (mem, s, count) = (ctx.mem, ctx.s, ctx.count);
    let none = [0u64; WORDS];
    let col = |slot: u32| slot as usize * BATCH..slot as usize * BATCH + count;
    let tmp = &mut scratch[..count];
    match instr {
        Instr::Const { dst, value } => {
            let v = s.word.fit(value).ok()?;
            cols[col(dst)].fill(v);
            state[dst as usize] = Col::Cells;
        }
        Instr::Move { dst, src } => {
            if let Col::Counting(_) = state[src as usize] {
                state[dst as usize] = state[src as usize];
            } else {
                let r = col(src);
                cols.copy_within(r, dst as usize * BATCH);
                state[dst as usize] = Col::Cells;
            }
        }
        Instr::Un { op, dst, a } => {
            cells(cols, state, a, count);
            let a = &cols[col(a)];
            for (t, &x) in tmp.iter_mut().zip(a) {
                *t = s.word.un(op, x).ok()?;
            }
            cols[col(dst)].copy_from_slice(tmp);
            state[dst as usize] = Col::Cells;
        }
        Instr::Bin { op, dst, a, b } => {
            if let Some(start) = counting_bin(op, a, b, cols, state, ctx) {
                state[dst as usize] = Col::Counting(start);
                return Some(none);
            }
            if let Some((k, below, above)) = step_bin(op, a, b, cols, state, ctx) {
                let d = &mut cols[col(dst)];
                d[..k].fill(below);
                d[k..].fill(above);
                state[dst as usize] = Col::Cells;
                return Some(none);
            }
            cells(cols, state, a, count);
            cells(cols, state, b, count);
            if dst != a && dst != b {
                let (d, [x, y]) = split(cols, dst, [a, b], count);
                if !dense_bin(op, x, y, d, s.word) {
                    for ((t, &x), &y) in d.iter_mut().zip(x).zip(y) {
                        *t = s.word.bin(op, x, y).ok()?;
                    }
                }
            } else {
                let (a, b) = (&cols[col(a)], &cols[col(b)]);
                if !dense_bin(op, a, b, tmp, s.word) {
                    for ((t, &x), &y) in tmp.iter_mut().zip(a).zip(b) {
                        *t = s.word.bin(op, x, y).ok()?;
                    }
                }
                cols[col(dst)].copy_from_slice(tmp);
            }
            state[dst as usize] = Col::Cells;
        }
        Instr::Read { dst, array, index } => {
            let window = window(mem, array);
            if let Col::Counting(at) = state[index as usize] {
                // Consecutive cells: one copy (the index column is not written out, so the
                // destination may be the index's own slot).
                let cells = window.get(usize::try_from(at).ok()?..)?.get(..count)?;
                cols[col(dst)].copy_from_slice(cells);
            } else if dst != index {
                let (d, [index]) = split(cols, dst, [index], count);
                gather(window, index, d)?;
            } else {
                gather(window, &cols[col(index)], tmp)?;
                cols[col(dst)].copy_from_slice(tmp);
            }
            state[dst as usize] = Col::Cells;
        }
        Instr::Write {
            site,
            array,
            index,
            value,
        } => {
            let a = array as usize;
            let (len, base) = (mem.len[a], mem.base[a]);
            cells(cols, state, value, count);
            let values = &cols[col(value)];
            let at = match state[index as usize] {
                Col::Counting(at) => Some(at),
                Col::Cells => {
                    let index = &cols[col(index)];
                    index.first().copied().filter(|_| consecutive(index))
                }
            };
            match at {
                Some(at) if at >= 0 && at as u64 + count as u64 <= len => {
                    // Processor k of the batch writes `at + k`: the values are buffered as one
                    // run.
                    out.stores[site as usize].push_run(base + at as u64, values);
                }
                // Out of bounds somewhere: the lane-by-lane path finds the first.
                Some(_) => return None,
                None => {
                    let index = &cols[col(index)];
                    if !in_bounds(index, len as usize) {
                        return None;
                    }
                    let addrs = index.iter().map(|&i| base + i as u64);
                    out.stores[site as usize].push_all(addrs, values);
                }
            }
        }
        Instr::JumpIfZero { cond, .. } => {
            cells(cols, state, cond, count);
            let c = &cols[col(cond)];
            let zeros = c.iter().map(|&c| usize::from(c == 0)).sum::<usize>();
            if zeros == 0 {
                return Some(none);
            }
            let mut taken = none;
            // One word of bits at a time, accumulated in a register.
            for (w, chunk) in taken.iter_mut().zip(c.chunks(64)) {
                *w = chunk
                    .iter()
                    .enumerate()
                    .fold(0u64, |bits, (b, &c)| bits | u64::from(c == 0) << b);
            }
            return Some(taken);
        }
        Instr::Jump { .. } => {}
    }
    Some(none)
}

/// The value of a uniform slot.
fn uniform_value(cols: &[i64], ctx: &Ctx<'_, '_>, slot: u32) -> Option<i64> {
    ctx.uniform[slot as usize].then(|| cols[slot as usize * BATCH])
}

/// The start of `a op b` when it counts up with the lanes (a counting column plus or minus a
/// uniform value) and every lane's value fits the word (the values increase, so the first and
/// last lanes decide); `None` otherwise.
fn counting_bin(
    op: BinOp,
    a: u32,
    b: u32,
    cols: &[i64],
    state: &[Col],
    ctx: &Ctx<'_, '_>,
) -> Option<i64> {
    let start = match (op, state[a as usize], state[b as usize]) {
        (BinOp::Add, Col::Counting(x), _) => x.checked_add(uniform_value(cols, ctx, b)?)?,
        (BinOp::Add, _, Col::Counting(y)) => uniform_value(cols, ctx, a)?.checked_add(y)?,
        (BinOp::Sub, Col::Counting(x), _) => x.checked_sub(uniform_value(cols, ctx, b)?)?,
        _ => return None,
    };
    let end = start.checked_add(ctx.count as i64 - 1)?;
    let word = ctx.s.word;
    (word.fit(start).is_ok() && word.fit(end).is_ok()).then_some(start)
}

/// For an order comparison of a counting column with a uniform value (either way round), a step
/// over the lanes: the first lane of the upper part and the values (0 or 1) below and from it.
fn step_bin(
    op: BinOp,
    a: u32,
    b: u32,
    cols: &[i64],
    state: &[Col],
    ctx: &Ctx<'_, '_>,
) -> Option<(usize, i64, i64)> {
    // Lane k compares `start + k` with `u`; with the counting operand on the right the
    // comparison is mirrored.
    let (op, start, u) = match (state[a as usize], state[b as usize]) {
        (Col::Counting(x), _) => (op, x, uniform_value(cols, ctx, b)?),
        (_, Col::Counting(y)) => {
            let mirrored = match op {
                BinOp::Ge => BinOp::Le,
                BinOp::Gt => BinOp::Lt,
                BinOp::Le => BinOp::Ge,
                BinOp::Lt => BinOp::Gt,
                _ => return None,
            };
            (mirrored, y, uniform_value(cols, ctx, a)?)
        }
        _ => return None,
    };
    // `start + k >= u` from k = u - start on, `start + k > u` from u - start + 1; `<` and `<=`
    // hold below those same lanes.
    let edge = i128::from(u) - i128::from(start);
    let (edge, below, above) = match op {
        BinOp::Ge => (edge, 0, 1),
        BinOp::Gt => (edge + 1, 0, 1),
        BinOp::Lt => (edge, 1, 0),
        BinOp::Le => (edge + 1, 1, 0),
        _ => return None,
    };
    Some((edge.clamp(0, ctx.count as i128) as usize, below, above))
}

/// The first `count` lanes of column `dst` (mutable) and of each column of `srcs` (none of them
/// `dst`).
fn split<const K: usize>(
    cols: &mut [i64],
    dst: u32,
    srcs: [u32; K],
    count: usize,
) -> (&mut [i64], [&[i64]; K]) {
    let dst = dst as usize;
    let (below, rest) = cols.split_at_mut(dst * BATCH);
    let (d, above) = rest.split_at_mut(BATCH);
    let (below, above) = (&*below, &*above);
    let srcs = srcs.map(|src| {
        let src = src as usize;
        if src < dst {
            &below[src * BATCH..src * BATCH + count]
        } else {
            &above[(src - dst - 1) * BATCH..(src - dst - 1) * BATCH + count]
        }
    });
    (&mut d[..count], srcs)
}

/// `out[k] = window[index[k]]` for every lane, in one pass that also checks the bounds; `None`
/// when some index lies outside the window (`out` then holds nothing useful). Consecutive
/// indices (processor i reads `A[i + c]`, the common case) are one copy.
fn gather(window: &[i64], index: &[i64], out: &mut [i64]) -> Option<()> {
    let len = window.len() as u64;
    let Some(&at) = index.first() else {
        return Some(());
    };
    if consecutive(index) && at >= 0 && at as u64 + index.len() as u64 <= len {
        out.copy_from_slice(&window[at as usize..at as usize + index.len()]);
        return Some(());
    }
    let last = len.checked_sub(1)?;
    let mut ok = true;
    for (t, &i) in out.iter_mut().zip(index) {
        ok &= (i as u64) < len;
        // Clamped, so that a lane out of bounds reads a cell of the window (and is then
        // reported by the lane-by-lane path) rather than stopping the loop.
        *t = window[(i as u64).min(last) as usize];
    }
    ok.then_some(())
}

/// Whether `index` counts up by one from its first element (one branch-free pass).
fn consecutive(index: &[i64]) -> bool {
    let Some(&at) = index.first() else {
        return true;
    };
    index
        .iter()
        .enumerate()
        .fold(0i64, |diff, (k, &i)| diff | (i ^ at.wrapping_add(k as i64)))
        == 0
}

/// The cells of `array`'s window.
fn window(mem: &Memory, array: u32) -> &[i64] {
    let a = array as usize;
    &mem.cells[mem.base[a] as usize..(mem.base[a] + mem.len[a]) as usize]
}

/// Whether every index lies in `0..len` (one branch-free pass).
fn in_bounds(index: &[i64], len: usize) -> bool {
    index
        .iter()
        .fold(true, |ok, &i| ok & (i >= 0) & ((i as u64) < len as u64))
}

/// `op` over the lanes into `out` when it is one of the operators with a branch-free form;
/// false when it is not, or when some lane leaves the word (`out` then holds nothing useful).
/// The checks accumulate bits over the lanes rather than branch per lane, so the loops
/// vectorize: a w-bit word holds `v` exactly when `v ^ (v >> 63)` (v, or -v - 1 when negative)
/// is at most `max = 2^(w-1) - 1`, and for all lanes at once when their OR is; a sum or
/// difference overflowed 64 bits exactly when the sign bit of the expression below is set.
fn dense_bin(op: BinOp, a: &[i64], b: &[i64], out: &mut [i64], word: Word) -> bool {
    let (min, max) = (word.min, word.max);
    // The word is `-2^(w-1) ..= 2^(w-1) - 1` (always, for words made by `Word::new`).
    let symmetric = min == -max - 1 && (max as u64 + 1).is_power_of_two();
    // Comparisons give 0 or 1, which every word (at least 2 bits) holds.
    macro_rules! compare {
        ($f:expr) => {{
            for ((t, &x), &y) in out.iter_mut().zip(a).zip(b) {
                *t = i64::from($f(x, y));
            }
            true
        }};
    }
    macro_rules! checked {
        ($f:expr) => {{
            let mut bad = false;
            for ((t, &x), &y) in out.iter_mut().zip(a).zip(b) {
                let (v, o): (i64, bool) = $f(x, y);
                *t = v;
                bad |= o | (v < min) | (v > max);
            }
            !bad
        }};
    }
    // `$f` gives the wrapped value and a word whose sign bit is set on a 64-bit overflow.
    macro_rules! masked {
        ($f:expr) => {{
            if !symmetric {
                return false;
            }
            let (mut over, mut mag) = (0i64, 0i64);
            for ((t, &x), &y) in out.iter_mut().zip(a).zip(b) {
                let (v, o): (i64, i64) = $f(x, y);
                *t = v;
                over |= o;
                mag |= v ^ (v >> 63);
            }
            over >= 0 && mag <= max
        }};
    }
    match op {
        BinOp::Add => masked!(|x: i64, y: i64| {
            let v = x.wrapping_add(y);
            (v, (x ^ v) & (y ^ v))
        }),
        BinOp::Sub => masked!(|x: i64, y: i64| {
            let v = x.wrapping_sub(y);
            (v, (x ^ y) & (x ^ v))
        }),
        BinOp::Mul => checked!(i64::overflowing_mul),
        BinOp::Min => masked!(|x: i64, y: i64| (x.min(y), 0)),
        BinOp::Max => masked!(|x: i64, y: i64| (x.max(y), 0)),
        BinOp::BitAnd => masked!(|x: i64, y: i64| (x & y, 0)),
        BinOp::BitOr => masked!(|x: i64, y: i64| (x | y, 0)),
        BinOp::BitXor => masked!(|x: i64, y: i64| (x ^ y, 0)),
        BinOp::Eq => compare!(|x, y| x == y),
        BinOp::Ne => compare!(|x, y| x != y),
        BinOp::Lt => compare!(|x, y| x < y),
        BinOp::Le => compare!(|x, y| x <= y),
        BinOp::Gt => compare!(|x, y| x > y),
        BinOp::Ge => compare!(|x, y| x >= y),
        BinOp::And => compare!(|x, y| x != 0 && y != 0),
        BinOp::Or => compare!(|x, y| x != 0 || y != 0),
        BinOp::Div | BinOp::Rem | BinOp::Shl | BinOp::Shr => false,
    }
}
