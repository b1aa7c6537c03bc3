//! One progress convention for long commands: on a terminal, an indicatif bar on stderr with the
//! count, the total, what is running and the time left; when stderr is not a terminal (a CI log, a
//! pipe) or with `--json`, nothing at all, so logs hold results only.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar over `total` items of `what` (e.g. "cases"); hidden when `quiet` or off a terminal.
pub(crate) fn items(what: &str, total: u64, quiet: bool) -> ProgressBar {
    let bar = ProgressBar::new(total);
    // indicatif draws to stderr only when it is a terminal.
    bar.set_draw_target(if quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    });
    let template = format!("[{{bar:24}}] {{pos}}/{{len}} {what} {{msg}} eta {{eta}}");
    bar.set_style(
        ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}
