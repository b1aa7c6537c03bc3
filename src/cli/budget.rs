//! The time budget of `apmdm check`: a row's predicted position-steps (MDM: canvas length times
//! T + 1; AP-MDM: its steps bound times its peak context) turned into predicted seconds with a
//! cost per position-step calibrated at start-up, by a short fixed probe: the MDM schedule of
//! prefix_sum at n = 128 (seed 1), run `PROBE_RUNS` times with the seq evaluator, timed in CPU
//! time (this process's, all threads; wall time where `/proc` is missing). The fastest run gives
//! the cost. The budget therefore depends on the machine's speed; the calibration is printed.

use std::time::Instant;

use anyhow::{Context, Result};
use serde::Serialize;

use apmdm::compile::mdm_run::run_mdm;
use apmdm::compile::pram_to_mdm::{pram_to_mdm, CompileLimits};
use apmdm::pram::{library, RunConfig};
use apmdm::seq::Evaluator;

/// The probe program and size.
pub const PROBE: (&str, i64) = ("prefix_sum", 64);
/// Runs of the probe; the fastest one counts.
pub const PROBE_RUNS: usize = 3;
/// The default of `--max-seconds`.
pub const DEFAULT_MAX_SECONDS: f64 = 8.0;

/// The calibration and the budget it gives.
#[derive(Clone, Debug, Serialize)]
pub struct Budget {
    /// `--max-seconds`, calibrated (`None`: --max-work alone, no probe ran).
    pub calibration: Option<Calibration>,
    /// `--max-work` when given (an explicit cap on position-steps).
    pub max_work_cap: Option<u64>,
    /// The position-steps a row may take: `max_seconds` at the calibrated cost, capped by
    /// `--max-work`.
    pub max_work: u64,
    /// MDM rows over `max_work` but within this many position-steps (`TRIAL_FACTOR` times the
    /// time budget's, capped by `--max-work`) are started and judged by their own first steps
    /// (`check::mdm::Trial`); `None` without a time budget.
    pub trial_position_steps: Option<u64>,
}

/// How far over the predicted budget an MDM row may be and still be started as a trial: the
/// prediction (position-steps times the probe's cost) overestimates schedules whose steps
/// change little by up to 20x under the incremental evaluation.
pub const TRIAL_FACTOR: u64 = 24;

/// The probe's measurement and the time budget.
#[derive(Clone, Debug, Serialize)]
pub struct Calibration {
    /// The probe, `NAME:N` (MDM target, seed 1).
    pub probe: String,
    /// Position-steps of one probe run.
    pub probe_position_steps: u64,
    /// Seconds of the fastest probe run.
    pub probe_seconds: f64,
    /// `cpu` (this process's CPU time) or `wall` (where CPU time cannot be read).
    pub clock: &'static str,
    /// Nanoseconds per position-step: `probe_seconds` over `probe_position_steps`.
    pub ns_per_position_step: f64,
    /// `--max-seconds`: the predicted seconds a row may take.
    pub max_seconds: f64,
    /// `max_seconds` at the calibrated cost, in position-steps.
    pub position_steps: u64,
}

/// This process's CPU time in seconds, when it can be read.
fn cpu_seconds() -> Option<f64> {
    super::bench_profile::process_cpu_ns().map(|ns| ns as f64 * 1e-9)
}

impl Budget {
    /// The trial of MDM rows over the predicted budget, when there is a time budget.
    pub fn trial(&self) -> Option<apmdm::check::mdm::Trial> {
        let c = self.calibration.as_ref()?;
        Some(apmdm::check::mdm::Trial {
            ceiling: self.trial_position_steps?,
            max_seconds: c.max_seconds,
            clock: Some(cpu_seconds),
        })
    }

    /// The budget of `--max-seconds` and `--max-work` (the default time budget when neither
    /// is given; no probe when only --max-work is).
    pub fn of(max_seconds: Option<f64>, max_work_cap: Option<u64>) -> Result<Budget> {
        let calibration = match (max_seconds, max_work_cap) {
            (None, Some(_)) => None,
            (s, _) => Some(calibrate(s.unwrap_or(DEFAULT_MAX_SECONDS))?),
        };
        let from_seconds = calibration.as_ref().map_or(u64::MAX, |c| c.position_steps);
        let trial_position_steps = calibration.as_ref().map(|c| {
            let ceiling = c.position_steps.saturating_mul(TRIAL_FACTOR);
            max_work_cap.map_or(ceiling, |cap| cap.min(ceiling))
        });
        Ok(Budget {
            calibration,
            max_work_cap,
            max_work: max_work_cap.map_or(from_seconds, |cap| cap.min(from_seconds)),
            trial_position_steps,
        })
    }
}

/// Calibrates the cost per position-step and converts `max_seconds` to position-steps.
pub fn calibrate(max_seconds: f64) -> Result<Calibration> {
    if !(max_seconds.is_finite() && max_seconds >= 0.0) {
        anyhow::bail!("--max-seconds must be a finite number of seconds, at least 0");
    }
    let (name, n) = PROBE;
    let program = library::load(name)
        .context("the calibration probe's program is missing")?
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let compiled = pram_to_mdm(&program, n, &CompileLimits::default())?;
    let config = RunConfig::new(n);
    let clock = if cpu_seconds().is_some() {
        "cpu"
    } else {
        "wall"
    };
    let mut best = f64::INFINITY;
    let mut position_steps = 0u64;
    for _ in 0..PROBE_RUNS {
        let (cpu0, wall0) = (cpu_seconds(), Instant::now());
        let (report, _) = run_mdm(&compiled, &program, &config, Evaluator::Indexed, false)?;
        let seconds = match (cpu0, cpu_seconds()) {
            (Some(a), Some(b)) => b - a,
            _ => wall0.elapsed().as_secs_f64(),
        };
        best = best.min(seconds);
        position_steps = report.context as u64 * report.steps as u64;
    }
    // A clock too coarse to see the probe would make every row free: one nanosecond at least.
    let ns = (best * 1e9 / position_steps.max(1) as f64).max(1.0);
    let from_seconds = (max_seconds * 1e9 / ns).floor();
    let from_seconds = if from_seconds >= u64::MAX as f64 {
        u64::MAX
    } else {
        from_seconds as u64
    };
    Ok(Calibration {
        probe: format!("{name}:{n}"),
        probe_position_steps: position_steps,
        probe_seconds: best,
        clock,
        ns_per_position_step: ns,
        max_seconds,
        position_steps: from_seconds,
    })
}

impl Budget {
    /// One line for the check header.
    pub fn line(&self) -> String {
        let Some(c) = &self.calibration else {
            return format!(
                "budget: {} position-steps per schedule (--max-work; no time budget)",
                self.max_work
            );
        };
        format!(
            "budget: {} s predicted per schedule (--max-seconds) at {:.0} ns per position-step \
             (calibrated: {} on the MDM target, {} position-steps, fastest of {PROBE_RUNS} runs \
             {:.1} ms of {} time) = {} position-steps{}; MDM rows up to {} position-steps \
             ({TRIAL_FACTOR}x) are started and stopped if their first steps project past it; the \
             budget depends on this machine's speed",
            c.max_seconds,
            c.ns_per_position_step,
            c.probe,
            c.probe_position_steps,
            c.probe_seconds * 1e3,
            c.clock,
            self.max_work,
            self.max_work_cap
                .map_or(String::new(), |w| format!(" (--max-work cap {w})")),
            self.trial_position_steps.unwrap_or(self.max_work),
        )
    }
}
