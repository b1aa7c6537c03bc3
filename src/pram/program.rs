//! `Program`: a checked PRAM program as plain data, the form the interpreter and the compilers read.
//!
//! A program is a list of declarations (word size, parameters, shared arrays, inputs, outputs,
//! bounds) and a body of sequential statements. Parallel work happens only in `Round`s (a `pardo`),
//! whose bodies are flat lists of read / compute / write operations: every read of shared memory is
//! its own `Op::Read`, so a compiler sees exactly which cells each processor touches and in which
//! order (a chained read `A[B[i]]` is two reads, the second indexed by the first's local).

use serde::{Deserialize, Serialize};

/// A place in the source text (1-based line and column; 0 where there is none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Span {
    /// Line, starting at 1.
    pub line: u32,
    /// Column (in characters), starting at 1.
    pub column: u32,
}

/// The concurrent-access rule of the machine (who may read and write the same cell in one round).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccessModel {
    /// Exclusive read, exclusive write.
    Erew,
    /// Concurrent read, exclusive write.
    Crew,
    /// Concurrent writes allowed when all write the same value.
    CrcwCommon,
    /// Concurrent writes: a seeded, replayable choice among the writers wins.
    CrcwArbitrary,
    /// Concurrent writes: the lowest processor id wins.
    CrcwPriority,
}

impl AccessModel {
    /// Every model with its command-line name.
    pub const ALL: [(AccessModel, &'static str); 5] = [
        (AccessModel::Erew, "erew"),
        (AccessModel::Crew, "crew"),
        (AccessModel::CrcwCommon, "crcw-common"),
        (AccessModel::CrcwArbitrary, "crcw-arbitrary"),
        (AccessModel::CrcwPriority, "crcw-priority"),
    ];

    /// The command-line name (`erew`, `crew`, `crcw-common`, ...).
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(m, _)| *m == self)
            .map_or("", |p| p.1)
    }

    /// The model with this command-line name, written with `-` or `_` (`crcw-common`,
    /// `crcw_common`).
    pub fn from_name(name: &str) -> Option<AccessModel> {
        let name = name.replace('_', "-");
        Self::ALL.iter().find(|(_, s)| *s == name).map(|p| p.0)
    }

    /// Whether two processors may read the same cell in one round.
    pub fn concurrent_read(self) -> bool {
        self != AccessModel::Erew
    }
}

impl std::fmt::Display for AccessModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A uniform register: `n` (always register 0), a parameter, or a sequential loop variable.
/// Every processor holds its own copy, so reading one is free and never a concurrent read.
pub type Register = u32;
/// A processor-local value inside one round: a `pardo` index, a `let`, or the result of a read.
pub type Local = u32;
/// An array (or scalar, an array of length 1) in shared memory, by declaration order.
pub type ArrayId = u32;

/// Binary operators. Comparisons and `&&`, `||` yield 0 or 1; `&&` and `||` evaluate both sides
/// (a round body has no short-circuit control flow; guard a read with `if` instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Min,
    Max,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    BitAnd,
    BitOr,
    BitXor,
    Shl,
    Shr,
}

/// Unary operators. `log2` is floor(log2 x) and `clog2` is ceil(log2 x), both for x >= 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum UnOp {
    Neg,
    Not,
    BitNot,
    Log2,
    Clog2,
}

/// An expression. Inside a round it never contains `Read` (reads are `Op::Read`); in sequential
/// statements it may, and each such read is made by the single active processor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Expr {
    /// A literal.
    Const(i64),
    /// A uniform register.
    Reg(Register),
    /// A processor-local value (rounds only).
    Local(Local),
    /// A read of shared memory (sequential statements only).
    Read {
        /// The array read.
        array: ArrayId,
        /// The element (0 for a scalar).
        index: Box<Expr>,
    },
    /// A unary operation.
    Un(UnOp, Box<Expr>),
    /// A binary operation.
    Bin(BinOp, Box<Expr>, Box<Expr>),
}

/// One operation of a processor in a round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Op {
    /// `dst = array[index]`, from memory as it was at the start of the round.
    Read {
        /// Where the value goes.
        dst: Local,
        /// The array read.
        array: ArrayId,
        /// Its element.
        index: Expr,
        /// The source of the access.
        span: Span,
    },
    /// `dst = expr`, a local computation.
    Compute {
        /// Where the value goes.
        dst: Local,
        /// What is computed (no reads).
        expr: Expr,
        /// The source of the `let` (or of the expression a read fed).
        span: Span,
    },
    /// `array[index] = value`, applied at the end of the round.
    Write {
        /// The array written.
        array: ArrayId,
        /// Its element.
        index: Expr,
        /// The value written.
        value: Expr,
        /// The source of the assignment.
        span: Span,
    },
    /// A branch inside the processor (no loops in a round).
    If {
        /// Taken when non-zero.
        cond: Expr,
        /// Operations when taken.
        then: Vec<Op>,
        /// Operations otherwise.
        otherwise: Vec<Op>,
        /// The source of the `if`.
        span: Span,
    },
}

/// One synchronous round: `pardo i in lo..hi, j in lo2..hi2 { ops }`.
/// Processor ids are the index tuples in lexicographic order, numbered from 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Round {
    /// Each index: the local it lives in (locals `0..indices.len()`) and its range `lo..hi`
    /// (uniform expressions: registers and constants only).
    pub indices: Vec<(Expr, Expr)>,
    /// How many locals a processor uses (indices included).
    pub locals: u32,
    /// The body.
    pub ops: Vec<Op>,
    /// The source of the `pardo`.
    pub span: Span,
}

/// A sequential statement (outside rounds). Each assignment, branch test and loop test is one
/// round with one active processor (THEORY.md, "The cost model").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Stmt {
    /// `array[index] = value` (or `scalar = value`) by one processor.
    Assign {
        /// The array written.
        array: ArrayId,
        /// Its element.
        index: Expr,
        /// The value.
        value: Expr,
        /// Source.
        span: Span,
    },
    /// `if cond { .. } else { .. }`.
    If {
        /// The test.
        cond: Expr,
        /// When non-zero.
        then: Vec<Stmt>,
        /// Otherwise.
        otherwise: Vec<Stmt>,
        /// Source.
        span: Span,
    },
    /// `for var in lo..hi { .. }`: the variable is a uniform register; every test is a round.
    For {
        /// The loop variable.
        var: Register,
        /// First value.
        lo: Expr,
        /// One past the last value (evaluated once).
        hi: Expr,
        /// The body.
        body: Vec<Stmt>,
        /// Source.
        span: Span,
    },
    /// `while cond { .. }`: every test is a round.
    While {
        /// The test.
        cond: Expr,
        /// The body.
        body: Vec<Stmt>,
        /// Source.
        span: Span,
    },
    /// A parallel round.
    Pardo(Round),
    /// `alloc array[size] { .. }`: cells allocated on entry, freed on exit (last in, first out).
    Alloc {
        /// The array allocated (declared by this statement).
        array: ArrayId,
        /// Its length.
        size: Expr,
        /// The scope.
        body: Vec<Stmt>,
        /// Source.
        span: Span,
    },
}

/// How an input array is filled when no input file gives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Generator {
    /// Uniform integers in `lo..=hi`.
    Random(Expr, Expr),
    /// Successor pointers of one random linked list over all elements; the tail points to itself.
    List,
    /// Parent pointers of a random rooted tree: element 0 is the root (its own parent) and every
    /// other element's parent has a smaller index.
    Tree,
    /// Brackets of k kinds (0..k open, k..2k close): a random balanced string, and for odd seeds
    /// one position replaced at random (so the answer varies).
    Dyck(Expr),
    /// A 4x4 Sudoku (values 1..=4, 0 blank): a random solved grid with this many cells blanked.
    Sudoku4(Expr),
    /// All zeros (an array the program fills).
    Zeros,
}

/// A declared array or scalar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArrayDecl {
    /// Its name.
    pub name: String,
    /// Its length (a uniform expression); `None` for a scalar.
    pub len: Option<Expr>,
    /// How it starts: given, generated, or zeros.
    pub init: Generator,
    /// Whether it is a program input (may be given by an input file).
    pub input: bool,
    /// Whether it is allocated by an `alloc` scope (not present for the whole run).
    pub scoped: bool,
    /// Where it is declared.
    pub span: Span,
}

/// The four declared bounds, as expressions in `n` and parameters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Bounds {
    /// Rounds T(n).
    pub rounds: Option<Expr>,
    /// Processors P(n).
    pub processors: Option<Expr>,
    /// Work W(n).
    pub work: Option<Expr>,
    /// Space S(n).
    pub space: Option<Expr>,
}

/// A checked PRAM program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Program {
    /// Its name.
    pub name: String,
    /// The declared access model.
    pub model: AccessModel,
    /// Word size w(n) in bits (at most 63); values live in `-2^(w-1) .. 2^(w-1)`.
    pub word_bits: Expr,
    /// Register names: `n` first, then the parameters, then loop variables (by declaration).
    pub registers: Vec<String>,
    /// Parameters: register and its definition (in terms of earlier registers).
    pub params: Vec<(Register, Expr)>,
    /// Arrays and scalars in declaration order (scoped ones included).
    pub arrays: Vec<ArrayDecl>,
    /// The output region: arrays reported at the end.
    pub outputs: Vec<ArrayId>,
    /// Declared bounds.
    pub bounds: Bounds,
    /// The sequential body.
    pub body: Vec<Stmt>,
    /// The file the program was parsed from (as errors name it).
    #[serde(default)]
    pub file: String,
    /// Where the word size, the parameters and the bounds are declared.
    #[serde(default)]
    pub spans: DeclSpans,
}

/// Where the declarations without a span of their own stand in the source: each names the
/// expression's first token.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeclSpans {
    /// The word size.
    pub word: Span,
    /// Each parameter, in the order of `Program::params`.
    pub params: Vec<Span>,
    /// The rounds, processors, work and space bounds, in that order.
    pub bounds: [Span; 4],
}

impl Program {
    /// The array with this name.
    pub fn array_named(&self, name: &str) -> Option<ArrayId> {
        self.arrays
            .iter()
            .position(|a| a.name == name)
            .map(|i| i as ArrayId)
    }
}
