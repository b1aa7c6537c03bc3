//! The binary's output: files through `apmdm::output_file`, and standard output and error that
//! never panic on a write error.
//!
//! `print!`, `println!`, `eprint!` and `eprintln!` in the binary are the macros of `main.rs`,
//! which write through [`Stdout`] and [`print_err`]. A write error on standard output is
//! remembered and later output is dropped: a closed pipe (the reader stopped reading, as
//! `| head` does) is the reader's choice, so the command still ends with its own exit status;
//! any other error (a full disk) is reported once by [`finish_stdout`] and turns the exit status
//! into 2.

use std::fmt;
use std::io::{self, Write};
use std::path::Path;
use std::sync::Mutex;

use apmdm::output_file::{self, OutputFile};

/// The whole file, refused without reading it when it is longer than `limit` bytes (and, for a
/// file that grows while it is read, once more than `limit` bytes have come). `what` names the
/// file in the refusal ("the trace"), `option` the option that sets the limit.
pub(crate) fn read_limited(
    path: &Path,
    limit: u64,
    what: &str,
    option: &str,
) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let refuse = |len: u64| {
        anyhow::anyhow!(
            "{}: {what} has {len} bytes, over the limit of {limit} ({option})",
            path.display()
        )
    };
    let failed = |e: io::Error| {
        anyhow::anyhow!(
            "cannot read {}: {}",
            path.display(),
            output_file::describe(&e)
        )
    };
    let file = std::fs::File::open(path).map_err(failed)?;
    let len = file.metadata().map_err(failed)?.len();
    if len > limit {
        return Err(refuse(len));
    }
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(failed)?;
    if bytes.len() as u64 > limit {
        return Err(refuse(bytes.len() as u64));
    }
    Ok(bytes)
}

/// [`read_limited`] as UTF-8 text.
pub(crate) fn read_limited_text(
    path: &Path,
    limit: u64,
    what: &str,
    option: &str,
) -> anyhow::Result<String> {
    String::from_utf8(read_limited(path, limit, what, option)?)
        .map_err(|e| anyhow::anyhow!("{}: not UTF-8 text ({e})", path.display()))
}

/// Writes `bytes` to `path` (a temporary file beside it, renamed over it; a FIFO or device in
/// place), as `apmdm::output_file` says.
pub(crate) fn write_output(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    Ok(output_file::write_file(path, bytes)?)
}

/// Opens `path` for streamed output; commit it when everything is written.
pub(crate) fn create_output(path: &Path) -> anyhow::Result<OutputFile> {
    Ok(OutputFile::create(path)?)
}

/// What has gone wrong on standard output so far.
#[derive(Debug, Default)]
struct StdoutState {
    /// The reader closed the pipe.
    closed: bool,
    /// The first other write error.
    failed: Option<io::Error>,
}

static STDOUT: Mutex<StdoutState> = Mutex::new(StdoutState {
    closed: false,
    failed: None,
});

fn state() -> std::sync::MutexGuard<'static, StdoutState> {
    STDOUT.lock().unwrap_or_else(|p| p.into_inner())
}

/// Standard output that returns errors instead of panicking, and drops everything after the
/// first error (so a closed pipe or a full disk is met once).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stdout;

impl Stdout {
    fn guarded(
        f: impl FnOnce(&mut io::StdoutLock<'static>) -> io::Result<usize>,
    ) -> io::Result<usize> {
        {
            let s = state();
            if s.closed || s.failed.is_some() {
                return Err(io::Error::other("standard output is no longer written"));
            }
        }
        let result = f(&mut io::stdout().lock());
        if let Err(e) = &result {
            if e.kind() != io::ErrorKind::Interrupted {
                let mut s = state();
                if e.kind() == io::ErrorKind::BrokenPipe {
                    s.closed = true;
                } else if s.failed.is_none() {
                    s.failed = Some(io::Error::new(e.kind(), output_file::describe(e)));
                }
            }
        }
        result
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Self::guarded(|out| out.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        Self::guarded(|out| out.flush().map(|()| 0)).map(|_| ())
    }
}

/// `print!`: writes to standard output; an error is remembered, never a panic.
pub(crate) fn print_out(args: fmt::Arguments<'_>) {
    let _ = Stdout.write_fmt(args);
}

/// `eprint!`: writes to standard error; an error there has nowhere to be reported, so it is
/// ignored (the exit status still says how the command ended).
pub(crate) fn print_err(args: fmt::Arguments<'_>) {
    let _ = io::stderr().lock().write_fmt(args);
}

/// Flushes standard output; returns the one-line reason it could not all be written, unless the
/// reader closed the pipe.
pub(crate) fn finish_stdout() -> Option<String> {
    let _ = Stdout.flush();
    let s = state();
    s.failed
        .as_ref()
        .map(|e| format!("cannot write standard output: {}", output_file::describe(e)))
}
