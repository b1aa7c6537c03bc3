//! Generation (Theorems 5 and 6): stochastic AP-MDMs, their exact support, and edit tracking.
//!
//! Everything here steps through `machine`: a stochastic f ([`StochasticStep`]) gives each
//! position a finite distribution; its draws are applied by `machine::apply` (g) after the class
//! check, in the sampler and in the exhaustive search alike. `generate` depends on `machine`, and
//! on `seq` for the edit tracker written as a seq program (`edits_seq`).

pub mod dyck;
pub mod edits;
pub mod edits_seq;
pub mod stochastic;
pub mod support;
pub mod thm5;

pub use stochastic::{Choice, RandomPosition, Sampler, StochasticProposal, StochasticStep};
pub use support::{
    paths, search, Fraction, Keys, PathStats, Searchable, Support, SupportError, SupportLimits,
};
