//! Helpers shared by every test suite of the workspace: root/namespace
//! gating, network namespace guards, running the real tools, compiling a
//! YAML snippet to the IR, and golden-file blessing. One copy, used by the
//! root crate's tests (through `tests/common`) and the member crates' tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub mod pipeline;

/// Repository root (this crate lives one level below it).
pub fn repo() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    dir.parent().map(Path::to_path_buf).unwrap_or(dir)
}

/// `NETC_BLESS=1`: golden files and rendered expectations are rewritten
/// from the actual output (then reviewed in the diff) instead of compared.
pub fn bless() -> bool {
    std::env::var("NETC_BLESS").is_ok_and(|v| v == "1")
}

pub fn in_ci() -> bool {
    std::env::var("CI").map(|v| v == "true").unwrap_or(false)
}

pub fn is_root() -> bool {
    // SAFETY-free check: /proc/self/status Uid line.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// Tests that need root and network namespaces call this first. Outside CI
/// they skip (with a message) when not root; with CI=true they must run.
pub fn require_root(test: &str) -> bool {
    if is_root() {
        return true;
    }
    if in_ci() {
        panic!("{test}: needs root and network namespaces, and CI=true forbids skipping");
    }
    eprintln!("SKIP {test}: needs root (set CI=true to make this a failure)");
    false
}

/// Is `tool` on PATH?
pub fn have_tool(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A tool the test needs; with CI=true its absence is a failure.
pub fn require_tool(test: &str, tool: &str) -> bool {
    let found = have_tool(tool);
    if !found {
        if in_ci() {
            panic!("{test}: `{tool}` is not installed (CI must install it)");
        }
        eprintln!("SKIP {test}: `{tool}` is not installed");
    }
    found
}

pub fn run(cmd: &str, args: &[&str]) -> Output {
    Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"))
}

pub fn run_stdin(cmd: &str, args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(cmd)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

static NS_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A network namespace that is deleted when dropped (also on panic).
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(prefix: &str) -> Netns {
        let name = format!(
            "netc-{prefix}-{}-{}",
            std::process::id(),
            NS_COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let o = run("ip", &["netns", "add", &name]);
        assert!(o.status.success(), "ip netns add {name}: {}", text(&o));
        let ns = Netns { name };
        ns.exec_ok("ip", &["link", "set", "lo", "up"]);
        ns
    }

    /// Run a command inside the namespace.
    pub fn exec(&self, cmd: &str, args: &[&str]) -> Output {
        let mut a = vec!["netns", "exec", &self.name, cmd];
        a.extend_from_slice(args);
        run("ip", &a)
    }

    pub fn exec_ok(&self, cmd: &str, args: &[&str]) -> String {
        let o = self.exec(cmd, args);
        assert!(
            o.status.success(),
            "in {}: {cmd} {args:?} failed: {}",
            self.name,
            text(&o)
        );
        String::from_utf8_lossy(&o.stdout).to_string()
    }

    pub fn exec_stdin(&self, cmd: &str, args: &[&str], input: &str) -> Output {
        let mut a = vec!["netns", "exec", &self.name, cmd];
        a.extend_from_slice(args);
        run_stdin("ip", &a, input)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
            .map(|o| {
                for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-9", pid]).status();
                }
            });
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Does this kernel support a link type? Probed in a throwaway namespace.
pub fn kernel_has_link_type(kind: &str) -> bool {
    if !is_root() {
        return false;
    }
    let ns = Netns::new("probe");
    let args: Vec<&str> = match kind {
        "ipip" => vec![
            "link",
            "add",
            "probe0",
            "type",
            "ipip",
            "remote",
            "192.0.2.1",
        ],
        k => vec!["link", "add", "probe0", "type", k],
    };
    ns.exec("ip", &args).status.success()
}

pub fn write_temp(dir: &Path, name: &str, contents: &str) -> PathBuf {
    std::fs::create_dir_all(dir).expect("mkdir");
    let p = dir.join(name);
    std::fs::write(&p, contents).expect("write");
    p
}

/// Run to completion: the output, wall time, and the process's own peak
/// RSS in MiB (wait4's rusage: the child alone, not the calling process —
/// except that exec folds in the high-water mark of the image it replaced,
/// so measure from a process that is still small). For benchmarks.
#[allow(clippy::zombie_processes)] // reaped by wait4 below
pub fn measured(cmd: &mut Command) -> (Output, Duration, f64) {
    use std::io::Read;
    let t = std::time::Instant::now();
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    // Drain both pipes on threads so a chatty child never blocks.
    let mut so = child.stdout.take().expect("stdout");
    let mut se = child.stderr.take().expect("stderr");
    let to = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = so.read_to_end(&mut v);
        v
    });
    let te = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = se.read_to_end(&mut v);
        v
    });
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills for our own child.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    assert_eq!(r, pid, "wait4");
    let elapsed = t.elapsed();
    let out = Output {
        status: std::os::unix::process::ExitStatusExt::from_raw(status),
        stdout: to.join().unwrap_or_default(),
        stderr: te.join().unwrap_or_default(),
    };
    (out, elapsed, ru.ru_maxrss as f64 / 1024.0)
}

/// A deterministic pseudo-random source for randomised tests (xorshift64*):
/// the same seed gives the same draws on every machine, with no crate.
/// A seed of 0 draws only zeros: seed with an odd number.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// An index into something of length `n` (0 when `n` is 0).
    pub fn index(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// An element of `v`, None when it is empty.
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> Option<&'a T> {
        (!v.is_empty()).then(|| &v[self.index(v.len())])
    }

    /// True `pct` times in a hundred.
    pub fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}
