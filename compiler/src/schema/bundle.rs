//! Bundling a kind's schema with the shared definitions it uses.
//!
//! `schemas/common.schema.json` holds the definitions several kinds share
//! (object metadata, policy rules, BGP passwords, …); a kind schema refers to
//! them as `common.schema.json#/$defs/<Name>`. [`bundle`] copies every common
//! definition a kind uses, directly or through other common definitions, into
//! the kind's own `$defs` and rewrites those references to `#/$defs/<Name>`,
//! so the result is one self-contained document: what `netc schema KIND`
//! prints and what the validator is compiled from.
//!
//! This file is also compiled into the compiler crate's build script
//! (compiler/build.rs), which bundles the embedded schemas at build time: it
//! may use only `std` and `serde_json`.

use serde_json::{Map, Value};
use std::fmt;

/// File name of the shared definitions, as kind schemas refer to it.
pub const COMMON_FILE: &str = "common.schema.json";

/// Why a kind schema cannot be bundled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BundleError {
    /// A document is not a JSON object, or its `$defs` is not an object.
    NotAnObject(&'static str),
    /// The kind refers to a common definition that does not exist.
    UnknownCommonDef(String),
    /// The kind defines a name it also takes from common.schema.json.
    Shadowed(String),
    /// A reference that is neither local (`#…`) nor into common.schema.json;
    /// an editor would have to fetch it.
    External(String),
}

impl fmt::Display for BundleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BundleError::NotAnObject(what) => write!(f, "{what} is not a JSON object"),
            BundleError::UnknownCommonDef(n) => {
                write!(f, "`{COMMON_FILE}#/$defs/{n}` is not defined in {COMMON_FILE}")
            }
            BundleError::Shadowed(n) => write!(
                f,
                "`$defs/{n}` is defined in the kind schema and also taken from {COMMON_FILE}; \
                 keep one copy, in {COMMON_FILE}"
            ),
            BundleError::External(r) => write!(
                f,
                "`$ref: {r}` points outside the schema and {COMMON_FILE}; schemas must stay self-contained"
            ),
        }
    }
}

impl std::error::Error for BundleError {}

/// The kind schema `kind` with the common definitions it uses inlined.
pub fn bundle(kind: &Value, common: &Value) -> Result<Value, BundleError> {
    let common_defs = common
        .get("$defs")
        .and_then(Value::as_object)
        .ok_or(BundleError::NotAnObject("common.schema.json $defs"))?;
    let mut out = kind.clone();
    // Rewrite the kind's references and collect the common names it uses.
    let mut wanted: Vec<String> = Vec::new();
    rewrite(&mut out, &mut wanted)?;
    // Common definitions may refer to each other (locally, `#/$defs/…`).
    let mut i = 0;
    while i < wanted.len() {
        let def = common_defs
            .get(&wanted[i])
            .ok_or_else(|| BundleError::UnknownCommonDef(wanted[i].clone()))?;
        local_refs(def, &mut wanted)?;
        i += 1;
    }
    let root = out
        .as_object_mut()
        .ok_or(BundleError::NotAnObject("the kind schema"))?;
    let defs = root
        .entry("$defs")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or(BundleError::NotAnObject("the kind schema's $defs"))?;
    for name in &wanted {
        if defs.contains_key(name) {
            return Err(BundleError::Shadowed(name.clone()));
        }
    }
    // In common.schema.json's order, so the output does not depend on the
    // order references happen to be met.
    for (name, def) in common_defs {
        if wanted.contains(name) {
            defs.insert(name.clone(), def.clone());
        }
    }
    Ok(out)
}

/// `common.schema.json#/$defs/X` → `#/$defs/X` everywhere in `v`, recording X.
fn rewrite(v: &mut Value, wanted: &mut Vec<String>) -> Result<(), BundleError> {
    match v {
        Value::Object(m) => {
            for (k, child) in m.iter_mut() {
                match (k.as_str(), &*child) {
                    ("$ref", Value::String(r)) => {
                        if let Some(name) = common_name(r) {
                            push_unique(wanted, name);
                            *child = Value::String(format!("#/$defs/{name}"));
                        } else if !r.starts_with('#') {
                            return Err(BundleError::External(r.clone()));
                        }
                    }
                    _ => rewrite(child, wanted)?,
                }
            }
        }
        Value::Array(items) => {
            for child in items {
                rewrite(child, wanted)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Names of the `#/$defs/X` references inside a common definition.
fn local_refs(v: &Value, wanted: &mut Vec<String>) -> Result<(), BundleError> {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                match (k.as_str(), child) {
                    ("$ref", Value::String(r)) => match r.strip_prefix("#/$defs/") {
                        Some(name) => push_unique(wanted, name),
                        None => return Err(BundleError::External(r.clone())),
                    },
                    _ => local_refs(child, wanted)?,
                }
            }
        }
        Value::Array(items) => {
            for child in items {
                local_refs(child, wanted)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// `common.schema.json#/$defs/X` → X.
pub fn common_name(r: &str) -> Option<&str> {
    r.strip_prefix(COMMON_FILE)?.strip_prefix("#/$defs/")
}

fn push_unique(v: &mut Vec<String>, name: &str) {
    if !v.iter().any(|n| n == name) {
        v.push(name.to_string());
    }
}
