//! netc's BIRD config file (the path given with `--bird-config`). Only that
//! file is read; BIRD's running state is not part of netc's state.

use crate::Error;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct BirdState {
    /// netc manages the file. Desired: an artifact was emitted (a node
    /// without BGP emits none, and then netc leaves the file alone). Live:
    /// always true.
    pub managed: bool,
    pub path: PathBuf,
    /// None: the file does not exist.
    pub file: Option<BirdFile>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BirdFile {
    pub contents: String,
    /// Holds a secret (a BGP password): written 0600 (or the existing mode
    /// without world bits), masked in every output.
    pub sensitive: bool,
    /// Metadata of the live file (0 for desired): kept on rewrite, and part
    /// of the saved-plan fingerprint.
    #[serde(default)]
    pub meta: FileMeta,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMeta {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub ino: u64,
    pub size: u64,
    pub mtime_ns: i64,
}

pub fn read(path: &Path) -> Result<BirdState, Error> {
    use std::os::unix::fs::MetadataExt;
    let file = match std::fs::read_to_string(path) {
        Ok(contents) => {
            let m = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
            Some(BirdFile {
                sensitive: contains_secret(&contents),
                contents,
                meta: FileMeta {
                    mode: m.mode() & 0o7777,
                    uid: m.uid(),
                    gid: m.gid(),
                    ino: m.ino(),
                    size: m.size(),
                    mtime_ns: m.mtime() * 1_000_000_000 + m.mtime_nsec(),
                },
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io(path, e)),
    };
    Ok(BirdState {
        managed: true,
        path: path.to_path_buf(),
        file,
    })
}

/// BIRD configs carry secrets only as `password "…"`.
pub fn contains_secret(text: &str) -> bool {
    text.contains("password \"")
}
