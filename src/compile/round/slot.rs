//! A processor slot of the next round: its round body compiled predicated (both branches of an
//! `if`), with its test value, first fault, and read and write sites.

use super::expr::Env;
use super::stop::{FaultCtx, Stop};
use super::token::sf;
use super::Compiler;
use crate::compile::cfg::{Cfg, Node, RoundKind};
use crate::pram::program::Op as PramOp;
use crate::seq::{BinaryOp as B, Value as V};

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
pub(super) struct ReadSite {
    pub(super) addr: V,
    pub(super) array: V,
    pub(super) index: V,
    pub(super) line: V,
}

impl Compiler {
    /// The slot fields every position computes for round k + 1 (used where it is a slot).
    #[allow(clippy::too_many_arguments)]
    pub(in crate::compile) fn slot_body<'p>(
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
}
