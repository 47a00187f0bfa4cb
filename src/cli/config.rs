//! Defaults for the options repeated on every call: flag > environment >
//! config file > built-in default.
//!
//! | option          | environment         | config file key | default                          |
//! |-----------------|---------------------|-----------------|----------------------------------|
//! | `--node`        | `NETC_NODE`         | `node`          | the host name (as calico/node)   |
//! | PATHS           | `NETC_INPUT`        | `input`         | `.` when it holds netc input     |
//! | `--firewall`    | `NETC_FIREWALL`     | `firewall`      | the backend recorded on the target, else nftables |
//! | `--bird-config` | `NETC_BIRD_CONFIG`  | `bird-config`   | /etc/bird/bird.conf              |
//! | `--bird-socket` | `NETC_BIRD_SOCKET`  | `bird-socket`   | /run/bird/bird.ctl               |
//! | `--secrets`     | `NETC_SECRETS`      | `secrets`       | none                             |
//!
//! The config file is `--config FILE` (or `NETC_CONFIG`), else
//! `/etc/netc/netc.yaml` when it exists. Relative paths in it are relative
//! to the file's directory.

use anyhow::{bail, Context};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub const DEFAULT_CONFIG: &str = "/etc/netc/netc.yaml";

/// `/etc/netc/netc.yaml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    pub node: Option<String>,
    pub input: Option<PathBuf>,
    pub firewall: Option<String>,
    pub bird_config: Option<PathBuf>,
    pub bird_socket: Option<PathBuf>,
    pub secrets: Option<PathBuf>,
}

static CONFIG_FLAG: OnceLock<Option<PathBuf>> = OnceLock::new();
static CONFIG: OnceLock<Result<Config, String>> = OnceLock::new();

/// Remember `--config` (called once, before any subcommand runs).
pub fn set_flag(p: Option<PathBuf>) {
    let _ = CONFIG_FLAG.set(p);
}

fn load() -> Result<Config, String> {
    let flag = CONFIG_FLAG
        .get()
        .cloned()
        .flatten()
        .or_else(|| std::env::var_os("NETC_CONFIG").map(PathBuf::from));
    let (path, required) = match flag {
        Some(p) => (p, true),
        None => (PathBuf::from(DEFAULT_CONFIG), false),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Config::default())
        }
        Err(e) => return Err(format!("reading config file {}: {e}", path.display())),
    };
    let mut c: Config = if text.trim().is_empty() {
        Config::default()
    } else {
        serde_yaml::from_str(&text).map_err(|e| format!("config file {}: {e}", path.display()))?
    };
    let base = path.parent().unwrap_or(Path::new("."));
    for p in [
        &mut c.input,
        &mut c.bird_config,
        &mut c.bird_socket,
        &mut c.secrets,
    ]
    .into_iter()
    .flatten()
    {
        if p.is_relative() {
            *p = base.join(&*p);
        }
    }
    Ok(c)
}

/// The config file's settings (empty when there is none).
pub fn config() -> anyhow::Result<&'static Config> {
    match CONFIG.get_or_init(load) {
        Ok(c) => Ok(c),
        Err(e) => bail!("{e}"),
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// flag > env > config file, for a path option.
pub fn path(
    flag: &Option<PathBuf>,
    var: &str,
    key: fn(&Config) -> &Option<PathBuf>,
) -> anyhow::Result<Option<PathBuf>> {
    if flag.is_some() {
        return Ok(flag.clone());
    }
    if let Some(v) = env(var) {
        return Ok(Some(PathBuf::from(v)));
    }
    Ok(key(config()?).clone())
}

/// flag > NETC_FIREWALL > config file (None: not configured).
pub fn firewall<T: clap::ValueEnum>(flag: Option<T>) -> anyhow::Result<Option<T>> {
    if flag.is_some() {
        return Ok(flag);
    }
    let (v, from) = match env("NETC_FIREWALL") {
        Some(v) => (v, "NETC_FIREWALL".to_string()),
        None => match &config()?.firewall {
            Some(v) => (v.clone(), "the config file's `firewall`".to_string()),
            None => return Ok(None),
        },
    };
    T::from_str(v.trim(), true)
        .map(Some)
        .map_err(|_| anyhow::anyhow!("{from} is `{v}`: expected nftables or iptables"))
}

/// The node: flag > NETC_NODE > config file > the host name, lower-cased and
/// trimmed as calico/node does.
pub fn node(flag: Option<&str>) -> anyhow::Result<String> {
    if let Some(n) = flag {
        return Ok(n.to_string());
    }
    if let Some(n) = env("NETC_NODE") {
        return Ok(n.trim().to_string());
    }
    if let Some(n) = &config()?.node {
        return Ok(n.clone());
    }
    let h = hostname()
        .context("no --node, NETC_NODE or config `node`, and the host name cannot be read")?;
    let h = h.trim().to_lowercase();
    if h.is_empty() {
        bail!("no --node given and the host name is empty: pass --node NAME or set NETC_NODE");
    }
    Ok(h)
}

fn hostname() -> std::io::Result<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates
    // within it or truncates, and we stop at the first NUL either way.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Ok(String::from_utf8_lossy(&buf[..end]).into_owned())
}

/// The input paths: given > NETC_INPUT > config `input` > the current
/// directory, but only when it holds netc input (a netc.lock or YAML files
/// at its top level): netc never crawls an arbitrary tree.
pub fn inputs(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    if !paths.is_empty() {
        return Ok(paths.to_vec());
    }
    if let Some(v) = env("NETC_INPUT") {
        return Ok(vec![PathBuf::from(v)]);
    }
    if let Some(p) = &config()?.input {
        return Ok(vec![p.clone()]);
    }
    let cwd = Path::new(".");
    if holds_input(cwd) {
        return Ok(vec![cwd.to_path_buf()]);
    }
    let here = std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_else(|_| ".".into());
    bail!(
        "no input given and the current directory ({here}) holds no netc input (no netc.lock, no *.yaml at its top level)\nhint: give the directory holding the YAML as an argument (e.g. `network/`), set NETC_INPUT, or `input:` in {DEFAULT_CONFIG}"
    )
}

fn holds_input(dir: &Path) -> bool {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return false;
    };
    rd.flatten().any(|e| {
        let n = e.file_name();
        let n = n.to_string_lossy();
        n == netc_compiler::alloc::LOCK_FILE
            || ((n.ends_with(".yaml") || n.ends_with(".yml"))
                && !n.starts_with('.')
                && e.file_type().is_ok_and(|t| t.is_file()))
    })
}
