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
use super::round::{ChunkOut, Memory, ReadRecord, RoundSetup, Store};

/// Processors per batch.
const BATCH: usize = 512;
/// Words of a batch bit set.
const WORDS: usize = BATCH / 64;

type Lanes = [u64; WORDS];

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
    let mut uniform: Vec<usize> = (0..code.registers as usize).collect();
    for i in &code.prologue {
        if let Instr::Const { dst, .. } | Instr::Un { dst, .. } | Instr::Bin { dst, .. } = i {
            uniform.push(*dst as usize);
        }
    }
    let mut lanes: Vec<Lanes> = vec![[0; WORDS]; code.instrs.len() + 1];
    let first_local = code.registers as usize;
    let mut first = lo;
    while first < hi {
        let count = ((hi - first) as usize).min(BATCH);
        for &u in &uniform {
            cols[u * BATCH..u * BATCH + count].fill(scalars[u]);
        }
        for l in 0..count {
            let pid = first + l as u64;
            if let [(start, _)] = s.ranges {
                cols[first_local * BATCH + l] = start + pid as i64;
            } else {
                let mut rest = pid;
                for (k, &(start, size)) in s.ranges.iter().enumerate().rev() {
                    cols[(first_local + k) * BATCH + l] = start + (rest % size) as i64;
                    rest /= size;
                }
            }
        }
        lanes.iter_mut().for_each(|m| *m = [0; WORDS]);
        for l in 0..count {
            lanes[0][l / 64] |= 1 << (l % 64);
        }
        run_batch(code, &mut cols, &mut lanes, mem, s, first, keep_reads, out);
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
    lanes: &mut [Lanes],
    mem: &Memory,
    s: &RoundSetup<'_>,
    first: u64,
    keep_reads: bool,
    out: &mut ChunkOut,
) {
    let word = s.word;
    let mut fault: Option<(usize, FaultKind, usize)> = None;
    let mut fail = |l: usize, kind: FaultKind, pc: usize, live: &mut Lanes| {
        live[l / 64] &= !(1 << (l % 64));
        if fault.as_ref().is_none_or(|f| f.0 > l) {
            fault = Some((l, kind, pc));
        }
    };
    for pc in 0..code.instrs.len() {
        let here = lanes[pc];
        if here.iter().all(|&w| w == 0) {
            continue;
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
                Ok(addr) => out.stores[site as usize].push(Store {
                    addr,
                    value: cols[col(value) + l],
                }),
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
