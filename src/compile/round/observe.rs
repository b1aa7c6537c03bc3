//! What every position reads off the canvas before choosing its role: the current header, the
//! results of the round it started (test value, lowest fault, access-model violations), and the
//! visible writes.

use super::memory::Memory;
use super::stop::Stop;
use super::token::{hf, kind, sf, status};
use super::Compiler;
use crate::pram::program::AccessModel;
use crate::seq::{BinaryOp as B, Prefer, UnaryOp as U, Value as V};

/// What every position reads off the canvas before choosing its role (see `observe`).
pub(in crate::compile) struct Observed {
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

impl Compiler {
    /// What every position reads off the canvas: the current header (`width` fields), the
    /// results of the round it started (test value, lowest fault, violations), and memory.
    /// `exec` names a header field and value that must hold for those slots to count as
    /// decoded (AP-MDM's phase); MDM's slots count whenever their round has a header.
    pub(in crate::compile) fn observe(
        &mut self,
        width: usize,
        exec: Option<(usize, i64)>,
    ) -> Observed {
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
                let r = self.draw_round(slot_round);
                let x = self.bin(B::Draw, r, x);
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
