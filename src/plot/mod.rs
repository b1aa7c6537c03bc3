//! plot: the figures of `apmdm plot`, drawn with plotters as SVG.
//!
//! `figure` is a figure as data (panels, series marked measured, bound, predicted or reference,
//! intervals) and its rendering, every label measured with the embedded DejaVu Sans so the bytes
//! do not depend on the machine; `growth` turns checked rows (`check::mdm::Row`,
//! `check::apmdm::ApmdmRow`) into plot rows, fits them with the checker's own fit and draws steps
//! and context against n per program and the PSPACE figure; `parity` draws the learned-parity
//! accuracy with Wilson intervals from the committed results file. Nothing here runs a schedule
//! or reads a clock: the command that collects the rows is `cli::plot`.

pub mod figure;
pub mod growth;
pub mod parity;
