//! Benchmark (not a test): one decoding step of a seq program, indexed against naive evaluation.
//!
//! The program has the shape of a compiled memory read: every position looks up the latest
//! position whose key equals its query, the position with the largest value among equal keys,
//! and a prefix sum over earlier positions with its key, then combines them with maps. Reports
//! milliseconds per step and nanoseconds per position at growing lengths L: the indexed evaluator
//! should grow like L log L, the naive one like L^2. Run with `cargo bench --bench seq_eval`.

use std::time::Instant;

use apmdm::machine::library::SplitMix64;
use apmdm::machine::Token;
use apmdm::seq::{
    evaluate, BinaryOp, Builder, Cmp, Evaluator, Heads, Prefer, Program, Selector, Word,
};

fn program() -> Program {
    let mut b = Builder::new(2);
    let key = b.field(0);
    let value = b.field(1);
    let index = b.index();
    let seven = b.constant(7);
    let query = b.binary(BinaryOp::Mod, index, seven);
    let zero = b.constant(0);
    let any = Selector {
        key,
        query,
        position: None,
        pair: None,
    };
    let latest = b.lookup(any, Prefer::Latest, value, zero);
    let largest = b.lookup(any, Prefer::MaxBy(value), index, zero);
    let earlier = Selector {
        key,
        query: key,
        position: Some(Cmp::Lt),
        pair: None,
    };
    let prefix = b.sum(earlier, value);
    let a = b.binary(BinaryOp::Add, latest, largest);
    let out = b.binary(BinaryOp::Max, a, prefix);
    // Ranged (fields as `canvas` draws them, up to 2^20 positions): every value is checked.
    b.finish_ranged(
        Heads {
            token: vec![out, zero],
            remask: zero,
            insert: zero,
            delete: zero,
        },
        &[(0, 63), (0, 999)],
        1 << 20,
    )
    .expect("a well-formed program")
}

fn canvas(len: usize) -> Vec<Token<Word>> {
    let mut rng = SplitMix64(len as u64);
    (0..len)
        .map(|_| match rng.next_u64() % 8 {
            0 => Token::Mask,
            _ => Token::Sym(Word(vec![
                (rng.next_u64() % 64) as i64,
                (rng.next_u64() % 1000) as i64,
            ])),
        })
        .collect()
}

/// Milliseconds per evaluation, the best of `repeats`.
fn time(p: &Program, x: &[Token<Word>], evaluator: Evaluator, repeats: usize) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..repeats {
        let start = Instant::now();
        let values = evaluate(p, x, evaluator).expect("no overflow");
        std::hint::black_box(values);
        best = best.min(start.elapsed().as_secs_f64() * 1e3);
    }
    best
}

fn main() {
    let p = program();
    println!("seq program: {} nodes, {:?}", p.nodes.len(), p.shape());
    println!(
        "{:>8}  {:>12}  {:>10}  {:>12}  {:>10}",
        "L", "indexed ms", "ns/pos", "naive ms", "ns/pos"
    );
    for exp in 10..=18 {
        let len = 1usize << exp;
        let x = canvas(len);
        let indexed = time(&p, &x, Evaluator::Indexed, 3);
        let naive = (exp <= 13).then(|| time(&p, &x, Evaluator::Naive, 1));
        let per = |ms: f64| ms * 1e6 / len as f64;
        match naive {
            Some(ms) => println!(
                "{len:>8}  {indexed:>12.3}  {:>10.1}  {ms:>12.3}  {:>10.1}",
                per(indexed),
                per(ms)
            ),
            None => println!(
                "{len:>8}  {indexed:>12.3}  {:>10.1}  {:>12}  {:>10}",
                per(indexed),
                "-",
                "-"
            ),
        }
    }
}
