//! The interpreter: the specification of every program. Sets up memory, walks the sequential
//! statements (one round, one processor each) and runs each `pardo` through `round::run_round`.

use std::collections::BTreeMap;

use super::error::SetupError;
use super::input::{self, Stream};
use super::lower::{lower, Code};
use super::outcome::{
    ActiveCounts, Fault, FaultKind, Limit, Metric, Metrics, Outcome, RunReport, Value,
};
use super::program::{AccessModel, Expr, Generator, Program, Round, Span, Stmt};
use super::round::{run_round, Memory, ReadRecord, RoundSetup, WriteRecord};
use super::word::Word;

/// The largest `n` accepted (sizes beyond it are a setup error, not a hang).
pub const MAX_N: i64 = 1 << 40;

/// How to run a program.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The size.
    pub n: i64,
    /// Seed of generated inputs and of CRCW-arbitrary winners.
    pub seed: u64,
    /// Overrides the program's access model.
    pub model: Option<AccessModel>,
    /// The most rounds before stopping.
    pub max_rounds: u64,
    /// The most processors in one round.
    pub max_processors: u64,
    /// The most shared-memory cells in use.
    pub max_cells: u64,
    /// The most total work W (processors summed over rounds) of a run.
    pub max_work: u64,
    /// The most cells allocated by `alloc` scopes over a whole run (a scope entered k times
    /// counts k times).
    pub max_allocated: u64,
    /// Inputs given explicitly (others are generated).
    pub inputs: BTreeMap<String, Vec<i64>>,
    /// Execute each round's processors one by one in an order shuffled by this seed (for tests:
    /// the result must be the same as without).
    pub shuffle: Option<u64>,
}

impl RunConfig {
    /// Defaults for size `n`: seed 1, the program's model, limits of 10^7 rounds, 2^26
    /// processors, 2^27 cells, 2^33 total work and 2^33 allocated cells.
    pub fn new(n: i64) -> Self {
        RunConfig {
            n,
            seed: 1,
            model: None,
            max_rounds: 10_000_000,
            max_processors: 1 << 26,
            max_cells: 1 << 27,
            max_work: 1 << 33,
            max_allocated: 1 << 33,
            inputs: BTreeMap::new(),
            shuffle: None,
        }
    }
}

/// The accesses of one round, for `--trace`.
#[derive(Debug, Clone)]
pub struct TraceRound {
    /// Round number (1-based).
    pub round: u64,
    /// Active processors.
    pub active: u64,
    /// Source line of the statement or pardo.
    pub line: u32,
    /// Reads (address, value, processor, line).
    pub reads: Vec<ReadRecord>,
    /// Applied writes.
    pub writes: Vec<WriteRecord>,
    /// Shared-memory cells in use during the round (static cells and open scopes).
    pub space: u64,
    /// The fewest cells in use since the previous round (scopes left before entering others).
    pub low: u64,
    /// Whether the round faulted or violated the access model: then it is the run's last round,
    /// its writes were not applied (`writes` is empty) and its reads are not recorded, but the
    /// memory it ran with (`space`, `low`: scopes entered for it) is.
    pub failed: bool,
    /// The registers (`n`, parameters, loop variables, in `Program::registers` order) while the
    /// round ran.
    pub registers: Vec<i64>,
}

/// Runs `program` under `config`.
pub fn run(program: &Program, config: &RunConfig) -> Result<RunReport, SetupError> {
    run_traced(program, config, None)
}

/// Runs `program`, handing every round's accesses to `trace` when given.
pub fn run_traced(
    program: &Program,
    config: &RunConfig,
    trace: Option<&mut dyn FnMut(TraceRound)>,
) -> Result<RunReport, SetupError> {
    let mut m = Interpreter::new(program, config, trace)?;
    let stopped = m.block(&program.body).err();
    // A round that was counted and then faulted or violated is recorded too (its scopes were
    // entered for it, so the memory it ran with belongs to the run).
    // Its space is taken when it was counted: a scope the fault leaves has been freed since.
    if let (Some(Outcome::Fault(_) | Outcome::Violation(_)), Some((active, line, space))) =
        (&stopped, m.pending.take())
    {
        m.record(active, line, space, Vec::new(), Vec::new(), true);
    }
    let outcome = match stopped {
        Some(o) => o,
        None => m.check_bounds(),
    };
    let output = program
        .outputs
        .iter()
        .map(|&a| {
            let a = a as usize;
            let base = m.mem.base[a] as usize;
            let cells = &m.mem.cells[base..base + m.mem.len[a] as usize];
            let value = if program.arrays[a].len.is_none() {
                Value::Scalar(cells[0])
            } else {
                Value::Array(cells.to_vec())
            };
            (program.arrays[a].name.clone(), value)
        })
        .collect();
    Ok(RunReport {
        outcome,
        output,
        metrics: m.metrics,
        active: m.active,
    })
}

/// What a run starts from, before its first round: memory (inputs given or generated, other
/// cells zero), array places, the word range, registers (n and parameters; loop variables 0), the
/// declared bounds at n, and the access model. The compiled schedules take their constants and
/// their canvas from here.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Initial cells of the static arrays.
    pub cells: Vec<i64>,
    /// Base address of each array (0 for scoped arrays).
    pub base: Vec<u64>,
    /// Length of each array (0 for scoped arrays).
    pub len: Vec<u64>,
    /// Smallest word value.
    pub word_min: i64,
    /// Largest word value.
    pub word_max: i64,
    /// Register values.
    pub registers: Vec<i64>,
    /// The declared bounds at n, in the order the interpreter checks them.
    pub bounds: Vec<(Metric, i64)>,
    /// The access model in force.
    pub model: AccessModel,
}

/// The set-up of a run of `program` under `config` (what [`run`] starts from).
pub fn setup(program: &Program, config: &RunConfig) -> Result<Setup, SetupError> {
    let m = Interpreter::new(program, config, None)?;
    Ok(Setup {
        cells: m.mem.cells,
        base: m.mem.base,
        len: m.mem.len,
        word_min: m.word.min,
        word_max: m.word.max,
        registers: m.regs,
        bounds: m.bounds,
        model: m.model,
    })
}

/// The input arrays a run of `program` under `config` starts from (given or generated), by name:
/// what an independent reference implementation needs to compute the expected output.
pub fn inputs(
    program: &Program,
    config: &RunConfig,
) -> Result<BTreeMap<String, Vec<i64>>, SetupError> {
    let m = Interpreter::new(program, config, None)?;
    Ok(program
        .arrays
        .iter()
        .enumerate()
        .filter(|(_, a)| a.input)
        .map(|(id, a)| {
            let base = m.mem.base[id] as usize;
            let len = m.mem.len[id] as usize;
            (a.name.clone(), m.mem.cells[base..base + len].to_vec())
        })
        .collect())
}

/// Evaluates a uniform expression (no memory) at given registers, for declarations.
fn uniform(e: &Expr, regs: &[i64], word: Word) -> Result<i64, FaultKind> {
    match e {
        Expr::Const(v) => Ok(*v),
        Expr::Reg(r) => Ok(regs[*r as usize]),
        Expr::Un(op, a) => word.un(*op, uniform(a, regs, word)?),
        Expr::Bin(op, a, b) => word.bin(*op, uniform(a, regs, word)?, uniform(b, regs, word)?),
        Expr::Local(_) | Expr::Read { .. } => Ok(0),
    }
}

/// Declarations are evaluated with 63-bit words: they are the machine's shape, not its data.
const WIDE: Word = Word {
    min: i64::MIN / 2,
    max: i64::MAX / 2,
};

struct Interpreter<'a, 't> {
    program: &'a Program,
    config: &'a RunConfig,
    model: AccessModel,
    word: Word,
    regs: Vec<i64>,
    mem: Memory,
    /// Lowered rounds (hoisted and plain), by the address of their `Round` in the program
    /// (lowered once).
    codes: BTreeMap<*const Round, std::rc::Rc<(Code, Code)>>,
    metrics: Metrics,
    active: ActiveCounts,
    /// The declared bounds evaluated at n.
    bounds: Vec<(Metric, i64)>,
    trace: Option<&'t mut dyn FnMut(TraceRound)>,
    /// The fewest cells in use since the last round was emitted.
    low: u64,
    /// Cells allocated by `alloc` scopes so far.
    allocated: u64,
    /// The round counted last and not yet recorded: (active processors, line, cells in use).
    pending: Option<(u64, u32, u64)>,
}

type Step = Result<(), Outcome>;

impl<'a, 't> Interpreter<'a, 't> {
    fn new(
        program: &'a Program,
        config: &'a RunConfig,
        trace: Option<&'t mut dyn FnMut(TraceRound)>,
    ) -> Result<Self, SetupError> {
        if !(1..=MAX_N).contains(&config.n) {
            return Err(SetupError::SizeOutOfRange {
                n: config.n,
                min: 1,
                max: MAX_N,
            });
        }
        let decl = |what: &str, span: Span, why: String| SetupError::Declaration {
            what: what.to_string(),
            file: program.file.clone(),
            span,
            why,
        };
        let mut regs = vec![0i64; program.registers.len()];
        regs[0] = config.n;
        for (k, (r, e)) in program.params.iter().enumerate() {
            regs[*r as usize] = uniform(e, &regs, WIDE).map_err(|fault| {
                decl(
                    &format!("parameter `{}`", program.registers[*r as usize]),
                    program.spans.params.get(k).copied().unwrap_or_default(),
                    fault.to_string(),
                )
            })?;
        }
        let at = program.spans.word;
        let bits = uniform(&program.word_bits, &regs, WIDE)
            .map_err(|k| decl("the word size", at, k.to_string()))?;
        let word = Word::new(bits).ok_or_else(|| {
            decl(
                "the word size",
                at,
                format!("{bits} bits; expected 2 to 63"),
            )
        })?;
        // Every static array's length first, so that the cell limit is checked before any input
        // is generated.
        let mut lens: Vec<Option<u64>> = Vec::with_capacity(program.arrays.len());
        let mut top: u64 = 0;
        for a in &program.arrays {
            if a.scoped {
                lens.push(None);
                continue;
            }
            let len = match &a.len {
                None => 1,
                Some(e) => uniform(e, &regs, WIDE).map_err(|k| {
                    decl(
                        &format!("the length of `{}`", a.name),
                        a.span,
                        k.to_string(),
                    )
                })?,
            };
            if len < 0 {
                return Err(decl(
                    &format!("the length of `{}`", a.name),
                    a.span,
                    format!("it is negative ({len})"),
                ));
            }
            let len = len as u64;
            top = top.saturating_add(len);
            lens.push(Some(len));
        }
        if top > config.max_cells {
            return Err(SetupError::TooManyCells {
                cells: top,
                limit: config.max_cells,
            });
        }
        let mut mem = Memory::default();
        // Every static cell at once (`top` is within `max_cells`), so that memory is not regrown.
        mem.cells.reserve_exact(top as usize);
        let mut top: u64 = 0;
        for (id, (a, len)) in program.arrays.iter().zip(lens).enumerate() {
            mem.names.push(a.name.clone());
            let Some(len) = len else {
                mem.base.push(0);
                mem.len.push(0);
                continue;
            };
            let values = match config.inputs.get(&a.name) {
                Some(given) if a.input => {
                    if given.len() as u64 != len {
                        return Err(SetupError::Input(format!(
                            "`{}` has {} values; the program declares {len} at n = {}",
                            a.name,
                            given.len(),
                            config.n
                        )));
                    }
                    if let Some(v) = given.iter().find(|&&v| word.fit(v).is_err()) {
                        return Err(SetupError::Input(format!(
                            "`{}` holds {v}, outside the {bits}-bit word",
                            a.name
                        )));
                    }
                    given.clone()
                }
                _ => {
                    let what = format!("the generator of `{}`", a.name);
                    let values = generate(&a.init, len as usize, &regs, config.seed, id as u64)
                        .map_err(|why| decl(&what, a.span, why))?;
                    if let Some(v) = values.iter().find(|&&v| word.fit(v).is_err()) {
                        return Err(decl(
                            &what,
                            a.span,
                            format!("it produced {v}, outside the {bits}-bit word"),
                        ));
                    }
                    values
                }
            };
            mem.base.push(top);
            mem.len.push(len);
            mem.cells.extend(values);
            top += len;
        }
        if let Some(name) = config
            .inputs
            .keys()
            .find(|k| !program.arrays.iter().any(|a| a.input && &a.name == *k))
        {
            return Err(SetupError::Input(format!(
                "`{name}` is not an input of {}",
                program.name
            )));
        }
        let bounds = declared_bounds(program, &regs)?;
        let metrics = Metrics {
            space: top,
            ..Metrics::default()
        };
        Ok(Interpreter {
            program,
            config,
            model: config.model.unwrap_or(program.model),
            word,
            regs,
            mem,
            codes: BTreeMap::new(),
            metrics,
            active: ActiveCounts::default(),
            bounds,
            trace,
            low: top,
            allocated: 0,
            pending: None,
        })
    }

    /// Counts one round with `active` processors, unless the round limit is reached.
    fn count_round(&mut self, active: u64, line: u32) -> Step {
        if self.metrics.rounds >= self.config.max_rounds {
            return Err(Outcome::Limit {
                limit: Limit::MaxRounds,
                value: self.config.max_rounds,
                round: self.metrics.rounds + 1,
                line,
            });
        }
        if self.metrics.work.saturating_add(active) > self.config.max_work {
            return Err(Outcome::Limit {
                limit: Limit::MaxPramWork,
                value: self.config.max_work,
                round: self.metrics.rounds + 1,
                line,
            });
        }
        self.check_bounds_before(active)?;
        self.metrics.rounds += 1;
        self.pending = Some((active, line, self.mem.cells.len() as u64));
        self.metrics.work += active;
        self.metrics.processors = self.metrics.processors.max(active);
        self.active.push(active);
        Ok(())
    }

    fn fault(&self, kind: FaultKind, line: u32) -> Outcome {
        Outcome::Fault(Fault {
            kind,
            round: self.metrics.rounds,
            processor: 0,
            line,
        })
    }

    /// Evaluates an expression of a sequential statement (reads by processor 0).
    fn eval(&self, e: &Expr, line: u32, reads: &mut Vec<ReadRecord>) -> Result<i64, Outcome> {
        let w = self.word;
        let r = match e {
            Expr::Const(v) => w.fit(*v),
            Expr::Reg(r) => Ok(self.regs[*r as usize]),
            Expr::Local(_) => Ok(0),
            Expr::Read { array, index } => {
                let i = self.eval(index, line, reads)?;
                self.mem.address(*array, i).map(|addr| {
                    let value = self.mem.cells[addr as usize];
                    if self.trace.is_some() {
                        reads.push(ReadRecord {
                            addr,
                            pid: 0,
                            value,
                            line,
                        });
                    }
                    value
                })
            }
            Expr::Un(op, a) => {
                let a = self.eval(a, line, reads)?;
                w.un(*op, a)
            }
            Expr::Bin(op, a, b) => {
                let a = self.eval(a, line, reads)?;
                let b = self.eval(b, line, reads)?;
                w.bin(*op, a, b)
            }
        };
        r.map_err(|k| self.fault(k, line))
    }

    /// A sequential round: counts it, evaluates `e`, records its reads.
    fn test(&mut self, e: &Expr, line: u32) -> Result<i64, Outcome> {
        self.count_round(1, line)?;
        let mut reads = Vec::new();
        let v = self.eval(e, line, &mut reads)?;
        self.emit(1, line, reads, Vec::new());
        Ok(v)
    }

    fn emit(&mut self, active: u64, line: u32, reads: Vec<ReadRecord>, writes: Vec<WriteRecord>) {
        let space = self.mem.cells.len() as u64;
        self.record(active, line, space, reads, writes, false);
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        active: u64,
        line: u32,
        space: u64,
        reads: Vec<ReadRecord>,
        writes: Vec<WriteRecord>,
        failed: bool,
    ) {
        self.pending = None;
        let round = self.metrics.rounds;
        let low = self.low.min(space);
        self.low = space;
        if let Some(t) = self.trace.as_mut() {
            t(TraceRound {
                round,
                active,
                line,
                reads,
                writes,
                space,
                low,
                failed,
                registers: self.regs.clone(),
            });
        }
    }

    fn block(&mut self, stmts: &'a [Stmt]) -> Step {
        for s in stmts {
            self.stmt(s)?;
        }
        Ok(())
    }

    fn stmt(&mut self, s: &'a Stmt) -> Step {
        match s {
            Stmt::Assign {
                array,
                index,
                value,
                span,
            } => {
                let line = span.line;
                self.count_round(1, line)?;
                let mut reads = Vec::new();
                let i = self.eval(index, line, &mut reads)?;
                let v = self.eval(value, line, &mut reads)?;
                let addr = self
                    .mem
                    .address(*array, i)
                    .map_err(|k| self.fault(k, line))?;
                self.mem.cells[addr as usize] = v;
                let write = WriteRecord {
                    addr,
                    pid: 0,
                    value: v,
                    line,
                    site: 0,
                };
                self.emit(1, line, reads, vec![write]);
            }
            Stmt::If {
                cond,
                then,
                otherwise,
                span,
            } => {
                if self.test(cond, span.line)? != 0 {
                    self.block(then)?;
                } else {
                    self.block(otherwise)?;
                }
            }
            Stmt::For {
                var,
                lo,
                hi,
                body,
                span,
            } => {
                let line = span.line;
                let mut reads = Vec::new();
                let lo = self.eval(lo, line, &mut reads)?;
                let hi = self.eval(hi, line, &mut reads)?;
                let mut k = lo;
                loop {
                    // Every loop test is a round, the failing one included.
                    self.count_round(1, line)?;
                    self.emit(1, line, std::mem::take(&mut reads), Vec::new());
                    if k >= hi {
                        break;
                    }
                    self.regs[*var as usize] = k;
                    self.block(body)?;
                    k += 1;
                }
            }
            Stmt::While { cond, body, span } => {
                while self.test(cond, span.line)? != 0 {
                    self.block(body)?;
                }
            }
            Stmt::Pardo(round) => self.round(round)?,
            Stmt::Alloc {
                array,
                size,
                body,
                span,
            } => {
                let line = span.line;
                let len = self.eval(size, line, &mut Vec::new())?;
                if len < 0 {
                    return Err(self.fault(FaultKind::Domain, line));
                }
                let base = self.mem.cells.len() as u64;
                let len = len as u64;
                if base + len > self.config.max_cells {
                    return Err(Outcome::Limit {
                        limit: Limit::MaxCells,
                        value: self.config.max_cells,
                        round: self.metrics.rounds + 1,
                        line,
                    });
                }
                if let Some(&(_, bound)) = self.bounds.iter().find(|b| b.0 == Metric::Space) {
                    if (base + len) as i128 > bound as i128 {
                        return Err(Outcome::BoundExceeded {
                            metric: Metric::Space,
                            measured: base + len,
                            bound,
                            round: self.metrics.rounds + 1,
                        });
                    }
                }
                if self.allocated.saturating_add(len) > self.config.max_allocated {
                    return Err(Outcome::Limit {
                        limit: Limit::MaxAllocated,
                        value: self.config.max_allocated,
                        round: self.metrics.rounds + 1,
                        line,
                    });
                }
                self.allocated += len;
                let a = *array as usize;
                self.mem.cells.resize((base + len) as usize, 0);
                self.mem.base[a] = base;
                self.mem.len[a] = len;
                self.metrics.space = self.metrics.space.max(base + len);
                let r = self.block(body);
                // Last in, first out: the scope's cells are the top of memory.
                self.mem.cells.truncate(base as usize);
                self.low = self.low.min(base);
                self.mem.len[a] = 0;
                r?;
            }
        }
        Ok(())
    }

    fn round(&mut self, round: &'a Round) -> Step {
        let line = round.span.line;
        let mut ranges = Vec::with_capacity(round.indices.len());
        let mut processors: u64 = 1;
        for (lo, hi) in &round.indices {
            let lo = self.eval(lo, line, &mut Vec::new())?;
            let hi = self.eval(hi, line, &mut Vec::new())?;
            let size = (i128::from(hi) - i128::from(lo)).clamp(0, i128::from(u64::MAX)) as u64;
            processors = processors.saturating_mul(size);
            ranges.push((lo, size));
        }
        if processors > self.config.max_processors {
            return Err(Outcome::Limit {
                limit: Limit::MaxProcessors,
                value: self.config.max_processors,
                round: self.metrics.rounds + 1,
                line,
            });
        }
        self.count_round(processors, line)?;
        let registers = self.program.registers.len() as u32;
        let key = round as *const Round;
        let codes = self
            .codes
            .entry(key)
            .or_insert_with(|| {
                std::rc::Rc::new((
                    lower(round, registers, true),
                    lower(round, registers, false),
                ))
            })
            .clone();
        let setup = RoundSetup {
            code: &codes.0,
            plain: &codes.1,
            registers: &self.regs,
            ranges: &ranges,
            processors,
            word: self.word,
            model: self.model,
            round: self.metrics.rounds,
            seed: self.config.seed,
            trace: self.trace.is_some(),
            shuffle: self.config.shuffle,
        };
        let (stop, accesses) = run_round(&mut self.mem, &setup);
        if let Some(o) = stop {
            return Err(o);
        }
        self.emit(processors, line, accesses.reads, accesses.writes);
        Ok(())
    }

    /// Before a round with `active` processors: the first of rounds, processors and work that
    /// the round would take above its declared bound stops the run (the round is not run).
    fn check_bounds_before(&self, active: u64) -> Step {
        let m = &self.metrics;
        for &(metric, bound) in &self.bounds {
            let after = match metric {
                Metric::Rounds => m.rounds + 1,
                Metric::Processors => active,
                Metric::Work => m.work.saturating_add(active),
                Metric::Space => continue,
            };
            if after as i128 > bound as i128 {
                return Err(Outcome::BoundExceeded {
                    metric,
                    measured: after,
                    bound,
                    round: m.rounds + 1,
                });
            }
        }
        Ok(())
    }

    /// At the end: the first metric above its declared bound, if any. Every bound is checked
    /// before the round or allocation that could exceed it, so this finds none; it stays as a
    /// guard of that invariant.
    fn check_bounds(&self) -> Outcome {
        let m = &self.metrics;
        for &(metric, bound) in &self.bounds {
            let measured = match metric {
                Metric::Rounds => m.rounds,
                Metric::Processors => m.processors,
                Metric::Work => m.work,
                Metric::Space => m.space,
            };
            if measured as i128 > bound as i128 {
                return Outcome::BoundExceeded {
                    metric,
                    measured,
                    bound,
                    round: m.rounds,
                };
            }
        }
        Outcome::Ok
    }
}

/// The declared bounds at these registers, in the order they are checked; evaluated before the
/// run, so that a bound that cannot be evaluated stops it from starting.
fn declared_bounds(program: &Program, regs: &[i64]) -> Result<Vec<(Metric, i64)>, SetupError> {
    let b = &program.bounds;
    let mut out = Vec::new();
    for ((metric, bound), span) in [
        (Metric::Rounds, &b.rounds),
        (Metric::Processors, &b.processors),
        (Metric::Work, &b.work),
        (Metric::Space, &b.space),
    ]
    .into_iter()
    .zip(program.spans.bounds)
    {
        let Some(e) = bound else { continue };
        // A bound past the 63-bit words of declarations (exponential searches at large n) is
        // evaluated exactly; a count of this run, taken one round or cell at a time, can never
        // reach 2^62, so it is held as the largest declaration word without changing any check.
        let value = match uniform(e, regs, WIDE) {
            Ok(v) => v,
            Err(FaultKind::Overflow) => {
                let wide: Vec<num_bigint::BigInt> = regs.iter().map(|&r| r.into()).collect();
                let exact =
                    super::exact::eval(e, &wide).map_err(|why| SetupError::Declaration {
                        what: format!("the {metric} bound"),
                        file: program.file.clone(),
                        span,
                        why,
                    })?;
                if exact > num_bigint::BigInt::from(WIDE.max) {
                    WIDE.max
                } else {
                    // Overflowed on the way, but the value fits (or is below every count).
                    i64::try_from(&exact).unwrap_or(WIDE.min).max(WIDE.min)
                }
            }
            Err(k) => {
                return Err(SetupError::Declaration {
                    what: format!("the {metric} bound"),
                    file: program.file.clone(),
                    span,
                    why: k.to_string(),
                })
            }
        };
        out.push((metric, value));
    }
    Ok(out)
}

fn generate(
    g: &Generator,
    len: usize,
    regs: &[i64],
    seed: u64,
    array: u64,
) -> Result<Vec<i64>, String> {
    let mut s = Stream::new(seed, array);
    let arg = |e: &Expr| uniform(e, regs, WIDE).map_err(|k| k.to_string());
    Ok(match g {
        Generator::Zeros => vec![0; len],
        Generator::Random(lo, hi) => {
            let (lo, hi) = (arg(lo)?, arg(hi)?);
            if lo > hi {
                return Err(format!("random({lo}, {hi}) is an empty range"));
            }
            input::random(&mut s, len, lo, hi)
        }
        Generator::List => input::list(&mut s, len),
        Generator::Tree => input::tree(&mut s, len),
        Generator::Dyck(k) => input::dyck(&mut s, len, arg(k)?, seed % 2 == 1),
        Generator::Sudoku4(blanks) => {
            if len != 16 {
                return Err(format!("sudoku4 fills 16 cells; the array has {len}"));
            }
            input::sudoku4(&mut s, arg(blanks)?)
        }
    })
}
