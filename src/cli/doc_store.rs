//! Where the document cache (`netc_compiler::load::doc_cache`) keeps its
//! entries for `plan`, `apply` and `status`: `cache/docs/` in netc's state
//! directory (0700, like the rest of it), one file per document, named by
//! the document's key and this netc binary. The most recently used
//! [`KEEP`] are kept: a hit refreshes the file's time. A missing or
//! unreadable entry only costs a parse.

use netc_compiler::load::doc_cache::DocStore;
use std::path::PathBuf;
use std::time::SystemTime;

/// Entries kept: the documents of a few large repositories.
const KEEP: usize = 4096;

pub struct DirStore {
    dir: PathBuf,
    binary: String,
    /// Trimmed once per run, at the first write (a cold run of a large
    /// repository writes thousands of entries).
    trimmed: std::sync::Once,
}

impl DirStore {
    /// The store in netc's state directory; None when it cannot be made
    /// (then nothing is cached).
    pub fn open() -> Option<DirStore> {
        let dir = netc_host::target::state_root().join("cache").join("docs");
        std::fs::create_dir_all(&dir).ok()?;
        {
            use std::os::unix::fs::PermissionsExt;
            let root = netc_host::target::state_root();
            for d in [root.join("cache"), dir.clone()] {
                std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).ok()?;
            }
        }
        Some(DirStore {
            dir,
            binary: super::compile_cache::binary_id()?,
            trimmed: std::sync::Once::new(),
        })
    }

    fn path(&self, key: &str) -> PathBuf {
        let mut h = netc_ir::digest::Parts::new();
        h.add(self.binary.as_bytes()).add(key.as_bytes());
        self.dir.join(format!("{}.json", h.hex(16)))
    }

    /// Drop the least recently used entries beyond [`KEEP`].
    fn trim(&self) {
        netc_host::cache::keep_newest(&self.dir, KEEP, |_| false);
    }
}

impl DocStore for DirStore {
    fn get(&self, key: &str) -> Option<String> {
        let p = self.path(key);
        let text = std::fs::read_to_string(&p).ok()?;
        if let Ok(f) = std::fs::File::options().write(true).open(&p) {
            let _ = f.set_modified(SystemTime::now());
        }
        Some(text)
    }

    fn put(&self, key: &str, entry: &str) {
        if netc_host::confirm::write_cache(&self.path(key), entry).is_ok() {
            self.trimmed.call_once(|| self.trim());
        }
    }
}
