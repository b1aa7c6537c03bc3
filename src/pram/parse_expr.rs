//! Expressions of `.pram` files: precedence climbing, names resolved by where the expression stands.

use super::lex::Tok;
use super::parse::{echo, Mode, Parser, Result, MAX_DEPTH, MAX_EXPR_DEPTH, MAX_EXPR_NODES};
use super::program::{BinOp, Expr, Op, Span, UnOp};

/// An expression with the depth of its tree (a leaf has depth 1).
type Sized = (Expr, u32);

impl Parser<'_> {
    /// A whole expression. Its tree's depth and size are bounded (`MAX_EXPR_DEPTH`,
    /// `MAX_EXPR_NODES`), checked as each node is built, so that no tree the walkers after the
    /// parser (lowering, evaluation, both compilers, serde) recurse over, or drop, is deeper
    /// than the bound.
    pub(super) fn expr(&mut self, mode: Mode) -> Result<Expr> {
        if self.expr_level == 0 {
            self.expr_nodes = 0;
        }
        self.expr_level += 1;
        let e = self.expr_sized(mode);
        self.expr_level -= 1;
        Ok(e?.0)
    }

    fn expr_sized(&mut self, mode: Mode) -> Result<Sized> {
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

    /// Counts one node of the expression being parsed and checks its depth, both against
    /// their limits; `at` is the node's operator or leaf.
    fn node(&mut self, depth: u32, at: Span) -> Result<()> {
        self.expr_nodes += 1;
        if self.expr_nodes > MAX_EXPR_NODES {
            return self.error(
                at,
                format!("expression has more than {MAX_EXPR_NODES} operators and operands; split it with `let` or shared scalars"),
            );
        }
        if depth > MAX_EXPR_DEPTH {
            return self.error(
                at,
                format!("expression is more than {MAX_EXPR_DEPTH} operators deep (a chain `a + b + ...` is one level per operator); split it with `let` or shared scalars"),
            );
        }
        Ok(())
    }

    fn binary(&mut self, mode: Mode, level: usize) -> Result<Sized> {
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
        let (mut left, mut depth) = self.binary(mode, level + 1)?;
        'outer: loop {
            for (p, op) in LEVELS[level] {
                if self.is_punct(p) {
                    let at = self.bump().1;
                    let (right, d) = self.binary(mode, level + 1)?;
                    depth = depth.max(d) + 1;
                    self.node(depth, at)?;
                    left = Expr::Bin(*op, Box::new(left), Box::new(right));
                    continue 'outer;
                }
            }
            return Ok((left, depth));
        }
    }

    fn unary(&mut self, mode: Mode) -> Result<Sized> {
        let at = self.span();
        for (p, op) in [("-", UnOp::Neg), ("!", UnOp::Not), ("~", UnOp::BitNot)] {
            if self.eat_punct(p) {
                self.nest()?;
                let e = self.unary(mode);
                self.depth -= 1;
                let (e, d) = e?;
                self.node(d + 1, at)?;
                return Ok((Expr::Un(op, Box::new(e)), d + 1));
            }
        }
        self.primary(mode)
    }

    fn primary(&mut self, mode: Mode) -> Result<Sized> {
        let (tok, span) = (self.peek().clone(), self.span());
        match tok {
            Tok::Int(v) => {
                self.bump();
                self.node(1, span)?;
                Ok((Expr::Const(v), 1))
            }
            Tok::Punct("(") => {
                self.bump();
                let e = self.expr_sized(mode)?;
                self.punct(")")?;
                Ok(e)
            }
            Tok::Ident(name) => {
                self.bump();
                if self.is_punct("(") {
                    return self.call(&name, span, mode);
                }
                self.node(1, span)?;
                if let Some(r) = &self.round {
                    if let Some((_, l)) = r.names.iter().rev().find(|(s, _)| *s == name) {
                        return Ok((Expr::Local(*l), 1));
                    }
                }
                if let Some((_, r)) = self.reg_scope.iter().rev().find(|(s, _)| *s == name) {
                    return Ok((Expr::Reg(*r), 1));
                }
                let Some(array) = self.lookup_array(&name) else {
                    return self.error(span, format!("unknown name `{}`", echo(&name)));
                };
                if mode == Mode::Uniform {
                    return self.error(
                        span,
                        format!("`{name}` is in shared memory; this expression may use only n, parameters, loop variables and constants"),
                    );
                }
                let scalar = self.arrays[array as usize].len.is_none();
                let (index, d) = if scalar {
                    if self.is_punct("[") {
                        return self
                            .error(span, format!("`{name}` is a scalar; it takes no index"));
                    }
                    (Expr::Const(0), 0)
                } else {
                    self.punct("[")?;
                    let e = self.expr_sized(mode)?;
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
                    Ok((Expr::Local(dst), 1))
                } else {
                    self.node(d + 1, span)?;
                    Ok((
                        Expr::Read {
                            array,
                            index: Box::new(index),
                        },
                        d + 1,
                    ))
                }
            }
            _ => self.expected("an expression"),
        }
    }

    fn call(&mut self, name: &str, span: Span, mode: Mode) -> Result<Sized> {
        self.punct("(")?;
        let (a, mut depth) = self.expr_sized(mode)?;
        let result = match name {
            "min" | "max" => {
                self.punct(",")?;
                let (b, d) = self.expr_sized(mode)?;
                depth = depth.max(d);
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
                    format!(
                        "unknown function `{}`; expected min, max, log2 or clog2",
                        echo(name)
                    ),
                )
            }
        };
        self.punct(")")?;
        self.node(depth + 1, span)?;
        Ok((result, depth + 1))
    }
}
