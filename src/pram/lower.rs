//! Lowering a `Round` to `Code`: a flat register-machine form the interpreter runs per processor.
//!
//! Each processor owns a slot file: the uniform registers first (copied in at the start of the
//! round), then the round's locals, then temporaries. Expressions become one instruction per
//! operator; `if` becomes forward jumps, so a body always runs in at most `instrs.len()` steps.

use super::program::{BinOp, Expr, Op, Round, UnOp};

/// A slot of a processor's register file.
pub type Slot = u32;

/// One instruction of lowered code.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Instr {
    /// `dst = value`.
    Const {
        /// Target slot.
        dst: Slot,
        /// The constant.
        value: i64,
    },
    /// `dst = src`.
    Move {
        /// Target slot.
        dst: Slot,
        /// Source slot.
        src: Slot,
    },
    /// `dst = op a`.
    Un {
        /// Operator.
        op: UnOp,
        /// Target slot.
        dst: Slot,
        /// Operand.
        a: Slot,
    },
    /// `dst = a op b`.
    Bin {
        /// Operator.
        op: BinOp,
        /// Target slot.
        dst: Slot,
        /// Left operand.
        a: Slot,
        /// Right operand.
        b: Slot,
    },
    /// `dst = array[index]` from the round's snapshot.
    Read {
        /// Target slot.
        dst: Slot,
        /// The array.
        array: u32,
        /// Slot holding the index.
        index: Slot,
    },
    /// Buffers `array[index] = value` for the write phase.
    Write {
        /// The write site (its order in the body), used to order a processor's own writes.
        site: u32,
        /// The array.
        array: u32,
        /// Slot holding the index.
        index: Slot,
        /// Slot holding the value.
        value: Slot,
    },
    /// Jumps forward to `target` when `cond` is zero.
    JumpIfZero {
        /// The tested slot.
        cond: Slot,
        /// Instruction index.
        target: u32,
    },
    /// Jumps forward to `target`.
    Jump {
        /// Instruction index.
        target: u32,
    },
}

/// A lowered round body.
#[derive(Debug, Clone, PartialEq)]
pub struct Code {
    /// Instructions that depend on uniform registers and constants only: run once per chunk of
    /// processors instead of once per processor (empty when lowered without hoisting).
    pub prologue: Vec<Instr>,
    /// The source line of each prologue instruction.
    pub prologue_lines: Vec<u32>,
    /// The instructions.
    pub instrs: Vec<Instr>,
    /// The source line of each instruction.
    pub lines: Vec<u32>,
    /// Size of a processor's slot file.
    pub slots: u32,
    /// Number of write sites.
    pub sites: u32,
    /// Number of uniform registers at the front of the slot file.
    pub registers: u32,
}

/// Lowers a round whose program has `registers` uniform registers. With `hoist`, uniform
/// subexpressions go to the prologue; a prologue may then fault where the processor would not
/// have evaluated the expression, so the interpreter falls back to the unhoisted code then.
pub fn lower(round: &Round, registers: u32, hoist: bool) -> Code {
    let mut l = Lowerer {
        hoist,
        code: Code {
            prologue: Vec::new(),
            prologue_lines: Vec::new(),
            instrs: Vec::new(),
            lines: Vec::new(),
            slots: registers + round.locals,
            sites: 0,
            registers,
        },
        line: round.span.line,
        first_temp: registers + round.locals,
        prologue_temp: Vec::new(),
        free: [Vec::new(), Vec::new()],
        pool: BODY,
        uniform: Vec::new(),
        next: 0,
        constants: std::collections::HashMap::new(),
    };
    l.ops(&round.ops);
    l.code
}

/// The pool of temporaries of the body (per processor) and of the prologue (once per chunk).
const BODY: usize = 0;
const PROLOGUE: usize = 1;

struct Lowerer {
    hoist: bool,
    code: Code,
    line: u32,
    /// The first temporary slot (after the registers and locals).
    first_temp: u32,
    /// For each temporary from `first_temp` on, whether it belongs to the prologue pool.
    prologue_temp: Vec<bool>,
    /// Temporaries free for reuse, per pool. A temporary holds one operand until its one use,
    /// so slots are reused and a processor's slot file grows with an expression's depth, not its
    /// size. A prologue result is read by the body, so the body never frees it.
    free: [Vec<Slot>; 2],
    /// The pool temporaries are taken from now.
    pool: usize,
    /// Whether each node of the expression being lowered is uniform, in pre-order, worked out
    /// once per expression (so lowering stays linear in its size).
    uniform: Vec<bool>,
    /// The pre-order index of the next node `expr` visits.
    next: usize,
    /// The prologue slot of each constant hoisted so far.
    constants: std::collections::HashMap<i64, Slot>,
}

impl Lowerer {
    fn emit(&mut self, i: Instr) {
        self.code.instrs.push(i);
        self.code.lines.push(self.line);
    }

    fn temp(&mut self) -> Slot {
        if let Some(slot) = self.free[self.pool].pop() {
            return slot;
        }
        self.prologue_temp.push(self.pool == PROLOGUE);
        self.code.slots += 1;
        self.code.slots - 1
    }

    /// Frees `slot` after its one use if it is a temporary of the current pool.
    fn release(&mut self, slot: Slot) {
        let Some(k) = slot.checked_sub(self.first_temp) else {
            return;
        };
        if self.prologue_temp[k as usize] == (self.pool == PROLOGUE) {
            self.free[self.pool].push(slot);
        }
    }

    /// Emits code for a whole expression and returns the slot holding its value.
    fn expr_top(&mut self, e: &Expr) -> Slot {
        self.uniform.clear();
        mark_uniform(e, &mut self.uniform);
        self.next = 0;
        self.expr(e)
    }

    fn local(&self, l: u32) -> Slot {
        self.code.registers + l
    }

    fn ops(&mut self, ops: &[Op]) {
        for op in ops {
            match op {
                Op::Read {
                    dst,
                    array,
                    index,
                    span,
                } => {
                    self.line = span.line;
                    let index = self.expr_top(index);
                    let dst = self.local(*dst);
                    self.emit(Instr::Read {
                        dst,
                        array: *array,
                        index,
                    });
                    self.release(index);
                }
                Op::Compute { dst, expr, span } => {
                    self.line = span.line;
                    let src = self.expr_top(expr);
                    let dst = self.local(*dst);
                    self.emit(Instr::Move { dst, src });
                    self.release(src);
                }
                Op::Write {
                    array,
                    index,
                    value,
                    span,
                } => {
                    self.line = span.line;
                    let index = self.expr_top(index);
                    let value = self.expr_top(value);
                    let site = self.code.sites;
                    self.code.sites += 1;
                    self.emit(Instr::Write {
                        site,
                        array: *array,
                        index,
                        value,
                    });
                    self.release(index);
                    self.release(value);
                }
                Op::If {
                    cond,
                    then,
                    otherwise,
                    span,
                } => {
                    self.line = span.line;
                    let cond = self.expr_top(cond);
                    let branch = self.code.instrs.len();
                    self.emit(Instr::JumpIfZero { cond, target: 0 });
                    self.release(cond);
                    self.ops(then);
                    let skip = self.code.instrs.len();
                    if !otherwise.is_empty() {
                        self.emit(Instr::Jump { target: 0 });
                    }
                    let else_start = self.code.instrs.len() as u32;
                    self.code.instrs[branch] = Instr::JumpIfZero {
                        cond,
                        target: else_start,
                    };
                    if !otherwise.is_empty() {
                        self.ops(otherwise);
                        let end = self.code.instrs.len() as u32;
                        self.code.instrs[skip] = Instr::Jump { target: end };
                    }
                }
            }
        }
    }

    /// Emits code for `e` and returns the slot holding its value.
    fn expr(&mut self, e: &Expr) -> Slot {
        let k = self.next;
        self.next += 1;
        if self.hoist && self.uniform[k] && !matches!(e, Expr::Reg(_)) {
            // One prologue slot per distinct constant: prologue results are never freed.
            if let Expr::Const(value) = e {
                if let Some(&slot) = self.constants.get(value) {
                    return slot;
                }
            }
            let body = std::mem::take(&mut self.code.instrs);
            let lines = std::mem::take(&mut self.code.lines);
            self.hoist = false;
            self.pool = PROLOGUE;
            // Visit this node again, now unhoisted.
            self.next = k;
            let slot = self.expr(e);
            self.pool = BODY;
            self.hoist = true;
            if let Expr::Const(value) = e {
                self.constants.insert(*value, slot);
            }
            self.code.prologue.append(&mut self.code.instrs);
            self.code.prologue_lines.append(&mut self.code.lines);
            self.code.instrs = body;
            self.code.lines = lines;
            return slot;
        }
        match e {
            Expr::Const(value) => {
                let dst = self.temp();
                self.emit(Instr::Const { dst, value: *value });
                dst
            }
            Expr::Reg(r) => *r,
            Expr::Local(l) => self.local(*l),
            // The parser never puts a shared-memory read inside a round expression.
            Expr::Read { .. } => {
                let dst = self.temp();
                self.emit(Instr::Const { dst, value: 0 });
                dst
            }
            Expr::Un(op, a) => {
                let a = self.expr(a);
                self.release(a);
                let dst = self.temp();
                self.emit(Instr::Un { op: *op, dst, a });
                dst
            }
            Expr::Bin(op, a, b) => {
                let a = self.expr(a);
                let b = self.expr(b);
                // An instruction reads its operands before it writes `dst`, so `dst` may be one
                // of them.
                self.release(a);
                self.release(b);
                let dst = self.temp();
                self.emit(Instr::Bin { op: *op, dst, a, b });
                dst
            }
        }
    }
}

/// Pushes, in pre-order, whether each node of `e` depends on uniform registers and constants
/// only; returns the flag of `e`.
fn mark_uniform(e: &Expr, out: &mut Vec<bool>) -> bool {
    let k = out.len();
    out.push(false);
    let u = match e {
        Expr::Const(_) | Expr::Reg(_) => true,
        Expr::Local(_) | Expr::Read { .. } => false,
        Expr::Un(_, a) => mark_uniform(a, out),
        Expr::Bin(_, a, b) => {
            let left = mark_uniform(a, out);
            let right = mark_uniform(b, out);
            left && right
        }
    };
    out[k] = u;
    u
}
