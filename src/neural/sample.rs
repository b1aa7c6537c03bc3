//! Learned models as `machine::StepFunction`s: a vocabulary maps tokens to ids, the model proposes.

use crate::kernels::Backend;
use crate::machine::{ControlBits, Proposal, StepFunction, StepFunctionError, Symbol, Token};

use super::model::{Activations, Batch, Model};

/// Token ids of a task: id 0 is the mask `M`, id `i >= 1` is `symbols[i - 1]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Vocabulary<A> {
    symbols: Vec<A>,
}

/// The id of the mask token in every vocabulary.
pub const MASK_ID: u32 = 0;

impl<A: Symbol> Vocabulary<A> {
    /// A vocabulary of the mask plus these symbols, in this order.
    pub fn new(symbols: Vec<A>) -> Self {
        Vocabulary { symbols }
    }

    /// Number of ids, the mask included (the model's `vocab`).
    pub fn len(&self) -> usize {
        self.symbols.len() + 1
    }

    /// Whether there are no symbols besides the mask.
    pub fn is_empty(&self) -> bool {
        self.symbols.is_empty()
    }

    /// The id of a token, or `None` for a symbol outside the vocabulary.
    pub fn id(&self, t: &Token<A>) -> Option<u32> {
        match t {
            Token::Mask => Some(MASK_ID),
            Token::Sym(a) => self
                .symbols
                .iter()
                .position(|s| s == a)
                .map(|i| i as u32 + 1),
        }
    }

    /// The symbol of an id (never the mask), or `None`.
    pub fn symbol(&self, id: u32) -> Option<&A> {
        (id as usize)
            .checked_sub(1)
            .and_then(|i| self.symbols.get(i))
    }

    /// The ids of a whole sequence, or an error naming the first unknown token.
    pub fn encode(&self, x: &[Token<A>]) -> Result<Vec<u32>, StepFunctionError> {
        x.iter()
            .enumerate()
            .map(|(i, t)| {
                self.id(t).ok_or_else(|| {
                    StepFunctionError(format!(
                        "token {t} at position {i} is not in the vocabulary"
                    ))
                })
            })
            .collect()
    }
}

/// Runs the model on one sequence and returns its logits rows (token, control).
fn logits<'b>(
    model: &Model,
    be: &impl Backend,
    ids: Vec<u32>,
    acts: &'b mut Option<Activations>,
) -> Result<&'b Activations, StepFunctionError> {
    let seq = ids.len();
    if seq == 0 {
        return Err(StepFunctionError("empty sequence".into()));
    }
    if acts.as_ref().is_none_or(|a| a.shape() != (1, seq)) {
        *acts = Some(Activations::new(&model.config, 1, seq));
    }
    let acts = acts.as_mut().expect("just set");
    let batch = Batch {
        batch: 1,
        seq,
        ids,
        real: vec![true; seq],
    };
    model
        .forward(be, &batch, acts)
        .map_err(|e| StepFunctionError(e.to_string()))?;
    Ok(acts)
}

/// The most likely symbol (never the mask) of one logits row.
fn best_symbol<A: Symbol>(vocab: &Vocabulary<A>, row: &[f32]) -> A {
    let mut best = 1;
    for (id, &x) in row.iter().enumerate().skip(1) {
        if x > row[best] {
            best = id;
        }
    }
    vocab
        .symbol(best as u32)
        .cloned()
        .expect("the model's vocab equals the vocabulary's length")
}

/// An AP-MDM (or plain MDM) decoder: at every position the most likely symbol and each control
/// bit whose logit is positive (probability above one half). A model without the control head
/// proposes no bits.
pub struct ModelStep<'a, A, B> {
    model: &'a Model,
    backend: B,
    vocab: &'a Vocabulary<A>,
    acts: Option<Activations>,
}

impl<'a, A: Symbol, B: Backend> ModelStep<'a, A, B> {
    /// A step function for `model` over `vocab` (whose length must be the model's `vocab`),
    /// running on its own `backend` (which keeps the scratch space between steps).
    pub fn new(model: &'a Model, backend: B, vocab: &'a Vocabulary<A>) -> Self {
        ModelStep {
            model,
            backend,
            vocab,
            acts: None,
        }
    }
}

impl<A: Symbol, B: Backend> StepFunction<A> for ModelStep<'_, A, B> {
    fn propose(&mut self, x: &[Token<A>]) -> Result<Proposal<A>, StepFunctionError> {
        check_vocab(self.model, self.vocab)?;
        let ids = self.vocab.encode(x)?;
        let v = self.model.config.vocab;
        let control = self.model.config.control_head;
        let acts = logits(self.model, &self.backend, ids, &mut self.acts)?;
        let tokens = acts
            .token_logits
            .data()
            .chunks_exact(v)
            .map(|row| best_symbol(self.vocab, row))
            .collect();
        let bits = if control {
            acts.control_logits
                .data()
                .chunks_exact(3)
                .map(|c| ControlBits {
                    remask: c[0] > 0.0,
                    insert: c[1] > 0.0,
                    delete: c[2] > 0.0,
                })
                .collect()
        } else {
            vec![ControlBits::NONE; x.len()]
        };
        Ok(Proposal { tokens, bits })
    }
}

/// An ARM decoder: the sequence ends in one mask; the logits at the position before it give the
/// next token, and the mask inserts the next mask (the ARM rule of `machine`).
pub struct ArmStep<'a, A, B> {
    inner: ModelStep<'a, A, B>,
}

impl<'a, A: Symbol, B: Backend> ArmStep<'a, A, B> {
    /// A next-token step function for a causal `model` over `vocab`, on its own `backend`.
    pub fn new(model: &'a Model, backend: B, vocab: &'a Vocabulary<A>) -> Self {
        ArmStep {
            inner: ModelStep::new(model, backend, vocab),
        }
    }
}

impl<A: Symbol, B: Backend> StepFunction<A> for ArmStep<'_, A, B> {
    fn propose(&mut self, x: &[Token<A>]) -> Result<Proposal<A>, StepFunctionError> {
        let s = &mut self.inner;
        check_vocab(s.model, s.vocab)?;
        let n = x.len();
        if n < 2 || !x[n - 1].is_mask() {
            return Err(StepFunctionError(
                "an ARM sequence is a prefix followed by one trailing mask".into(),
            ));
        }
        // The trailing mask is not an input: the prefix alone decides the next token.
        let ids = s.vocab.encode(&x[..n - 1])?;
        let v = s.model.config.vocab;
        let acts = logits(s.model, &s.backend, ids, &mut s.acts)?;
        let last = &acts.token_logits.data()[(n - 2) * v..(n - 1) * v];
        let next = best_symbol(s.vocab, last);
        let mut bits = vec![ControlBits::NONE; n];
        bits[n - 1] = ControlBits::INSERT;
        Ok(Proposal {
            tokens: vec![next; n],
            bits,
        })
    }
}

fn check_vocab<A: Symbol>(model: &Model, vocab: &Vocabulary<A>) -> Result<(), StepFunctionError> {
    if model.config.vocab == vocab.len() {
        Ok(())
    } else {
        Err(StepFunctionError(format!(
            "the model has {} token ids, the task's vocabulary {}",
            model.config.vocab,
            vocab.len()
        )))
    }
}

/// A plain MDM decoded by an outside confidence policy (as in LLaDA and Kim et al.): of all masks,
/// only the one whose most likely symbol has the highest probability is unmasked (ties: the
/// leftmost); every other mask gets the remask bit, i.e. "hold". The policy is a scheduler outside
/// the model, not the theory's self-scheduling MDM; since its choice is expressed as control bits
/// and applied by g, `machine` checks the AO-MDM rule (one unmask per step) on every step.
pub struct ConfidenceStep<'a, A, B> {
    inner: ModelStep<'a, A, B>,
}

impl<'a, A: Symbol, B: Backend> ConfidenceStep<'a, A, B> {
    /// A confidence-policy step function for a token-head `model` over `vocab`.
    pub fn new(model: &'a Model, backend: B, vocab: &'a Vocabulary<A>) -> Self {
        ConfidenceStep {
            inner: ModelStep::new(model, backend, vocab),
        }
    }
}

/// The largest softmax probability of a logits row over the symbols (the mask id excluded).
fn confidence(row: &[f32]) -> f32 {
    let symbols = &row[1..];
    let max = symbols.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = symbols.iter().map(|&x| (x - max).exp()).sum();
    1.0 / sum
}

impl<A: Symbol, B: Backend> StepFunction<A> for ConfidenceStep<'_, A, B> {
    fn propose(&mut self, x: &[Token<A>]) -> Result<Proposal<A>, StepFunctionError> {
        let s = &mut self.inner;
        check_vocab(s.model, s.vocab)?;
        let ids = s.vocab.encode(x)?;
        let v = s.model.config.vocab;
        let acts = logits(s.model, &s.backend, ids, &mut s.acts)?;
        let rows: Vec<&[f32]> = acts.token_logits.data().chunks_exact(v).collect();
        let mut chosen: Option<(usize, f32)> = None;
        for (i, t) in x.iter().enumerate() {
            if t.is_mask() {
                let c = confidence(rows[i]);
                if chosen.is_none_or(|(_, best)| c > best) {
                    chosen = Some((i, c));
                }
            }
        }
        let bits = x
            .iter()
            .enumerate()
            .map(|(i, t)| {
                if t.is_mask() && chosen.map(|(c, _)| c) != Some(i) {
                    ControlBits::REMASK
                } else {
                    ControlBits::NONE
                }
            })
            .collect();
        let tokens = rows.iter().map(|row| best_symbol(s.vocab, row)).collect();
        Ok(Proposal { tokens, bits })
    }
}
