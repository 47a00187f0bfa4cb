//! Running the system tools (`ip`, `bridge`, `nft`, `iptables-*`, `birdc`),
//! optionally inside a network namespace.
//!
//! Every command the host layer runs goes through [`Exec`]. It separates
//! *reads* (listing state; never recorded) from *writes* (anything that
//! changes the kernel or a file; recorded in order). The record is what makes
//! idempotence testable: a second apply of the same input must record zero
//! writes. When the environment variable `NETC_EXEC_LOG` names a file, each
//! write is also appended there as one line, so tests that run the `netc`
//! binary can count them.
//!
//! Namespaces: with `netns = Some(NS)` a command runs as
//! `ip netns exec NS <prog> <args>`, which is how tests (and container hosts)
//! point netc at a namespace. Commands that must not enter the namespace
//! (`birdc` talks to a socket path; `ip netns add` itself) use [`Exec::host`].
//!
//! Processes: `Exec` does not spawn anything itself. It hands each command
//! to a [`Runner`]: [`ProcessRunner`] runs the real program (entering the
//! namespace with `ip netns exec`); [`replay::Replay`] answers from recorded
//! tool outputs, so the readers, the planner and apply run without root in
//! unit tests.

pub mod replay;

use crate::state::nft_kernel::KernelElem;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

/// Result of one command that ran to completion.
#[derive(Clone, Debug)]
pub struct Output {
    /// Exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// The command line, for messages.
    pub cmd: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Turn a non-zero exit into an error carrying the tool's stderr.
    pub fn check(self) -> Result<Output, ExecError> {
        if self.success() {
            Ok(self)
        } else {
            Err(ExecError::Failed {
                cmd: self.cmd,
                code: self.code,
                stderr: first_lines(if self.stderr.trim().is_empty() {
                    &self.stdout
                } else {
                    &self.stderr
                }),
            })
        }
    }
}

/// Keep error output readable: at most 12 lines.
fn first_lines(s: &str) -> String {
    let lines: Vec<&str> = s.trim_end().lines().collect();
    if lines.len() <= 12 {
        lines.join("\n")
    } else {
        format!(
            "{}\n… ({} more lines)",
            lines[..12].join("\n"),
            lines.len() - 12
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("cannot run `{prog}`: {source} (is it installed and on PATH?)")]
    Spawn {
        prog: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{cmd}` failed (exit {}): {stderr}", code.map(|c| c.to_string()).unwrap_or_else(|| "by signal".into()))]
    Failed {
        cmd: String,
        code: Option<i32>,
        stderr: String,
    },
    /// A replayed run met a command that was not recorded (tests).
    #[error("`{cmd}` was not recorded in replay stage `{stage}`")]
    NotRecorded { cmd: String, stage: String },
}

/// One command to run: `prog args`, with `stdin`, inside `netns` (None:
/// the host's namespace).
#[derive(Clone, Copy, Debug)]
pub struct Cmd<'a> {
    pub netns: Option<&'a str>,
    pub prog: &'a str,
    pub args: &'a [&'a str],
    pub stdin: Option<&'a str>,
    /// The command changes the target ([`Exec::write`], [`Exec::host_write`]).
    pub writes: bool,
}

impl Cmd<'_> {
    /// `prog arg arg …` (without the namespace or stdin): how commands are
    /// named in messages and in recordings.
    pub fn line(&self) -> String {
        describe(self.prog, self.args, None)
    }
}

/// What actually runs a command: the real process runner, or a replay of
/// recorded outputs (tests).
pub trait Runner: Send + Sync + std::fmt::Debug {
    /// Run the command to completion. `Err` only when it could not run at
    /// all; a non-zero exit is an `Ok` [`Output`] (see [`Output::check`]).
    fn run(&self, cmd: &Cmd<'_>) -> Result<Output, ExecError>;

    /// Is `prog` installed (readers skip tools that are absent)?
    fn have_tool(&self, prog: &str) -> bool;

    /// Whether [`Runner::kernel_sets_elements`] reads a kernel.
    fn reads_kernel(&self) -> bool {
        false
    }

    /// The elements of each of `sets` of the `inet` table `table`, in
    /// order, read from the kernel over netlink
    /// ([`crate::state::nft_kernel`]); each set's read succeeds or fails
    /// on its own. None when this runner does not reach a kernel (a
    /// replay): the caller lists the sets with nft instead, which a replay
    /// answers.
    fn kernel_sets_elements(
        &self,
        _netns: Option<&str>,
        _table: &str,
        _sets: &[&str],
    ) -> Option<Vec<std::io::Result<Vec<KernelElem>>>> {
        None
    }
}

/// Runs real programs, entering a namespace with `ip netns exec NS`.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessRunner;

impl Runner for ProcessRunner {
    fn run(&self, cmd: &Cmd<'_>) -> Result<Output, ExecError> {
        // Only a command that changes the target must die with netc; see
        // `spawn` for why readers are started without that hook.
        match cmd.netns {
            None => spawn(cmd.prog, cmd.args, cmd.stdin, cmd.writes),
            Some(ns) => {
                let mut full: Vec<&str> = vec!["netns", "exec", ns, cmd.prog];
                full.extend_from_slice(cmd.args);
                spawn("ip", &full, cmd.stdin, cmd.writes)
            }
        }
    }

    fn have_tool(&self, prog: &str) -> bool {
        have_tool(prog)
    }

    fn reads_kernel(&self) -> bool {
        true
    }

    fn kernel_sets_elements(
        &self,
        netns: Option<&str>,
        table: &str,
        sets: &[&str],
    ) -> Option<Vec<std::io::Result<Vec<KernelElem>>>> {
        Some(crate::state::nft_kernel::dump_sets(netns, table, sets))
    }
}

/// The command runner for one target (the host or one network namespace).
#[derive(Debug)]
pub struct Exec {
    netns: Option<String>,
    runner: Arc<dyn Runner>,
    /// Record writes (off for scratch namespaces, whose writes are not the target's).
    recording: bool,
    writes: Mutex<Vec<String>>,
    log_file: Option<PathBuf>,
}

impl Exec {
    /// A runner for the host (`None`) or a network namespace.
    pub fn new(netns: Option<String>) -> Exec {
        Exec::with_runner(netns, Arc::new(ProcessRunner))
    }

    /// Commands go to `runner` (a [`replay::Replay`] in tests). Writes are
    /// recorded, and appended to `NETC_EXEC_LOG` when set.
    pub fn with_runner(netns: Option<String>, runner: Arc<dyn Runner>) -> Exec {
        Exec {
            netns,
            runner,
            recording: true,
            writes: Mutex::new(Vec::new()),
            log_file: std::env::var_os("NETC_EXEC_LOG").map(PathBuf::from),
        }
    }

    /// A runner whose writes are not recorded (scratch namespaces).
    pub(crate) fn unrecorded(netns: Option<String>) -> Exec {
        Exec {
            netns,
            runner: Arc::new(ProcessRunner),
            recording: false,
            writes: Mutex::new(Vec::new()),
            log_file: None,
        }
    }

    /// The runner commands go to.
    pub fn runner(&self) -> &Arc<dyn Runner> {
        &self.runner
    }

    /// Is `prog` installed (as the runner sees it)?
    pub fn have_tool(&self, prog: &str) -> bool {
        self.runner.have_tool(prog)
    }

    pub fn netns(&self) -> Option<&str> {
        self.netns.as_deref()
    }

    /// "netns NAME" or "host", for messages and file names.
    pub fn target_label(&self) -> String {
        match &self.netns {
            Some(n) => format!("netns {n}"),
            None => "host".to_string(),
        }
    }

    /// Whether [`Exec::kernel_sets_elements`] can read the target's kernel.
    pub fn reads_kernel(&self) -> bool {
        self.runner.reads_kernel()
    }

    /// The kernel's elements of set `set` of netc's table in the target:
    /// [`Exec::kernel_sets_elements`] of that one set.
    pub fn kernel_set_elements(&self, set: &str) -> Option<std::io::Result<Vec<KernelElem>>> {
        self.kernel_sets_elements(&[set])?.pop()
    }

    /// The kernel's elements of each of `sets` of netc's table in the
    /// target, in order (see [`Runner::kernel_sets_elements`]).
    pub fn kernel_sets_elements(
        &self,
        sets: &[&str],
    ) -> Option<Vec<std::io::Result<Vec<KernelElem>>>> {
        self.runner
            .kernel_sets_elements(self.netns.as_deref(), crate::state::NFT_TABLE, sets)
    }

    /// Run a read-only command in the target.
    pub fn read(&self, prog: &str, args: &[&str]) -> Result<Output, ExecError> {
        self.run_in_target(prog, args, None, false)
    }

    /// Run a command that changes the target; it is recorded.
    pub fn write(
        &self,
        prog: &str,
        args: &[&str],
        stdin: Option<&str>,
    ) -> Result<Output, ExecError> {
        self.record(&describe(prog, args, stdin));
        self.run_in_target(prog, args, stdin, true)
    }

    /// Run a command outside the target namespace (not recorded).
    pub fn host(
        &self,
        prog: &str,
        args: &[&str],
        stdin: Option<&str>,
    ) -> Result<Output, ExecError> {
        self.run_on_host(prog, args, stdin, false)
    }

    /// Run a command outside the namespace that changes the target (birdc configure).
    pub fn host_write(
        &self,
        prog: &str,
        args: &[&str],
        stdin: Option<&str>,
    ) -> Result<Output, ExecError> {
        self.record(&describe(prog, args, stdin));
        self.run_on_host(prog, args, stdin, true)
    }

    fn run_on_host(
        &self,
        prog: &str,
        args: &[&str],
        stdin: Option<&str>,
        writes: bool,
    ) -> Result<Output, ExecError> {
        self.runner.run(&Cmd {
            netns: None,
            prog,
            args,
            stdin,
            writes,
        })
    }

    /// Record a write that is not a command (a file written by netc itself).
    pub fn record(&self, what: &str) {
        if !self.recording {
            return;
        }
        if let Ok(mut w) = self.writes.lock() {
            w.push(what.to_string());
        }
        if let Some(p) = &self.log_file {
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
            {
                // One write per line: the firewall step records from a
                // thread of its own (`apply::execute`), and O_APPEND keeps
                // a single write whole.
                let line = format!("{}\n", what.replace('\n', " "));
                let _ = f.write_all(line.as_bytes());
            }
        }
    }

    /// The writes performed so far, in order.
    pub fn writes(&self) -> Vec<String> {
        self.writes.lock().map(|w| w.clone()).unwrap_or_default()
    }

    fn run_in_target(
        &self,
        prog: &str,
        args: &[&str],
        stdin: Option<&str>,
        writes: bool,
    ) -> Result<Output, ExecError> {
        self.runner.run(&Cmd {
            netns: self.netns.as_deref(),
            prog,
            args,
            stdin,
            writes,
        })
    }
}

fn describe(prog: &str, args: &[&str], stdin: Option<&str>) -> String {
    let mut s = String::from(prog);
    for a in args {
        s.push(' ');
        s.push_str(a);
    }
    if let Some(i) = stdin {
        s.push_str(&format!(" <<< ({} lines)", i.lines().count()));
    }
    s
}

/// Run a program, feeding `stdin`, capturing output. Never goes through a
/// shell. The program dies with netc ([`die_with_parent`]).
pub fn run(prog: &str, args: &[&str], stdin: Option<&str>) -> Result<Output, ExecError> {
    spawn(prog, args, stdin, true)
}

/// [`run`]; `die_with_netc` false for a command that only reads.
///
/// Why readers differ: the hook that ties a child's life to netc's
/// (`pre_exec`) makes the standard library fork the whole process instead
/// of starting the child with `posix_spawn` (a vfork). A plan reads the
/// host while it compiles, so every fork copied the page tables of a
/// compiler holding a hundred MiB or more and write-protected its memory,
/// and each compiler thread then faulted on its next write to every page:
/// on a 10,000-rule cluster the compile ran at a third of its speed
/// (BENCHMARKS.md, "Plan and apply"). A reader left running by a killed
/// netc changes nothing, so it needs no hook.
fn spawn(
    prog: &str,
    args: &[&str],
    stdin: Option<&str>,
    die_with_netc: bool,
) -> Result<Output, ExecError> {
    // Standard output goes to an anonymous in-memory file, read once the
    // tool has exited. nft writes a listing a few bytes at a time (a
    // `write` per token: ~50,000 for a 10,000-element set), and through a
    // pipe each write woke netc's reader: tens of thousands of context
    // switches per listing, on the cores the compile needs.
    let out_file = memfd().map_err(|e| ExecError::Spawn {
        prog: prog.to_string(),
        source: e,
    })?;
    let mut cmd = Command::new(prog);
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::from(out_file.try_clone().map_err(|e| {
            ExecError::Spawn {
                prog: prog.to_string(),
                source: e,
            }
        })?))
        .stderr(Stdio::piped())
        // Tool output is parsed: keep it in the C locale.
        .env("LC_ALL", "C");
    if die_with_netc {
        die_with_parent(&mut cmd);
    }
    let mut child = cmd.spawn().map_err(|e| ExecError::Spawn {
        prog: prog.to_string(),
        source: e,
    })?;
    // Feed stdin from a thread so a tool that writes a lot before reading
    // everything cannot deadlock against us.
    let feeder = match (stdin, child.stdin.take()) {
        (Some(text), Some(mut pipe)) => {
            let text = text.to_string();
            Some(std::thread::spawn(move || {
                let _ = pipe.write_all(text.as_bytes());
            }))
        }
        _ => None,
    };
    drop(cmd);
    let out = child.wait_with_output().map_err(|e| ExecError::Spawn {
        prog: prog.to_string(),
        source: e,
    })?;
    if let Some(f) = feeder {
        let _ = f.join();
    }
    let mut stdout = Vec::new();
    {
        use std::io::{Read, Seek};
        let mut f = out_file;
        f.rewind()
            .and_then(|_| f.read_to_end(&mut stdout))
            .map_err(|e| ExecError::Spawn {
                prog: prog.to_string(),
                source: e,
            })?;
    }
    Ok(Output {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        cmd: describe(prog, args, None),
    })
}

/// An anonymous file in memory (`memfd_create`), closed on exec: a tool's
/// standard output.
fn memfd() -> std::io::Result<std::fs::File> {
    use std::os::fd::FromRawFd;
    // SAFETY: memfd_create takes a NUL-terminated name and flags; the
    // descriptor it returns is owned by the File from here on.
    let fd = unsafe { libc::memfd_create(c"netc-tool-output".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor nothing else owns.
    Ok(unsafe { std::fs::File::from_raw_fd(fd) })
}

/// The child gets SIGKILL when netc dies (`PR_SET_PDEATHSIG`), so a tool
/// netc started (a long `nft -f`, an `iptables-restore`) can never change the
/// target after netc was killed — possibly while the next apply already
/// holds the lock. The signal is tied to the thread that spawned the child;
/// every caller waits for the child on that thread (`run` below). A parent
/// that died between fork and prctl is caught by comparing `getppid`.
/// `ip netns exec` execs the tool in the same process, and the setting
/// survives exec (the tools are not set-uid).
pub(crate) fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: prctl, getppid and _exit are async-signal-safe; the closure
    // allocates nothing and touches no lock between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) == -1
            {
                return Err(std::io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                libc::_exit(137);
            }
            Ok(())
        });
    }
}

/// Is `prog` on PATH?
pub fn have_tool(prog: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|d| {
        let p = d.join(prog);
        std::fs::metadata(&p)
            .map(|m| {
                use std::os::unix::fs::PermissionsExt;
                m.is_file() && m.permissions().mode() & 0o111 != 0
            })
            .unwrap_or(false)
    })
}
