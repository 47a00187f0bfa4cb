//! Commit-confirmed applies (`netc apply --confirm-within 120s`), after
//! `netplan try`, BIRD's `configure timeout` and Junos `commit confirmed`.
//!
//! Mechanism:
//! 1. After a successful, verified apply, the snapshot taken before it is
//!    written to `/var/lib/netc/<target>/pending.json` (mode 0600, directory
//!    0700: it may hold the previous bird.conf and its password) with an id
//!    and a deadline.
//! 2. A reverter process is started, fully detached: netc runs
//!    `netc confirm --revert-worker FILE` with `NETC_REVERT_DETACH=1`; that
//!    process starts the real worker in a new session (`setsid`, stdio on
//!    the target's `revert.log`, no controlling terminal) and exits at once,
//!    and netc waits for it. The worker is thus orphaned and adopted by
//!    init: neither the death of netc nor the end of the SSH session (and
//!    its SIGHUP) reaches it. It does not depend on systemd, so it works the
//!    same on hosts, in containers and in tests.
//! 3. The worker polls the pending file. If it disappears (`netc confirm`
//!    removed it) or names another id, the worker exits. At the deadline it
//!    takes the target's lock, checks the file once more, restores the
//!    snapshot (plan live → snapshot, run, verify), logs the outcome to
//!    `revert.log` and removes the pending file.
//! 4. `netc confirm` takes the same lock and removes the pending file
//!    before the deadline; after the deadline it refuses (the revert is due
//!    or done). `netc confirm --rollback` restores the snapshot at once.
//!
//! 5. Safety net: every `netc plan`, `apply` and `confirm` on the target
//!    first calls [`revert_overdue`]. If the deadline has passed and the
//!    pending file is still there — the reverter was killed, or the machine
//!    was suspended past the deadline — that invocation restores the
//!    snapshot itself (under the same lock, so never twice) and says so.
//!    An unconfirmed apply can thus outlive its deadline only until the
//!    next netc command touches the target.
//!
//! While an apply is pending, another apply is refused: confirm or roll
//! back first. If the machine reboots inside the window, the kernel state
//! is gone anyway but the new bird.conf stays: the pending file survives,
//! `netc plan` reports it, and `netc confirm --rollback` restores the
//! previous file.

use crate::lock::{self, Mode};
use crate::state::State;
use crate::target::Target;
use crate::{Error, PendingError, ReverterStart, UsageError};
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const DETACH_ENV: &str = "NETC_REVERT_DETACH";
const LOCK_WAIT: Duration = Duration::from_secs(120);

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pending {
    pub id: String,
    pub node: String,
    pub target: Target,
    pub applied_unix_ms: u64,
    pub deadline_unix_ms: u64,
    /// The state before the apply: what the reverter restores.
    pub snapshot: State,
    pub worker_pid: Option<u32>,
}

impl Pending {
    pub fn remaining(&self) -> Duration {
        Duration::from_millis(self.deadline_unix_ms.saturating_sub(now_ms()))
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `2026-11-26 06:39:14 UTC`.
pub fn utc(ms: u64) -> String {
    let secs = (ms / 1000) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

pub fn pending_path(t: &Target) -> PathBuf {
    t.state_dir().join("pending.json")
}

pub fn log_path(t: &Target) -> PathBuf {
    t.state_dir().join("revert.log")
}

pub fn load(t: &Target) -> Result<Option<Pending>, Error> {
    load_path(&pending_path(t))
}

pub fn load_path(p: &Path) -> Result<Option<Pending>, Error> {
    match std::fs::read_to_string(p) {
        Ok(s) => serde_json::from_str(&s)
            .map(Some)
            .map_err(|e| Error::parse(&p.display().to_string(), e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(p, e)),
    }
}

/// Write a file only root can read, atomically (temp + fsync + rename), in
/// a 0700 directory.
pub fn write_private(path: &Path, text: &str) -> Result<(), Error> {
    write_private_as(path, text, true)
}

/// [`write_private`] without the fsync, for cache entries: after a crash a
/// cache file may be empty or cut short, which its reader takes for a miss
/// (it does not parse), and nothing is lost that a compile or a listing
/// does not give back. An fsync of the canonical table netc applied last
/// (9 MB at 100,000 rules) cost a one-rule apply 10–20 ms.
pub fn write_cache(path: &Path, text: &str) -> Result<(), Error> {
    write_private_as(path, text, false)
}

fn write_private_as(path: &Path, text: &str, sync: bool) -> Result<(), Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::io(dir, e))?;
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| Error::io(&tmp, e))?;
        f.write_all(text.as_bytes())
            .and_then(|_| if sync { f.sync_all() } else { Ok(()) })
            .map_err(|e| Error::io(&tmp, e))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    Ok(())
}

fn log(t: &Target, msg: &str) {
    let p = log_path(t);
    if let Some(d) = p.parent() {
        let _ = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(d);
    }
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&p)
    {
        let _ = writeln!(f, "{} [{}] {msg}", utc(now_ms()), std::process::id());
    }
}

/// Refuse to start another apply while one waits for confirmation.
pub fn refuse_if_pending(t: &Target) -> Result<(), Error> {
    if let Some(p) = load(t)? {
        return Err(PendingError::Waiting {
            node: p.node.clone(),
            target: t.label(),
            deadline: utc(p.deadline_unix_ms),
            remaining: p.remaining(),
        }
        .into());
    }
    Ok(())
}

/// Save the snapshot and start the reverter. `worker_argv`: the command
/// that runs [`worker`] (the CLI's `netc confirm --revert-worker`), to which
/// the pending file's path is appended. Call with the target's lock held.
pub fn start(
    t: &Target,
    node: &str,
    snapshot: &State,
    within: Duration,
    worker_argv: &[OsString],
) -> Result<Pending, Error> {
    let now = now_ms();
    let mut p = Pending {
        id: format!("{now}-{}", std::process::id()),
        node: node.to_string(),
        target: t.clone(),
        applied_unix_ms: now,
        deadline_unix_ms: now + within.as_millis() as u64,
        snapshot: snapshot.clone(),
        worker_pid: None,
    };
    let path = pending_path(t);
    write_private(&path, &serde_json::to_string(&p).unwrap_or_default())?;
    log(
        t,
        &format!(
            "apply {} of node {} pending; reverts at {} unless confirmed",
            p.id,
            node,
            utc(p.deadline_unix_ms)
        ),
    );
    let (prog, args) = worker_argv
        .split_first()
        .ok_or(UsageError::NoReverterCommand)?;
    let out = std::process::Command::new(prog)
        .args(args)
        .arg(&path)
        .env(DETACH_ENV, "1")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output();
    let pid = match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().parse().ok(),
        Ok(o) => {
            let _ = std::fs::remove_file(&path);
            return Err(PendingError::ReverterNotStarted {
                why: ReverterStart::Exited(o.status),
            }
            .into());
        }
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            return Err(PendingError::ReverterNotStarted {
                why: ReverterStart::Spawn(e),
            }
            .into());
        }
    };
    p.worker_pid = pid;
    write_private(&path, &serde_json::to_string(&p).unwrap_or_default())?;
    Ok(p)
}

extern "C" {
    // libc's setsid(2).
    fn setsid() -> i32;
}

/// First stage (with `NETC_REVERT_DETACH=1`): start the real worker in its
/// own session and print its pid. Returns the exit code.
pub fn detach(pending_file: &Path) -> Result<u8, Error> {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().map_err(|e| Error::io(Path::new("current_exe"), e))?;
    let argv: Vec<OsString> = std::env::args_os().skip(1).collect();
    let t = load_path(pending_file)?
        .map(|p| p.target)
        .ok_or_else(|| PendingError::Gone {
            path: pending_file.to_path_buf(),
        })?;
    let logf = log_path(&t);
    let open = || {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&logf)
            .map_err(|e| Error::io(&logf, e))
    };
    let mut cmd = std::process::Command::new(exe);
    cmd.args(argv)
        .env_remove(DETACH_ENV)
        .stdin(std::process::Stdio::null())
        .stdout(open()?)
        .stderr(open()?);
    // SAFETY: setsid is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .map_err(|e| Error::io(Path::new("reverter"), e))?;
    println!("{}", child.id());
    Ok(0)
}

/// The reverter: wait for the deadline, then restore the snapshot unless
/// the apply was confirmed. Returns the exit code.
pub fn worker(pending_file: &Path) -> Result<u8, Error> {
    if std::env::var_os(DETACH_ENV).is_some() {
        return detach(pending_file);
    }
    let Some(first) = load_path(pending_file)? else {
        return Ok(0);
    };
    let t = first.target.clone();
    let still_pending = || -> Result<bool, Error> {
        Ok(load_path(pending_file)?.is_some_and(|p| p.id == first.id))
    };
    loop {
        if !still_pending()? {
            log(&t, &format!("apply {} confirmed; reverter exits", first.id));
            return Ok(0);
        }
        let left = first.remaining();
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(Duration::from_millis(200)));
    }
    let _guard = lock::acquire(&t.lock_path(), Mode::Exclusive, LOCK_WAIT)?;
    if !still_pending()? {
        log(
            &t,
            &format!(
                "apply {} confirmed at the deadline; reverter exits",
                first.id
            ),
        );
        return Ok(0);
    }
    log(
        &t,
        &format!(
            "apply {} of node {} not confirmed by {}: restoring the previous state",
            first.id,
            first.node,
            utc(first.deadline_unix_ms)
        ),
    );
    let exec = t.exec();
    let code = match crate::apply::restore(&exec, &t, &first.snapshot) {
        Ok(_) => {
            log(&t, "restored and verified");
            let _ = std::fs::remove_file(pending_file);
            0
        }
        Err(d) => {
            log(
                &t,
                &format!(
                    "REVERT INCOMPLETE; the snapshot stays in {} (retry: netc confirm --rollback):\n  {}",
                    pending_file.display(),
                    d.join("\n  ")
                ),
            );
            1
        }
    };
    Ok(code)
}

/// If an unconfirmed apply on `t` is past its deadline and still pending
/// (its reverter died or has not run), restore its snapshot now. Returns
/// what happened, for the caller to print; None when nothing was overdue.
/// `who` names the command, for the log.
pub fn revert_overdue(t: &Target, who: &str) -> Result<Option<Pending>, Error> {
    let overdue = |p: &Pending| now_ms() >= p.deadline_unix_ms;
    match load(t)? {
        Some(p) if overdue(&p) => {}
        _ => return Ok(None),
    }
    let _guard = lock::acquire(&t.lock_path(), Mode::Exclusive, LOCK_WAIT)?;
    // Under the lock: the reverter may have done it meanwhile.
    let Some(p) = load(t)? else {
        return Ok(None);
    };
    if !overdue(&p) {
        return Ok(None);
    }
    let alive = p.worker_pid.is_some_and(|pid| {
        std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|c| c.contains("--revert-worker"))
    });
    log(
        t,
        &format!(
            "apply {} of node {} was not confirmed by {} and is still in place (reverter {}): `{who}` restores the previous state",
            p.id,
            p.node,
            utc(p.deadline_unix_ms),
            match (p.worker_pid, alive) {
                (Some(pid), true) => format!("pid {pid} still running"),
                (Some(pid), false) => format!("pid {pid} is gone"),
                (None, _) => "unknown".to_string(),
            }
        ),
    );
    let exec = t.exec();
    match crate::apply::restore(&exec, &p.target, &p.snapshot) {
        Ok(_) => {
            let path = pending_path(t);
            let _ = std::fs::remove_file(&path);
            log(t, "restored and verified");
            Ok(Some(p))
        }
        Err(differences) => {
            log(
                t,
                &format!(
                    "REVERT INCOMPLETE; the snapshot stays in {} (retry: netc confirm --rollback):\n  {}",
                    pending_path(t).display(),
                    differences.join("\n  ")
                ),
            );
            Err(PendingError::RollbackIncomplete {
                snapshot: pending_path(t),
                differences,
            }
            .into())
        }
    }
}

/// What `netc confirm` did.
pub struct Confirmed {
    pub pending: Pending,
    pub early_by: Duration,
}

/// Keep the pending apply. Takes the target's lock.
pub fn confirm(t: &Target) -> Result<Confirmed, Error> {
    let _guard = lock::acquire(&t.lock_path(), Mode::Exclusive, LOCK_WAIT)?;
    let Some(p) = load(t)? else {
        return Err(PendingError::NothingPending {
            target: t.label(),
            rollback: false,
        }
        .into());
    };
    if now_ms() >= p.deadline_unix_ms {
        return Err(PendingError::TooLate {
            node: p.node.clone(),
            deadline: utc(p.deadline_unix_ms),
            log: log_path(t),
        }
        .into());
    }
    let path = pending_path(t);
    std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
    log(t, &format!("apply {} confirmed", p.id));
    Ok(Confirmed {
        early_by: p.remaining(),
        pending: p,
    })
}

/// Restore the pending apply's snapshot now (`netc confirm --rollback`).
pub fn rollback_now(t: &Target) -> Result<Pending, Error> {
    let _guard = lock::acquire(&t.lock_path(), Mode::Exclusive, LOCK_WAIT)?;
    let Some(p) = load(t)? else {
        return Err(PendingError::NothingPending {
            target: t.label(),
            rollback: true,
        }
        .into());
    };
    let exec = t.exec();
    match crate::apply::restore(&exec, &p.target, &p.snapshot) {
        Ok(_) => {
            let path = pending_path(t);
            let _ = std::fs::remove_file(&path);
            log(t, &format!("apply {} rolled back on request", p.id));
            Ok(p)
        }
        Err(differences) => Err(PendingError::RollbackIncomplete {
            snapshot: pending_path(t),
            differences,
        }
        .into()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_format() {
        assert_eq!(super::utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::utc(1_700_000_000_000), "2023-11-14 22:13:20 UTC");
    }
}
