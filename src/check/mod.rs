//! check: the cross-checker's measurement side; today the empirical growth fit.

pub mod fit;
