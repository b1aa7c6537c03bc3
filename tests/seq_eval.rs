//! The seq IR: indexed and naive evaluators agree on random programs; a seq program reproduces a
//! hand-written machine step for step; programs serialize, validate and report their shape.

use apmdm::machine::library::{parity_canvas, ParityEliminator, ParityToken, SplitMix64};
use apmdm::machine::{apply, run, Canvas, ModelClass, RunConfig, Token};
use apmdm::seq::{
    evaluate, evaluate_observed, propose_columns, propose_demanded, range, uniform_nodes, BinaryOp,
    Builder, Cmp, Demand, EvalError, Evaluator, Heads, Op, Prefer, Program, ProgramError, Selector,
    SeqStep, UnaryOp, Value, Word,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

/// Draws from a seeded generator: numbers below a bound, and references to earlier nodes.
struct Draw {
    rng: SplitMix64,
    nodes: usize,
}

impl Draw {
    fn below(&mut self, n: usize) -> usize {
        (self.rng.next_u64() % n as u64) as usize
    }

    fn node(&mut self) -> Value {
        Value(self.below(self.nodes) as u32)
    }

    fn selector(&mut self) -> Selector {
        let cmps = [Cmp::Eq, Cmp::Lt, Cmp::Le, Cmp::Gt, Cmp::Ge];
        let (key, query) = (self.node(), self.node());
        let position = (self.below(2) == 0).then(|| cmps[self.below(5)]);
        let pair = (self.below(3) == 0).then(|| (self.node(), self.node()));
        Selector {
            key,
            query,
            position,
            pair,
        }
    }
}

/// A random well-formed program of `size` nodes over words of 2 fields, drawn from `seed`.
fn random_program(seed: u64, size: usize) -> Program {
    let mut d = Draw {
        rng: SplitMix64(seed),
        nodes: 6,
    };
    let mut b = Builder::new(2);
    b.field(0);
    b.field(1);
    b.is_mask();
    b.index();
    b.length();
    b.constant(1);
    let binaries = [
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Div,
        BinaryOp::Mod,
        BinaryOp::Min,
        BinaryOp::Max,
        BinaryOp::Eq,
        BinaryOp::Lt,
        BinaryOp::And,
        BinaryOp::BitXor,
        BinaryOp::Shr,
    ];
    while d.nodes < size {
        let op = match d.below(7) {
            0 => Op::Unary(
                [UnaryOp::Neg, UnaryOp::Not, UnaryOp::Log2][d.below(3)],
                d.node(),
            ),
            1 | 2 => Op::Binary(binaries[d.below(binaries.len())], d.node(), d.node()),
            3 if d.below(2) == 0 => Op::Select(d.node(), d.node(), d.node()),
            3 => Op::FirstOf {
                cases: (0..1 + d.below(4)).map(|_| (d.node(), d.node())).collect(),
                default: d.node(),
            },
            4 | 5 => {
                let select = d.selector();
                let prefer = match d.below(6) {
                    0 => Prefer::Latest,
                    1 => Prefer::Earliest,
                    2 => Prefer::MaxBy(d.node()),
                    3 => Prefer::MinBy(d.node()),
                    4 => Prefer::MaxByPair(d.node(), d.node()),
                    _ => Prefer::MinByPair(d.node(), d.node()),
                };
                Op::Lookup {
                    select,
                    prefer,
                    value: d.node(),
                    default: d.node(),
                }
            }
            _ => Op::Sum {
                select: d.selector(),
                value: d.node(),
            },
        };
        b.push(op);
        d.nodes += 1;
    }
    let last = Value(d.nodes as u32 - 1);
    b.finish(Heads {
        token: vec![last, Value(0)],
        remask: Value(d.nodes as u32 - 2),
        insert: Value(2),
        delete: last,
    })
    .unwrap()
}

/// A random program shaped like a compiled step function: position-uniform values that change
/// from step to step (the number of masks, the latest mask), the index offset by them, and
/// comparisons, selects, first-ofs and lookups mixing them with token-local values; inserts and
/// deletes never set, so positions never move and token-local values are kept across steps.
fn compiled_like_program(seed: u64, size: usize) -> Program {
    let mut d = Draw {
        rng: SplitMix64(seed),
        nodes: 0,
    };
    let mut b = Builder::new(2);
    let f0 = b.field(0);
    let f1 = b.field(1);
    let mask = b.is_mask();
    let idx = b.index();
    b.length();
    let one = b.constant(1);
    let zero = b.constant(0);
    let masks = b.sum(Selector::eq(one, one), mask);
    let latest = b.lookup(Selector::eq(mask, one), Prefer::Latest, idx, zero);
    let off = b.binary(BinaryOp::Sub, idx, masks);
    let shifted = b.binary(BinaryOp::Add, off, one);
    let local = b.binary(BinaryOp::Add, f0, f1);
    let _ = (latest, shifted);
    d.nodes = local.index() + 1;
    let binaries = [
        BinaryOp::Lt,
        BinaryOp::Le,
        BinaryOp::Eq,
        BinaryOp::Ne,
        BinaryOp::And,
        BinaryOp::Or,
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Min,
    ];
    let mut booleans = vec![mask];
    while d.nodes < size {
        let op = match d.below(6) {
            0..=2 => {
                let op = binaries[d.below(binaries.len())];
                Op::Binary(op, d.node(), d.node())
            }
            3 => Op::Select(booleans[d.below(booleans.len())], d.node(), d.node()),
            4 => Op::FirstOf {
                cases: (0..1 + d.below(3))
                    .map(|_| (booleans[d.below(booleans.len())], d.node()))
                    .collect(),
                default: d.node(),
            },
            _ => {
                let mut select = d.selector();
                if d.below(2) == 0 {
                    select.position = None;
                }
                let prefer =
                    [Prefer::Latest, Prefer::Earliest, Prefer::MaxBy(d.node())][d.below(3)];
                Op::Lookup {
                    select,
                    prefer,
                    value: d.node(),
                    default: d.node(),
                }
            }
        };
        let comparison = matches!(
            op,
            Op::Binary(
                BinaryOp::Lt
                    | BinaryOp::Le
                    | BinaryOp::Eq
                    | BinaryOp::Ne
                    | BinaryOp::And
                    | BinaryOp::Or,
                ..
            )
        );
        let v = b.push(op);
        if comparison {
            booleans.push(v);
        }
        d.nodes = v.index() + 1;
    }
    let last = Value(d.nodes as u32 - 1);
    let remask = *booleans.last().unwrap_or(&mask);
    b.finish(Heads {
        token: vec![last, f0],
        remask,
        insert: zero,
        delete: zero,
    })
    .unwrap()
}

/// Appends `op` to `p` (with `range` when `p` has ranges) and returns its value.
fn push_node(p: &mut Program, op: Op, range: (i64, i64)) -> Value {
    p.nodes.push(op);
    if !p.ranges.is_empty() {
        p.ranges.push(range);
    }
    Value(p.nodes.len() as u32 - 1)
}

/// A random canvas of words with small fields (so sums stay far from overflow) and masks.
fn random_canvas(seed: u64, len: usize) -> Vec<Token<Word>> {
    let mut rng = SplitMix64(seed);
    (0..len)
        .map(|_| match rng.next_u64() % 4 {
            0 => Token::Mask,
            _ => Token::Sym(Word(vec![
                (rng.next_u64() % 5) as i64,
                (rng.next_u64() % 7) as i64 - 3,
            ])),
        })
        .collect()
}

/// The most nodes live at once while `p` is evaluated in node order: node v is live from its
/// own evaluation through its last reader's (through the end for a head), so during node k's
/// evaluation the live nodes are those v <= k whose interval reaches k.
/// The most simultaneously live nodes that hold a column (`uniform[v]`: node v holds one value).
fn most_live_nodes(p: &Program, uniform: &[bool]) -> usize {
    let n = p.nodes.len();
    let mut end: Vec<usize> = (0..n).collect();
    for (k, op) in p.nodes.iter().enumerate() {
        for v in op.inputs() {
            end[v.index()] = end[v.index()].max(k);
        }
    }
    let h = &p.heads;
    for v in h.token.iter().chain([&h.remask, &h.insert, &h.delete]) {
        end[v.index()] = n;
    }
    (0..n)
        .map(|k| (0..=k).filter(|&v| end[v] >= k && !uniform[v]).count())
        .max()
        .unwrap_or(0)
}

proptest! {
    #![proptest_config(Config {
        cases: 300,
        rng_seed: RngSeed::Fixed(0x0005_E01D),
        failure_persistence: None,
        ..Config::default()
    })]

    #[test]
    fn indexed_and_naive_evaluators_agree(seed in any::<u64>(), size in 7usize..40, len in 0usize..24) {
        let p = random_program(seed, size);
        let x = random_canvas(seed ^ 0xABCD, len);
        let naive = evaluate(&p, &x, Evaluator::Naive);
        let indexed = evaluate(&p, &x, Evaluator::Indexed);
        match (&naive, &indexed) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
            (Err(EvalError::Overflow { .. }), Err(EvalError::Overflow { .. })) => {}
            _ => prop_assert!(false, "evaluators disagree: {:?} vs {:?}", naive, indexed),
        }
    }

    #[test]
    fn demanded_proposals_give_g_the_same_next_sequence(seed in any::<u64>(), size in 7usize..40, len in 0usize..24) {
        let x = random_canvas(seed ^ 0xABCD, len);
        // As drawn, and with remask and delete never set, so g reads the token at every mask
        // and every node only the token heads read is computed in the late pass.
        let drawn = random_program(seed, size);
        let mut unmasking = drawn.clone();
        let zero = push_node(&mut unmasking, Op::Const(0), (0, 0));
        unmasking.heads.remask = zero;
        unmasking.heads.delete = zero;
        for p in [drawn, unmasking] {
        let demand = Demand::of(&p);
        let (everywhere, late, nowhere) = demand.counts();
        prop_assert_eq!(everywhere + late + nowhere, p.nodes.len());
        match (propose_columns(&p, &x, Evaluator::Indexed), propose_demanded(&p, &demand, &x)) {
            (Ok((full, widest_full, _)), Ok((lazy, widest_lazy, _))) => {
                // The bits everywhere; the token where g reads it (a mask, neither remasked nor
                // deleted), an empty word elsewhere.
                prop_assert_eq!(&full.bits, &lazy.bits);
                for (i, t) in x.iter().enumerate() {
                    let b = full.bits[i];
                    if t.is_mask() && !b.remask && !b.delete {
                        prop_assert_eq!(&full.tokens[i], &lazy.tokens[i]);
                    } else {
                        prop_assert!(lazy.tokens[i].0.is_empty());
                    }
                }
                prop_assert!(widest_lazy <= widest_full);
                let canvas: Canvas<Word, ()> = Canvas::new(x.clone());
                let a = apply(&canvas, &full.tokens, &full.bits).unwrap();
                let b = apply(&canvas, &lazy.tokens, &lazy.bits).unwrap();
                prop_assert_eq!(a.next, b.next);
                prop_assert_eq!(a.actions, b.actions);
            }
            // Computing less, it may miss an error at a value nothing reads.
            (Err(_), _) => {}
            (Ok(_), Err(e)) => prop_assert!(false, "demanded evaluation failed alone: {e}"),
        }
        }
    }

    #[test]
    fn incremental_runs_equal_demanded_runs_step_for_step(seed in any::<u64>(), size in 7usize..40, len in 0usize..24) {
        let x = random_canvas(seed ^ 0xABCD, len);
        // As drawn (inserts and deletes move positions: every step rebuilds), with inserts and
        // deletes never set (the remask bit drawn: token-local values kept and updated where
        // the canvas changed), and with the remask bit drawn from the position's own token.
        let drawn = random_program(seed, size);
        let mut kept = drawn.clone();
        let zero = push_node(&mut kept, Op::Const(0), (0, 0));
        kept.heads.insert = zero;
        kept.heads.delete = zero;
        let mut local = kept.clone();
        local.heads.remask = push_node(&mut local, Op::Binary(BinaryOp::Lt, Value(3), Value(1)), (0, 1));
        let shaped = compiled_like_program(seed, size + 12);
        for p in [drawn, kept, local, shaped] {
            let config = RunConfig::new(ModelClass::ApMdm).max_steps(6).max_length(200);
            let mut a = SeqStep::demanded(p.clone());
            let mut b = SeqStep::incremental(p.clone());
            let ra = run(&mut a, Canvas::<Word, ()>::new(x.clone()), &config);
            let rb = run(&mut b, Canvas::<Word, ()>::new(x.clone()), &config);
            match (ra.stop.error(), rb.stop.error()) {
                (None, None) => {
                    prop_assert_eq!(&ra.last, &rb.last);
                    prop_assert_eq!(ra.steps(), rb.steps());
                    prop_assert_eq!(format!("{:?}", ra.stop), format!("{:?}", rb.stop));
                    for (s, t) in ra.trace.records.iter().zip(&rb.trace.records) {
                        prop_assert_eq!(s.counts, t.counts);
                        prop_assert_eq!(s.length, t.length);
                    }
                    prop_assert!(b.widest <= a.widest);
                }
                // An error (an overflow) may be found at another node first, but both find one.
                (Some(_), Some(_)) => prop_assert_eq!(ra.steps(), rb.steps()),
                (ea, eb) => prop_assert!(false, "one run failed alone: {:?} vs {:?}", ea, eb),
            }
        }
    }

    #[test]
    fn applying_in_place_equals_apply(seed in any::<u64>(), len in 0usize..24) {
        // The runner applies a step that moves no position in place; with a full trace it
        // uses `apply`. Both runs must be the same.
        let x = random_canvas(seed ^ 0x5EED, len);
        let p = random_program(seed, 24);
        let mut q = p.clone();
        let zero = push_node(&mut q, Op::Const(0), (0, 0));
        q.heads.insert = zero;
        q.heads.delete = zero;
        for p in [p, q] {
            let summary = RunConfig::new(ModelClass::ApMdm).max_steps(5).max_length(200);
            let full = summary.clone().full_trace();
            let ra = run(&mut SeqStep::new(p.clone(), Evaluator::Indexed), Canvas::<Word, ()>::new(x.clone()), &summary);
            let rb = run(&mut SeqStep::new(p.clone(), Evaluator::Indexed), Canvas::<Word, ()>::new(x.clone()), &full);
            prop_assert_eq!(&ra.last, &rb.last);
            prop_assert_eq!(format!("{:?}", ra.stop), format!("{:?}", rb.stop));
            prop_assert_eq!(ra.steps(), rb.steps());
            for (s, t) in ra.trace.records.iter().zip(&rb.trace.records) {
                prop_assert_eq!(s.counts, t.counts);
                prop_assert_eq!(s.length, t.length);
            }
        }
    }

    #[test]
    fn proposals_keep_only_live_columns_and_equal_the_full_evaluation(seed in any::<u64>(), size in 7usize..40, len in 0usize..24) {
        let p = random_program(seed, size);
        let x = random_canvas(seed ^ 0xABCD, len);
        for ev in [Evaluator::Naive, Evaluator::Indexed] {
            match (evaluate(&p, &x, ev), propose_columns(&p, &x, ev)) {
                (Ok(values), Ok((proposal, _, used))) => {
                    let uniform = uniform_nodes(&p, &x, ev).unwrap();
                    if ev == Evaluator::Naive || len == 0 {
                        prop_assert!(uniform.iter().all(|&u| !u));
                    }
                    // A node held as one value has that value at every position.
                    for (v, _) in uniform.iter().enumerate().filter(|(_, &u)| u) {
                        prop_assert!(values[v].iter().all(|&a| a == values[v][0]));
                    }
                    let most = most_live_nodes(&p, &uniform);
                    let h = &p.heads;
                    prop_assert_eq!(proposal.tokens.len(), len);
                    prop_assert_eq!(proposal.bits.len(), len);
                    for (i, (word, bits)) in proposal.tokens.iter().zip(&proposal.bits).enumerate() {
                        let token: Vec<i64> = h.token.iter().map(|v| values[v.index()][i]).collect();
                        prop_assert_eq!(&word.0, &token);
                        prop_assert_eq!(bits.remask, values[h.remask.index()][i] != 0);
                        prop_assert_eq!(bits.insert, values[h.insert.index()][i] != 0);
                        prop_assert_eq!(bits.delete, values[h.delete.index()][i] != 0);
                    }
                    prop_assert_eq!(used.len, len);
                    prop_assert_eq!(used.peak_columns, most);
                    prop_assert_eq!(used.peak_bytes(), 8 * len as u64 * most as u64);
                    prop_assert_eq!(used.bytes_per_position(), 8 * most as u64);
                }
                (Err(a), Err(b)) => prop_assert_eq!(a, b),
                (a, b) => prop_assert!(false, "{:?}: full {:?} vs live {:?}", ev, a.err(), b.err()),
            }
        }
    }

    #[test]
    fn inferred_ranges_hold_at_every_node_and_position(seed in any::<u64>(), size in 7usize..40, len in 0usize..24) {
        let mut p = random_program(seed, size);
        // The canvas's fields are drawn from 0..=4 and -3..=3.
        p.ranges = range::infer(&p.nodes, &[], &[(0, 4), (-3, 3)], len as i64);
        prop_assert!(p.validate().is_ok());
        let x = random_canvas(seed ^ 0xABCD, len);
        for ev in [Evaluator::Naive, Evaluator::Indexed] {
            match evaluate_observed(&p, &x, ev) {
                Ok((_, widest)) => prop_assert!(widest <= p.shape().width_bits),
                Err(EvalError::Overflow { .. }) => {}
                Err(e) => prop_assert!(false, "{:?}: {}", ev, e),
            }
        }
    }
}

#[test]
fn a_value_outside_its_declared_range_is_an_error_naming_node_and_position() {
    let mut b = Builder::new(1);
    let f = b.field(0);
    let one = b.constant(1);
    let s = b.binary(BinaryOp::Add, f, one);
    // Claims the field stays below 3, so s stays below 4: false where the field is 5.
    b.declare(s, (1, 3));
    let p = b
        .finish_ranged(
            Heads {
                token: vec![s],
                remask: one,
                insert: one,
                delete: one,
            },
            &[(0, 2)],
            8,
        )
        .unwrap();
    assert_eq!(p.ranges[s.index()], (1, 3));
    let word = |v: i64| Token::Sym(Word(vec![v]));
    let x = vec![word(1), Token::Mask, word(5), word(2)];
    for ev in [Evaluator::Naive, Evaluator::Indexed] {
        // The field node itself is out of its range (0..=3, the head's hull) first.
        let e = evaluate(&p, &x, ev).unwrap_err();
        assert_eq!(
            e,
            EvalError::OutOfRange {
                node: f.index(),
                position: 2,
                value: 5,
                lo: 0,
                hi: 3,
            },
            "{ev:?}"
        );
        assert!(e.to_string().contains("node 0") && e.to_string().contains("position 2"));
    }
    let x = vec![word(1), Token::Mask, word(2)];
    for ev in [Evaluator::Naive, Evaluator::Indexed] {
        let (values, widest) = evaluate_observed(&p, &x, ev).unwrap();
        assert_eq!(values[s.index()], vec![2, 1, 3]);
        assert_eq!(widest, 2);
    }
    // Fed to the runner, the error names the step too.
    let mut f = SeqStep::new(p, Evaluator::Indexed);
    let mut canvas = vec![word(1), word(3)];
    canvas.push(Token::Mask);
    let x0: Canvas<Word> = Canvas::new(canvas);
    let r = run(&mut f, x0, &RunConfig::new(ModelClass::Mdm).max_steps(4));
    let why = r.stop.error().expect("out of range").to_string();
    assert!(
        why.contains("step") && why.contains("outside its range"),
        "{why}"
    );
}

/// The parity eliminator written as a seq program over one-field words:
/// 0 and 1 are bits, 2 is BOS, 4 is EOS; a mask reads as kind 3 and an absent position as 5.
fn parity_program() -> Program {
    let mut b = Builder::new(1);
    let field = b.field(0);
    let mask = b.is_mask();
    let three = b.constant(3);
    let kind = b.select(mask, three, field);
    let index = b.index();
    let absent = b.constant(5);
    let kind_at = |b: &mut Builder, k: i64| {
        let position = b.constant(k);
        let select = Selector {
            key: index,
            query: position,
            position: None,
            pair: None,
        };
        b.lookup(select, Prefer::Latest, kind, absent)
    };
    let a = kind_at(&mut b, 1);
    let c = kind_at(&mut b, 2);
    let [zero, one, two] = [0, 1, 2].map(|k| b.constant(k));
    let is = |b: &mut Builder, v: Value, k: Value| b.binary(BinaryOp::Eq, v, k);
    let slot = |b: &mut Builder, v: Value| {
        let bit = b.binary(BinaryOp::Le, v, one);
        let m = b.binary(BinaryOp::Eq, v, three);
        b.binary(BinaryOp::Or, bit, m)
    };
    let a_mask = is(&mut b, a, three);
    let c_mask = is(&mut b, c, three);
    let c_slot = slot(&mut b, c);
    let a_bit = b.binary(BinaryOp::Le, a, one);
    let c_bit = b.binary(BinaryOp::Le, c, one);
    // delete position 1 if it is a mask; position 2 if it is a mask after a mask or a bit.
    let del1 = a_mask;
    let a_slot = slot(&mut b, a);
    let del2 = b.binary(BinaryOp::And, a_slot, c_mask);
    // remask: 0 1 -> first; 1 0 -> second; equal bits -> both; a lone 0 -> first.
    let both_bits = b.binary(BinaryOp::And, a_bit, c_bit);
    let a0 = is(&mut b, a, zero);
    let a1 = is(&mut b, a, one);
    let c0 = is(&mut b, c, zero);
    let c1 = is(&mut b, c, one);
    let ab_equal = b.binary(BinaryOp::Eq, a, c);
    let equal_bits = b.binary(BinaryOp::And, both_bits, ab_equal);
    let zero_one = b.binary(BinaryOp::And, a0, c1);
    let one_zero = b.binary(BinaryOp::And, a1, c0);
    let c_none = b.unary(UnaryOp::Not, c_slot);
    let lone_zero = b.binary(BinaryOp::And, a0, c_none);
    let rem1_a = b.binary(BinaryOp::Or, zero_one, equal_bits);
    let rem1 = b.binary(BinaryOp::Or, rem1_a, lone_zero);
    let rem2 = b.binary(BinaryOp::Or, one_zero, equal_bits);
    let at1 = is(&mut b, index, one);
    let at2 = is(&mut b, index, two);
    let both = |b: &mut Builder, p: Value, q: Value| b.binary(BinaryOp::And, p, q);
    let r1 = both(&mut b, at1, rem1);
    let r2 = both(&mut b, at2, rem2);
    let remask = b.binary(BinaryOp::Or, r1, r2);
    let d1 = both(&mut b, at1, del1);
    let d2 = both(&mut b, at2, del2);
    let delete = b.binary(BinaryOp::Or, d1, d2);
    b.finish(Heads {
        token: vec![zero],
        remask,
        insert: zero,
        delete,
    })
    .unwrap()
}

fn encode(t: &Token<ParityToken>) -> Token<Word> {
    match t {
        Token::Mask => Token::Mask,
        Token::Sym(p) => Token::Sym(Word(vec![match p {
            ParityToken::Zero => 0,
            ParityToken::One => 1,
            ParityToken::Bos => 2,
            ParityToken::Eos => 4,
        }])),
    }
}

#[test]
fn a_seq_program_reproduces_the_hand_written_parity_machine_step_for_step() {
    let program = parity_program();
    let shape = program.shape();
    assert_eq!((shape.attention, shape.attention_depth), (2, 1));
    let mut rng = SplitMix64(99);
    for len in [0, 1, 2, 3, 5, 8, 13, 40, 101] {
        let bits = rng.bits(len);
        let cfg = RunConfig::new(ModelClass::ApMdm).full_trace();
        let reference = run(&mut ParityEliminator, parity_canvas(&bits), &cfg);
        let reference_states: Vec<Vec<Token<Word>>> = reference
            .trace
            .states()
            .unwrap()
            .iter()
            .map(|c| c.tokens().iter().map(encode).collect())
            .collect();
        for evaluator in [Evaluator::Indexed, Evaluator::Naive] {
            let mut f = SeqStep::new(program.clone(), evaluator);
            let x0: Canvas<Word> =
                Canvas::new(parity_canvas(&bits).tokens().iter().map(encode).collect());
            let cfg_words = RunConfig::new(ModelClass::ApMdm).full_trace();
            let r = run(&mut f, x0, &cfg_words);
            assert_eq!(r.stop, reference.stop);
            let states: Vec<Vec<Token<Word>>> = r
                .trace
                .states()
                .unwrap()
                .iter()
                .map(|c| c.tokens().to_vec())
                .collect();
            assert_eq!(states, reference_states, "length {len}, {evaluator:?}");
        }
    }
}

#[test]
fn programs_round_trip_through_json_byte_for_byte() {
    let p = parity_program();
    let text = serde_json::to_string(&p).unwrap();
    let back: Program = serde_json::from_str(&text).unwrap();
    assert_eq!(back, p);
    assert_eq!(serde_json::to_string(&back).unwrap(), text);
}

#[test]
fn malformed_programs_are_rejected_with_the_offending_node() {
    let mut b = Builder::new(1);
    let zero = b.constant(0);
    b.push(Op::Binary(BinaryOp::Add, zero, Value(5)));
    let heads = Heads {
        token: vec![zero],
        remask: zero,
        insert: zero,
        delete: zero,
    };
    assert_eq!(
        b.clone().finish(heads.clone()).unwrap_err(),
        ProgramError::ForwardReference { node: 1, input: 5 }
    );
    let mut b = Builder::new(1);
    let f = b.field(3);
    assert!(matches!(
        b.finish(Heads {
            token: vec![f],
            ..heads.clone()
        }),
        Err(ProgramError::OutOfRange { index: 3, .. })
    ));
    let b = Builder::new(2);
    assert!(b.finish(heads).is_err());
}

#[test]
fn evaluation_errors_name_the_node_and_position() {
    let mut b = Builder::new(1);
    let f = b.field(0);
    let big = b.constant(i64::MAX);
    let sum = b.binary(BinaryOp::Add, f, big);
    let p = b
        .finish(Heads {
            token: vec![sum],
            remask: f,
            insert: f,
            delete: f,
        })
        .unwrap();
    let x = vec![Token::Sym(Word(vec![0])), Token::Sym(Word(vec![1]))];
    assert_eq!(
        evaluate(&p, &x, Evaluator::Indexed).unwrap_err(),
        EvalError::Overflow {
            node: 2,
            position: 1
        }
    );
    let wrong = vec![Token::Sym(Word(vec![0, 0]))];
    assert!(matches!(
        evaluate(&p, &wrong, Evaluator::Naive),
        Err(EvalError::WordShape {
            position: 0,
            found: 2,
            expected: 1
        })
    ));
}

#[test]
fn total_arithmetic_matches_floor_semantics() {
    use apmdm::seq::binary;
    assert_eq!(binary(BinaryOp::Div, 7, 2), Some(3));
    assert_eq!(binary(BinaryOp::Div, -7, 2), Some(-4));
    assert_eq!(binary(BinaryOp::Div, 7, -2), Some(-4));
    assert_eq!(binary(BinaryOp::Div, -7, -2), Some(3));
    assert_eq!(binary(BinaryOp::Mod, -7, 2), Some(1));
    assert_eq!(binary(BinaryOp::Mod, 7, -2), Some(-1));
    assert_eq!(binary(BinaryOp::Div, 7, 0), Some(0));
    assert_eq!(binary(BinaryOp::Mod, 7, 0), Some(0));
    assert_eq!(binary(BinaryOp::Shl, 1, 62), Some(1 << 62));
    assert_eq!(binary(BinaryOp::Shl, 1, 64), None);
    assert_eq!(binary(BinaryOp::Shl, 3, 62), None);
    assert_eq!(binary(BinaryOp::Mul, i64::MAX, 2), None);
}

/// Nodes whose value is the same at every position (constant queries, maps of constants) take
/// the indexed evaluator's once-per-step path; it must equal the naive definition, including a
/// missing match falling back to a per-position default.
#[test]
fn position_uniform_nodes_equal_the_naive_evaluator() {
    let mut b = Builder::new(2);
    let key = b.field(0);
    let weight = b.field(1);
    let idx = b.index();
    let mut outs = Vec::new();
    for k in 0..4 {
        let q = b.constant(k);
        let one = b.constant(1);
        let q2 = b.binary(BinaryOp::Add, q, one);
        for prefer in [
            Prefer::Latest,
            Prefer::Earliest,
            Prefer::MaxBy(weight),
            Prefer::MinBy(weight),
        ] {
            let select = Selector {
                key,
                query: q2,
                position: None,
                pair: None,
            };
            outs.push(b.lookup(select, prefer, weight, one));
            // A default that varies by position: the node is uniform only when a match exists.
            outs.push(b.lookup(select, prefer, weight, idx));
        }
        let select = Selector {
            key,
            query: q,
            position: None,
            pair: None,
        };
        outs.push(b.sum(select, weight));
    }
    let last = *outs.last().unwrap();
    let p = b
        .finish(Heads {
            token: vec![last, last],
            remask: last,
            insert: last,
            delete: last,
        })
        .unwrap();
    for seed in 0..60 {
        let x = random_canvas(seed, 1 + (seed as usize * 7) % 40);
        assert_eq!(
            evaluate(&p, &x, Evaluator::Naive),
            evaluate(&p, &x, Evaluator::Indexed),
            "seed {seed}"
        );
    }
}
