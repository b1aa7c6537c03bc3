//! Stops (faults, violations, limits, bounds) accumulated in program order, the first that fires
//! winning, and the word arithmetic's overflow check.

use super::token::{fault, status};
use super::Compiler;
use crate::seq::{BinaryOp as B, Value as V};

/// A stop being accumulated in program order: the first one that fires wins. Stops recorded
/// since the status was last read wait in `pending` and are resolved together by one `FirstOf`
/// per field (a priority encoder: two layers, however many stops), not by a chain of selects.
#[derive(Clone)]
pub(in crate::compile) struct Stop {
    pub(super) status: V,
    pub(super) d: [V; 7],
    /// (fires, status code, details) in program order, not yet folded into `status` and `d`.
    pub(super) pending: Vec<(V, V, [V; 7])>,
}

impl Stop {
    /// No stop yet (`zero` is the constant 0).
    pub(in crate::compile) fn none(zero: V) -> Stop {
        Stop {
            status: zero,
            d: [zero; 7],
            pending: Vec::new(),
        }
    }
}

/// Where a fault is reported.
#[derive(Clone, Copy)]
pub(super) struct FaultCtx {
    pub(super) line: u32,
    pub(super) round: V,
    pub(super) pid: V,
}

impl Compiler {
    /// A declared bound (or the canvas's capacity) exceeded: where `guard` holds and `measured`
    /// exceeds `bound`, stop with status BOUND and data (metric code, value, bound, -, round).
    pub(super) fn bound_stop(
        &mut self,
        s: &mut Stop,
        guard: V,
        code: i64,
        measured: V,
        bound: i64,
        round: V,
    ) {
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

    /// Records a stop when `guard && cond` and no earlier stop fired.
    pub(super) fn stop(&mut self, s: &mut Stop, guard: V, cond: V, status: i64, d: [V; 7]) {
        let fire = self.and(guard, cond);
        let st = self.k(status);
        s.pending.push((fire, st, d));
    }

    /// Folds the pending stops into the status and details: the earlier stop (status non-zero)
    /// first, then the pending ones in order.
    pub(super) fn resolve(&mut self, s: &mut Stop) {
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
    pub(super) fn status(&mut self, s: &mut Stop) -> V {
        self.resolve(s);
        s.status
    }

    pub(super) fn fault(
        &mut self,
        s: &mut Stop,
        guard: V,
        cond: V,
        kind: i64,
        ctx: &FaultCtx,
        abc: [V; 3],
    ) {
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
    pub(super) fn fit(&mut self, r: V, s: &mut Stop, guard: V, ctx: &FaultCtx) -> V {
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
}
