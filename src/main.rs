//! The `apmdm` command line: parses arguments and hands each subcommand to `cli`.

// `print!`, `println!`, `eprint!` and `eprintln!` in this binary are these, not std's: std's
// panic when standard output cannot be written (`> /dev/full`, a closed pipe). These write
// through `cli::io`, which remembers the error for the exit status instead. Defined before
// `mod cli` so that every module of the binary uses them.
macro_rules! print {
    ($($arg:tt)*) => { $crate::cli::io::print_out(format_args!($($arg)*)) };
}
macro_rules! println {
    () => { $crate::cli::io::print_out(format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::cli::io::print_out(format_args!("{}\n", format_args!($($arg)*)))
    };
}
// Kept although no module prints partial lines on stderr today: std's would be used otherwise.
#[allow(unused_macros)]
macro_rules! eprint {
    ($($arg:tt)*) => { $crate::cli::io::print_err(format_args!($($arg)*)) };
}
macro_rules! eprintln {
    () => { $crate::cli::io::print_err(format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::cli::io::print_err(format_args!("{}\n", format_args!($($arg)*)))
    };
}

mod cli;

use std::process::ExitCode;

use clap::Parser;

/// Runs the command; exits with its own status, or 2 on an error (reported in one line on
/// standard error), including standard output that could not be written. A pipe the reader
/// closed (`| head`) is not an error: the command's status stands.
fn main() -> ExitCode {
    quiet_vulkan_device_select();
    let args = cli::Cli::parse();
    let result = cli::dispatch(args);
    let stdout_error = cli::io::finish_stdout();
    match (result, stdout_error) {
        (Err(e), _) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::from(2)
        }
        (Ok(_), Some(why)) => {
            eprintln!("error: {why}");
            ExitCode::from(2)
        }
        (Ok(code), None) => code,
    }
}
/// The error and its causes on one line, each said once: a message that already ends with its
/// cause's text (`{path}: {source}`) is not followed by the cause again.
fn one_line(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string().replace('\n', " ");
        if out.ends_with(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// Mesa's Vulkan device-selection layer connects to a Wayland display to rank GPUs for drawing,
/// and where there is none (no `XDG_RUNTIME_DIR`: a server, a container, CI) libwayland prints
/// "XDG_RUNTIME_DIR is invalid or not set" twice for every wgpu device apmdm opens. Nothing here
/// draws, so without a session the layer is switched off by its documented variable. Set here,
/// before any thread starts, so no other thread reads the environment meanwhile.
fn quiet_vulkan_device_select() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_none()
        && std::env::var_os("NODEVICE_SELECT").is_none()
    {
        std::env::set_var("NODEVICE_SELECT", "1");
    }
}
