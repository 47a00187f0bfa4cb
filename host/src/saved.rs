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
    /// `--only`: the steps this plan covers (None: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only: Option<std::collections::BTreeSet<crate::plan::Step>>,
    /// `--replace`: tunnel devices re-created.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub replace: std::collections::BTreeSet<String>,
}

impl SavedPlan {
    pub fn new(
        ir: &HostIr,
        artifacts: &[Artifact],
        target: &Target,
        fingerprint: &str,
        plan: &crate::Plan,
    ) -> SavedPlan {
        SavedPlan {
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
            only: None,
            replace: Default::default(),
        }
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
    pub fn artifacts(&self, secrets: &dyn Secrets) -> Result<Vec<Artifact>, Error> {
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
        Ok(out)
    }
}
