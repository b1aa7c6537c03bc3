//! Expressions and array addresses, compiled with their faults (overflow, division by zero,
//! domain, bounds) under a guard.

use super::slot::ReadSite;
use super::stop::{FaultCtx, Stop};
use super::token::fault;
use super::Compiler;
use crate::pram::program::{BinOp, Expr, UnOp};
use crate::seq::{BinaryOp as B, UnaryOp as U, Value as V};

/// Per-processor (or per-transition) evaluation environment.
#[derive(Clone)]
pub(super) struct Env {
    pub(super) regs: Vec<V>,
    pub(super) locals: Vec<V>,
}

impl Compiler {
    /// Compiles an expression: `guard` says whether it is executed (faults count only then).
    pub(super) fn expr(
        &mut self,
        e: &Expr,
        env: &Env,
        guard: V,
        s: &mut Stop,
        ctx: &FaultCtx,
        reads: &mut Vec<(ReadSite, V)>,
    ) -> V {
        let z = self.k(0);
        match e {
            Expr::Const(v) => {
                let c = self.k(*v);
                self.fit(c, s, guard, ctx)
            }
            Expr::Reg(r) => env.regs[*r as usize],
            Expr::Local(l) => env.locals.get(*l as usize).copied().unwrap_or(z),
            Expr::Read { array, index } => {
                let i = self.expr(index, env, guard, s, ctx, reads);
                let (epoch, addr) = self.address(*array, i, env, guard, s, ctx);
                let arr = self.k(*array as i64);
                let line = self.k(ctx.line as i64);
                reads.push((
                    ReadSite {
                        addr,
                        array: arr,
                        index: i,
                        line,
                    },
                    guard,
                ));
                self.load(epoch, addr)
            }
            Expr::Un(op, a) => {
                let a = self.expr(a, env, guard, s, ctx, reads);
                self.unary(*op, a, guard, s, ctx)
            }
            Expr::Bin(op, a, b) => {
                let a = self.expr(a, env, guard, s, ctx, reads);
                let b = self.expr(b, env, guard, s, ctx, reads);
                self.binary(*op, a, b, guard, s, ctx)
            }
        }
    }

    fn unary(&mut self, op: UnOp, a: V, guard: V, s: &mut Stop, ctx: &FaultCtx) -> V {
        let z = self.k(0);
        let one = self.k(1);
        match op {
            UnOp::Neg => {
                let r = self.b.unary(U::Neg, a);
                self.fit(r, s, guard, ctx)
            }
            UnOp::Not => self.not(a),
            UnOp::BitNot => {
                let m1 = self.k(-1);
                self.bin(B::Sub, m1, a)
            }
            UnOp::Log2 | UnOp::Clog2 => {
                let bad = self.bin(B::Lt, a, one);
                self.fault(s, guard, bad, fault::DOMAIN, ctx, [z, z, z]);
                let l = self.b.unary(U::Log2, a);
                if op == UnOp::Log2 {
                    return l;
                }
                let am1 = self.bin(B::Sub, a, one);
                let and = self.bin(B::BitAnd, a, am1);
                let up = self.bin(B::Ne, and, z);
                self.bin(B::Add, l, up)
            }
        }
    }

    fn binary(&mut self, op: BinOp, a: V, b: V, guard: V, s: &mut Stop, ctx: &FaultCtx) -> V {
        let z = self.k(0);
        let simple = |op| -> Option<B> {
            Some(match op {
                BinOp::Min => B::Min,
                BinOp::Max => B::Max,
                BinOp::Eq => B::Eq,
                BinOp::Ne => B::Ne,
                BinOp::Lt => B::Lt,
                BinOp::Le => B::Le,
                BinOp::And => B::And,
                BinOp::Or => B::Or,
                BinOp::BitAnd => B::BitAnd,
                BinOp::BitOr => B::BitOr,
                BinOp::BitXor => B::BitXor,
                _ => return None,
            })
        };
        if let Some(o) = simple(op) {
            return self.bin(o, a, b);
        }
        match op {
            BinOp::Gt => self.bin(B::Lt, b, a),
            BinOp::Ge => self.bin(B::Le, b, a),
            BinOp::Add | BinOp::Sub | BinOp::Mul => {
                let o = match op {
                    BinOp::Add => B::Add,
                    BinOp::Sub => B::Sub,
                    _ => B::MulSat,
                };
                let r = self.bin(o, a, b);
                self.fit(r, s, guard, ctx)
            }
            BinOp::Div | BinOp::Rem => {
                let zero_div = self.eqc(b, 0);
                self.fault(s, guard, zero_div, fault::DIVISION_BY_ZERO, ctx, [z, z, z]);
                let o = if op == BinOp::Div {
                    B::DivEuclid
                } else {
                    B::RemEuclid
                };
                let r = self.bin(o, a, b);
                self.fit(r, s, guard, ctx)
            }
            BinOp::Shl => {
                let neg = self.bin(B::Lt, b, z);
                self.fault(s, guard, neg, fault::DOMAIN, ctx, [z, z, z]);
                let c64 = self.k(64);
                let big = self.bin(B::Le, c64, b);
                self.fault(s, guard, big, fault::OVERFLOW, ctx, [z, z, z]);
                // Shifting a non-zero word by its width already overflows it: clamping the
                // amount there keeps the result and its fault, in 2w bits.
                let wb = self.k(i64::from(crate::seq::range::width(self.word)));
                let b = self.bin(B::Min, b, wb);
                let r = self.bin(B::ShlSat, a, b);
                self.fit(r, s, guard, ctx)
            }
            BinOp::Shr => {
                let neg = self.bin(B::Lt, b, z);
                self.fault(s, guard, neg, fault::DOMAIN, ctx, [z, z, z]);
                self.bin(B::Shr, a, b)
            }
            _ => unreachable!("handled above"),
        }
    }

    /// The memory key of `array[i]` as (scope epoch, address): epoch 0 for static arrays and in
    /// place; with the bounds check.
    pub(super) fn address(
        &mut self,
        array: u32,
        i: V,
        env: &Env,
        guard: V,
        s: &mut Stop,
        ctx: &FaultCtx,
    ) -> (V, V) {
        let z = self.k(0);
        let (base, len, epoch) = match self.places[array as usize] {
            Some((base, len)) => (self.k(base), self.k(len), None),
            None => {
                let r = self.scoped[array as usize].expect("scoped arrays have registers");
                (env.regs[r], env.regs[r + 1], Some(env.regs[r + 2]))
            }
        };
        let neg = self.bin(B::Lt, i, z);
        let past = self.bin(B::Le, len, i);
        let out = self.bin(B::Or, neg, past);
        let arr = self.k(array as i64);
        self.fault(s, guard, out, fault::OUT_OF_BOUNDS, ctx, [arr, i, len]);
        let addr = self.bin(B::Add, base, i);
        let key = match epoch {
            Some(e) if !self.in_place => e,
            _ => z,
        };
        (key, addr)
    }
}
