//! The next control state: the free path from the current header (loop set-up and steps,
//! allocations), the next round's processor count, and the limits and declared bounds checked in
//! the interpreter's order.

use super::expr::Env;
use super::observe::Observed;
use super::stop::{FaultCtx, Stop};
use super::token::{fault, hf, kind, status};
use super::{CompileLimits, Compiler};
use crate::compile::cfg::{Action, Cfg, Node, RoundKind};
use crate::pram::interp;
use crate::seq::{BinaryOp as B, Value as V};

/// The next control state (see `transition`).
pub(in crate::compile) struct Transition {
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
pub(in crate::compile) enum SlotCap {
    /// MDM: the slots laid out, W_decl-style (work so far plus this round's count).
    Work(i64),
    /// AP-MDM: the processor region (this round's count).
    Processors(i64),
}

/// A transition edge: its guard, the free actions on it, and the round node (or end) it reaches.
type Edge<'p> = (V, Vec<(Action<'p>, u32)>, usize);

impl Compiler {
    /// The next control state from the current header and round k's results: the free path the
    /// (pc, test value) pair selects, the next round's processor count, limits and bounds, and
    /// the new header (`self.fields` wide, the caller's extra fields left 0).
    pub(in crate::compile) fn transition<'p>(
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
        // Rounds and work past their declared bounds: here when the header counts them (MDM);
        // where it holds the round modulo a constant (AP-MDM), the runner counts both from the
        // headers and stops the run before such a round (`apmdm_run::RoundCounter`).
        let counted = self.round_modulus.is_none();
        if counted {
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
        }
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
            if !counted && metric == crate::pram::Metric::Work {
                continue;
            }
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
            if !counted && (field == hf::T || field == hf::W) {
                continue;
            }
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
        let w_new = if counted {
            let w_new = self.bin(B::Add, h[hf::W], cnt_h);
            self.b.declare(w_new, (0, cap_work))
        } else {
            z
        };
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
    pub(in crate::compile) fn pardo_sizes<'p>(
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
                // The scope's epoch keys its cells in MDM memory; in place (AP-MDM) keys are
                // plain addresses, and the epoch (which grows with the round) stays 0.
                env.regs[r + 2] = if self.in_place {
                    z
                } else {
                    let a = self.k(self.allocs as i64);
                    let e = self.bin(B::MulSat, round_k, a);
                    let s1 = self.k(site as i64 + 1);
                    self.bin(B::Add, e, s1)
                };
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
}
