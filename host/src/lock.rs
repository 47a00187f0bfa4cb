//! One writer per target: an advisory `flock(2)` on `/run/netc/<key>.lock`.
//!
//! `apply`, `confirm` and the commit-confirmed reverter take it exclusive;
//! `plan` takes it shared, so a plan never reads a half-applied state. A
//! second apply waits up to its timeout, then fails naming the holder
//! (found through `/proc/locks`). The kernel drops the lock when the holder
//! exits, however it exits, so there are no stale locks to clean up. The
//! lock file is created once and never written.

use crate::Error;
use std::fs::File;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const LOCK_SH: i32 = 1;
const LOCK_EX: i32 = 2;
const LOCK_NB: i32 = 4;

extern "C" {
    // libc's flock(2); std links libc on Linux.
    fn flock(fd: i32, operation: i32) -> i32;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Shared,
    Exclusive,
}

/// Held until dropped.
#[derive(Debug)]
pub struct LockGuard {
    _file: File,
    pub path: PathBuf,
}

pub fn acquire(path: &Path, mode: Mode, timeout: Duration) -> Result<LockGuard, Error> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    let op = match mode {
        Mode::Shared => LOCK_SH,
        Mode::Exclusive => LOCK_EX,
    } | LOCK_NB;
    let start = Instant::now();
    let mut announced = false;
    loop {
        // SAFETY: flock on a file descriptor we own for the call's duration.
        let rc = unsafe { flock(file.as_raw_fd(), op) };
        if rc == 0 {
            return Ok(LockGuard {
                _file: file,
                path: path.to_path_buf(),
            });
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::WouldBlock {
            return Err(Error::io(path, err));
        }
        if start.elapsed() >= timeout {
            return Err(crate::LockError::Busy {
                path: path.to_path_buf(),
                holder: holder(&file),
                waited: timeout,
            }
            .into());
        }
        if !announced && start.elapsed() >= Duration::from_millis(500) {
            announced = true;
            eprintln!(
                "waiting for the lock {} held by another netc process{}…",
                path.display(),
                holder(&file).map(|h| format!(" ({h})")).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `pid N: cmdline` of a process holding a flock on this file, from /proc/locks.
fn holder(file: &File) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let ino = file.metadata().ok()?.ino();
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    for l in locks.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        // "1: FLOCK ADVISORY WRITE 1234 00:1a:5678 0 EOF"
        if f.len() >= 6 && f[1] == "FLOCK" {
            let dev_ino = f[5];
            if dev_ino.rsplit(':').next() == Some(&ino.to_string()) {
                let pid = f[4];
                if pid == std::process::id().to_string() {
                    continue;
                }
                let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
                    .map(|b| {
                        String::from_utf8_lossy(&b)
                            .split('\0')
                            .filter(|s| !s.is_empty())
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .unwrap_or_default();
                return Some(format!("pid {pid}: {cmd}"));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_exclusive_waits_then_fails_clearly() {
        let dir = std::env::temp_dir().join(format!("netc-lock-test-{}", std::process::id()));
        let p = dir.join("t.lock");
        let g = acquire(&p, Mode::Exclusive, Duration::from_secs(1)).unwrap();
        // A second open file description conflicts even in the same process.
        let e = acquire(&p, Mode::Exclusive, Duration::from_millis(200)).unwrap_err();
        assert!(e.to_string().contains("holds the lock"), "{e}");
        let e = acquire(&p, Mode::Shared, Duration::from_millis(100)).unwrap_err();
        assert!(matches!(e, Error::Lock(crate::LockError::Busy { .. })));
        drop(g);
        let _a = acquire(&p, Mode::Shared, Duration::from_millis(100)).unwrap();
        let _b = acquire(&p, Mode::Shared, Duration::from_millis(100)).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
