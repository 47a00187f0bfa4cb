//! `NETC_TIMINGS=1`: every phase's wall time on stderr, for finding where a
//! slow command spends it (`netc apply` on a large node, say) without a
//! profiler. Lives in the IR crate because every other crate depends on it.
//!
//! ```text
//! NETC_TIMINGS=1 netc plan --node n1 repo/
//! netc: timing: load 41.2 ms (ended at 42 ms; peak RSS so far 48312 kB, now 47100 kB)
//! netc: timing: validate.schema+type 60.3 ms (ended at 103 ms; peak RSS so far 81220 kB, now 60212 kB)
//! ```
//!
//! Off (the default) a phase costs one relaxed atomic load.

use std::sync::OnceLock;
use std::time::Instant;

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        epoch();
        std::env::var_os("NETC_TIMINGS").is_some_and(|v| !v.is_empty() && v != "0")
    })
}

/// When timing began (the first phase): each line says when its phase
/// ended, so the gaps between phases show too.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// A running phase: prints its name and elapsed time when dropped.
#[must_use = "the phase ends when this is dropped"]
pub struct Phase {
    name: &'static str,
    detail: &'static str,
    start: Option<Instant>,
}

/// The process's peak resident set so far (`VmHWM`) and its resident set
/// now (`VmRSS`), for finding the phase that sets the peak and what a
/// phase leaves behind; "?" where /proc does not say.
fn rss() -> (String, String) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map_or_else(|| "?".to_string(), |v| v.trim().to_string())
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// Start timing `name` (prints nothing unless `NETC_TIMINGS` is set).
pub fn phase(name: &'static str) -> Phase {
    phase_of(name, "")
}

/// [`phase`] with a detail printed after the name (`emit nftables.nft`).
pub fn phase_of(name: &'static str, detail: &'static str) -> Phase {
    Phase {
        name,
        detail,
        start: enabled().then(Instant::now),
    }
}

/// Time `f` as phase `name`.
pub fn timed<T>(name: &'static str, f: impl FnOnce() -> T) -> T {
    let _p = phase(name);
    f()
}

impl Drop for Phase {
    fn drop(&mut self) {
        if let Some(t) = self.start {
            let sep = if self.detail.is_empty() { "" } else { " " };
            let (peak, now) = rss();
            eprintln!(
                "netc: timing: {}{sep}{} {:.1} ms (ended at {:.0} ms; peak RSS so far {peak}, now {now})",
                self.name,
                self.detail,
                t.elapsed().as_secs_f64() * 1000.0,
                epoch().elapsed().as_secs_f64() * 1000.0,
            );
        }
    }
}
