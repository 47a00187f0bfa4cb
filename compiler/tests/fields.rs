//! No silent gaps: every field the schemas accept is compiled or listed as
//! not compiled (compiler/src/fields.rs); setting a listed field warns
//! (W0108) or is reported by the code the table names; docs/fields.md is
//! generated from the table.

use netc_compiler::diag::codes;
use netc_compiler::fields::{self, Report, COMPILED, NOT_COMPILED};
use netc_compiler::load::load_source;
use netc_compiler::model::Kind;
use netc_compiler::schema::{schema_source, schema_text, COMMON_SCHEMA};
use netc_compiler::validate::validate;
use netc_compiler::{Diagnostic, SourceMap};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

fn run(text: &str) -> Vec<Diagnostic> {
    let mut sm = SourceMap::new();
    let id = sm.add("t.yaml", text);
    let (raws, diags) = load_source(id, &sm);
    assert!(diags.is_empty(), "loader diagnostics: {diags:?}");
    let (_, d) = validate(raws);
    d.items
}

fn not_compiled_warnings(text: &str) -> Vec<Diagnostic> {
    run(text)
        .into_iter()
        .filter(|d| d.code == codes::NOT_COMPILED)
        .collect()
}

#[test]
fn every_schema_field_is_compiled_or_listed_once() {
    let walked = fields::schema_fields().expect("schemas parse");
    let all: BTreeSet<&str> = walked.fields.iter().map(String::as_str).collect();
    assert!(all.len() > 150, "the walk found only {} fields", all.len());
    let mut problems = Vec::new();
    let mut paths: Vec<&str> = COMPILED.iter().map(|c| c.path).collect();
    paths.extend(NOT_COMPILED.iter().map(|n| n.path));
    let mut seen = BTreeSet::new();
    for p in &paths {
        if !seen.insert(*p) {
            problems.push(format!("{p}: listed twice (or in both tables)"));
        }
        if !all.contains(p) {
            problems.push(format!("{p}: listed, but no schema has this field"));
        }
    }
    for f in &walked.fields {
        let under = NOT_COMPILED
            .iter()
            .find(|n| f.starts_with(&format!("{}/", n.path)));
        let listed = fields::compiled(f).is_some() || fields::not_compiled(f).is_some();
        match (under, listed) {
            (Some(n), true) => problems.push(format!(
                "{f}: listed, but `{}` (not compiled) already covers it",
                n.path
            )),
            (None, false) => problems.push(format!(
                "{f}: in neither table of compiler/src/fields.rs; add it to COMPILED (naming where lowering reads it) or NOT_COMPILED (with the reason)"
            )),
            _ => {}
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// The walk follows `properties`, `items` and `$ref`; a schema using other
/// applicators would hide fields from it.
#[test]
fn the_walk_sees_every_subschema() {
    fn scan(v: &Value, at: &str, bad: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, c) in m {
                    if [
                        "oneOf",
                        "anyOf",
                        "allOf",
                        "not",
                        "if",
                        "patternProperties",
                        "prefixItems",
                        "dependentSchemas",
                        "unevaluatedProperties",
                    ]
                    .contains(&k.as_str())
                    {
                        bad.push(format!("{at}/{k}"));
                    }
                    if k == "additionalProperties" && c.get("properties").is_some() {
                        bad.push(format!("{at}/{k}"));
                    }
                    scan(c, &format!("{at}/{k}"), bad);
                }
            }
            Value::Array(a) => a
                .iter()
                .enumerate()
                .for_each(|(i, c)| scan(c, &format!("{at}/{i}"), bad)),
            _ => {}
        }
    }
    let mut bad = Vec::new();
    scan(
        &serde_json::from_str(COMMON_SCHEMA).unwrap(),
        "common",
        &mut bad,
    );
    for &k in Kind::ALL {
        scan(
            &serde_json::from_str(schema_source(k)).unwrap(),
            k.as_str(),
            &mut bad,
        );
    }
    assert!(
        bad.is_empty(),
        "teach compiler/src/fields.rs (walk and check) these keywords: {bad:?}"
    );
}

#[test]
fn docs_fields_md_is_current() {
    let path = format!("{}/../docs/fields.md", env!("CARGO_MANIFEST_DIR"));
    let want = fields::markdown();
    if std::env::var("NETC_BLESS").as_deref() == Ok("1") {
        std::fs::write(&path, &want).expect("write docs/fields.md");
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/fields.md is stale: run `NETC_BLESS=1 cargo test -p netc-compiler --test fields`"
    );
}

// ------------------------------------------------------------------ the warning

/// A document setting every field of a (bundled) schema to a value other
/// than its default.
fn maximal(doc: &Value, node: &Value, depth: usize) -> Value {
    assert!(depth < 40, "schema recursion");
    if let Some(r) = node.get("$ref").and_then(Value::as_str) {
        let target = doc.pointer(r.trim_start_matches('#')).expect("local ref");
        return maximal(doc, target, depth + 1);
    }
    if let Some(c) = node.get("const") {
        return c.clone();
    }
    let default = node.get("default");
    if let Some(opts) = node.get("enum").and_then(Value::as_array) {
        return opts
            .iter()
            .find(|o| Some(*o) != default)
            .unwrap_or(&opts[0])
            .clone();
    }
    if let Some(props) = node.get("properties").and_then(Value::as_object) {
        let mut m = Map::new();
        for (k, sub) in props {
            m.insert(k.clone(), maximal(doc, sub, depth + 1));
        }
        return Value::Object(m);
    }
    let types: Vec<&str> = match node.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec!["string"],
    };
    match types.iter().find(|t| **t != "null").copied() {
        Some("array") => match node.get("items") {
            Some(items) if items.is_object() => json!([maximal(doc, items, depth + 1)]),
            _ => json!(["x"]),
        },
        Some("object") => json!({"k": "v"}),
        Some("boolean") => json!(default != Some(&json!(true))),
        Some("integer") | Some("number") => {
            if default == Some(&json!(1)) {
                json!(2)
            } else {
                json!(1)
            }
        }
        _ => match node
            .get("examples")
            .and_then(|e| e.get(0))
            .filter(|e| Some(*e) != default)
        {
            Some(e) => e.clone(),
            None => json!("x"),
        },
    }
}

/// Every field marked `Warn` warns when set, naming its table path; no other
/// field does.
#[test]
fn every_warned_field_warns_when_set() {
    let mut named: BTreeSet<String> = BTreeSet::new();
    for &kind in Kind::ALL {
        let doc: Value = serde_json::from_str(schema_text(kind)).unwrap();
        let full = maximal(&doc, &doc, 0);
        let text = serde_json::to_string_pretty(&full).unwrap();
        let mut sm = SourceMap::new();
        let id = sm.add("max.yaml", text.clone());
        let (raws, ld) = load_source(id, &sm);
        assert!(ld.is_empty(), "{kind:?}: {ld:?}");
        for d in fields::check(&raws[0]) {
            assert_eq!(d.code, codes::NOT_COMPILED);
            let span = d.span.expect("span");
            let line = text.lines().nth(span.line as usize - 1).unwrap_or("");
            let key = d
                .notes
                .iter()
                .find_map(|n| n.rsplit_once("(`").map(|(_, k)| k.trim_end_matches("`)")))
                .expect("note names the table path");
            let leaf = key.rsplit('/').next().unwrap();
            assert!(
                line.contains(&format!("\"{leaf}\":")),
                "{kind:?}: W0108 for `{key}` points at line {}: {line}",
                span.line
            );
            named.insert(key.to_string());
        }
    }
    let want: BTreeSet<String> = NOT_COMPILED
        .iter()
        .filter(|n| n.report == Report::Warn)
        .map(|n| n.path.to_string())
        .collect();
    assert_eq!(named, want);
}

const POOL: &str =
    "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: p\nspec:\n  cidr: 10.244.0.0/16\n";

#[test]
fn warning_wording_and_span() {
    let d = not_compiled_warnings(&format!("{POOL}  allowedUses: [Workload]\n"));
    assert_eq!(d.len(), 1, "{d:#?}");
    let s = d[0].span.unwrap();
    assert_eq!((s.line, s.col), (7, 3));
    assert_eq!(
        d[0].message,
        "`spec.allowedUses` is accepted but not compiled: netc allocates blocks and tunnel addresses from every enabled pool, whatever its allowedUses"
    );
    assert_eq!(d[0].resource.as_deref(), Some("IPPool p"));
    assert!(!d[0].is_error());

    // Inside lists and shared definitions, the path names the item.
    let d = not_compiled_warnings(
        "apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\nmetadata:\n  name: w\n  namespace: prod\nspec:\n  node: n1\n  interfaceName: cali0\n  ipNetworks: [10.244.0.5/32]\n  profiles: [kns.prod]\n",
    );
    assert_eq!(d.len(), 1, "{d:#?}");
    assert!(d[0]
        .message
        .starts_with("`spec.profiles` is accepted but not compiled"));
}

#[test]
fn defaults_empty_values_and_quiet_fields_do_not_warn() {
    for extra in [
        "  allowedUses: [Workload, Tunnel]\n  assignmentMode: Automatic\n",
        "  namespaceSelector: \"\"\n",
        "  allowedUses: []\n",
        "  ipipMode: Always\n  natOutgoing: true\n",
    ] {
        let d = not_compiled_warnings(&format!("{POOL}{extra}"));
        assert!(d.is_empty(), "{extra}: {d:#?}");
    }
    // Server-populated metadata and status: no effect in Calico either.
    let d = not_compiled_warnings(
        "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: p\n  uid: 7\n  resourceVersion: \"12\"\n  creationTimestamp: \"2024-05-01T10:00:00Z\"\nspec:\n  cidr: 10.244.0.0/16\nstatus: {}\n",
    );
    assert!(d.is_empty(), "{d:#?}");
}

/// Fields the table says another code reports are reported by that code,
/// and not twice.
#[test]
fn fields_reported_by_other_codes_are() {
    let cases = [
        (
            "ServiceAccountMatch/names",
            "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: g\nspec:\n  ingress:\n  - action: Allow\n    source:\n      serviceAccounts:\n        names: [a]\n        selector: all()\n",
        ),
        (
            "ServiceMatch/name",
            "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: g\nspec:\n  egress:\n  - action: Allow\n    destination:\n      services:\n        name: dns\n        namespace: kube-system\n",
        ),
        (
            "HTTPMatch/methods",
            "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: g\nspec:\n  ingress:\n  - action: Allow\n    protocol: TCP\n    http:\n      methods: [GET]\n      paths:\n      - exact: /a\n      - prefix: /b\n",
        ),
        (
            "FelixConfiguration/spec/logSeverityScreen",
            "apiVersion: projectcalico.org/v3\nkind: FelixConfiguration\nmetadata:\n  name: default\nspec:\n  logSeverityScreen: Debug\n",
        ),
        (
            "IPAMBlock/spec/allocations",
            "apiVersion: projectcalico.org/v3\nkind: IPAMBlock\nmetadata:\n  name: b\nspec:\n  cidr: 10.244.0.0/26\n  allocations: [0, null]\n",
        ),
        (
            "WorkloadEndpoint/spec/ports/*/hostPort",
            "apiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\nmetadata:\n  name: n-k8s-w-eth0\n  namespace: default\nspec:\n  node: n\n  interfaceName: cali0\n  ipNetworks: [10.244.0.5/32]\n  ports:\n  - {name: http, protocol: TCP, port: 80, hostPort: 8080}\n",
        ),
    ];
    for (path, text) in cases {
        let Some(n) = fields::not_compiled(path) else {
            panic!("{path} is not in NOT_COMPILED")
        };
        let Report::By(code) = n.report else {
            panic!("{path} is not reported by another code")
        };
        let d = run(text);
        assert!(
            d.iter().any(|d| d.code == code),
            "{path}: no {code} in {d:#?}"
        );
        assert!(
            !d.iter().any(|d| d.code == codes::NOT_COMPILED),
            "{path}: W0108 repeats {code}: {d:#?}"
        );
    }
    // Every By entry is one of the fields above or their siblings.
    for n in NOT_COMPILED {
        if let Report::By(code) = n.report {
            assert!(
                [
                    codes::UNKNOWN_FILTER,
                    codes::UNSUPPORTED_MATCH,
                    codes::KIND_NOT_COMPILED,
                    codes::HOST_PORT
                ]
                .contains(&code),
                "{}: add a case for {code} above",
                n.path
            );
        }
    }
}
