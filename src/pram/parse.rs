//! The parser of `.pram` files: tokens to a checked `Program`, names resolved, reads made explicit.
//!
//! The grammar is in `docs/pram-language.md`. Semantic checks happen here too (unknown names,
//! `let` outside a round, loops or nested rounds inside a round, reads in uniform expressions), so
//! every error carries the file, line and column of the offending token.

use super::error::ParseError;
use super::lex::{lex, Tok};
use super::program::{
    AccessModel, ArrayDecl, ArrayId, Bounds, DeclSpans, Expr, Generator, Local, Op, Program,
    Register, Round, Span, Stmt,
};

/// Parses and checks a program; `file` names it in errors.
pub fn parse(file: &str, source: &str) -> Result<Program> {
    let toks = lex(file, source)?;
    let mut p = Parser {
        file,
        toks,
        pos: 0,
        registers: vec!["n".to_string()],
        reg_scope: vec![("n".to_string(), 0)],
        arrays: Vec::new(),
        array_scope: Vec::new(),
        round: None,
        depth: 0,
        expr_level: 0,
        expr_nodes: 0,
    };
    p.program()
}

/// Where an expression stands, which decides what it may mention.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Mode {
    /// Sizes, parameters, bounds, round ranges: registers and constants only.
    Uniform,
    /// A sequential statement: reads by the one active processor become `Expr::Read`.
    Sequential,
    /// A round body: reads become `Op::Read` into fresh locals.
    Round,
}

/// The state of the round being parsed.
pub(super) struct RoundState {
    pub(super) names: Vec<(String, Local)>,
    /// How many of the first `names` are processor indices (the rest are `let` bindings).
    pub(super) indices: u32,
    pub(super) locals: u32,
    /// Reads produced by the expression being parsed, emitted before the op that uses them.
    pub(super) pending: Vec<Op>,
}

pub(super) struct Parser<'a> {
    pub(super) file: &'a str,
    pub(super) toks: Vec<(Tok, Span)>,
    pub(super) pos: usize,
    pub(super) registers: Vec<String>,
    pub(super) reg_scope: Vec<(String, Register)>,
    pub(super) arrays: Vec<ArrayDecl>,
    pub(super) array_scope: Vec<(String, ArrayId)>,
    pub(super) round: Option<RoundState>,
    /// Nesting of expressions and blocks, bounded so that no input can exhaust the stack.
    pub(super) depth: u32,
    /// How many `expr` calls are open (0 between whole expressions).
    pub(super) expr_level: u32,
    /// Nodes of the whole expression being parsed so far.
    pub(super) expr_nodes: u32,
}

/// The deepest nesting of parentheses, unary operators, blocks and `else if`s accepted.
pub(super) const MAX_DEPTH: u32 = 64;

/// The deepest expression tree accepted: a leaf has depth 1, and `a + b + c`, grouped as
/// `(a + b) + c`, depth 3 (a chain of k binary operators is k + 1 deep).
pub const MAX_EXPR_DEPTH: u32 = 256;

/// The most nodes (operators, function calls, constants, names, reads) in one whole expression,
/// the reads in its indices included.
pub const MAX_EXPR_NODES: u32 = 65_536;

/// The longest echo of user text (a name, a literal) in an error, in characters.
const MAX_ECHO: usize = 64;

/// `text` as an error message shows it: whole up to `MAX_ECHO` characters, else its start and `...`.
pub fn echo(text: &str) -> String {
    match text.char_indices().nth(MAX_ECHO) {
        None => text.to_string(),
        Some((end, _)) => format!("{}...", &text[..end]),
    }
}

pub(super) type Result<T> = std::result::Result<T, ParseError>;

impl Parser<'_> {
    pub(super) fn peek(&self) -> &Tok {
        &self.toks[self.pos].0
    }

    pub(super) fn span(&self) -> Span {
        self.toks[self.pos].1
    }

    pub(super) fn bump(&mut self) -> (Tok, Span) {
        let t = self.toks[self.pos].clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    pub(super) fn error<T>(&self, span: Span, message: String) -> Result<T> {
        Err(ParseError::new(self.file, span, message))
    }

    pub(super) fn expected<T>(&self, what: &str) -> Result<T> {
        self.error(
            self.span(),
            format!("expected {what}, found {}", self.peek()),
        )
    }

    pub(super) fn is_punct(&self, p: &str) -> bool {
        matches!(self.peek(), Tok::Punct(q) if *q == p)
    }

    pub(super) fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Tok::Ident(s) if s == w)
    }

    pub(super) fn eat_punct(&mut self, p: &str) -> bool {
        let hit = self.is_punct(p);
        if hit {
            self.bump();
        }
        hit
    }

    pub(super) fn punct(&mut self, p: &str) -> Result<Span> {
        if self.is_punct(p) {
            Ok(self.bump().1)
        } else {
            self.expected(&format!("`{p}`"))
        }
    }

    pub(super) fn ident(&mut self, what: &str) -> Result<(String, Span)> {
        match self.peek().clone() {
            Tok::Ident(s) => Ok((s, self.bump().1)),
            _ => self.expected(what),
        }
    }

    pub(super) fn program(&mut self) -> Result<Program> {
        let mut name = None;
        let mut model = None;
        let mut word_bits = None;
        let mut params = Vec::new();
        let mut output_names = Vec::new();
        let mut bounds = Bounds::default();
        let mut spans = DeclSpans::default();
        let mut body = Vec::new();
        while *self.peek() != Tok::End {
            let span = self.span();
            let keyword = match self.peek() {
                Tok::Ident(s) => s.clone(),
                _ => String::new(),
            };
            match keyword.as_str() {
                "program" => {
                    self.bump();
                    name = Some(self.ident("a program name")?.0);
                    self.punct(";")?;
                }
                "model" => {
                    self.bump();
                    let (mut m, at) = self.ident("an access model")?;
                    // `crcw-common` lexes as `crcw`, `-`, `common`: join the parts again.
                    while self.eat_punct("-") {
                        m.push('-');
                        m.push_str(&self.ident("the rest of the access model's name")?.0);
                    }
                    model = Some(AccessModel::from_name(&m).map_or_else(
                        || {
                            self.error(
                                at,
                                format!(
                                    "unknown access model `{}`; expected erew, crew, crcw-common, \
                                 crcw-arbitrary or crcw-priority (written with `_` or `-`)",
                                    echo(&m)
                                ),
                            )
                        },
                        Ok,
                    )?);
                    self.punct(";")?;
                }
                "word" => {
                    self.bump();
                    spans.word = self.span();
                    word_bits = Some(self.expr(Mode::Uniform)?);
                    self.punct(";")?;
                }
                "param" => {
                    self.bump();
                    let (pname, at) = self.ident("a parameter name")?;
                    self.check_fresh(&pname, at)?;
                    self.punct("=")?;
                    spans.params.push(self.span());
                    let value = self.expr(Mode::Uniform)?;
                    self.punct(";")?;
                    let r = self.new_register(pname);
                    params.push((r, value));
                }
                "input" | "shared" => {
                    self.bump();
                    let decl = self.array_decl(keyword == "input", span)?;
                    self.push_array(decl);
                }
                "output" => {
                    self.bump();
                    loop {
                        output_names.push(self.ident("an array name")?);
                        if !self.eat_punct(",") {
                            break;
                        }
                    }
                    self.punct(";")?;
                }
                "bounds" => {
                    self.bump();
                    self.punct("{")?;
                    while !self.eat_punct("}") {
                        let (metric, at) = self.ident("rounds, processors, work or space")?;
                        self.punct("<=")?;
                        let start = self.span();
                        let e = self.expr(Mode::Uniform)?;
                        self.punct(";")?;
                        let (slot, k) = match metric.as_str() {
                            "rounds" => (&mut bounds.rounds, 0),
                            "processors" => (&mut bounds.processors, 1),
                            "work" => (&mut bounds.work, 2),
                            "space" => (&mut bounds.space, 3),
                            _ => {
                                return self.error(
                                    at,
                                    format!("unknown bound `{}`; expected rounds, processors, work or space", echo(&metric)),
                                )
                            }
                        };
                        *slot = Some(e);
                        spans.bounds[k] = start;
                    }
                }
                _ => body.push(self.stmt()?),
            }
        }
        let end = self.span();
        let Some(model) = model else {
            return self.error(
                end,
                "missing `model ...;` declaration (e.g. `model crew;`)".into(),
            );
        };
        let Some(word_bits) = word_bits else {
            return self.error(
                end,
                "missing `word ...;` declaration (the word size in bits)".into(),
            );
        };
        let mut outputs = Vec::new();
        for (o, at) in output_names {
            match self.arrays.iter().position(|a| a.name == o && !a.scoped) {
                Some(id) => outputs.push(id as ArrayId),
                None => {
                    return self.error(at, format!("output `{}` is not a declared array", echo(&o)))
                }
            }
        }
        if outputs.is_empty() {
            return self.error(end, "missing `output ...;` declaration".into());
        }
        Ok(Program {
            name: name.unwrap_or_else(|| "program".into()),
            model,
            word_bits,
            registers: self.registers.clone(),
            params,
            arrays: std::mem::take(&mut self.arrays),
            outputs,
            bounds,
            body,
            file: self.file.to_string(),
            spans,
        })
    }

    pub(super) fn check_fresh(&self, name: &str, at: Span) -> Result<()> {
        let taken = self.reg_scope.iter().any(|(s, _)| s == name)
            || self.array_scope.iter().any(|(s, _)| s == name)
            || ["min", "max", "log2", "clog2"].contains(&name);
        if taken {
            return self.error(at, format!("the name `{}` is already in use", echo(name)));
        }
        Ok(())
    }

    pub(super) fn new_register(&mut self, name: String) -> Register {
        let r = self.registers.len() as Register;
        self.registers.push(name.clone());
        self.reg_scope.push((name, r));
        r
    }

    pub(super) fn push_array(&mut self, decl: ArrayDecl) -> ArrayId {
        let id = self.arrays.len() as ArrayId;
        self.array_scope.push((decl.name.clone(), id));
        self.arrays.push(decl);
        id
    }

    /// `NAME ([len])? (= generator)? ;` after `input` or `shared`.
    pub(super) fn array_decl(&mut self, input: bool, span: Span) -> Result<ArrayDecl> {
        let (name, at) = self.ident("an array name")?;
        self.check_fresh(&name, at)?;
        let len = if self.eat_punct("[") {
            let e = self.expr(Mode::Uniform)?;
            self.punct("]")?;
            Some(e)
        } else {
            None
        };
        let init = if self.eat_punct("=") {
            self.generator()?
        } else if input {
            return self.expected("`=` and a generator (an input needs a default generator)");
        } else {
            Generator::Zeros
        };
        self.punct(";")?;
        Ok(ArrayDecl {
            name,
            len,
            init,
            input,
            scoped: false,
            span,
        })
    }

    pub(super) fn generator(&mut self) -> Result<Generator> {
        let (g, at) = self.ident("a generator (random, list, tree, dyck, sudoku4, zeros)")?;
        let mut args = Vec::new();
        if self.eat_punct("(") {
            if !self.is_punct(")") {
                loop {
                    args.push(self.expr(Mode::Uniform)?);
                    if !self.eat_punct(",") {
                        break;
                    }
                }
            }
            self.punct(")")?;
        }
        let arity = |k: usize| -> Result<()> {
            if args.len() != k {
                return Err(ParseError::new(
                    self.file,
                    at,
                    format!("generator `{g}` takes {k} arguments, found {}", args.len()),
                ));
            }
            Ok(())
        };
        Ok(match g.as_str() {
            "random" => {
                arity(2)?;
                let hi = args.pop().unwrap_or(Expr::Const(0));
                let lo = args.pop().unwrap_or(Expr::Const(0));
                Generator::Random(lo, hi)
            }
            "list" => {
                arity(0)?;
                Generator::List
            }
            "tree" => {
                arity(0)?;
                Generator::Tree
            }
            "zeros" => {
                arity(0)?;
                Generator::Zeros
            }
            "dyck" => {
                arity(1)?;
                Generator::Dyck(args.pop().unwrap_or(Expr::Const(1)))
            }
            "sudoku4" => {
                arity(1)?;
                Generator::Sudoku4(args.pop().unwrap_or(Expr::Const(0)))
            }
            _ => {
                return self.error(
                    at,
                    format!("unknown generator `{}`; expected random(lo, hi), list, tree, dyck(k), sudoku4(blanks) or zeros", echo(&g)),
                )
            }
        })
    }

    pub(super) fn block(&mut self) -> Result<Vec<Stmt>> {
        self.nest()?;
        let b = self.block_inner();
        self.depth -= 1;
        b
    }

    pub(super) fn block_inner(&mut self) -> Result<Vec<Stmt>> {
        self.punct("{")?;
        let mut out = Vec::new();
        let regs = self.reg_scope.len();
        let arrays = self.array_scope.len();
        while !self.eat_punct("}") {
            if *self.peek() == Tok::End {
                return self.expected("`}`");
            }
            out.push(self.stmt()?);
        }
        self.reg_scope.truncate(regs);
        self.array_scope.truncate(arrays);
        Ok(out)
    }

    /// A sequential statement.
    pub(super) fn stmt(&mut self) -> Result<Stmt> {
        let span = self.span();
        if self.is_word("pardo") {
            self.bump();
            return Ok(Stmt::Pardo(self.round(span)?));
        }
        if self.is_word("for") {
            self.bump();
            let (name, at) = self.ident("a loop variable")?;
            self.check_fresh(&name, at)?;
            self.word("in")?;
            let lo = self.expr(Mode::Sequential)?;
            self.punct("..")?;
            let hi = self.expr(Mode::Sequential)?;
            let scope = self.reg_scope.len();
            let var = self.new_register(name);
            let body = self.block()?;
            self.reg_scope.truncate(scope);
            return Ok(Stmt::For {
                var,
                lo,
                hi,
                body,
                span,
            });
        }
        if self.is_word("while") {
            self.bump();
            let cond = self.expr(Mode::Sequential)?;
            let body = self.block()?;
            return Ok(Stmt::While { cond, body, span });
        }
        if self.is_word("if") {
            self.bump();
            let cond = self.expr(Mode::Sequential)?;
            let then = self.block()?;
            let otherwise = if self.is_word("else") {
                self.bump();
                if self.is_word("if") {
                    // An `else if` chain is a nested statement: bounded like a block.
                    self.nest()?;
                    let nested = self.stmt();
                    self.depth -= 1;
                    vec![nested?]
                } else {
                    self.block()?
                }
            } else {
                Vec::new()
            };
            return Ok(Stmt::If {
                cond,
                then,
                otherwise,
                span,
            });
        }
        if self.is_word("alloc") {
            self.bump();
            let (name, at) = self.ident("an array name")?;
            self.check_fresh(&name, at)?;
            self.punct("[")?;
            let size = self.expr(Mode::Uniform)?;
            self.punct("]")?;
            let scope = self.array_scope.len();
            let array = self.push_array(ArrayDecl {
                name,
                len: Some(size.clone()),
                init: Generator::Zeros,
                input: false,
                scoped: true,
                span,
            });
            let body = self.block()?;
            self.array_scope.truncate(scope);
            return Ok(Stmt::Alloc {
                array,
                size,
                body,
                span,
            });
        }
        if self.is_word("let") {
            return self.error(
                span,
                "`let` is only allowed inside a pardo; outside, use a shared scalar".into(),
            );
        }
        let (array, index) = self.target(Mode::Sequential)?;
        self.punct("=")?;
        let value = self.expr(Mode::Sequential)?;
        self.punct(";")?;
        Ok(Stmt::Assign {
            array,
            index,
            value,
            span,
        })
    }

    pub(super) fn word(&mut self, w: &str) -> Result<()> {
        if self.is_word(w) {
            self.bump();
            Ok(())
        } else {
            self.expected(&format!("`{w}`"))
        }
    }

    /// `NAME` (a scalar) or `NAME[index]` as the target of an assignment.
    pub(super) fn target(&mut self, mode: Mode) -> Result<(ArrayId, Expr)> {
        let (name, at) = self.ident("a statement")?;
        let Some(array) = self.lookup_array(&name) else {
            let local = self.round.as_ref().and_then(|r| {
                let l = r.names.iter().rev().find(|(s, _)| *s == name)?.1;
                Some(l < r.indices)
            });
            let what = if local == Some(false) {
                format!("`{name}` is a `let` binding and cannot be assigned; bind a new name with `let`, or write to a shared array")
            } else if local == Some(true) {
                format!("`{name}` is a processor index and cannot be assigned")
            } else if self.reg_scope.iter().any(|(s, _)| *s == name) {
                format!("`{name}` is a uniform register (n, a parameter or a loop variable) and cannot be assigned")
            } else {
                format!(
                    "`{}` is not a declared array, scalar or statement keyword",
                    echo(&name)
                )
            };
            return self.error(at, what);
        };
        let scalar = self.arrays[array as usize].len.is_none();
        let index = if self.eat_punct("[") {
            if scalar {
                return self.error(at, format!("`{name}` is a scalar; it takes no index"));
            }
            let e = self.expr(mode)?;
            self.punct("]")?;
            e
        } else if scalar {
            Expr::Const(0)
        } else {
            return self.expected(&format!("`[` (`{name}` is an array)"));
        };
        Ok((array, index))
    }

    pub(super) fn lookup_array(&self, name: &str) -> Option<ArrayId> {
        self.array_scope
            .iter()
            .rev()
            .find(|(s, _)| s == name)
            .map(|(_, id)| *id)
    }

    /// `pardo i in lo..hi (, j in lo..hi)* { ops }`.
    pub(super) fn round(&mut self, span: Span) -> Result<Round> {
        if self.round.is_some() {
            return self.error(span, "a pardo cannot be nested inside another pardo".into());
        }
        let mut names = Vec::new();
        let mut indices = Vec::new();
        loop {
            let (name, at) = self.ident("a processor index name")?;
            self.check_fresh(&name, at)?;
            if names.iter().any(|(s, _)| *s == name) {
                return self.error(at, format!("index `{name}` appears twice"));
            }
            self.word("in")?;
            let lo = self.expr(Mode::Uniform)?;
            self.punct("..")?;
            let hi = self.expr(Mode::Uniform)?;
            names.push((name, names.len() as Local));
            indices.push((lo, hi));
            if !self.eat_punct(",") {
                break;
            }
        }
        let locals = names.len() as u32;
        self.round = Some(RoundState {
            names,
            indices: locals,
            locals,
            pending: Vec::new(),
        });
        let ops = self.round_block();
        let state = self.round.take();
        let ops = ops?;
        Ok(Round {
            indices,
            locals: state.map_or(locals, |s| s.locals),
            ops,
            span,
        })
    }

    pub(super) fn round_block(&mut self) -> Result<Vec<Op>> {
        self.nest()?;
        let b = self.round_block_inner();
        self.depth -= 1;
        b
    }

    pub(super) fn round_block_inner(&mut self) -> Result<Vec<Op>> {
        self.punct("{")?;
        let scope = self.round.as_ref().map_or(0, |r| r.names.len());
        let mut ops = Vec::new();
        while !self.eat_punct("}") {
            if *self.peek() == Tok::End {
                return self.expected("`}`");
            }
            self.round_op(&mut ops)?;
        }
        if let Some(r) = self.round.as_mut() {
            r.names.truncate(scope);
        }
        Ok(ops)
    }

    pub(super) fn drain_pending(&mut self, ops: &mut Vec<Op>) {
        if let Some(r) = self.round.as_mut() {
            ops.append(&mut r.pending);
        }
    }

    pub(super) fn fresh_local(&mut self) -> Local {
        let r = self.round.as_mut().expect("inside a round");
        r.locals += 1;
        r.locals - 1
    }

    pub(super) fn round_op(&mut self, ops: &mut Vec<Op>) -> Result<()> {
        let span = self.span();
        for w in ["for", "while", "alloc"] {
            if self.is_word(w) {
                return self.error(
                    span,
                    format!("`{w}` is not allowed inside a pardo: round bodies are loop-free"),
                );
            }
        }
        if self.is_word("pardo") {
            return self.error(span, "a pardo cannot be nested inside another pardo".into());
        }
        if self.is_word("let") {
            self.bump();
            let (name, at) = self.ident("a local name")?;
            self.check_fresh(&name, at)?;
            self.punct("=")?;
            let expr = self.expr(Mode::Round)?;
            self.punct(";")?;
            self.drain_pending(ops);
            let dst = self.fresh_local();
            if let Some(r) = self.round.as_mut() {
                r.names.push((name, dst));
            }
            ops.push(Op::Compute { dst, expr, span });
            return Ok(());
        }
        if self.is_word("if") {
            self.bump();
            let cond = self.expr(Mode::Round)?;
            self.drain_pending(ops);
            let then = self.round_block()?;
            let otherwise = if self.is_word("else") {
                self.bump();
                if self.is_word("if") {
                    let mut nested = Vec::new();
                    self.nest()?;
                    let op = self.round_op(&mut nested);
                    self.depth -= 1;
                    op?;
                    nested
                } else {
                    self.round_block()?
                }
            } else {
                Vec::new()
            };
            ops.push(Op::If {
                cond,
                then,
                otherwise,
                span,
            });
            return Ok(());
        }
        let (array, index) = self.target(Mode::Round)?;
        self.punct("=")?;
        let value = self.expr(Mode::Round)?;
        self.punct(";")?;
        self.drain_pending(ops);
        ops.push(Op::Write {
            array,
            index,
            value,
            span,
        });
        Ok(())
    }
}
