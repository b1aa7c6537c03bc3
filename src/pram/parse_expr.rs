//! Expressions of `.pram` files: precedence climbing, names resolved by where the expression stands.

use super::lex::Tok;
use super::parse::{Mode, Parser, Result, MAX_DEPTH};
use super::program::{BinOp, Expr, Op, Span, UnOp};

impl Parser<'_> {
    pub(super) fn expr(&mut self, mode: Mode) -> Result<Expr> {
        self.nest()?;
        let e = self.binary(mode, 0);
        self.depth -= 1;
        e
    }

    pub(super) fn nest(&mut self) -> Result<()> {
        if self.depth >= MAX_DEPTH {
            return self.error(
                self.span(),
                format!("nested more than {MAX_DEPTH} levels deep"),
            );
        }
        self.depth += 1;
        Ok(())
    }

    pub(super) fn binary(&mut self, mode: Mode, level: usize) -> Result<Expr> {
        // Loosest first.
        const LEVELS: [&[(&str, BinOp)]; 10] = [
            &[("||", BinOp::Or)],
            &[("&&", BinOp::And)],
            &[("|", BinOp::BitOr)],
            &[("^", BinOp::BitXor)],
            &[("&", BinOp::BitAnd)],
            &[("==", BinOp::Eq), ("!=", BinOp::Ne)],
            &[
                ("<=", BinOp::Le),
                (">=", BinOp::Ge),
                ("<", BinOp::Lt),
                (">", BinOp::Gt),
            ],
            &[("<<", BinOp::Shl), (">>", BinOp::Shr)],
            &[("+", BinOp::Add), ("-", BinOp::Sub)],
            &[("*", BinOp::Mul), ("/", BinOp::Div), ("%", BinOp::Rem)],
        ];
        if level == LEVELS.len() {
            return self.unary(mode);
        }
        let mut left = self.binary(mode, level + 1)?;
        'outer: loop {
            for (p, op) in LEVELS[level] {
                if self.is_punct(p) {
                    self.bump();
                    let right = self.binary(mode, level + 1)?;
                    left = Expr::Bin(*op, Box::new(left), Box::new(right));
                    continue 'outer;
                }
            }
            return Ok(left);
        }
    }

    pub(super) fn unary(&mut self, mode: Mode) -> Result<Expr> {
        for (p, op) in [("-", UnOp::Neg), ("!", UnOp::Not), ("~", UnOp::BitNot)] {
            if self.eat_punct(p) {
                self.nest()?;
                let e = self.unary(mode);
                self.depth -= 1;
                return Ok(Expr::Un(op, Box::new(e?)));
            }
        }
        self.primary(mode)
    }

    pub(super) fn primary(&mut self, mode: Mode) -> Result<Expr> {
        let (tok, span) = (self.peek().clone(), self.span());
        match tok {
            Tok::Int(v) => {
                self.bump();
                Ok(Expr::Const(v))
            }
            Tok::Punct("(") => {
                self.bump();
                let e = self.expr(mode)?;
                self.punct(")")?;
                Ok(e)
            }
            Tok::Ident(name) => {
                self.bump();
                if self.is_punct("(") {
                    return self.call(&name, span, mode);
                }
                if let Some(r) = &self.round {
                    if let Some((_, l)) = r.names.iter().rev().find(|(s, _)| *s == name) {
                        return Ok(Expr::Local(*l));
                    }
                }
                if let Some((_, r)) = self.reg_scope.iter().rev().find(|(s, _)| *s == name) {
                    return Ok(Expr::Reg(*r));
                }
                let Some(array) = self.lookup_array(&name) else {
                    return self.error(span, format!("unknown name `{name}`"));
                };
                if mode == Mode::Uniform {
                    return self.error(
                        span,
                        format!("`{name}` is in shared memory; this expression may use only n, parameters, loop variables and constants"),
                    );
                }
                let scalar = self.arrays[array as usize].len.is_none();
                let index = if scalar {
                    if self.is_punct("[") {
                        return self
                            .error(span, format!("`{name}` is a scalar; it takes no index"));
                    }
                    Expr::Const(0)
                } else {
                    self.punct("[")?;
                    let e = self.expr(mode)?;
                    self.punct("]")?;
                    e
                };
                if mode == Mode::Round {
                    let dst = self.fresh_local();
                    if let Some(r) = self.round.as_mut() {
                        r.pending.push(Op::Read {
                            dst,
                            array,
                            index,
                            span,
                        });
                    }
                    Ok(Expr::Local(dst))
                } else {
                    Ok(Expr::Read {
                        array,
                        index: Box::new(index),
                    })
                }
            }
            _ => self.expected("an expression"),
        }
    }

    pub(super) fn call(&mut self, name: &str, span: Span, mode: Mode) -> Result<Expr> {
        self.punct("(")?;
        let a = self.expr(mode)?;
        let result = match name {
            "min" | "max" => {
                self.punct(",")?;
                let b = self.expr(mode)?;
                let op = if name == "min" {
                    BinOp::Min
                } else {
                    BinOp::Max
                };
                Expr::Bin(op, Box::new(a), Box::new(b))
            }
            "log2" => Expr::Un(UnOp::Log2, Box::new(a)),
            "clog2" => Expr::Un(UnOp::Clog2, Box::new(a)),
            _ => {
                return self.error(
                    span,
                    format!("unknown function `{name}`; expected min, max, log2 or clog2"),
                )
            }
        };
        self.punct(")")?;
        Ok(result)
    }
}
