//! Stochastic step functions: f gives each position a finite distribution with integer weights over
//! (token, control bits); a seeded sampler draws one proposal, which g then applies unchanged.

use crate::machine::library::SplitMix64;
use crate::machine::{ControlBits, Proposal, StepFunction, StepFunctionError, Token};

/// One outcome of a random position: the proposed token, the control bits, and an integer weight
/// (its probability is the weight over the sum of the position's weights).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice<A> {
    /// `y_i` (used only when a mask is unmasked).
    pub token: A,
    /// The control bits.
    pub bits: ControlBits,
    /// A positive integer weight.
    pub weight: u64,
}

/// A position whose proposal is drawn, with its finite distribution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RandomPosition<A> {
    /// The position in the current sequence.
    pub position: usize,
    /// Its outcomes (at least one, every weight positive).
    pub choices: Vec<Choice<A>>,
}

impl<A> RandomPosition<A> {
    /// The sum of the weights.
    pub fn total(&self) -> u64 {
        self.choices.iter().map(|c| c.weight).sum()
    }
}

/// What a stochastic f proposes: a point-mass proposal for every position (`base`), and the
/// positions whose proposal is drawn instead, independently of each other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StochasticProposal<A> {
    /// A token and control bits per position; the entries of random positions are replaced by the draw.
    pub base: Proposal<A>,
    /// The drawn positions, in increasing order, each at most once.
    pub random: Vec<RandomPosition<A>>,
}

impl<A: Clone> StochasticProposal<A> {
    /// Every position keeps its token or takes `filler` (a placeholder y for masks), no bits set.
    pub fn keep_all(x: &[Token<A>], filler: &A) -> Self {
        let tokens = x
            .iter()
            .map(|t| t.symbol().cloned().unwrap_or_else(|| filler.clone()))
            .collect();
        StochasticProposal {
            base: Proposal {
                tokens,
                bits: vec![ControlBits::NONE; x.len()],
            },
            random: Vec::new(),
        }
    }

    /// Checks the shape: one base entry per position, random positions in range, increasing,
    /// each with at least one outcome, positive weights whose sum fits in 64 bits.
    pub fn validate(&self, length: usize) -> Result<(), StepFunctionError> {
        if self.base.tokens.len() != length || self.base.bits.len() != length {
            return Err(StepFunctionError(format!(
                "stochastic proposal has {} tokens and {} bit rows for length {length}",
                self.base.tokens.len(),
                self.base.bits.len()
            )));
        }
        let mut last: Option<usize> = None;
        for r in &self.random {
            if r.position >= length || last.is_some_and(|l| l >= r.position) {
                return Err(StepFunctionError(format!(
                    "random position {} out of range or out of order",
                    r.position
                )));
            }
            last = Some(r.position);
            if r.choices.is_empty() || r.choices.iter().any(|c| c.weight == 0) {
                return Err(StepFunctionError(format!(
                    "random position {} has no outcome or a zero weight",
                    r.position
                )));
            }
            r.choices
                .iter()
                .try_fold(0u64, |s, c| s.checked_add(c.weight))
                .ok_or_else(|| StepFunctionError("weights overflow 64 bits".into()))?;
        }
        Ok(())
    }

    /// The proposal of one joint outcome: `picks[j]` is the outcome index of random position j.
    pub fn realize(&self, picks: &[usize]) -> Proposal<A> {
        let mut p = self.base.clone();
        for (r, &i) in self.random.iter().zip(picks) {
            let c = &r.choices[i];
            p.tokens[r.position] = c.token.clone();
            p.bits[r.position] = c.bits;
        }
        p
    }
}

/// A stochastic f: from the current sequence, a distribution per position.
///
/// Like [`StepFunction`], it must be a function of the tokens it is given (no hidden state); all
/// randomness is in the draw, which the caller makes.
pub trait StochasticStep<A> {
    /// The distributions for every position of `x`.
    fn distributions(&self, x: &[Token<A>]) -> Result<StochasticProposal<A>, StepFunctionError>;
}

/// A stochastic f with a seeded generator: a [`StepFunction`] the runner steps like any other.
pub struct Sampler<'a, G: ?Sized> {
    /// The stochastic step function.
    pub generator: &'a G,
    /// The seeded source of the draws.
    pub rng: SplitMix64,
}

impl<'a, G: ?Sized> Sampler<'a, G> {
    /// A sampler seeded with `seed` (the same seed gives the same draws).
    pub fn new(generator: &'a G, seed: u64) -> Self {
        Sampler {
            generator,
            rng: SplitMix64(seed),
        }
    }

    /// An outcome index drawn with probability weight / total (rejection sampling, no bias).
    fn draw(&mut self, weights: &[u64]) -> usize {
        let total: u64 = weights.iter().sum();
        let zone = u64::MAX - u64::MAX % total;
        let r = loop {
            let r = self.rng.next_u64();
            if r < zone {
                break r % total;
            }
        };
        let mut acc = 0;
        for (i, w) in weights.iter().enumerate() {
            acc += w;
            if r < acc {
                return i;
            }
        }
        weights.len() - 1
    }
}

impl<A: Clone, G: StochasticStep<A> + ?Sized> StepFunction<A> for Sampler<'_, G> {
    fn propose(&mut self, x: &[Token<A>]) -> Result<Proposal<A>, StepFunctionError> {
        let d = self.generator.distributions(x)?;
        d.validate(x.len())?;
        let picks: Vec<usize> = d
            .random
            .iter()
            .map(|r| {
                let w: Vec<u64> = r.choices.iter().map(|c| c.weight).collect();
                self.draw(&w)
            })
            .collect();
        Ok(d.realize(&picks))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_follow_the_weights_and_repeat_with_the_seed() {
        let g: &() = &();
        let mut s = Sampler::new(g, 7);
        let mut counts = [0usize; 3];
        for _ in 0..3000 {
            counts[s.draw(&[1, 2, 0])] += 1;
        }
        assert_eq!(counts[2], 0);
        assert!(counts[1] > counts[0], "{counts:?}");
        let mut a = Sampler::new(g, 7);
        let first: Vec<usize> = (0..20).map(|_| a.draw(&[1, 1, 1])).collect();
        let mut b = Sampler::new(g, 7);
        let second: Vec<usize> = (0..20).map(|_| b.draw(&[1, 1, 1])).collect();
        assert_eq!(first, second);
    }

    #[test]
    fn validation_rejects_bad_shapes() {
        let x = vec![Token::Sym('a'), Token::Mask];
        let mut d = StochasticProposal::keep_all(&x, &'z');
        assert!(d.validate(2).is_ok());
        assert!(d.validate(3).is_err());
        d.random.push(RandomPosition {
            position: 1,
            choices: vec![Choice {
                token: 'b',
                bits: ControlBits::NONE,
                weight: 0,
            }],
        });
        assert!(d.validate(2).is_err());
        d.random[0].choices[0].weight = 2;
        assert!(d.validate(2).is_ok());
        assert_eq!(d.realize(&[0]).tokens, vec!['a', 'b']);
    }
}
