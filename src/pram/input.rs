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

/// Inputs from the text of the JSON file `file`: an object mapping input names to integers or
/// arrays of integers. An error is one line, `file:line:column: ` and what was wrong in words: a
/// name given twice, a number that is not an integer or lies outside the 64-bit range.
pub fn from_json_text(file: &str, text: &str) -> Result<BTreeMap<String, Vec<i64>>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match serde_json::from_str::<InputFile>(text) {
        Ok(InputFile(map)) => Ok(map),
        Err(e) => {
            // serde_json ends its messages with ` at line L column C`: put the place first.
            let message = e.to_string();
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            let words = message.strip_suffix(&suffix).unwrap_or(&message);
            if e.line() == 0 {
                Err(format!("{file}: {words}"))
            } else {
                Err(format!("{file}:{}:{}: {words}", e.line(), e.column()))
            }
        }
    }
}

/// The top level of an input file.
struct InputFile(BTreeMap<String, Vec<i64>>);

/// One input: an integer or an array of integers.
struct InputValues(Vec<i64>);

/// One integer of an input.
struct InputNumber(i64);

impl<'de> serde::Deserialize<'de> for InputFile {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = InputFile;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object mapping input names to numbers or arrays")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<InputFile, A::Error> {
                let mut out = BTreeMap::new();
                while let Some(name) = map.next_key::<String>()? {
                    if out.contains_key(&name) {
                        return Err(serde::de::Error::custom(format!(
                            "`{}` is given twice",
                            super::parse::echo(&name)
                        )));
                    }
                    let InputValues(values) = map.next_value()?;
                    out.insert(name, values);
                }
                Ok(InputFile(out))
            }
        }
        d.deserialize_map(Visit)
    }
}

impl<'de> serde::Deserialize<'de> for InputValues {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = InputValues;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an integer or an array of integers")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<InputValues, E> {
                Ok(InputValues(vec![v]))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<InputValues, E> {
                Ok(InputValues(vec![integer(v)?]))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<InputValues, E> {
                Ok(InputValues(vec![whole(v)?]))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<InputValues, A::Error> {
                let mut out = Vec::new();
                while let Some(InputNumber(v)) = seq.next_element()? {
                    out.push(v);
                }
                Ok(InputValues(out))
            }
        }
        d.deserialize_any(Visit)
    }
}

impl<'de> serde::Deserialize<'de> for InputNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = InputNumber;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an integer")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<InputNumber, E> {
                Ok(InputNumber(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<InputNumber, E> {
                integer(v).map(InputNumber)
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<InputNumber, E> {
                whole(v).map(InputNumber)
            }
        }
        d.deserialize_any(Visit)
    }
}

/// A JSON integer above `i64::MAX`.
fn integer<E: serde::de::Error>(v: u64) -> Result<i64, E> {
    i64::try_from(v).map_err(|_| {
        E::custom(format!(
            "{v} is outside the 64-bit integer range ({} to {})",
            i64::MIN,
            i64::MAX
        ))
    })
}

/// A JSON number with a fraction or an exponent, or an integer past 64 bits (serde_json reads
/// those as floating point too): never an input value.
fn whole<E: serde::de::Error>(v: f64) -> Result<i64, E> {
    // 2^63 is exact in f64; an integer written in digits within the range never arrives here.
    if v.is_finite() && v.fract() == 0.0 && v.abs() >= 9.223_372_036_854_776e18 {
        return Err(E::custom(format!(
            "{v:e} is outside the 64-bit integer range ({} to {})",
            i64::MIN,
            i64::MAX
        )));
    }
    Err(E::custom(format!("{v} is not an integer")))
}
