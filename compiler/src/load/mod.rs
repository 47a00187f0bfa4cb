//! Loading: files → YAML documents → raw resources with their origin.
//!
//! Accepts what `calicoctl get -o yaml` and hand-written manifests contain:
//! multi-document files, `<Kind>List` wrappers, both Calico apiVersions, and
//! server-populated metadata. Structure is checked later against the JSON
//! Schemas ([`crate::schema`]); this layer only finds the resources.

pub mod doc_cache;
pub mod document;
pub mod yaml;

use crate::diag::{codes, Diagnostic};
use crate::model::Kind;
use crate::source::{FileId, SourceMap};
pub use document::Origin;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// apiVersions netc reads. `crd.projectcalico.org/v1` is what users write
/// when they go through kubectl; the fields are the same.
pub const API_VERSIONS: &[&str] = &["projectcalico.org/v3", "crd.projectcalico.org/v1"];

/// apiVersions of the Kubernetes kinds netc reads (docs/k8s.md §1), and of
/// `v1 List`, the wrapper `kubectl get -o yaml` prints.
pub const KUBE_API_VERSIONS: &[&str] = &["v1", "networking.k8s.io/v1"];

/// One resource as found in the input, before schema and typed parsing.
#[derive(Clone, Debug)]
pub struct RawResource {
    pub kind: Kind,
    pub value: serde_json::Value,
    pub origin: Origin,
    /// Its schema checks, when they ran at load time (a document cached or
    /// to be cached, see [`doc_cache`]); otherwise validation runs them.
    pub checked: Option<Checked>,
    /// A resource read back from the document cache keeps its coerced spec
    /// as JSON text here, and `value` holds the rest (apiVersion, kind,
    /// metadata): validation types the spec straight from the text, so the
    /// spec never becomes a tree of JSON values. None for a resource
    /// loaded from YAML.
    pub spec_json: Option<Box<serde_json::value::RawValue>>,
}

/// The outcome of [`crate::validate::check_raw`] on a resource: the
/// value is coerced, `diags` are the schema's and W0108's findings.
#[derive(Clone, Debug)]
pub struct Checked {
    pub diags: Vec<Diagnostic>,
    /// The schema found an error: the resource is not typed.
    pub failed: bool,
}

impl RawResource {
    pub fn name(&self) -> &str {
        self.value
            .pointer("/metadata/name")
            .and_then(|v| v.as_str())
            .unwrap_or("<unnamed>")
    }
    /// `IPPool pool-a` — how diagnostics name a resource.
    pub fn display(&self) -> String {
        format!("{} {}", self.kind.as_str(), self.name())
    }
}

/// Collect input files: files as given, directories searched recursively for
/// `*.yaml`/`*.yml` in sorted order (so output never depends on readdir
/// order), `-` for stdin.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Box<Diagnostic>> {
    let mut out = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            out.push(p.clone());
        } else if p.is_dir() {
            let before = out.len();
            walk(p, &mut out).map_err(|e| {
                Box::new(Diagnostic::error(
                    codes::IO,
                    format!("cannot read directory {}: {e}", p.display()),
                ))
            })?;
            if out.len() == before {
                return Err(Box::new(Diagnostic::error(
                    codes::IO,
                    format!("directory {} holds no *.yaml or *.yml files", p.display()),
                )));
            }
        } else if p.exists() {
            out.push(p.clone());
        } else {
            return Err(Box::new(Diagnostic::error(
                codes::IO,
                format!("{}: no such file or directory", p.display()),
            )));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') {
            continue; // .git, editor swap files
        }
        if p.is_dir() {
            walk(&p, out)?;
        } else if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("yaml") | Some("yml")
        ) && !is_secrets_file(name)
        {
            out.push(p);
        }
    }
    Ok(())
}

/// Files named `*.secrets.yaml` / `*.secrets.yml` hold BGP passwords for
/// `--secrets`; a directory walk never reads them as desired state.
pub fn is_secrets_file(name: &str) -> bool {
    name.ends_with(".secrets.yaml") || name.ends_with(".secrets.yml")
}

/// Read files into the source map and load their resources.
pub fn load_files(
    files: &[PathBuf],
    sources: &mut SourceMap,
) -> (Vec<RawResource>, Vec<Diagnostic>) {
    load_files_with(files, sources, None)
}

/// [`load_files`], documents through `store` when there is one.
pub fn load_files_with(
    files: &[PathBuf],
    sources: &mut SourceMap,
    store: Option<&dyn doc_cache::DocStore>,
) -> (Vec<RawResource>, Vec<Diagnostic>) {
    use rayon::prelude::*;
    let mut diags = Vec::new();
    let mut ids = Vec::new();
    for p in files {
        let (name, text) = if p.as_os_str() == "-" {
            let mut s = String::new();
            match std::io::Read::read_to_string(&mut std::io::stdin(), &mut s) {
                Ok(_) => ("<stdin>".to_string(), s),
                Err(e) => {
                    diags.push(Diagnostic::error(
                        codes::IO,
                        format!("cannot read stdin: {e}"),
                    ));
                    continue;
                }
            }
        } else {
            match std::fs::read(p) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(s) => (p.display().to_string(), s),
                    Err(_) => {
                        diags.push(Diagnostic::error(
                            codes::IO,
                            format!("{}: not UTF-8 text", p.display()),
                        ));
                        continue;
                    }
                },
                Err(e) => {
                    diags.push(Diagnostic::error(
                        codes::IO,
                        format!("cannot read {}: {e}", p.display()),
                    ));
                    continue;
                }
            }
        };
        // A UTF-8 byte order mark (Windows editors write one) is not content.
        let text = match text.strip_prefix('\u{feff}') {
            Some(rest) => rest.to_string(),
            None => text,
        };
        ids.push(sources.add(name, text));
    }
    // Files parse independently: on all cores, results in file order.
    let sources: &SourceMap = sources;
    let loaded: Vec<_> = ids
        .par_iter()
        .map(|&id| load_source_with(id, sources, store))
        .collect();
    let mut resources = Vec::new();
    for (r, d) in loaded {
        resources.extend(r);
        diags.extend(d);
    }
    (resources, diags)
}

/// Load the resources of one file already in the source map.
pub fn load_source(file: FileId, sources: &SourceMap) -> (Vec<RawResource>, Vec<Diagnostic>) {
    load_source_with(file, sources, None)
}

/// [`load_source`], through `store` when there is one. A file is loaded a
/// document at a time ([`doc_cache`]: each document's resources checked as
/// soon as it is parsed, its tree dropped then), else whole.
pub fn load_source_with(
    file: FileId,
    sources: &SourceMap,
    store: Option<&dyn doc_cache::DocStore>,
) -> (Vec<RawResource>, Vec<Diagnostic>) {
    let src = sources.get(file);
    if let Some(loaded) = doc_cache::load(file, src, store) {
        return loaded;
    }
    load_source_whole(file, sources)
}

/// Load one file's resources from one parse of the whole file, keeping
/// every document's marked tree: what [`load_source`] does for a file it
/// cannot split into documents (aliases, directives), and the reference
/// the document-at-a-time loading is tested against.
pub fn load_source_whole(file: FileId, sources: &SourceMap) -> (Vec<RawResource>, Vec<Diagnostic>) {
    let src = sources.get(file);
    let (docs, mut diags) = yaml::parse_file(file, src);
    // Documents convert independently: on all cores, in document order.
    use rayon::prelude::*;
    let converted: Vec<_> = docs
        .into_par_iter()
        .filter_map(|doc| doc.root.map(document::to_json))
        .collect();
    let mut out = Vec::new();
    for (value, spans, d) in converted {
        diags.extend(d);
        let spans = Arc::new(spans);
        let origin = Origin {
            file,
            base: String::new(),
            spans,
        };
        split_document(value, origin, &mut out, &mut diags);
    }
    (out, diags)
}

fn split_document(
    value: serde_json::Value,
    origin: Origin,
    out: &mut Vec<RawResource>,
    diags: &mut Vec<Diagnostic>,
) {
    let serde_json::Value::Object(map) = &value else {
        if !value.is_null() {
            diags.push(
                Diagnostic::error(codes::NOT_A_RESOURCE, "document is not a mapping")
                    .at(origin.resource_span())
                    .note(
                        "each document must be a resource with apiVersion, kind, metadata and spec",
                    ),
            );
        }
        return;
    };
    let Some(kind_str) = map.get("kind").and_then(|k| k.as_str()) else {
        diags.push(
            Diagnostic::error(codes::NOT_A_RESOURCE, "document has no `kind`")
                .at(origin.resource_span())
                .note(format!(
                    "kinds: {}",
                    Kind::ALL
                        .iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
        );
        return;
    };
    let api = match map.get("apiVersion").and_then(|v| v.as_str()) {
        Some(v) if API_VERSIONS.contains(&v) || KUBE_API_VERSIONS.contains(&v) => v,
        Some(v) if is_kube_api_group(v) => {
            ignored_kube_kind(&origin, kind_str, v, diags);
            return;
        }
        Some(v) => {
            diags.push(
                Diagnostic::error(codes::API_VERSION, format!("unsupported apiVersion `{v}`"))
                    .at(origin.value_span("/apiVersion"))
                    .note(format!(
                        "allowed: {}, and for Kubernetes kinds {}",
                        API_VERSIONS.join(", "),
                        KUBE_API_VERSIONS.join(", ")
                    )),
            );
            return;
        }
        None => {
            diags.push(
                Diagnostic::error(codes::NOT_A_RESOURCE, "document has no `apiVersion`")
                    .at(origin.resource_span())
                    .note("add `apiVersion: projectcalico.org/v3`"),
            );
            return;
        }
    };
    // `kubectl get … -o yaml` prints a `v1 List` whose items carry their own
    // apiVersion and kind, mixed.
    if kind_str == "List" && api == "v1" {
        let Some(items) = list_items(map, &origin, kind_str, diags) else {
            return;
        };
        for (i, item) in items.into_iter().enumerate() {
            let item_origin = Origin {
                base: format!("{}/items/{i}", origin.base),
                ..origin.clone()
            };
            if item.is_object() {
                split_document(item, item_origin, out, diags);
            } else {
                diags.push(
                    Diagnostic::error(codes::NOT_A_RESOURCE, "list item is not a mapping")
                        .at(item_origin.resource_span()),
                );
            }
        }
        return;
    }
    if let Some(item_kind) = kind_str.strip_suffix("List") {
        if let Some(k) = Kind::from_api(api, item_kind) {
            let Some(items) = list_items(map, &origin, kind_str, diags) else {
                return;
            };
            for (i, item) in items.into_iter().enumerate() {
                let item_origin = Origin {
                    base: format!("{}/items/{i}", origin.base),
                    ..origin.clone()
                };
                // Items of a List may omit apiVersion/kind (calicoctl prints them; kubectl may not).
                let mut item = item;
                if let serde_json::Value::Object(m) = &mut item {
                    let ik = m.get("kind").and_then(|v| v.as_str()).map(str::to_string);
                    match ik {
                        Some(ik) if ik != k.yaml_kind() => {
                            diags.push(
                                Diagnostic::error(
                                    codes::UNKNOWN_KIND,
                                    format!("item of a {kind_str} has kind `{ik}`"),
                                )
                                .at(item_origin.value_span("/kind"))
                                .note(format!(
                                    "every item of a {kind_str} must be a {}",
                                    k.yaml_kind()
                                )),
                            );
                            continue;
                        }
                        _ => {}
                    }
                    m.entry("kind").or_insert_with(|| k.yaml_kind().into());
                    m.entry("apiVersion").or_insert_with(|| api.into());
                    out.push(RawResource {
                        kind: k,
                        value: null_spec_is_empty(item),
                        origin: item_origin,
                        checked: None,
                        spec_json: None,
                    });
                } else {
                    diags.push(
                        Diagnostic::error(codes::NOT_A_RESOURCE, "list item is not a mapping")
                            .at(item_origin.resource_span()),
                    );
                }
            }
            return;
        }
    }
    match Kind::from_api(api, kind_str) {
        Some(k) => out.push(RawResource {
            kind: k,
            value: null_spec_is_empty(value),
            origin,
            checked: None,
            spec_json: None,
        }),
        None if Kind::ALL.iter().any(|k| k.yaml_kind() == kind_str) => {
            // A known kind under the wrong apiVersion (`v1 IPPool`).
            let wanted: Vec<&str> = Kind::ALL
                .iter()
                .filter(|k| k.yaml_kind() == kind_str)
                .flat_map(|k| k.api_versions().iter().copied())
                .collect();
            diags.push(
                Diagnostic::error(
                    codes::API_VERSION,
                    format!("kind `{kind_str}` is not in apiVersion `{api}`"),
                )
                .at(origin.value_span("/apiVersion"))
                .label(format!("expected {}", wanted.join(" or ")))
                .note(format!(
                    "a {kind_str} has apiVersion {}",
                    wanted.join(" or ")
                )),
            );
        }
        None if KUBE_API_VERSIONS.contains(&api) => {
            ignored_kube_kind(&origin, kind_str, api, diags)
        }
        None => {
            let mut d =
                Diagnostic::error(codes::UNKNOWN_KIND, format!("unknown kind `{kind_str}`"))
                    .at(origin.value_span("/kind"));
            let names: Vec<String> = Kind::ALL
                .iter()
                .filter(|k| !k.is_kubernetes())
                .flat_map(|k| [k.as_str().to_string(), format!("{}List", k.as_str())])
                .collect();
            if let Some(s) = did_you_mean(kind_str, names.iter().map(|s| s.as_str())) {
                d = d.label(format!("did you mean `{s}`?"));
            }
            d = d.note(format!(
                "kinds: {}",
                Kind::ALL
                    .iter()
                    .filter(|k| !k.is_kubernetes())
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            diags.push(d);
        }
    }
}

/// A Kubernetes API group other than the ones netc reads (`apps/v1`,
/// `discovery.k8s.io/v1`…): such objects appear in a `kubectl get` export.
fn is_kube_api_group(api: &str) -> bool {
    match api.split_once('/') {
        Some((group, _)) => {
            group.ends_with(".k8s.io")
                || matches!(
                    group,
                    "apps" | "batch" | "autoscaling" | "policy" | "extensions"
                )
        }
        None => false,
    }
}

/// Kubernetes kinds a `kubectl get` export commonly holds that netc skips.
const KNOWN_KUBE_KINDS: &[&str] = &[
    "Binding",
    "ClusterRole",
    "ClusterRoleBinding",
    "ComponentStatus",
    "ConfigMap",
    "CronJob",
    "CustomResourceDefinition",
    "DaemonSet",
    "Deployment",
    "EndpointSlice",
    "Endpoints",
    "Event",
    "HorizontalPodAutoscaler",
    "Ingress",
    "IngressClass",
    "Job",
    "Lease",
    "LimitRange",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "PodDisruptionBudget",
    "PodTemplate",
    "ReplicaSet",
    "ReplicationController",
    "ResourceQuota",
    "Role",
    "RoleBinding",
    "Secret",
    "Service",
    "ServiceAccount",
    "StatefulSet",
];

/// W0011: a Kubernetes object with no bearing on the network (a Service, a
/// ConfigMap, a Deployment…) in a `kubectl get` export.
fn ignored_kube_kind(origin: &Origin, kind: &str, api: &str, diags: &mut Vec<Diagnostic>) {
    // A misspelt kind netc reads would silently drop, say, a Namespace's
    // labels: an error, unless it is a kind Kubernetes has.
    const READ: &[&str] = &["Namespace", "Pod", "Node", "NetworkPolicy", "List"];
    if !KNOWN_KUBE_KINDS.contains(&kind) {
        let close = READ.iter().copied().find(|r| {
            let d =
                strsim::damerau_levenshtein(&kind.to_ascii_lowercase(), &r.to_ascii_lowercase());
            d <= if r.len() <= 4 { 1 } else { 2 }
        });
        if let Some(r) = close {
            diags.push(
                Diagnostic::error(codes::UNKNOWN_KIND, format!("unknown kind `{kind}`"))
                    .at(origin.value_span("/kind"))
                    .label(format!("did you mean `{r}`?"))
                    .note("netc reads the Kubernetes kinds Namespace, Pod, Node (v1) and NetworkPolicy (networking.k8s.io/v1); docs/k8s.md"),
            );
            return;
        }
    }
    diags.push(
        Diagnostic::warning(
            codes::KUBE_KIND_IGNORED,
            format!("Kubernetes kind `{kind}` ({api}) is not read by netc; ignored"),
        )
        .at(origin.value_span("/kind"))
        .label("ignored")
        .note("netc reads the Kubernetes kinds Namespace, Pod, Node (v1) and NetworkPolicy (networking.k8s.io/v1); docs/k8s.md"),
    );
}

/// The `items` of a List, after checking its top-level keys.
fn list_items(
    map: &serde_json::Map<String, serde_json::Value>,
    origin: &Origin,
    kind_str: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<Vec<serde_json::Value>> {
    let items = match map.get("items") {
        Some(serde_json::Value::Array(a)) => a.clone(),
        Some(serde_json::Value::Null) | None => Vec::new(),
        Some(_) => {
            diags.push(
                Diagnostic::error(codes::WRONG_TYPE, "`items` must be a list of resources")
                    .at(origin.value_span("/items")),
            );
            return None;
        }
    };
    for (key, _) in map.iter() {
        if !matches!(key.as_str(), "apiVersion" | "kind" | "items" | "metadata") {
            diags.push(unknown_field(
                origin,
                &format!("/{key}"),
                key,
                &["apiVersion", "kind", "items", "metadata"],
                kind_str,
            ));
        }
    }
    Some(items)
}

/// `spec:` with nothing after it is YAML null; Calico (and calicoctl's own
/// test data) treat it as an empty spec, so netc does too.
fn null_spec_is_empty(mut value: serde_json::Value) -> serde_json::Value {
    if let Some(spec) = value.get_mut("spec") {
        if spec.is_null() {
            *spec = serde_json::Value::Object(serde_json::Map::new());
        }
    }
    value
}

/// The closest candidate by edit distance, if it is close enough to be a typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let lw = word.to_ascii_lowercase();
    candidates
        .map(|c| {
            let d = strsim::damerau_levenshtein(&lw, &c.to_ascii_lowercase());
            (d, c)
        })
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

/// The shared "unknown field" diagnostic (used by the loader and the schema layer).
pub fn unknown_field(
    origin: &Origin,
    ptr: &str,
    field: &str,
    allowed: &[&str],
    context: &str,
) -> Diagnostic {
    let mut d = Diagnostic::error(
        codes::UNKNOWN_FIELD,
        format!("unknown field `{field}` in {context}"),
    )
    .at(origin.key_span(ptr));
    if let Some(s) = did_you_mean(field, allowed.iter().copied()) {
        d = d.label(format!("did you mean `{s}`?"));
    } else {
        d = d.label("not a known field");
    }
    if !allowed.is_empty() {
        d = d.note(format!("allowed fields: {}", allowed.join(", ")));
    }
    d
}
