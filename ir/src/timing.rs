//! `NETC_TIMINGS=1`: every phase's wall time on stderr, for finding where a
//! slow command spends it (`netc apply` on a large node, say) without a
//! profiler. Lives in the IR crate because every other crate depends on it.
//!
//! ```text
//! NETC_TIMINGS=1 netc plan --node n1 repo/
//! netc: timing: load 41.2 ms (peak RSS so far 48312 kB)
//! netc: timing: validate.schema+type 60.3 ms (peak RSS so far 81220 kB)
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

/// The process's peak resident set so far (`VmHWM`), for finding the phase
/// that sets it; "?" where /proc does not say.
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| "?".to_string())
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
            eprintln!(
                "netc: timing: {}{sep}{} {:.1} ms (ended at {:.0} ms; peak RSS so far {})",
                self.name,
                self.detail,
                t.elapsed().as_secs_f64() * 1000.0,
                epoch().elapsed().as_secs_f64() * 1000.0,
                peak_rss()
            );
        }
    }
}
