//! Data-driven tests of the program library: every `pram_programs/*.pram` file, at the sizes and
//! seeds its `//#` directives name, against an independent plain-Rust reference.

use std::collections::BTreeMap;

use petgraph::unionfind::UnionFind;

use apmdm::pram::{self, library, Outcome, Program, RunConfig, RunReport, Value};

type Inputs = BTreeMap<String, Vec<i64>>;

/// The expected output of library program `name` on these inputs at size `n`.
fn reference(name: &str, n: usize, input: &Inputs) -> Vec<(&'static str, Value)> {
    let a = |k: &str| input[k].clone();
    match name {
        "prefix_sum" => {
            let v = a("A");
            let sums = v.iter().scan(0, |s, x| {
                *s += x;
                Some(*s)
            });
            vec![("A", Value::Array(sums.collect()))]
        }
        "prefix_sum_blelloch" => {
            let v = a("A");
            let sums = v.iter().scan(0, |s, x| {
                let before = *s;
                *s += x;
                Some(before)
            });
            vec![("A", Value::Array(sums.collect()))]
        }
        "reduce_sum" => vec![("sum", Value::Scalar(a("A").iter().sum()))],
        "reduce_max" => vec![("best", Value::Scalar(a("A").into_iter().max().unwrap()))],
        "parity" => vec![("parity", Value::Scalar(a("X").iter().fold(0, |p, x| p ^ x)))],
        "list_ranking" => {
            let next = a("next");
            let rank = (0..n)
                .map(|mut i| {
                    let mut r = 0;
                    while next[i] as usize != i {
                        i = next[i] as usize;
                        r += 1;
                    }
                    r
                })
                .collect();
            vec![("rank", Value::Array(rank))]
        }
        "tree_depth" => {
            let parent = a("parent");
            let mut depth = vec![0i64; n];
            for v in 1..n {
                depth[v] = depth[parent[v] as usize] + 1;
            }
            vec![("depth", Value::Array(depth))]
        }
        "matrix_multiply" => {
            let (x, y) = (a("A"), a("B"));
            let c = (0..n * n)
                .map(|ij| (0..n).map(|k| x[ij / n * n + k] * y[k * n + ij % n]).sum())
                .collect();
            vec![("C", Value::Array(c))]
        }
        "bitonic_sort" => {
            let mut v = a("A");
            v.sort_unstable();
            vec![("A", Value::Array(v))]
        }
        "connected_components" => {
            let (u, v) = (a("U"), a("V"));
            let mut sets = UnionFind::<usize>::new(n);
            for (&x, &y) in u.iter().zip(&v) {
                sets.union(x as usize, y as usize);
            }
            let mut smallest = vec![usize::MAX; n];
            for x in 0..n {
                let r = sets.find(x);
                smallest[r] = smallest[r].min(x);
            }
            let labels = (0..n).map(|x| smallest[sets.find(x)] as i64).collect();
            vec![("P", Value::Array(labels))]
        }
        "dyck" => {
            let kinds = 2;
            let mut stack = Vec::new();
            let mut ok = true;
            for &t in &a("S") {
                if t < kinds {
                    stack.push(t);
                } else if stack.pop() != Some(t - kinds) {
                    ok = false;
                }
            }
            vec![("ok", Value::Scalar(i64::from(ok && stack.is_empty())))]
        }
        "tqbf" => {
            let lits = a("L");
            let value = qbf(&lits, n, &mut vec![false; n], 0);
            vec![("value", Value::Scalar(i64::from(value)))]
        }
        "sudoku" => {
            let mut grid = a("G");
            let blanks: Vec<usize> = (0..16).filter(|&c| grid[c] == 0).collect();
            let solved = sudoku(&mut grid, &blanks);
            vec![
                ("G", Value::Array(grid)),
                ("solved", Value::Scalar(i64::from(solved))),
            ]
        }
        "geography" => {
            let edges = a("E");
            let mut seen = vec![false; n];
            seen[0] = true;
            let value = geography(&edges, n, 0, &mut seen);
            vec![("value", Value::Scalar(i64::from(value)))]
        }
        other => panic!("no reference for library program {other}"),
    }
}

/// Recursive QBF evaluation: variable d is universal when d is even, existential when odd.
fn qbf(lits: &[i64], n: usize, x: &mut Vec<bool>, d: usize) -> bool {
    if d == n {
        return lits
            .chunks(3)
            .all(|clause| clause.iter().any(|&l| x[(l / 2) as usize] != (l % 2 == 1)));
    }
    let mut branch = |value| {
        x[d] = value;
        qbf(lits, n, x, d + 1)
    };
    if d % 2 == 0 {
        branch(false) && branch(true)
    } else {
        branch(false) || branch(true)
    }
}

/// Whether the player to move from `v` wins generalized geography on the edges `e` (row-major
/// adjacency), `seen` the vertices visited so far: some unvisited successor is a loss for the
/// opponent.
fn geography(e: &[i64], n: usize, v: usize, seen: &mut Vec<bool>) -> bool {
    (0..n).any(|u| {
        if e[v * n + u] != 1 || seen[u] {
            return false;
        }
        seen[u] = true;
        let opponent_wins = geography(e, n, u, seen);
        seen[u] = false;
        !opponent_wins
    })
}

/// Recursive backtracking over the blanks in order, values ascending; leaves blanks 0 on failure.
fn sudoku(grid: &mut Vec<i64>, blanks: &[usize]) -> bool {
    let Some((&c, rest)) = blanks.split_first() else {
        return true;
    };
    let (r, col) = (c / 4, c % 4);
    for v in 1..=4 {
        let clash = (0..4).any(|t| {
            grid[r * 4 + t] == v
                || grid[t * 4 + col] == v
                || grid[(r / 2 * 2 + t / 2) * 4 + col / 2 * 2 + t % 2] == v
        });
        if !clash {
            grid[c] = v;
            if sudoku(grid, rest) {
                return true;
            }
        }
    }
    grid[c] = 0;
    false
}

/// The output in the form the reference computes. Connected components are labelled by any
/// representative (a root): each label must be a root of its own class, and is then replaced by
/// the smallest vertex of its class, which compares partitions exactly.
fn canonical(name: &str, output: &Value) -> Value {
    match (name, output) {
        ("connected_components", Value::Array(labels)) => {
            let mut smallest = BTreeMap::new();
            for (v, &l) in labels.iter().enumerate() {
                assert_eq!(
                    labels[l as usize], l,
                    "label {l} of vertex {v} is not a root"
                );
                smallest.entry(l).or_insert(v as i64);
            }
            Value::Array(labels.iter().map(|l| smallest[l]).collect())
        }
        _ => output.clone(),
    }
}

fn run_checked(program: &Program, n: i64, seed: u64) -> (RunReport, Inputs) {
    let mut config = RunConfig::new(n);
    config.seed = seed;
    let input = pram::inputs(program, &config).unwrap();
    let report = pram::run(program, &config).unwrap();
    (report, input)
}

/// One library file: parse, then for every size and seed compare output with the reference and
/// require outcome ok (which includes every declared bound).
fn check(file_name: &str, source: &str) {
    let name = file_name.strip_suffix(".pram").unwrap();
    assert_eq!(
        library::source(name),
        Some(source),
        "{file_name} is not embedded (or differs from the embedded copy)"
    );
    let program = pram::parse(file_name, source).unwrap_or_else(|e| panic!("{e}"));
    let sizes = library::directive(source, "sizes");
    let seeds = library::directive(source, "seeds");
    assert!(
        !sizes.is_empty() && !seeds.is_empty(),
        "{file_name}: no sizes or seeds directive"
    );
    for &n in &sizes {
        for &seed in &seeds {
            let (report, input) = run_checked(&program, n, seed as u64);
            assert_eq!(report.outcome, Outcome::Ok, "{name} n={n} seed={seed}");
            let expected = reference(name, n as usize, &input);
            for (out, value) in expected {
                let got = canonical(name, report.output(out).unwrap());
                assert_eq!(got, value, "{name}.{out} n={n} seed={seed}");
            }
        }
    }
}

#[test]
fn every_library_program_matches_its_reference_within_its_bounds() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/pram_programs");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pram"))
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        library::PROGRAMS.len(),
        "every file is embedded"
    );
    for path in files {
        let source = std::fs::read_to_string(&path).unwrap();
        check(path.file_name().unwrap().to_str().unwrap(), &source);
    }
}

#[test]
fn geography_agrees_with_the_recursive_game_search_on_many_graphs() {
    let program = library::load("geography").unwrap().unwrap();
    let mut values = [0; 2];
    for n in 1..=7 {
        for seed in 1..=25 {
            let (report, input) = run_checked(&program, n, seed);
            assert_eq!(report.outcome, Outcome::Ok, "n={n} seed={seed}");
            let expected = reference("geography", n as usize, &input);
            assert_eq!(
                report.output("value"),
                Some(&expected[0].1),
                "n={n} seed={seed}"
            );
            if let Value::Scalar(v) = expected[0].1 {
                values[v as usize] += 1;
            }
        }
    }
    // Both players win somewhere: the comparison is not of a constant.
    assert!(values[0] > 10 && values[1] > 10, "{values:?}");
}

#[test]
fn prefix_sum_rounds_grow_like_log2_n() {
    let program = library::load("prefix_sum").unwrap().unwrap();
    for k in 0..12 {
        let (report, _) = run_checked(&program, 1 << k, 1);
        // k doubling rounds, each with a loop test, plus the final failing test.
        assert_eq!(report.metrics.rounds, 2 * k + 1, "n = 2^{k}");
        // n processors (at n = 1 the only round is the failing loop test, one processor).
        assert_eq!(report.metrics.processors, 1 << k);
    }
}

#[test]
fn matrix_multiply_uses_n_cubed_processors() {
    let program = library::load("matrix_multiply").unwrap().unwrap();
    for n in 1..=6i64 {
        let (report, _) = run_checked(&program, n, 1);
        assert_eq!(report.metrics.processors, (n * n * n) as u64);
    }
}

#[test]
fn connected_components_finish_even_when_no_coin_lets_a_root_hook() {
    let program = library::load("connected_components").unwrap().unwrap();
    let n = 16;
    let mut config = RunConfig::new(n);
    let mut given = pram::inputs(&program, &config).unwrap();
    let lucky = pram::run(&program, &config).unwrap();
    // All tails: no tail is ever adjacent to a head, so only the fallback hooks.
    let coins = given.get_mut("C").unwrap();
    coins.iter_mut().for_each(|c| *c = 0);
    config.inputs = given.clone();
    let unlucky = pram::run(&program, &config).unwrap();
    assert_eq!(unlucky.outcome, Outcome::Ok);
    let expected = reference("connected_components", n as usize, &given);
    assert_eq!(
        canonical("connected_components", unlucky.output("P").unwrap()),
        expected[0].1
    );
    assert!(unlucky.metrics.rounds > lucky.metrics.rounds);
}

#[test]
fn every_library_program_round_trips_through_json() {
    for (name, _) in library::PROGRAMS {
        let program = library::load(name).unwrap().unwrap();
        let text = serde_json::to_string(&program).unwrap();
        let back: Program = serde_json::from_str(&text).unwrap();
        assert_eq!(back, program, "{name}");
    }
}
