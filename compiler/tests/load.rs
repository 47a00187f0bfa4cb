//! Loader: documents, List wrappers, spans, tags, duplicates.

use netc_compiler::diag::codes;
use netc_compiler::load::load_source;
use netc_compiler::model::Kind;
use netc_compiler::SourceMap;

fn load(
    text: &str,
) -> (
    Vec<netc_compiler::load::RawResource>,
    Vec<netc_compiler::Diagnostic>,
) {
    let mut sm = SourceMap::new();
    let id = sm.add("t.yaml", text);
    load_source(id, &sm)
}

#[test]
fn multi_document_and_lists() {
    let (r, d) = load(
        "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: a\nspec:\n  cidr: 10.0.0.0/16\n---\n---\napiVersion: projectcalico.org/v3\nkind: NodeList\nitems:\n- metadata:\n    name: n1\n  spec: {}\n- apiVersion: projectcalico.org/v3\n  kind: Node\n  metadata:\n    name: n2\n",
    );
    assert!(d.is_empty(), "{d:?}");
    let kinds: Vec<_> = r.iter().map(|r| (r.kind, r.name().to_string())).collect();
    assert_eq!(
        kinds,
        vec![
            (Kind::IPPool, "a".into()),
            (Kind::Node, "n1".into()),
            (Kind::Node, "n2".into())
        ]
    );
    // spans are relative to the item inside the list
    let s = r[2].origin.value_span("/metadata/name");
    assert_eq!((s.line, s.col), (18, 11));
    let s = r[0].origin.value_span("/spec/cidr");
    assert_eq!((s.line, s.col), (6, 9));
    assert_eq!(s.len, "10.0.0.0/16".len());
}

#[test]
fn tag_is_rejected_with_quoting_advice() {
    let (_, d) = load(
        "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: p\nspec:\n  nodeSelector: !has(rr)\n  peerIP: 10.0.0.1\n",
    );
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].code, codes::YAML_TAG);
    let s = d[0].span.unwrap();
    assert_eq!((s.line, s.col), (6, 17));
    assert!(
        d[0].notes.iter().any(|n| n.contains("\"!has(rr)\"")),
        "{:?}",
        d[0].notes
    );
}

#[test]
fn duplicate_key_points_at_both() {
    let (_, d) = load("apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: a\nspec:\n  cidr: 10.0.0.0/16\n  cidr: 10.1.0.0/16\n");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].code, codes::YAML_DUPLICATE_KEY);
    assert_eq!(d[0].span.unwrap().line, 7);
    assert_eq!(d[0].related[0].0.line, 6);
}

#[test]
fn syntax_error_has_position() {
    let (_, d) = load("apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: [a\n");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].code, codes::YAML_SYNTAX);
    assert!(d[0].span.unwrap().line >= 4);
}

#[test]
fn unknown_kind_and_api_version() {
    let (r, d) = load("apiVersion: projectcalico.org/v3\nkind: IPPol\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: IPPool\n");
    assert!(r.is_empty());
    assert_eq!(d.len(), 2);
    assert_eq!(d[0].code, codes::UNKNOWN_KIND);
    assert_eq!(d[0].label.as_deref(), Some("did you mean `IPPool`?"));
    assert_eq!(d[1].code, codes::API_VERSION);
    assert_eq!(d[1].span.unwrap().line, 6);
}

#[test]
fn alias_bomb_is_bounded() {
    let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        s.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n",
            p = i - 1
        ));
    }
    let (_, d) = load(&s);
    assert!(d.iter().any(|d| d.code == codes::YAML_UNSUPPORTED), "{d:?}");
}

#[test]
fn multibyte_text_keeps_columns() {
    let (r, d) = load("apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: a\n  labels: {é: \"ü\", x: y}\n");
    assert!(d.is_empty());
    let s = r[0].origin.value_span("/metadata/labels/x");
    assert_eq!((s.line, s.col), (5, 23));
}
