//! Installing BIRD's config: atomic file replacement and `birdc configure`.
//!
//! 1. Write a temporary file next to the config (same directory, so the
//!    rename is atomic), with the old file's owner and group (BIRD usually
//!    runs as `bird` and must be able to read it) and mode: 0600 for a new
//!    file holding a password, otherwise the old mode without world bits;
//!    fsync it.
//! 2. Ask BIRD to check it: `birdc -s SOCK configure check "TMP"` when BIRD
//!    is running, `bird -p -c TMP` otherwise. A rejected config stops here,
//!    with nothing changed.
//! 3. Rename over the config; fsync the directory.
//! 4. `birdc -s SOCK configure "PATH"` when BIRD is running. When it is not,
//!    say so: the file is installed and BIRD reads it when it starts.

use crate::exec::{Exec, ExecError};
use crate::state::bird::FileMeta;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Why installing or removing BIRD's config failed.
#[derive(Debug, thiserror::Error)]
pub enum BirdError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Exec(#[from] ExecError),
    /// `birdc configure check` / `bird -p` refused the new file.
    #[error("BIRD rejects the new config: {detail}")]
    Rejected { detail: String },
    #[error("birdc configure failed: {detail}")]
    Configure { detail: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BirdError + '_ {
    move |source| BirdError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Is a BIRD daemon answering on this control socket?
pub fn running(exec: &Exec, socket: &Path) -> bool {
    if !socket.exists() || !exec.have_tool("birdc") {
        return false;
    }
    let s = socket.display().to_string();
    exec.host("birdc", &["-s", &s, "show", "status"], None)
        .map(|o| o.success())
        .unwrap_or(false)
}

/// Returns warnings.
pub fn install(
    exec: &Exec,
    socket: &Path,
    path: &Path,
    contents: &str,
    sensitive: bool,
    existing: Option<FileMeta>,
) -> Result<Vec<String>, BirdError> {
    let mut warnings = Vec::new();
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let (uid, gid, mode) = match existing {
        Some(m) => (
            m.uid,
            m.gid,
            if sensitive {
                (m.mode & 0o660) | 0o600
            } else {
                m.mode & 0o777
            },
        ),
        None => {
            use std::os::unix::fs::MetadataExt;
            let dm = std::fs::metadata(dir).map_err(io(dir))?;
            (dm.uid(), dm.gid(), if sensitive { 0o600 } else { 0o644 })
        }
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "bird.conf".into());
    let tmp = dir.join(format!(".{name}.netc-{}", std::process::id()));
    let cleanup = |e: BirdError| {
        let _ = std::fs::remove_file(&tmp);
        e
    };
    {
        let _ = std::fs::remove_file(&tmp);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
            .map_err(io(&tmp))?;
        f.write_all(contents.as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(|e| cleanup(io(&tmp)(e)))?;
    }
    let _ = std::os::unix::fs::chown(&tmp, Some(uid), Some(gid));
    let _ = std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(mode));

    let sock = socket.display().to_string();
    let is_running = running(exec, socket);
    let tmp_s = tmp.display().to_string();
    if is_running {
        let out = exec
            .host(
                "birdc",
                &["-s", &sock, "configure", "check", &format!("\"{tmp_s}\"")],
                None,
            )
            .map_err(|e| cleanup(e.into()))?;
        if !out.success() {
            return Err(cleanup(BirdError::Rejected {
                detail: bird_error(&out.stdout, &out.stderr, &tmp_s, path),
            }));
        }
    } else if exec.have_tool("bird") {
        let out = exec
            .host("bird", &["-p", "-c", &tmp_s], None)
            .map_err(|e| cleanup(e.into()))?;
        if !out.success() {
            return Err(cleanup(BirdError::Rejected {
                detail: bird_error(&out.stdout, &out.stderr, &tmp_s, path),
            }));
        }
    }

    exec.record(&format!("write {}", path.display()));
    std::fs::rename(&tmp, path).map_err(|e| cleanup(io(path)(e)))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }

    if is_running {
        reconfigure(exec, socket, path)?;
    } else {
        warnings.push(format!(
            "BIRD is not running (no daemon answers on {sock}): installed {}; BIRD reads it when it starts",
            path.display()
        ));
    }
    Ok(warnings)
}

/// `birdc configure "PATH"`.
pub fn reconfigure(exec: &Exec, socket: &Path, path: &Path) -> Result<(), BirdError> {
    let sock = socket.display().to_string();
    let out = exec.host_write(
        "birdc",
        &["-s", &sock, "configure", &format!("\"{}\"", path.display())],
        None,
    )?;
    if !out.success() {
        return Err(BirdError::Configure {
            detail: bird_error(&out.stdout, &out.stderr, "", path),
        });
    }
    Ok(())
}

/// Remove the file (a rollback to "there was no config").
pub fn remove(exec: &Exec, socket: &Path, path: &Path) -> Result<Vec<String>, BirdError> {
    exec.record(&format!("remove {}", path.display()));
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(path)(e)),
    }
    let mut w = Vec::new();
    if running(exec, socket) {
        w.push(format!(
            "removed {}; BIRD keeps running with the configuration it has loaded",
            path.display()
        ));
    }
    Ok(w)
}

/// BIRD's message, with the temporary file's name replaced by the real one.
fn bird_error(stdout: &str, stderr: &str, tmp: &str, path: &Path) -> String {
    let text = format!("{}\n{}", stdout.trim(), stderr.trim());
    let lines: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with("BIRD ") && !l.starts_with("Reading configuration")
        })
        .map(|l| {
            if tmp.is_empty() {
                l.to_string()
            } else {
                l.replace(tmp, &format!("{} (new)", path.display()))
            }
        })
        .collect();
    lines.join("; ")
}
