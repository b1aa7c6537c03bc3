//! Helpers shared by the suite's files.

use std::process::Command;

/// Runs the `apmdm` binary with `args`: its exit status (-1 when a signal ended it), standard
/// output and standard error.
pub fn apmdm(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_apmdm"))
        .args(args)
        .output()
        .expect("the apmdm binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
