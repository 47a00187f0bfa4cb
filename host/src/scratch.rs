//! Scratch network namespaces: empty kernels in which an emitted firewall is
//! loaded and listed back, so that the desired side goes through exactly the
//! reader (and normaliser) used on the live side.
//!
//! Named `netc-scratch-<pid>-<n>` and deleted on drop; namespaces left by a
//! netc process that died are removed the next time one is created.

use crate::exec::{run, Exec};
use crate::Error;
use std::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(0);
const PREFIX: &str = "netc-scratch-";

pub struct Scratch {
    name: String,
    pub exec: Exec,
}

impl Scratch {
    pub fn new() -> Result<Scratch, Error> {
        reap_stale();
        let pid = std::process::id();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("{PREFIX}{pid}-{n}");
        run("ip", &["netns", "add", &name], None)?
            .check()
            .map_err(|source| crate::PreflightError::Scratch { source })?;
        Ok(Scratch {
            exec: Exec::unrecorded(Some(name.clone())),
            name,
        })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = run("ip", &["netns", "del", &self.name], None);
    }
}

fn reap_stale() {
    let Ok(rd) = std::fs::read_dir("/run/netns") else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or("");
        if !pid.is_empty() && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = run("ip", &["netns", "del", &name], None);
        }
    }
}
