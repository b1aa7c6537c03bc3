//! Output files written so that nothing else is lost: a unique temporary file beside the target,
//! synced and renamed over it, or the target itself when it is not a regular file.
//!
//! Every file the crate writes (reports, traces, schedules, exported weights; the checkpoint store
//! keeps its own) goes through [`OutputFile`]. What a path names decides how it is written:
//!
//! - a regular file or nothing: the bytes go to `.NAME.PID.COUNTER.tmp` in the same folder,
//!   created exclusively (so no other file is ever opened by mistake, and two writers, in one
//!   process or two, never share it), then synced and renamed over `NAME`; on failure, or when
//!   the writer is dropped without [`OutputFile::commit`], the temporary file is removed and the
//!   old `NAME` is untouched;
//! - a symbolic link: the link is followed (hop by hop, so a dangling link creates its target)
//!   and its final target is written as above; the link itself stays a link;
//! - anything else (a FIFO, a terminal, `/dev/null`, `/dev/full`): written in place, since a
//!   rename would replace the node with a regular file.
//!
//! A directory is refused. Every OS error is reported once, with the path the user named.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Why an output file could not be written: the path as the user named it, and the OS's reason.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {}", path.display(), describe(error))]
pub struct OutputError {
    /// The path the user named.
    pub path: PathBuf,
    /// What the operating system said.
    pub error: io::Error,
}

/// The OS's description of an error without std's "(os error N)" suffix.
pub fn describe(e: &io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => text[..at].to_string(),
        _ => text,
    }
}

/// Links followed before giving up, as the kernel's own limit.
const MAX_LINK_HOPS: usize = 40;

/// Temporary files created by this process, so that concurrent writers never collide.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A file being written. Bytes go through a buffer; [`OutputFile::commit`] makes them the file's
/// content. Dropping it uncommitted removes the temporary file (a FIFO or device keeps what it got).
#[derive(Debug)]
pub struct OutputFile {
    /// The path as the user named it (for messages).
    named: PathBuf,
    /// Where the temporary file is renamed to; `None` when writing in place.
    target: Option<PathBuf>,
    /// The temporary file, while it exists.
    temp: Option<PathBuf>,
    writer: Option<BufWriter<File>>,
}

impl OutputFile {
    /// Opens `path` for writing: a fresh temporary file beside a regular (or missing) target, or
    /// the target itself when it is a FIFO or a device.
    pub fn create(path: &Path) -> Result<OutputFile, OutputError> {
        let fail = |error| OutputError {
            path: path.to_path_buf(),
            error,
        };
        let resolved = follow_links(path).map_err(fail)?;
        let existing = match fs::metadata(&resolved) {
            Ok(m) => Some(m),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(fail(e)),
        };
        match &existing {
            Some(m) if m.is_dir() => Err(fail(io::Error::new(
                io::ErrorKind::IsADirectory,
                "it is a directory",
            ))),
            Some(m) if !m.is_file() => {
                let file = OpenOptions::new()
                    .write(true)
                    .open(&resolved)
                    .map_err(fail)?;
                Ok(OutputFile {
                    named: path.to_path_buf(),
                    target: None,
                    temp: None,
                    writer: Some(BufWriter::new(file)),
                })
            }
            _ => {
                let (temp, file) = create_temp(&resolved).map_err(fail)?;
                let out = OutputFile {
                    named: path.to_path_buf(),
                    target: Some(resolved),
                    temp: Some(temp),
                    writer: Some(BufWriter::new(file)),
                };
                // A replaced file keeps its permission bits.
                if let Some(m) = existing {
                    let temp = out.temp.as_deref().expect("just created");
                    fs::set_permissions(temp, m.permissions()).map_err(|e| out.error(e))?;
                }
                Ok(out)
            }
        }
    }

    /// The error of a failed write to this file, naming the path the user gave.
    pub fn error(&self, error: io::Error) -> OutputError {
        OutputError {
            path: self.named.clone(),
            error,
        }
    }

    /// The path as the user named it.
    pub fn path(&self) -> &Path {
        &self.named
    }

    /// Flushes, syncs and renames the temporary file over the target (or flushes a FIFO or
    /// device). On failure the temporary file is removed and the target is untouched.
    pub fn commit(mut self) -> Result<(), OutputError> {
        let writer = self.writer.take().expect("written until committed");
        let file = writer
            .into_inner()
            .map_err(|e| self.error(e.into_error()))?;
        let Some(target) = self.target.clone() else {
            return Ok(());
        };
        file.sync_all().map_err(|e| self.error(e))?;
        drop(file);
        let temp = self.temp.clone().expect("a target has a temporary file");
        fs::rename(&temp, &target).map_err(|e| self.error(e))?;
        self.temp = None;
        // Make the rename itself durable; a folder that cannot be synced (some file systems
        // refuse) still holds the complete file, so this is best effort.
        if let Ok(dir) = File::open(folder_of(&target)) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer
            .as_mut()
            .expect("written until committed")
            .write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.writer
            .as_mut()
            .expect("written until committed")
            .write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer
            .as_mut()
            .expect("written until committed")
            .flush()
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            // Close before removing; an unflushed buffer is discarded with the file.
            if let Some(w) = self.writer.take() {
                let (file, _) = w.into_parts();
                drop(file);
            }
            let _ = fs::remove_file(temp);
        }
    }
}

/// Writes `bytes` to `path` through an [`OutputFile`].
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let mut out = OutputFile::create(path)?;
    out.write_all(bytes).map_err(|e| out.error(e))?;
    out.commit()
}

/// The folder holding `path` (`.` for a bare name).
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// `path` with every symbolic link along its last component followed; the result is not a link
/// (it may not exist).
fn follow_links(path: &Path) -> io::Result<PathBuf> {
    let mut at = path.to_path_buf();
    for _ in 0..MAX_LINK_HOPS {
        match fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                let next = fs::read_link(&at)?;
                at = if next.is_absolute() {
                    next
                } else {
                    folder_of(&at).join(next)
                };
            }
            Ok(_) => return Ok(at),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(at),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// Creates `.NAME.PID.COUNTER.tmp` beside `target`, exclusively (an existing file of that name is
/// skipped, never opened).
fn create_temp(target: &Path) -> io::Result<(PathBuf, File)> {
    let name = target
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let folder = folder_of(target);
    let pid = std::process::id();
    loop {
        let k = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".{pid}.{k}.tmp"));
        let temp = folder.join(temp_name);
        match OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(file) => return Ok((temp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh, empty folder under the system's temporary folder.
    fn folder(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("apmdm-output-file-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn an_unrelated_tmp_file_beside_the_target_survives() {
        let dir = folder("unrelated");
        fs::write(dir.join("results.tmp"), "mine").unwrap();
        write_file(&dir.join("results.jsonl"), b"new\n").unwrap();
        assert_eq!(fs::read_to_string(dir.join("results.tmp")).unwrap(), "mine");
        assert_eq!(
            fs::read_to_string(dir.join("results.jsonl")).unwrap(),
            "new\n"
        );
        assert_eq!(names(&dir), ["results.jsonl", "results.tmp"]);
    }

    #[test]
    fn writers_of_one_stem_or_one_name_never_share_a_temporary_file() {
        let dir = folder("stems");
        let mut a = OutputFile::create(&dir.join("out.json")).unwrap();
        let mut b = OutputFile::create(&dir.join("out.jsonl")).unwrap();
        let mut c = OutputFile::create(&dir.join("out.json")).unwrap();
        a.write_all(b"a").unwrap();
        b.write_all(b"b").unwrap();
        c.write_all(b"c").unwrap();
        assert_eq!(names(&dir).len(), 3);
        b.commit().unwrap();
        a.commit().unwrap();
        assert_eq!(fs::read_to_string(dir.join("out.json")).unwrap(), "a");
        assert_eq!(fs::read_to_string(dir.join("out.jsonl")).unwrap(), "b");
        c.commit().unwrap();
        assert_eq!(fs::read_to_string(dir.join("out.json")).unwrap(), "c");
        assert_eq!(names(&dir), ["out.json", "out.jsonl"]);
    }

    #[test]
    fn an_uncommitted_file_leaves_nothing_and_keeps_the_old_content() {
        let dir = folder("uncommitted");
        fs::write(dir.join("keep.json"), "old").unwrap();
        let mut out = OutputFile::create(&dir.join("keep.json")).unwrap();
        out.write_all(&[b'x'; 100_000]).unwrap();
        drop(out);
        assert_eq!(fs::read_to_string(dir.join("keep.json")).unwrap(), "old");
        assert_eq!(names(&dir), ["keep.json"]);
    }

    #[test]
    fn a_replaced_file_keeps_its_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = folder("mode");
        let path = dir.join("x.txt");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        write_file(&path, b"new").unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
    }

    #[test]
    fn links_are_followed_and_stay_links() {
        use std::os::unix::fs::symlink;
        let dir = folder("links");
        fs::create_dir(dir.join("real")).unwrap();
        fs::write(dir.join("real/target.txt"), "old").unwrap();
        symlink("real/target.txt", dir.join("link.txt")).unwrap();
        symlink("link.txt", dir.join("link2.txt")).unwrap();
        write_file(&dir.join("link2.txt"), b"new").unwrap();
        assert!(fs::symlink_metadata(dir.join("link.txt"))
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(fs::symlink_metadata(dir.join("link2.txt"))
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(
            fs::read_to_string(dir.join("real/target.txt")).unwrap(),
            "new"
        );
        assert_eq!(names(&dir.join("real")), ["target.txt"]);
        // A dangling link creates its target.
        symlink("real/fresh.txt", dir.join("dangling.txt")).unwrap();
        write_file(&dir.join("dangling.txt"), b"made").unwrap();
        assert_eq!(
            fs::read_to_string(dir.join("real/fresh.txt")).unwrap(),
            "made"
        );
        // A loop of links is an error naming the path, not a hang.
        symlink("loop_b", dir.join("loop_a")).unwrap();
        symlink("loop_a", dir.join("loop_b")).unwrap();
        let e = write_file(&dir.join("loop_a"), b"x").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "cannot write {}: too many levels of symbolic links",
                dir.join("loop_a").display()
            )
        );
    }

    #[test]
    fn a_full_device_is_written_in_place_and_reports_no_space_once() {
        let e = write_file(Path::new("/dev/full"), b"x").unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot write /dev/full: No space left on device"
        );
        use std::os::unix::fs::FileTypeExt;
        assert!(fs::metadata("/dev/full")
            .unwrap()
            .file_type()
            .is_char_device());
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = folder("dir");
        let e = write_file(&dir, b"x").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("cannot write {}: it is a directory", dir.display())
        );
    }
}
