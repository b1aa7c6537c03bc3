//! The exact support of a stochastic AP-MDM: every joint random choice, applied through g, over
//! distinct canvases (memoized), pruned by a monotone potential; and exact path probabilities.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::machine::{apply, check_step, ModelClass, StepFunctionError, Token};

use super::stochastic::{StochasticProposal, StochasticStep};

/// What the exhaustive search needs beyond f: a finite alphabet (for compact memo keys) and a
/// potential.
///
/// The potential must be a lower bound on the length of every terminal canvas reachable from `x`:
/// it equals the length on a terminal canvas and never decreases along a transition. The search
/// checks the second property on every transition it applies (a decrease is an error), which
/// with the first makes pruning above the bound sound (proofs/thm5.md).
pub trait Searchable<A>: StochasticStep<A> {
    /// The number of symbols the memo keys can hold.
    fn alphabet_size(&self) -> u32;
    /// The index of a symbol below [`Searchable::alphabet_size`], or `None` if it has none.
    fn index(&self, a: &A) -> Option<u32>;
    /// The symbol of an index.
    fn symbol(&self, index: u32) -> Option<A>;
    /// The potential of a canvas.
    fn potential(&self, x: &[Token<A>]) -> usize;
}

/// Resource limits of a search (hitting one is an error, not a partial answer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SupportLimits {
    /// Canvases whose potential exceeds this are pruned: the search is exact for terminals up to
    /// this length.
    pub max_potential: usize,
    /// The most distinct memoized canvases.
    pub max_states: u64,
    /// The most deterministic steps followed in a row before the search calls it a loop.
    pub max_chain: usize,
}

/// Why a search stopped without an answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SupportError {
    /// f failed or proposed a malformed step.
    #[error("step function: {0}")]
    Step(#[from] StepFunctionError),
    /// g refused the proposal's shape, or the class check failed.
    #[error("step rule: {0}")]
    Rule(String),
    /// A transition lowered the potential: pruning would not be sound.
    #[error("the potential fell from {from} to {to} on a transition (it must never decrease)")]
    NotMonotone {
        /// Before.
        from: usize,
        /// After.
        to: usize,
    },
    /// A canvas does not fit a 128-bit memo key.
    #[error("a canvas of length {length} does not fit a 128-bit memo key")]
    KeyTooWide {
        /// Its length.
        length: usize,
    },
    /// More distinct canvases than allowed.
    #[error("more than {limit} distinct canvases (raise the state limit)")]
    TooManyStates {
        /// The limit.
        limit: u64,
    },
    /// Deterministic steps did not reach a random choice or a fixed point.
    #[error("{limit} deterministic steps in a row without a random choice or a fixed point")]
    ChainTooLong {
        /// The limit.
        limit: usize,
    },
    /// Exact probabilities overflowed 128 bits.
    #[error("an exact probability overflowed 128 bits (lower the length)")]
    ProbabilityOverflow,
}

/// What the search found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Support {
    /// The terminal canvases (fixed points of g∘f), as memo keys, by length.
    pub terminals: BTreeMap<usize, HashSet<u128>>,
    /// Distinct memoized canvases (those where f draws at least one position).
    pub states: u64,
    /// Times a memoized canvas was reached (more than `states` when paths merge).
    pub visits: u64,
    /// Applications of g.
    pub transitions: u64,
    /// Transitions whose result's potential exceeded the bound.
    pub pruned: u64,
}

/// Compact, injective memo keys: a canvas as a number in bijective base `size + 2` (mask is digit
/// 1, symbol i is digit i + 2), so canvases of different lengths never share a key.
pub struct Keys<'g, G: ?Sized> {
    generator: &'g G,
    base: u128,
}

impl<'g, G: ?Sized> Keys<'g, G> {
    /// Keys over `generator`'s alphabet.
    pub fn new<A>(generator: &'g G) -> Self
    where
        G: Searchable<A>,
    {
        Keys {
            generator,
            base: u128::from(generator.alphabet_size()) + 2,
        }
    }

    /// The key of a canvas.
    pub fn key<A>(&self, x: &[Token<A>]) -> Result<u128, SupportError>
    where
        G: Searchable<A>,
    {
        let too_wide = SupportError::KeyTooWide { length: x.len() };
        let mut key: u128 = 0;
        for t in x.iter().rev() {
            let digit = match t {
                Token::Mask => 1,
                Token::Sym(a) => u128::from(self.generator.index(a).ok_or(too_wide.clone())?) + 2,
            };
            key = key
                .checked_mul(self.base)
                .and_then(|k| k.checked_add(digit))
                .ok_or(too_wide.clone())?;
        }
        Ok(key)
    }

    /// The canvas of a key (`None` for a key no canvas has).
    pub fn canvas<A>(&self, mut key: u128) -> Option<Vec<Token<A>>>
    where
        G: Searchable<A>,
    {
        let mut out = Vec::new();
        while key > 0 {
            let digit = key % self.base;
            key /= self.base;
            out.push(match digit {
                0 => return None,
                1 => Token::Mask,
                d => Token::Sym(self.generator.symbol(u32::try_from(d - 2).ok()?)?),
            });
        }
        Some(out)
    }
}

/// One applied transition: the next tokens, or `None` when g left the canvas unchanged.
fn step<A: Clone + PartialEq>(
    x: &[Token<A>],
    d: &StochasticProposal<A>,
    picks: &[usize],
) -> Result<Option<Vec<Token<A>>>, SupportError> {
    let p = d.realize(picks);
    let canvas: crate::machine::Canvas<A> = x.iter().cloned().collect();
    let t = apply(&canvas, &p.tokens, &p.bits).map_err(|e| SupportError::Rule(e.to_string()))?;
    check_step(ModelClass::ApMdm, 1, x, &p.bits).map_err(|e| SupportError::Rule(e.to_string()))?;
    let next = t.next.tokens().to_vec();
    Ok((next.as_slice() != x).then_some(next))
}

/// Advances an odometer over the outcome counts; `false` after the last joint outcome.
fn next_pick(picks: &mut [usize], d: &StochasticProposal<impl Clone>) -> bool {
    for (p, r) in picks.iter_mut().zip(&d.random).rev() {
        *p += 1;
        if *p < r.choices.len() {
            return true;
        }
        *p = 0;
    }
    false
}

struct Search<'g, A, G: ?Sized> {
    generator: &'g G,
    keys: Keys<'g, G>,
    limits: SupportLimits,
    out: Support,
    /// The layer being expanded: its potential, its memo and its queue.
    current: (usize, HashSet<u128>, Vec<u128>),
    /// Layers of higher potential, discovered but not yet expanded.
    later: BTreeMap<usize, (HashSet<u128>, Vec<u128>)>,
    marker: std::marker::PhantomData<A>,
}

impl<A: Clone + PartialEq, G: Searchable<A> + ?Sized> Search<'_, A, G> {
    /// Follows deterministic steps from `x` (potential `p`) until a random choice (memoized), a
    /// fixed point (a terminal) or a canvas above the bound (pruned).
    fn settle(&mut self, mut x: Vec<Token<A>>, mut p: usize) -> Result<(), SupportError> {
        for _ in 0..=self.limits.max_chain {
            let d = self.generator.distributions(&x)?;
            d.validate(x.len())?;
            if !d.random.is_empty() {
                return self.memo(&x, p);
            }
            self.out.transitions += 1;
            match step(&x, &d, &[])? {
                None => {
                    let key = self.keys.key(&x)?;
                    self.out.terminals.entry(x.len()).or_default().insert(key);
                    return Ok(());
                }
                Some(next) => {
                    let q = self.generator.potential(&next);
                    if q < p {
                        return Err(SupportError::NotMonotone { from: p, to: q });
                    }
                    if q > self.limits.max_potential {
                        self.out.pruned += 1;
                        return Ok(());
                    }
                    x = next;
                    p = q;
                }
            }
        }
        Err(SupportError::ChainTooLong {
            limit: self.limits.max_chain,
        })
    }

    fn memo(&mut self, x: &[Token<A>], p: usize) -> Result<(), SupportError> {
        let key = self.keys.key(x)?;
        self.out.visits += 1;
        let (set, queue) = if p == self.current.0 {
            (&mut self.current.1, &mut self.current.2)
        } else {
            let l = self.later.entry(p).or_default();
            (&mut l.0, &mut l.1)
        };
        if set.insert(key) {
            queue.push(key);
            self.out.states += 1;
            if self.out.states > self.limits.max_states {
                return Err(SupportError::TooManyStates {
                    limit: self.limits.max_states,
                });
            }
        }
        Ok(())
    }

    /// Applies every joint outcome at a memoized canvas.
    fn expand(&mut self, key: u128, p: usize) -> Result<(), SupportError> {
        let x: Vec<Token<A>> = self
            .keys
            .canvas(key)
            .ok_or_else(|| SupportError::Rule("a memo key did not decode".into()))?;
        let d = self.generator.distributions(&x)?;
        d.validate(x.len())?;
        let mut picks = vec![0; d.random.len()];
        let mut moved = false;
        loop {
            self.out.transitions += 1;
            if let Some(next) = step(&x, &d, &picks)? {
                moved = true;
                let q = self.generator.potential(&next);
                if q < p {
                    return Err(SupportError::NotMonotone { from: p, to: q });
                }
                if q > self.limits.max_potential {
                    self.out.pruned += 1;
                } else {
                    self.settle(next, q)?;
                }
            }
            if !next_pick(&mut picks, &d) {
                break;
            }
        }
        if !moved {
            // Every outcome leaves the canvas as it is: a fixed point whatever is drawn.
            self.out.terminals.entry(x.len()).or_default().insert(key);
        }
        Ok(())
    }
}

/// Enumerates the support of the process started at `initial`: every terminal canvas whose
/// potential stays within `limits.max_potential` on the way, and counts of the work done.
///
/// Layers are expanded in increasing potential; a layer's memo is dropped once it is expanded,
/// since no later canvas can have a lower potential (checked on every transition).
pub fn search<A: Clone + PartialEq, G: Searchable<A> + ?Sized>(
    generator: &G,
    initial: Vec<Token<A>>,
    limits: SupportLimits,
) -> Result<Support, SupportError> {
    let p0 = generator.potential(&initial);
    let mut s = Search {
        generator,
        keys: Keys::new(generator),
        limits,
        out: Support::default(),
        current: (p0, HashSet::new(), Vec::new()),
        later: BTreeMap::new(),
        marker: std::marker::PhantomData,
    };
    if p0 > limits.max_potential {
        return Ok(s.out);
    }
    s.settle(initial, p0)?;
    loop {
        let mut i = 0;
        while i < s.current.2.len() {
            let key = s.current.2[i];
            let p = s.current.0;
            s.expand(key, p)?;
            i += 1;
        }
        match s.later.pop_first() {
            Some((p, (set, queue))) => s.current = (p, set, queue),
            None => break,
        }
    }
    Ok(s.out)
}

/// An exact fraction of 128-bit integers, kept in lowest terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fraction {
    /// Numerator.
    pub num: u128,
    /// Denominator (positive).
    pub den: u128,
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Fraction {
    /// Zero.
    pub const ZERO: Fraction = Fraction { num: 0, den: 1 };
    /// One.
    pub const ONE: Fraction = Fraction { num: 1, den: 1 };

    /// num / den in lowest terms (`den` must be positive).
    pub fn new(num: u128, den: u128) -> Fraction {
        let g = gcd(num, den).max(1);
        Fraction {
            num: num / g,
            den: den / g,
        }
    }

    /// The sum, or `None` on overflow.
    pub fn checked_add(self, o: Fraction) -> Option<Fraction> {
        let g = gcd(self.den, o.den);
        let den = (self.den / g).checked_mul(o.den)?;
        let num = self
            .num
            .checked_mul(o.den / g)?
            .checked_add(o.num.checked_mul(self.den / g)?)?;
        Some(Fraction::new(num, den))
    }

    /// The product, or `None` on overflow.
    pub fn checked_mul(self, o: Fraction) -> Option<Fraction> {
        let a = Fraction::new(self.num, o.den);
        let b = Fraction::new(o.num, self.den);
        Some(Fraction::new(
            a.num.checked_mul(b.num)?,
            a.den.checked_mul(b.den)?,
        ))
    }
}

impl std::fmt::Display for Fraction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.num, self.den)
    }
}

/// What every path to one terminal canvas adds up to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathStats {
    /// The exact probability of ending on this canvas.
    pub probability: Fraction,
    /// How many paths end on it.
    pub paths: u64,
    /// Fewest and most decoding steps over those paths.
    pub steps: (usize, usize),
    /// Smallest and largest context length (the longest canvas held) over those paths.
    pub context: (usize, usize),
}

/// Every path from `initial` whose potential stays within `max_potential`, without memo: the
/// exact probability, the steps and the context length of every terminal canvas, by canvas.
/// `max_paths` bounds the work (an error when exceeded).
pub fn paths<A, G: Searchable<A> + ?Sized>(
    generator: &G,
    initial: Vec<Token<A>>,
    max_potential: usize,
    max_paths: u64,
) -> Result<HashMap<Vec<Token<A>>, PathStats>, SupportError>
where
    A: Clone + Eq + std::hash::Hash,
{
    let mut out: HashMap<Vec<Token<A>>, PathStats> = HashMap::new();
    let mut count = 0u64;
    // Depth-first over (canvas, probability, steps so far, context so far).
    let mut stack = vec![(initial.clone(), Fraction::ONE, 0usize, initial.len())];
    while let Some((x, prob, steps, context)) = stack.pop() {
        count += 1;
        if count > max_paths {
            return Err(SupportError::TooManyStates { limit: max_paths });
        }
        let p = generator.potential(&x);
        let d = generator.distributions(&x)?;
        d.validate(x.len())?;
        let totals: Vec<u64> = d.random.iter().map(|r| r.total()).collect();
        let mut picks = vec![0; d.random.len()];
        let mut stay = Fraction::ZERO;
        loop {
            let mut w = Fraction::ONE;
            for ((r, &i), &t) in d.random.iter().zip(&picks).zip(&totals) {
                w = w
                    .checked_mul(Fraction::new(
                        u128::from(r.choices[i].weight),
                        u128::from(t),
                    ))
                    .ok_or(SupportError::ProbabilityOverflow)?;
            }
            match step(&x, &d, &picks)? {
                None => {
                    stay = stay
                        .checked_add(w)
                        .ok_or(SupportError::ProbabilityOverflow)?
                }
                Some(next) => {
                    let q = generator.potential(&next);
                    if q < p {
                        return Err(SupportError::NotMonotone { from: p, to: q });
                    }
                    if q <= max_potential {
                        let pr = prob
                            .checked_mul(w)
                            .ok_or(SupportError::ProbabilityOverflow)?;
                        let c = context.max(next.len());
                        stack.push((next, pr, steps + 1, c));
                    }
                }
            }
            if !next_pick(&mut picks, &d) {
                break;
            }
        }
        if stay == Fraction::ONE {
            let e = out.entry(x).or_insert(PathStats {
                probability: Fraction::ZERO,
                paths: 0,
                steps: (steps, steps),
                context: (context, context),
            });
            e.probability = e
                .probability
                .checked_add(prob)
                .ok_or(SupportError::ProbabilityOverflow)?;
            e.paths += 1;
            e.steps = (e.steps.0.min(steps), e.steps.1.max(steps));
            e.context = (e.context.0.min(context), e.context.1.max(context));
        } else if stay != Fraction::ZERO {
            return Err(SupportError::Rule(
                "a canvas that stays put with probability strictly between 0 and 1".into(),
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_add_and_multiply_exactly() {
        let half = Fraction::new(1, 2);
        let third = Fraction::new(2, 6);
        assert_eq!(third, Fraction { num: 1, den: 3 });
        assert_eq!(half.checked_add(third), Some(Fraction::new(5, 6)));
        assert_eq!(half.checked_mul(third), Some(Fraction::new(1, 6)));
        assert_eq!(Fraction::new(u128::MAX, 1).checked_add(Fraction::ONE), None);
    }
}
