//! One source for shared schema definitions: `schemas/common.schema.json`
//! holds what several kinds use; kind files refer to it and never copy it;
//! what `netc schema KIND` prints (and the validator uses) is the kind file
//! with those definitions inlined, self-contained for editors.

use netc_compiler::load::load_source_whole;
use netc_compiler::model::Kind;
use netc_compiler::schema::bundle::{bundle, BundleError, COMMON_FILE};
use netc_compiler::schema::{schema_source, schema_text, COMMON_SCHEMA};
use netc_compiler::SourceMap;
use serde_json::{json, Value};
use std::collections::BTreeSet;

const COMMON_ID: &str = "https://netc.dev/schemas/common.schema.json";

fn common() -> Value {
    serde_json::from_str(COMMON_SCHEMA).expect("common schema is JSON")
}

fn source(kind: Kind) -> Value {
    serde_json::from_str(schema_source(kind)).expect("kind schema is JSON")
}

fn defs(doc: &Value) -> serde_json::Map<String, Value> {
    doc.get("$defs")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// Every `$ref` in `v`.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                match (k.as_str(), c) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => refs(c, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|c| refs(c, out)),
        _ => {}
    }
}

#[test]
fn common_schema_is_identified_and_on_disk() {
    let c = common();
    assert_eq!(c["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(c["$id"], COMMON_ID);
    let path = format!("{}/../schemas/{COMMON_FILE}", env!("CARGO_MANIFEST_DIR"));
    let on_disk = std::fs::read_to_string(&path).expect("common schema file exists");
    assert_eq!(on_disk, COMMON_SCHEMA, "{path}");
}

/// The guard against copy-paste: a definition in common.schema.json must not
/// reappear in a kind file (under its own name or another), and two kind
/// files must not carry the same definition (it belongs in common).
#[test]
fn kind_files_do_not_copy_shared_definitions() {
    let common_defs = defs(&common());
    let mut seen: Vec<(Kind, String, Value)> = Vec::new();
    for &kind in Kind::ALL {
        for (name, def) in defs(&source(kind)) {
            assert!(
                !common_defs.contains_key(&name),
                "{}: $defs/{name} is a copy of {COMMON_FILE}#/$defs/{name}; delete it and \
                 refer to `{COMMON_FILE}#/$defs/{name}`",
                kind.schema_file()
            );
            if let Some((cname, _)) = common_defs.iter().find(|(_, c)| **c == def) {
                panic!(
                    "{}: $defs/{name} is a copy of {COMMON_FILE}#/$defs/{cname}; refer to that instead",
                    kind.schema_file()
                );
            }
            if let Some((k, other, _)) = seen.iter().find(|(_, _, d)| *d == def) {
                panic!(
                    "{}: $defs/{name} is identical to $defs/{other} in {}; move it to {COMMON_FILE}",
                    kind.schema_file(),
                    k.schema_file()
                );
            }
            seen.push((kind, name, def));
        }
        // Local references must name local definitions: a kind file that
        // says `#/$defs/Metadata` has re-copied (or lost) a shared one.
        let mut rs = Vec::new();
        refs(&source(kind), &mut rs);
        let local = defs(&source(kind));
        for r in rs {
            if let Some(name) = r.strip_prefix("#/$defs/") {
                assert!(
                    local.contains_key(name),
                    "{}: `{r}` names no local definition{}",
                    kind.schema_file(),
                    if common_defs.contains_key(name) {
                        format!("; shared definitions are `{COMMON_FILE}#/$defs/{name}`")
                    } else {
                        String::new()
                    }
                );
            } else {
                assert!(
                    r.starts_with(&format!("{COMMON_FILE}#/$defs/")),
                    "{}: `{r}` is neither local nor into {COMMON_FILE}",
                    kind.schema_file()
                );
            }
        }
    }
}

#[test]
fn every_shared_definition_is_used_by_two_kinds() {
    let common = common();
    for name in defs(&common).keys() {
        let users: Vec<Kind> = Kind::ALL
            .iter()
            .copied()
            .filter(|k| defs(&serde_json::from_str(schema_text(*k)).unwrap()).contains_key(name))
            .collect();
        assert!(
            users.len() >= 2,
            "{COMMON_FILE}#/$defs/{name} is used by {users:?}; a definition one kind uses lives in that kind's file"
        );
    }
}

/// What `netc schema KIND` prints stands alone: every reference is local and
/// resolves, and nothing points at common.schema.json.
#[test]
fn printed_schemas_are_self_contained() {
    for &kind in Kind::ALL {
        let doc: Value = serde_json::from_str(schema_text(kind)).expect("JSON");
        assert!(
            !schema_text(kind).contains(COMMON_FILE),
            "{kind:?} still mentions {COMMON_FILE}"
        );
        let mut rs = Vec::new();
        refs(&doc, &mut rs);
        assert!(!rs.is_empty());
        for r in rs {
            let ptr = r
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("{kind:?}: non-local `$ref: {r}`"));
            assert!(
                doc.pointer(ptr).is_some(),
                "{kind:?}: `{r}` does not resolve"
            );
        }
        // No unused definitions are dragged in.
        let text = schema_text(kind);
        for name in defs(&doc).keys() {
            assert!(
                text.contains(&format!("\"#/$defs/{name}\"")),
                "{kind:?}: $defs/{name} is bundled but unused"
            );
        }
        // Bundling is exactly: the file, plus the common definitions it uses.
        assert_eq!(
            doc,
            bundle(&source(kind), &common()).expect("bundles"),
            "{kind:?}"
        );
    }
}

/// The files as an editor sees them (kind file + common.schema.json resolved
/// through the registry, no fetching) validate exactly like the bundle.
#[test]
fn source_files_with_the_registry_validate_like_the_bundle() {
    let registry = jsonschema::Registry::new()
        .add(COMMON_ID, jsonschema::Resource::from_contents(common()))
        .expect("registry")
        .prepare()
        .expect("registry prepares");
    let samples = [
        // valid
        "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata:\n  name: np\n  namespace: prod\n  uid: x\nspec:\n  selector: all()\n  ingress:\n  - action: Allow\n    protocol: TCP\n    source:\n      serviceAccounts:\n        names: [a]\n    destination:\n      ports: [80, \"1:2\", http]\n    http:\n      paths:\n      - exact: /x\n",
        // errors inside shared definitions (metadata, rule, entity rule, secret)
        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: g\n  lables: {}\nspec:\n  ingress:\n  - action: Alow\n    protocol: true\n    source:\n      nots: []\n      ports: [70000]\n    http:\n      paths:\n      - exact: 1\n",
        "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: p\nspec:\n  peerIP: 192.0.2.1\n  asNumber: 1.5\n  password:\n    secretKeyRef:\n      name: s\n",
        "apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\nmetadata:\n  name: w\nspec:\n  node: n\n  ports:\n  - name: http\n    protocol: TCP\n    port: 0\n",
    ];
    for text in samples {
        let mut sm = SourceMap::new();
        let id = sm.add("t.yaml", text);
        let (raws, _) = load_source_whole(id, &sm);
        for raw in raws {
            let src = source(raw.kind);
            let by_registry = jsonschema::options()
                .with_registry(&registry)
                .build(&src)
                .unwrap_or_else(|e| panic!("{:?} source does not compile: {e}", raw.kind));
            let bundled: Value = serde_json::from_str(schema_text(raw.kind)).unwrap();
            let by_bundle = jsonschema::validator_for(&bundled).unwrap();
            let errs = |v: &jsonschema::Validator| -> BTreeSet<(String, String)> {
                v.iter_errors(&raw.value)
                    .map(|e| (e.instance_path().as_str().to_string(), e.to_string()))
                    .collect()
            };
            assert_eq!(errs(&by_registry), errs(&by_bundle), "{text}");
        }
    }
}

#[test]
fn bundling_rejects_shadowing_and_outside_references() {
    let common = json!({"$defs": {
        "A": {"type": "object", "properties": {"b": {"$ref": "#/$defs/B"}}},
        "B": {"type": "string"},
        "C": {"type": "integer"}
    }});
    // Transitive: A pulls in B; C is not used and not copied.
    let kind = json!({"properties": {"a": {"$ref": "common.schema.json#/$defs/A"}}});
    let b = bundle(&kind, &common).unwrap();
    assert_eq!(b["properties"]["a"]["$ref"], "#/$defs/A");
    assert_eq!(
        defs(&b).keys().cloned().collect::<Vec<_>>(),
        ["A".to_string(), "B".to_string()]
    );
    // A kind that re-copies a shared definition it also takes from common.
    let kind = json!({
        "properties": {"a": {"$ref": "common.schema.json#/$defs/A"}},
        "$defs": {"B": {"type": "string"}}
    });
    assert_eq!(
        bundle(&kind, &common),
        Err(BundleError::Shadowed("B".to_string()))
    );
    let kind = json!({"properties": {"a": {"$ref": "common.schema.json#/$defs/Z"}}});
    assert_eq!(
        bundle(&kind, &common),
        Err(BundleError::UnknownCommonDef("Z".to_string()))
    );
    let kind = json!({"properties": {"a": {"$ref": "https://example.com/x.json"}}});
    assert!(matches!(
        bundle(&kind, &common),
        Err(BundleError::External(_))
    ));
}
