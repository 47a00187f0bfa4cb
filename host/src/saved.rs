//! Saved plans (`netc plan --out plan.json`, then `netc apply plan.json`).
//!
//! The file holds what is needed to apply exactly the reviewed plan later,
//! and to notice that it no longer fits:
//! - the node's IR and its artifacts (a sensitive artifact — bird.conf
//!   with a password — is stored masked only; `apply` re-emits it from the
//!   IR with `--secrets` and checks it against the masked copy);
//! - the target and options (netns, firewall backend, BIRD paths);
//! - the fingerprint of the live state the plan was computed against;
//! - the changes, for review and for a last consistency check.
//!
//! `apply` re-reads the live state; a different fingerprint means someone
//! changed the target since the plan was made: "saved plan is stale".
//!
//! Secrets: masking hides a password, so the masked copy cannot tell a
//! plan applied with another secret. The plan therefore stores
//! `secrets_digest`, an HMAC-SHA256 of the node name and the unmasked
//! sensitive artifacts, keyed by a random host key (`plan-hmac.key` in the
//! state root, 0600, created on first use) that is never in the plan: the
//! digest cannot be used to guess a password offline from the plan file.
//! `apply` recomputes it from the artifacts re-emitted with `--secrets` and
//! refuses a mismatch. (Plans are bound to the host anyway: the live
//! fingerprint is.)

use crate::plan::{Change, Summary};
use crate::target::Target;
use crate::{Error, StaleError, UsageError};
use netc_ir::HostIr;
use netc_targets::{Artifact, ArtifactKind, Secrets};
use serde::{Deserialize, Serialize};

pub const FORMAT: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SavedArtifact {
    pub file_name: String,
    /// None when sensitive (never stored).
    pub contents: Option<String>,
    /// Secrets masked; always present.
    pub masked: String,
    pub sensitive: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SavedPlan {
    /// Format version; also how a plan file is recognised.
    pub netc_plan: u32,
    pub netc_version: String,
    pub node: String,
    pub target: Target,
    pub created_unix_ms: u64,
    pub live_fingerprint: String,
    pub summary: Summary,
    pub changes: Vec<Change>,
    pub ir: HostIr,
    pub artifacts: Vec<SavedArtifact>,
    /// HMAC-SHA256 (host key) of the node and the sensitive artifacts'
    /// unmasked text; None when no artifact is sensitive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets_digest: Option<String>,
    /// `--only`: the steps this plan covers (None: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only: Option<std::collections::BTreeSet<crate::plan::Step>>,
    /// `--replace`: tunnel devices re-created.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub replace: std::collections::BTreeSet<String>,
}

/// The host key the secrets digest is keyed with (created on first use).
fn plan_key() -> Result<Vec<u8>, Error> {
    use std::io::{Read, Write};
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let root = crate::target::state_root();
    let path = root.join("plan-hmac.key");
    let read = |path: &std::path::Path| -> Result<Vec<u8>, Error> {
        let k = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        if k.len() < 32 {
            return Err(Error::parse(
                &path.display().to_string(),
                "the saved-plan key is shorter than 32 bytes".to_string(),
            ));
        }
        Ok(k)
    };
    if path.exists() {
        return read(&path);
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&root)
        .map_err(|e| Error::io(&root, e))?;
    let mut key = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut key))
        .map_err(|e| Error::io(std::path::Path::new("/dev/urandom"), e))?;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
    {
        Ok(mut f) => {
            f.write_all(&key)
                .and_then(|_| f.sync_all())
                .map_err(|e| Error::io(&path, e))?;
            Ok(key.to_vec())
        }
        // Another netc created it meanwhile: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(&path),
        Err(e) => Err(Error::io(&path, e)),
    }
}

/// HMAC-SHA256 (RFC 2104).
fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |b: u8| k.iter().map(|x| x ^ b).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

/// The digest binding a plan to its secret values, or None when no
/// artifact is sensitive.
fn secrets_digest<'a>(
    node: &str,
    sensitive: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<Option<String>, Error> {
    let mut msg = format!("netc saved-plan secrets v1\0{node}\0").into_bytes();
    let mut any = false;
    for (file, contents) in sensitive {
        any = true;
        msg.extend_from_slice(format!("{file}\0{}\0", contents.len()).as_bytes());
        msg.extend_from_slice(contents.as_bytes());
    }
    if !any {
        return Ok(None);
    }
    Ok(Some(netc_ir::digest::hex(&hmac_sha256(&plan_key()?, &msg))))
}

impl SavedPlan {
    pub fn new(
        ir: &HostIr,
        artifacts: &[Artifact],
        target: &Target,
        fingerprint: &str,
        plan: &crate::Plan,
    ) -> Result<SavedPlan, Error> {
        let secrets_digest = secrets_digest(
            &ir.node,
            artifacts
                .iter()
                .filter(|a| a.sensitive)
                .map(|a| (a.file_name(), a.contents.as_str())),
        )?;
        Ok(SavedPlan {
            netc_plan: FORMAT,
            netc_version: env!("CARGO_PKG_VERSION").to_string(),
            node: ir.node.clone(),
            target: target.clone(),
            created_unix_ms: crate::confirm::now_ms(),
            live_fingerprint: fingerprint.to_string(),
            summary: plan.summary(),
            changes: plan.changes.clone(),
            ir: ir.clone(),
            artifacts: artifacts
                .iter()
                .map(|a| SavedArtifact {
                    file_name: a.file_name().to_string(),
                    contents: (!a.sensitive).then(|| a.contents.clone()),
                    masked: netc_targets::mask::mask_secrets(&a.contents),
                    sensitive: a.sensitive,
                })
                .collect(),
            secrets_digest,
            only: None,
            replace: Default::default(),
        })
    }

    /// The scope the plan was made with.
    pub fn scope(&self) -> crate::scope::Scope {
        crate::scope::Scope {
            only: self.only.clone(),
            replace: self.replace.clone(),
        }
    }

    /// Is this text a saved plan? (Cheap check before parsing.)
    pub fn looks_like(text: &str) -> bool {
        text.trim_start().starts_with('{') && text.contains("\"netc_plan\"")
    }

    pub fn parse(text: &str) -> Result<SavedPlan, Error> {
        let p: SavedPlan =
            serde_json::from_str(text).map_err(|source| UsageError::NotAPlanFile { source })?;
        p.ir.firewall
            .check()
            .map_err(|source| UsageError::InconsistentIr { source })?;
        if p.netc_plan != FORMAT {
            return Err(UsageError::PlanFormat {
                found: p.netc_plan,
                expected: FORMAT,
            }
            .into());
        }
        Ok(p)
    }

    /// The artifacts, with sensitive ones re-emitted from the IR.
    pub fn artifacts(&self, secrets: &(dyn Secrets + Sync)) -> Result<Vec<Artifact>, Error> {
        let mut emitted: Option<Vec<Artifact>> = None;
        let mut out = Vec::new();
        for a in &self.artifacts {
            let kind = ArtifactKind::from_file_name(&a.file_name).ok_or_else(|| {
                UsageError::UnknownArtifact {
                    file_name: a.file_name.clone(),
                }
            })?;
            let contents = match &a.contents {
                Some(c) => c.clone(),
                None => {
                    if emitted.is_none() {
                        emitted =
                            Some(netc_targets::emit_all(&self.ir, secrets).map_err(|source| {
                                UsageError::SecretNeeded {
                                    artifact: a.file_name.clone(),
                                    source,
                                }
                            })?);
                    }
                    let c = emitted
                        .as_ref()
                        .and_then(|v| v.iter().find(|x| x.kind == kind))
                        .map(|x| x.contents.clone())
                        .unwrap_or_default();
                    if netc_targets::mask::mask_secrets(&c) != a.masked {
                        return Err(StaleError::SecretArtifactDiffers {
                            artifact: a.file_name.clone(),
                        }
                        .into());
                    }
                    c
                }
            };
            out.push(Artifact {
                kind,
                contents,
                sensitive: a.sensitive,
            });
        }
        if out.iter().any(|a| a.sensitive) {
            let Some(want) = &self.secrets_digest else {
                return Err(StaleError::SecretsUnchecked.into());
            };
            let got = secrets_digest(
                &self.node,
                out.iter()
                    .filter(|a| a.sensitive)
                    .map(|a| (a.file_name(), a.contents.as_str())),
            )?;
            if got.as_ref() != Some(want) {
                return Err(StaleError::SecretsDiffer.into());
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        // RFC 4231, test case 2.
        let mac = super::hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            netc_ir::digest::hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
