//! Seeded default inputs (`random`, `list`, `tree`, `dyck`, `sudoku4`) and inputs given as JSON.
//!
//! Every generated array draws from its own SplitMix64 stream, seeded by the run seed and the
//! array's declaration index, so the same command always sees the same input.

use std::collections::BTreeMap;

use super::round::mix;

/// A deterministic random stream (SplitMix64).
#[derive(Debug, Clone)]
pub struct Stream(u64);

impl Stream {
    /// The stream of array `array` under `seed`.
    pub fn new(seed: u64, array: u64) -> Self {
        Stream(mix(seed) ^ mix(array.wrapping_add(0x5EED)))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// A uniform value in `0..k` (k >= 1).
    pub fn below(&mut self, k: u64) -> u64 {
        self.next_u64() % k.max(1)
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i as u64 + 1) as usize);
        }
    }
}

/// Uniform integers in `lo..=hi`.
pub fn random(s: &mut Stream, len: usize, lo: i64, hi: i64) -> Vec<i64> {
    let width = (hi as i128 - lo as i128 + 1).max(1) as u64;
    (0..len).map(|_| lo + s.below(width) as i64).collect()
}

/// Successors of one random list through all `len` elements; the tail points to itself.
pub fn list(s: &mut Stream, len: usize) -> Vec<i64> {
    let mut order: Vec<usize> = (0..len).collect();
    s.shuffle(&mut order);
    let mut next = vec![0i64; len];
    for w in order.windows(2) {
        next[w[0]] = w[1] as i64;
    }
    if let Some(&tail) = order.last() {
        next[tail] = tail as i64;
    }
    next
}

/// Parents of a random tree rooted at 0: every other node's parent has a smaller index.
pub fn tree(s: &mut Stream, len: usize) -> Vec<i64> {
    (0..len)
        .map(|i| if i == 0 { 0 } else { s.below(i as u64) as i64 })
        .collect()
}

/// A random balanced string of `kinds` bracket kinds (open `t < kinds`, close `kinds + t`);
/// when `corrupt`, one random position is replaced by a random bracket.
pub fn dyck(s: &mut Stream, len: usize, kinds: i64, corrupt: bool) -> Vec<i64> {
    let kinds = kinds.max(1);
    let mut out = Vec::with_capacity(len);
    let mut stack = Vec::new();
    for i in 0..len {
        let remaining = len - i;
        let must_close = stack.len() >= remaining;
        let may_close = !stack.is_empty();
        if must_close || (may_close && s.below(2) == 0) {
            let t: i64 = stack.pop().unwrap_or(0);
            out.push(kinds + t);
        } else {
            let t = s.below(kinds as u64) as i64;
            stack.push(t);
            out.push(t);
        }
    }
    if corrupt && len > 0 {
        let at = s.below(len as u64) as usize;
        out[at] = s.below(2 * kinds as u64) as i64;
    }
    out
}

/// A 4x4 Sudoku (boxes 2x2): a random solved grid with `blanks` cells set to 0.
pub fn sudoku4(s: &mut Stream, blanks: i64) -> Vec<i64> {
    let mut digits = [1i64, 2, 3, 4];
    s.shuffle(&mut digits);
    // Rows and columns may be permuted within their band / stack and bands swapped: the grid
    // stays valid.
    let mut rows = [0usize, 1, 2, 3];
    let mut cols = [0usize, 1, 2, 3];
    for perm in [&mut rows, &mut cols] {
        if s.below(2) == 1 {
            perm.swap(0, 1);
        }
        if s.below(2) == 1 {
            perm.swap(2, 3);
        }
        if s.below(2) == 1 {
            perm.swap(0, 2);
            perm.swap(1, 3);
        }
    }
    let mut grid: Vec<i64> = (0..16)
        .map(|k| {
            let (r, c) = (rows[k / 4], cols[k % 4]);
            digits[(r * 2 + r / 2 + c) % 4]
        })
        .collect();
    let mut cells: Vec<usize> = (0..16).collect();
    s.shuffle(&mut cells);
    for &k in cells.iter().take(blanks.clamp(0, 16) as usize) {
        grid[k] = 0;
    }
    grid
}

/// Input arrays given in JSON: an object mapping input names to a number or an array of numbers.
pub fn from_json(value: &serde_json::Value) -> Result<BTreeMap<String, Vec<i64>>, String> {
    let Some(object) = value.as_object() else {
        return Err("expected a JSON object mapping input names to numbers or arrays".into());
    };
    let mut out = BTreeMap::new();
    for (name, v) in object {
        let number = |x: &serde_json::Value| {
            x.as_i64()
                .ok_or_else(|| format!("`{name}`: {x} is not an integer"))
        };
        let values = match v {
            serde_json::Value::Array(items) => {
                items.iter().map(number).collect::<Result<Vec<_>, _>>()?
            }
            other => vec![number(other)?],
        };
        out.insert(name.clone(), values);
    }
    Ok(out)
}
