//! One data directory, one server: an exclusive lock on `<data_dir>/.lock`, held for the
//! life of the serving process.
//!
//! Why: two servers on one SQLite database both accept writes, but each delivers live
//! events only to its own sockets (the in-process bus), so agents on one never see what
//! the other stored (issue 12, finding 11). An advisory `flock` is released by the kernel
//! when the process dies, even by `kill -9`, so a crash never leaves a stale lock behind;
//! the pid written into the file only names the holder in the second process's refusal.
//! PostgreSQL deployments are meant to run several nodes and take no lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Why the data directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "data directory {dir} is already in use by another Parley server{holder}; stop it or choose another --data-dir"
    )]
    Busy { dir: String, holder: String },
    #[error("cannot lock data directory {dir} ({path}): {source}")]
    Io {
        dir: String,
        path: String,
        source: std::io::Error,
    },
}

/// The held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
    path: PathBuf,
}

impl DataDirLock {
    /// Takes the lock of `dir` without waiting: a second server is refused at once.
    pub fn acquire(dir: &Path) -> Result<DataDirLock, LockError> {
        let path = dir.join(".lock");
        let io = |source| LockError::Io {
            dir: dir.display().to_string(),
            path: path.display().to_string(),
            source,
        };
        let mut file = match OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
        {
            Ok(f) => f,
            // A read-only directory: lock the existing file through a read-only handle
            // (flock does not need write access); the database check then names the real
            // problem instead of this file.
            Err(e) => File::open(&path).map_err(|_| io(e))?,
        };
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                let pid = pid.trim();
                return Err(LockError::Busy {
                    dir: dir.display().to_string(),
                    holder: if pid.is_empty() {
                        String::new()
                    } else {
                        format!(" (pid {pid})")
                    },
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        // Best effort: the pid is for the refusal message only, the lock is what counts
        // (a full disk may refuse even these few bytes).
        let _ = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)).map(|_| ()))
            .and_then(|()| write!(file, "{}", std::process::id()))
            .and_then(|()| file.flush());
        Ok(DataDirLock { _file: file, path })
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_directory_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = DataDirLock::acquire(dir.path()).expect("first lock");
        let err = DataDirLock::acquire(dir.path()).expect_err("second lock refused");
        let text = err.to_string();
        assert!(text.contains("already in use"), "{text}");
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        drop(first);
        DataDirLock::acquire(dir.path()).expect("lock again after release");
    }
}
