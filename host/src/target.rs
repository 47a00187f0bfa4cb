//! Where netc applies: the host or one network namespace, with the
//! options that say how (firewall backend, BIRD config and socket), and the
//! per-target paths netc keeps its own files in.
//!
//! | path                                   | what                                      |
//! |----------------------------------------|-------------------------------------------|
//! | `/run/netc/<key>.lock`                 | flock: one apply / confirm at a time      |
//! | `/var/lib/netc/<key>/pending.json`     | snapshot of an unconfirmed apply (0600)   |
//! | `/var/lib/netc/<key>/revert.log`       | what the commit-confirmed reverter did    |
//! | `/var/lib/netc/<key>/firewall`         | the firewall backend of the last apply    |
//!
//! `<key>` is `host` or `netns-<name>`. `NETC_RUN_DIR` and `NETC_STATE_DIR`
//! override the two roots (tests use them).

use crate::desired::Backend;
use crate::exec::Exec;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

pub const DEFAULT_BIRD_CONFIG: &str = "/etc/bird/bird.conf";
pub const DEFAULT_BIRD_SOCKET: &str = "/run/bird/bird.ctl";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// None: the host's own namespace.
    pub netns: Option<String>,
    pub firewall: Backend,
    pub bird_config: PathBuf,
    pub bird_socket: PathBuf,
}

impl Default for Target {
    fn default() -> Target {
        Target {
            netns: None,
            firewall: Backend::Nftables,
            bird_config: DEFAULT_BIRD_CONFIG.into(),
            bird_socket: DEFAULT_BIRD_SOCKET.into(),
        }
    }
}

impl Target {
    /// `host` or `netns NAME`, for messages.
    pub fn label(&self) -> String {
        match &self.netns {
            Some(n) => format!("netns {n}"),
            None => "host".to_string(),
        }
    }

    /// `host` or `netns-NAME`, for file names.
    pub fn key(&self) -> String {
        match &self.netns {
            Some(n) => format!("netns-{}", n.replace(['/', '.'], "_")),
            None => "host".to_string(),
        }
    }

    pub fn exec(&self) -> Exec {
        Exec::new(self.netns.clone())
    }

    pub fn state_dir(&self) -> PathBuf {
        state_root().join(self.key())
    }

    pub fn lock_path(&self) -> PathBuf {
        let root = std::env::var_os("NETC_RUN_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/run/netc"));
        root.join(format!("{}.lock", self.key()))
    }
}

/// `/var/lib/netc`, or `NETC_STATE_DIR`.
pub fn state_root() -> PathBuf {
    std::env::var_os("NETC_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/lib/netc"))
}

/// The file under the target's state directory naming the firewall backend
/// of its last successful apply.
const BACKEND_FILE: &str = "firewall";

impl Target {
    /// The firewall backend the last successful apply used on this target,
    /// if netc recorded one. A plan without `--firewall` uses it rather than
    /// proposing to switch backends.
    pub fn recorded_backend(&self) -> Option<Backend> {
        let text = std::fs::read_to_string(self.state_dir().join(BACKEND_FILE)).ok()?;
        match text.trim() {
            "nftables" => Some(Backend::Nftables),
            "iptables" => Some(Backend::Iptables),
            _ => None,
        }
    }

    /// Record this target's backend (after a successful apply).
    pub fn record_backend(&self) -> Result<(), crate::Error> {
        let dir = self.state_dir();
        std::fs::create_dir_all(&dir).map_err(|e| crate::Error::io(&dir, e))?;
        let path = dir.join(BACKEND_FILE);
        let tmp = dir.join(format!(".{BACKEND_FILE}.tmp"));
        std::fs::write(&tmp, format!("{}\n", self.firewall.name()))
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| crate::Error::io(&path, e))
    }

    /// Forget the recorded backend (after `netc destroy`).
    pub fn forget_backend(&self) -> Result<(), crate::Error> {
        let path = self.state_dir().join(BACKEND_FILE);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(crate::Error::io(&path, e)),
            _ => Ok(()),
        }
    }
}
