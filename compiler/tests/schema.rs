//! JSON Schemas: they compile, they agree with the serde model, and their
//! errors become precise diagnostics.

use netc_compiler::diag::codes;
use netc_compiler::load::{load_source_whole, RawResource};
use netc_compiler::model::*;
use netc_compiler::schema::{check, schema_source, schema_text};
use netc_compiler::{Diagnostic, SourceMap};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

// ------------------------------------------------------------------ helpers

/// Resources as parsed, before any check: `load_source` runs the schema
/// layer on a document as soon as it is parsed, and these tests run it.
fn load(text: &str) -> Vec<RawResource> {
    let mut sm = SourceMap::new();
    let id = sm.add("t.yaml", text);
    let (raws, diags) = load_source_whole(id, &sm);
    assert!(diags.is_empty(), "loader diagnostics: {diags:?}");
    raws
}

fn diags(text: &str) -> Vec<Diagnostic> {
    load(text).iter().flat_map(check).collect()
}

/// The single diagnostic of `text`, with its line and column.
fn one(text: &str) -> (Diagnostic, u32, u32) {
    let d = diags(text);
    assert_eq!(d.len(), 1, "expected one diagnostic, got {d:#?}");
    let s = d[0].span.expect("diagnostic has a span");
    (d[0].clone(), s.line, s.col)
}

fn schema(kind: Kind) -> Value {
    serde_json::from_str(schema_text(kind)).expect("schema is JSON")
}

fn typed<T: DeserializeOwned>(raw: &RawResource) -> T {
    serde_json::from_value(raw.value["spec"].clone())
        .unwrap_or_else(|e| panic!("{}: spec does not deserialise: {e}", raw.display()))
}

// ------------------------------------------------------------------ the schema files

#[test]
fn every_schema_compiles_and_is_identified() {
    for &kind in Kind::ALL {
        let doc = schema(kind);
        assert_eq!(
            doc["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{kind:?}"
        );
        assert_eq!(
            doc["$id"],
            json!(format!("https://netc.dev/schemas/{}", kind.schema_file())),
            "{kind:?}"
        );
        assert_eq!(doc["properties"]["kind"]["const"], kind.yaml_kind());
        assert_eq!(
            doc["properties"]["apiVersion"]["enum"],
            json!(kind.api_versions())
        );
        jsonschema::validator_for(&doc)
            .unwrap_or_else(|e| panic!("{kind:?} schema does not compile: {e}"));
        // The file on disk is the one embedded (editors use the file); the
        // validator and `netc schema` use it bundled with the common
        // definitions it refers to (compiler/tests/schema_common.rs).
        let path = format!(
            "{}/../schemas/{}",
            env!("CARGO_MANIFEST_DIR"),
            kind.schema_file()
        );
        let on_disk = std::fs::read_to_string(&path).expect("schema file exists");
        assert_eq!(on_disk, schema_source(kind), "{path}");
    }
}

/// Walk every subschema, calling `f(pointer, subschema)`.
fn walk(v: &Value, ptr: &str, f: &mut dyn FnMut(&str, &Value)) {
    match v {
        Value::Object(m) => {
            f(ptr, v);
            for (k, child) in m {
                walk(child, &format!("{ptr}/{k}"), f);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk(child, &format!("{ptr}/{i}"), f);
            }
        }
        _ => {}
    }
}

#[test]
fn objects_are_closed_and_fields_documented() {
    for &kind in Kind::ALL {
        let doc = schema(kind);
        walk(&doc, "", &mut |ptr, s| {
            if let Some(props) = s.get("properties").and_then(|p| p.as_object()) {
                // Skip literal example/default values that happen to be objects.
                if ptr.contains("/examples") || ptr.contains("/default") {
                    return;
                }
                // Kubernetes objects carry much that has no bearing on the
                // network (images, volumes, conditions): those kinds leave
                // such objects open on purpose, and say so explicitly.
                if kind.is_kubernetes() {
                    assert!(
                        s.get("additionalProperties")
                            .is_some_and(|a| a.is_boolean()),
                        "{kind:?} {ptr}: say whether the object is open"
                    );
                } else {
                    assert_eq!(
                        s.get("additionalProperties"),
                        Some(&json!(false)),
                        "{kind:?} {ptr}: objects with properties must be closed"
                    );
                }
                for (name, p) in props {
                    assert!(
                        p.get("description").and_then(|d| d.as_str()).is_some(),
                        "{kind:?} {ptr}/properties/{name} has no description"
                    );
                }
            }
        });
    }
}

#[test]
fn shared_definitions_are_identical_across_files() {
    let mut first: std::collections::BTreeMap<String, (Kind, Value)> = Default::default();
    for &kind in Kind::ALL {
        let doc = schema(kind);
        for (name, def) in doc["$defs"].as_object().unwrap() {
            // Spec definitions legitimately differ (NetworkPolicy vs GNP).
            if name.ends_with("Spec") && name != "NodeBGPSpec" {
                continue;
            }
            match first.get(name) {
                Some((k, d)) => assert_eq!(
                    d, def,
                    "$defs/{name} differs between {k:?} and {kind:?}; keep them in step"
                ),
                None => {
                    first.insert(name.clone(), (kind, def.clone()));
                }
            }
        }
        assert!(doc["$defs"].get("Metadata").is_some(), "{kind:?}");
    }
}

#[test]
fn network_policy_has_no_gnp_only_fields() {
    let np = schema(Kind::NetworkPolicy);
    let gnp = schema(Kind::GlobalNetworkPolicy);
    let np_props = np["$defs"]["PolicySpec"]["properties"].as_object().unwrap();
    let gnp_props = gnp["$defs"]["PolicySpec"]["properties"]
        .as_object()
        .unwrap();
    for f in [
        "namespaceSelector",
        "doNotTrack",
        "preDNAT",
        "applyOnForward",
    ] {
        assert!(
            !np_props.contains_key(f),
            "NetworkPolicy must not allow {f}"
        );
        assert!(
            gnp_props.contains_key(f),
            "GlobalNetworkPolicy must allow {f}"
        );
    }
    for f in np_props.keys() {
        assert!(gnp_props.contains_key(f), "GNP lacks {f}");
    }
}

// ------------------------------------------------------------------ diagnostics

const POOL_HEAD: &str = "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: pool-a\nspec:\n  cidr: 10.244.0.0/16\n";

#[test]
fn unknown_field_suggests_the_closest() {
    let (d, line, col) = one(&format!("{POOL_HEAD}  ipipmode: Always\n"));
    assert_eq!(d.code, codes::UNKNOWN_FIELD);
    assert_eq!((line, col), (7, 3));
    assert_eq!(d.message, "unknown field `ipipmode` in `spec`");
    assert_eq!(d.label.as_deref(), Some("did you mean `ipipMode`?"));
    assert!(d.notes[0].contains("ipipMode, vxlanMode"), "{:?}", d.notes);
    assert_eq!(d.resource.as_deref(), Some("IPPool pool-a"));
}

#[test]
fn unknown_top_level_and_metadata_fields() {
    let d = diags(
        "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: pool-a\n  lables:\n    a: b\nspce:\n  cidr: 10.0.0.0/16\n",
    );
    let got: Vec<_> = d
        .iter()
        .map(|d| {
            (
                d.code,
                d.span.unwrap().line,
                d.message.as_str(),
                d.label.clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                codes::MISSING_FIELD,
                1,
                "the resource is missing the required field `spec`",
                Some("`spec` is required here".to_string())
            ),
            (
                codes::UNKNOWN_FIELD,
                5,
                "unknown field `lables` in `metadata`",
                Some("did you mean `labels`?".to_string())
            ),
            (
                codes::UNKNOWN_FIELD,
                7,
                "unknown field `spce` in the resource",
                Some("did you mean `spec`?".to_string())
            ),
        ]
    );
}

#[test]
fn gnp_only_field_in_network_policy() {
    let (d, line, col) = one(
        "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata:\n  name: np\n  namespace: prod\nspec:\n  selector: all()\n  doNotTrack: true\n",
    );
    assert_eq!(d.code, codes::UNKNOWN_FIELD);
    assert_eq!((line, col), (8, 3));
    assert!(
        d.notes
            .iter()
            .any(|n| n.contains("only valid in a GlobalNetworkPolicy")),
        "{:?}",
        d.notes
    );
}

#[test]
fn wrong_enum_value_suggests_the_right_case() {
    let (d, line, col) = one(&format!("{POOL_HEAD}  ipipMode: always\n"));
    assert_eq!(d.code, codes::NOT_ALLOWED);
    assert_eq!((line, col), (7, 13));
    assert_eq!(
        d.message,
        "`spec.ipipMode` must be one of Never, Always, CrossSubnet, not `always`"
    );
    assert_eq!(d.label.as_deref(), Some("did you mean `Always`?"));
    assert!(d
        .notes
        .iter()
        .any(|n| n == "allowed values: Never, Always, CrossSubnet"));
}

#[test]
fn enum_in_a_rule_names_the_rule() {
    let (d, line, col) = one(
        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: g\nspec:\n  ingress:\n  - action: Allow\n  - action: Alow\n    protocol: TCP\n",
    );
    assert_eq!(d.code, codes::NOT_ALLOWED);
    assert_eq!((line, col), (8, 13));
    assert!(d
        .message
        .starts_with("`spec.ingress[1].action` must be one of Allow, Deny, Log, Pass"));
    assert_eq!(d.label.as_deref(), Some("did you mean `Allow`?"));
}

#[test]
fn wrong_type_says_what_is_expected() {
    let (d, line, col) = one(&format!("{POOL_HEAD}  blockSize: \"26\"\n"));
    assert_eq!(d.code, codes::WRONG_TYPE);
    assert_eq!((line, col), (7, 14));
    assert_eq!(
        d.message,
        "`spec.blockSize` must be an integer, not the string \"26\""
    );
    assert!(
        d.notes.iter().any(|n| n.contains("remove the quotes")),
        "{:?}",
        d.notes
    );

    // A wrong type hides the follow-on enum error for the same value.
    let (d, _, _) = one(&format!("{POOL_HEAD}  natOutgoing: \"yes\"\n"));
    assert_eq!(d.code, codes::WRONG_TYPE);
    assert!(
        d.message.contains("must be a boolean (true or false)"),
        "{}",
        d.message
    );
}

#[test]
fn number_or_string_fields() {
    let d = diags(
        "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: p\nspec:\n  peerIP: 192.0.2.1\n  asNumber: 1.10\n",
    );
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].code, codes::WRONG_TYPE);
    assert_eq!(
        d[0].message,
        "`spec.asNumber` must be an integer or a string, not the number 1.1"
    );
    assert!(
        d[0].notes.iter().any(|n| n.contains("\"1.10\"")),
        "{:?}",
        d[0].notes
    );
    // Integers and asdot strings are both accepted.
    assert!(diags(
        "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: p\nspec:\n  peerIP: 192.0.2.1\n  asNumber: \"1.10\"\n  localASNumber: 64512\n"
    )
    .is_empty());
}

#[test]
fn missing_required_points_at_the_parent() {
    let (d, line, col) = one(
        "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: pool-a\nspec:\n  natOutgoing: true\n",
    );
    assert_eq!(d.code, codes::MISSING_FIELD);
    assert_eq!((line, col), (5, 1));
    assert_eq!(d.message, "`spec` is missing the required field `cidr`");
    assert!(d.notes[0].starts_with("`cidr`: "), "{:?}", d.notes);

    let (d, line, col) = one(
        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: g\nspec:\n  egress:\n  - protocol: TCP\n",
    );
    assert_eq!(d.code, codes::MISSING_FIELD);
    assert_eq!((line, col), (7, 5));
    assert_eq!(
        d.message,
        "`spec.egress[0]` is missing the required field `action`"
    );
}

#[test]
fn pattern_failure_is_described_in_words() {
    let (d, line, col) = one(
        "apiVersion: projectcalico.org/v3\nkind: HostEndpoint\nmetadata:\n  name: h\nspec:\n  node: n1\n  interfaceName: this-name-is-too-long\n",
    );
    assert_eq!(d.code, codes::BAD_FORMAT);
    assert_eq!((line, col), (7, 18));
    assert_eq!(
        d.message,
        "`spec.interfaceName` must be an interface name (1 to 15 characters of letters, digits, `_`, `.` and `-`) or `*`, not `this-name-is-too-long`"
    );
    // `*` is accepted for host endpoints.
    assert!(diags(
        "apiVersion: projectcalico.org/v3\nkind: HostEndpoint\nmetadata:\n  name: h\nspec:\n  node: n1\n  interfaceName: \"*\"\n"
    )
    .is_empty());

    let (d, line, col) = one(
        "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata:\n  name: default\nspec:\n  communities:\n  - name: a\n    value: \"65001-100\"\n",
    );
    assert_eq!(d.code, codes::BAD_FORMAT);
    assert_eq!((line, col), (8, 12));
    assert!(d
        .message
        .starts_with("`spec.communities[0].value` must be a BGP community"));
}

#[test]
fn ranges() {
    let (d, line, col) = one(
        "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata:\n  name: default\nspec:\n  listenPort: 70000\n",
    );
    assert_eq!(d.code, codes::OUT_OF_RANGE);
    assert_eq!((line, col), (6, 15));
    assert_eq!(
        d.message,
        "`spec.listenPort` must be between 1 and 65535, not 70000"
    );

    let (d, _, _) = one(&format!("{POOL_HEAD}  blockSize: 200\n"));
    assert_eq!(d.code, codes::OUT_OF_RANGE);
    assert_eq!(
        d.message,
        "`spec.blockSize` must be between 0 and 128, not 200"
    );

    let (d, line, col) = one(
        "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: p\nspec:\n  peerIP: 192.0.2.1\n  ttlSecurity: 256\n",
    );
    assert_eq!(d.code, codes::OUT_OF_RANGE);
    assert_eq!((line, col), (7, 16));

    let (d, line, col) = one(
        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: g\nspec:\n  types: []\n",
    );
    assert_eq!(d.code, codes::OUT_OF_RANGE);
    assert_eq!((line, col), (6, 10));
    assert_eq!(
        d.message,
        "`spec.types` has 0 entries; it must have at least 1"
    );

    let mut many = String::from(
        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: g\nspec:\n  ingress:\n",
    );
    for _ in 0..1025 {
        many.push_str("  - action: Allow\n");
    }
    let (d, line, _) = one(&many);
    assert_eq!(d.code, codes::OUT_OF_RANGE);
    assert_eq!(line, 7);
    assert_eq!(
        d.message,
        "`spec.ingress` has 1025 entries; it must have at most 1024"
    );
}

#[test]
fn list_items_are_checked_with_their_own_spans() {
    let d = diags(
        "apiVersion: projectcalico.org/v3\nkind: IPPoolList\nitems:\n- metadata:\n    name: a\n  spec:\n    cidr: 10.0.0.0/16\n- metadata:\n    name: b\n  spec:\n    cidr: 10.1.0.0/16\n    vxlanMode: crossSubnet\n",
    );
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].resource.as_deref(), Some("IPPool b"));
    let s = d[0].span.unwrap();
    assert_eq!((s.line, s.col), (12, 16));
    assert_eq!(d[0].label.as_deref(), Some("did you mean `CrossSubnet`?"));
}

#[test]
fn diagnostics_are_ordered_by_path() {
    let d = diags(
        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: g\nspec:\n  order: high\n  ingress:\n  - action: allow\n  - action: Deny\n    ipVersion: 5\n    source:\n      ports: [true]\n  egress:\n  - action: Pass\n    destination:\n      nots: []\n",
    );
    let got: Vec<(&str, u32)> = d.iter().map(|d| (d.code, d.span.unwrap().line)).collect();
    assert_eq!(
        got,
        vec![
            (codes::UNKNOWN_FIELD, 16), // spec.egress[0].destination.nots
            (codes::NOT_ALLOWED, 8),    // spec.ingress[0].action
            (codes::NOT_ALLOWED, 10),   // spec.ingress[1].ipVersion
            (codes::WRONG_TYPE, 12),    // spec.ingress[1].source.ports[0]
            (codes::WRONG_TYPE, 6),     // spec.order
        ],
        "{d:#?}"
    );
    assert_eq!(
        d[3].message,
        "`spec.ingress[1].source.ports[0]` must be an integer or a string, not the boolean true"
    );
    assert_eq!(
        d[4].message,
        "`spec.order` must be a number, not the string \"high\""
    );
}

// ------------------------------------------------------------------ valid examples

const EXAMPLES: &str = r#"
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: pool-a
  labels:
    zone: a
  annotations:
    netc.dev/comment: main workload pool
spec:
  cidr: 10.244.0.0/16
  ipipMode: CrossSubnet
  vxlanMode: Never
  natOutgoing: true
  disabled: false
  disableBGPExport: false
  blockSize: 26
  nodeSelector: all()
  namespaceSelector: team == "net"
  allowedUses: [Workload, Tunnel]
  assignmentMode: Automatic
---
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata:
  name: default
spec:
  logSeverityScreen: info
  nodeToNodeMeshEnabled: false
  asNumber: 64512
  serviceClusterIPs:
  - cidr: 10.96.0.0/12
  serviceExternalIPs:
  - cidr: 192.0.2.0/24
  serviceLoadBalancerIPs:
  - cidr: 198.51.100.0/24
  serviceLoadBalancerAggregation: Enabled
  communities:
  - name: edge
    value: "65001:100"
  prefixAdvertisements:
  - cidr: 10.244.0.0/16
    communities: [edge, "65001:200:300"]
  listenPort: 179
  nodeMeshPassword:
    secretKeyRef:
      name: bgp-secrets
      key: mesh
  nodeMeshMaxRestartTime: 120s
  bindMode: NodeIP
  ignoredInterfaces: [docker*, "kube-ipvs0"]
  localWorkloadPeeringIPV4: 169.254.0.179
  localWorkloadPeeringIPV6: fd00::179
  programClusterRoutes: EnabledIPIPOnly
  ipv4NormalRoutePriority: 1024
  ipv6NormalRoutePriority: 1024
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata:
  name: tor-a
spec:
  node: edge-1
  peerIP: 192.0.2.1:1179
  asNumber: "1.10"
  localASNumber: 64512
  nextHopMode: Self
  password:
    secretKeyRef:
      name: bgp-secrets
      key: tor-a
  sourceAddress: UseNodeIP
  maxRestartTime: 120s
  keepaliveTime: 20s
  numAllowedLocalASNumbers: 1
  ttlSecurity: 1
  reachableBy: 10.0.0.1
  filters: []
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata:
  name: rr-mesh
spec:
  nodeSelector: "!has(route-reflector)"
  peerSelector: has(route-reflector)
  keepOriginalNextHop: false
  sourceAddress: None
  reversePeering: Auto
---
apiVersion: projectcalico.org/v3
kind: BGPFilter
metadata:
  name: upstream
spec:
  exportV4:
  - action: Accept
    matchOperator: In
    cidr: 10.244.0.0/16
    prefixLength: {min: 16, max: 26}
    source: RemotePeers
    interface: "eth*"
    peerType: eBGP
    communities: {values: ["65000:1"]}
    asPathPrefix: [65000, "1.10"]
    priority: 512
    operations:
    - addCommunity: {value: "65000:100:1"}
    - prependASPath: {prefix: [64512]}
    - setPriority: {value: 256}
  - action: Reject
  importV6:
  - {action: Reject, matchOperator: NotIn, cidr: "fd00::/8"}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata:
  name: workloads
spec:
  localWorkloadSelector: app == "bgp-speaker"
  asNumber: 65010
---
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: edge-1
  labels:
    route-reflector: "true"
    kubernetes.io/hostname: edge-1
  annotations:
    netc.dev/underlay-interface: eth0
    netc.dev/underlay-mtu: "9000"
  resourceVersion: "20731"
  uid: c599fe94-9854-4215-b5da-c45499efd4cb
  creationTimestamp: "2024-05-01T10:00:00Z"
spec:
  bgp:
    asNumber: 64512
    ipv4Address: 10.0.0.5/24
    ipv6Address: 2001:db8::5/64
    ipv4IPIPTunnelAddr: 10.244.3.1
    routeReflectorClusterID: 224.0.0.1
  ipv4VXLANTunnelAddr: 10.244.3.2
  vxlanTunnelMACAddr: 66:3e:ca:5d:a2:01
  ipv6VXLANTunnelAddr: fd00:10:244::1
  vxlanTunnelMACAddrV6: 66:3e:ca:5d:a2:02
  addresses:
  - address: 10.0.0.5/24
    type: CalicoNodeIP
  - address: 10.0.0.5
    type: InternalIP
  wireguard:
    interfaceIPv4Address: 10.244.3.3
  orchRefs:
  - nodeName: edge-1
    orchestrator: k8s
status:
  podCIDRs: [10.244.3.0/24]
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: allow-web
  namespace: prod
spec:
  tier: default
  order: 100
  selector: app == "web"
  types: [Ingress, Egress]
  ingress:
  - action: Allow
    ipVersion: 4
    protocol: TCP
    source:
      nets: [10.0.0.0/8]
      notNets: [10.9.0.0/16]
      selector: role == "frontend"
      notSelector: has(quarantine)
      namespaceSelector: all()
      notPorts: [22]
    destination:
      ports: [80, "8000:8080", http]
    http:
      methods: [GET, HEAD]
      paths:
      - exact: /health
      - prefix: /api/
    metadata:
      annotations:
        ticket: NET-42
  - action: Deny
    notProtocol: 17
    source:
      serviceAccounts:
        names: [scanner]
        selector: tier == "batch"
  egress:
  - action: Allow
    protocol: ICMP
    icmp:
      type: 8
      code: 0
  - action: Deny
    protocol: ICMPv6
    ipVersion: 6
    notICMP:
      type: 128
  - action: Pass
    destination:
      services:
        name: kube-dns
        namespace: kube-system
  serviceAccountSelector: all()
  performanceHints: [AssumeNeededOnEveryNode]
---
apiVersion: crd.projectcalico.org/v1
kind: GlobalNetworkPolicy
metadata:
  name: default.host-failsafe
spec:
  tier: default
  order: 10.5
  selector: has(host-endpoint)
  namespaceSelector: all()
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: tcp
    destination:
      ports: [22, 179]
  - action: Log
  doNotTrack: false
  preDNAT: true
  applyOnForward: true
  serviceAccountSelector: ""
  performanceHints: []
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata:
  name: blocked
  labels:
    list: blocked
spec:
  nets: [198.51.100.0/24, 203.0.113.7]
  allowedEgressDomains: [example.com]
---
apiVersion: projectcalico.org/v3
kind: NetworkSet
metadata:
  name: partners
  namespace: prod
spec:
  nets: [192.0.2.0/24]
  allowedEgressDomains: []
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata:
  name: edge-1-eth0
  labels:
    host-endpoint: ingress
spec:
  node: edge-1
  interfaceName: eth0
  expectedIPs: [10.0.0.5]
  profiles: [projectcalico-default-allow]
  ports:
  - name: ssh
    protocol: TCP
    port: 22
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata:
  name: edge--1-k8s-web--0-eth0
  namespace: prod
  labels:
    app: web
spec:
  orchestrator: k8s
  workload: web
  node: edge-1
  containerID: 3f1b0c
  pod: web-0
  endpoint: eth0
  serviceAccountName: web
  ipNetworks: [10.244.3.10/32]
  ipNATs:
  - internalIP: 10.244.3.10
    externalIP: 192.0.2.50
  profiles: [kns.prod]
  interfaceName: cali0123456789a
  mac: ee:ee:ee:ee:ee:ee
  ports:
  - name: http
    protocol: TCP
    port: 8080
    hostPort: 18080
    hostIP: 10.0.0.5
---
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata:
  name: default
spec:
  bpfEnabled: false
  logSeverityScreen: Info
  reportingInterval: 0s
  vxlanMTU: 1410
  failsafeInboundHostPorts:
  - protocol: tcp
    port: 22
  - protocol: udp
    port: 68
    net: 0.0.0.0/0
---
apiVersion: projectcalico.org/v3
kind: Profile
metadata:
  name: kns.default
spec:
  ingress:
  - action: Allow
  labelsToApply:
    pcns.projectcalico.org/name: default
---
apiVersion: projectcalico.org/v3
kind: BlockAffinity
metadata:
  name: edge-1-10-244-0-0-26
spec:
  state: confirmed
  node: edge-1
  cidr: 10.244.0.0/26
  deleted: false
---
apiVersion: projectcalico.org/v3
kind: IPAMBlock
metadata:
  name: 10-244-0-0-26
spec:
  cidr: 10.244.0.0/26
  affinity: host:edge-1
  allocations: [0, null]
  unallocated: [1]
  attributes:
  - handle_id: ipip-tunnel-addr-edge-1
  sequenceNumber: 3
  deleted: false
  strictAffinity: false
---
apiVersion: projectcalico.org/v3
kind: KubeControllersConfiguration
metadata:
  name: default
spec:
  controllers:
    node:
      reconcilerPeriod: 5m
  healthChecks: Enabled
status:
  environmentVars:
    DATASTORE_TYPE: kubernetes
---
apiVersion: projectcalico.org/v3
kind: ClusterInformation
metadata:
  name: default
spec:
  calicoVersion: v3.28.0
  clusterType: k8s,bgp,kdd
  datastoreReady: true
---
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    kubernetes.io/metadata.name: shop
    team: payments
  uid: 5c1f2b0e-8f0a-4c55-9d0e-2f8d6e3c9a11
  resourceVersion: "4120"
  creationTimestamp: "2024-05-01T10:00:00Z"
  managedFields:
  - manager: kubectl-create
    operation: Update
spec:
  finalizers:
  - kubernetes
status:
  phase: Active
---
apiVersion: v1
kind: Pod
metadata:
  name: web-0
  namespace: shop
  labels:
    app: web
  ownerReferences:
  - apiVersion: apps/v1
    kind: StatefulSet
    name: web
    uid: 0b7d7c61-7f1e-4f0e-b0a4-1b2e0d6f9e01
spec:
  nodeName: edge-1
  serviceAccountName: web
  containers:
  - name: web
    image: nginx:1.27
    ports:
    - name: http
      containerPort: 8080
      protocol: TCP
    resources: {}
  initContainers:
  - name: init
    image: busybox
  dnsPolicy: ClusterFirst
status:
  phase: Running
  podIP: 10.244.0.5
  podIPs:
  - ip: 10.244.0.5
  conditions:
  - type: Ready
    status: "True"
---
apiVersion: v1
kind: Node
metadata:
  name: edge-2
  annotations:
    projectcalico.org/IPv4Address: 10.0.0.6/24
    projectcalico.org/IPv4IPIPTunnelAddr: 10.244.1.0
  labels:
    kubernetes.io/hostname: edge-2
spec:
  podCIDR: 10.244.1.0/24
status:
  addresses:
  - address: 10.0.0.6
    type: InternalIP
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-web
  namespace: shop
  generation: 1
spec:
  podSelector:
    matchLabels:
      app: web
  policyTypes:
  - Ingress
  - Egress
  ingress:
  - from:
    - namespaceSelector:
        matchExpressions:
        - key: team
          operator: In
          values: [payments]
      podSelector: {}
    - ipBlock:
        cidr: 10.0.0.0/8
        except: [10.1.0.0/16]
    ports:
    - port: http
    - protocol: UDP
      port: 5000
      endPort: 5010
  egress:
  - {}
"#;

#[test]
fn realistic_examples_are_valid_and_typed() {
    let raws = load(EXAMPLES);
    let mut seen: Vec<Kind> = raws.iter().map(|r| r.kind).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), Kind::ALL.len(), "an example of every kind");
    for raw in &raws {
        let d = check(raw);
        assert!(d.is_empty(), "{}: {d:#?}", raw.display());
        let _: Metadata = serde_json::from_value(raw.value["metadata"].clone()).unwrap();
        match raw.kind {
            Kind::IPPool => {
                let s: IpPoolSpec = typed(raw);
                assert_eq!(s.ipip_mode, EncapMode::CrossSubnet);
                assert_eq!(s.block_size, Some(26));
                assert_eq!(
                    s.allowed_uses,
                    Some(vec![AllowedUse::Workload, AllowedUse::Tunnel])
                );
            }
            Kind::BGPConfiguration => {
                let s: BgpConfigurationSpec = typed(raw);
                assert_eq!(s.node_to_node_mesh_enabled, Some(false));
                assert_eq!(
                    s.program_cluster_routes,
                    Some(ProgramClusterRoutes::EnabledIpipOnly)
                );
                assert_eq!(s.communities[0].value, "65001:100");
                assert_eq!(
                    s.node_mesh_password.unwrap().secret_key_ref.unwrap().key,
                    "mesh"
                );
            }
            Kind::BGPPeer => {
                let s: BgpPeerSpec = typed(raw);
                if raw.name() == "tor-a" {
                    assert_eq!(s.as_number, Some(NumOrStr::Str("1.10".into())));
                    assert_eq!(s.local_as_number, Some(NumOrStr::Num(64512)));
                    assert_eq!(s.next_hop_mode, Some(NextHopMode::SelfMode));
                    assert_eq!(s.ttl_security, Some(1));
                }
            }
            Kind::BGPFilter => {
                let s: BgpFilterSpec = typed(raw);
                let r = &s.export_v4[0];
                assert_eq!(r.prefix_length.as_ref().and_then(|p| p.max), Some(26));
                assert_eq!(r.as_path_prefix[1], NumOrStr::Str("1.10".into()));
                assert_eq!(r.operations.len(), 3);
                assert_eq!(s.import_v6[0].cidr.as_deref(), Some("fd00::/8"));
            }
            Kind::Node => {
                let s: NodeSpec = typed(raw);
                let bgp = s.bgp.unwrap();
                assert_eq!(bgp.ipv4_address.as_deref(), Some("10.0.0.5/24"));
                assert_eq!(bgp.route_reflector_cluster_id.as_deref(), Some("224.0.0.1"));
                assert_eq!(s.addresses[0].kind.as_deref(), Some("CalicoNodeIP"));
            }
            Kind::NetworkPolicy | Kind::GlobalNetworkPolicy => {
                let s: PolicySpec = typed(raw);
                assert!(!s.ingress.is_empty());
                if raw.kind == Kind::NetworkPolicy {
                    assert_eq!(s.order, Some(100.0));
                    assert_eq!(
                        s.ingress[0].destination.ports,
                        vec![
                            NumOrStr::Num(80),
                            NumOrStr::Str("8000:8080".into()),
                            NumOrStr::Str("http".into())
                        ]
                    );
                    assert_eq!(s.egress[0].icmp.as_ref().unwrap().icmp_type, Some(8));
                } else {
                    assert!(s.pre_dnat && s.apply_on_forward);
                }
            }
            Kind::GlobalNetworkSet | Kind::NetworkSet => {
                let s: NetworkSetSpec = typed(raw);
                assert!(!s.nets.is_empty());
            }
            Kind::HostEndpoint => {
                let s: HostEndpointSpec = typed(raw);
                assert_eq!(s.interface_name.as_deref(), Some("eth0"));
                assert_eq!(s.ports[0].port, 22);
            }
            Kind::WorkloadEndpoint => {
                let s: WorkloadEndpointSpec = typed(raw);
                assert_eq!(s.node, "edge-1");
                assert_eq!(s.ip_nats.len(), 1);
                assert_eq!(s.ports[0].host_port, Some(18080));
            }
            Kind::FelixConfiguration => {
                let s: FelixConfigurationSpec = typed(raw);
                assert_eq!(s.vxlan_mtu, Some(1410));
                let fs = s.failsafe_inbound_host_ports.unwrap();
                assert_eq!((fs[1].protocol.as_deref(), fs[1].port), (Some("udp"), 68));
                assert_eq!(fs[1].net.as_deref(), Some("0.0.0.0/0"));
            }
            Kind::Profile => {
                let s: ProfileSpec = typed(raw);
                assert_eq!(s.ingress.len(), 1);
            }
            Kind::BlockAffinity => {
                let s: BlockAffinitySpec = typed(raw);
                assert!(s.is_live());
                assert_eq!(
                    (s.node.as_str(), s.cidr.as_str()),
                    ("edge-1", "10.244.0.0/26")
                );
            }
            Kind::IPAMBlock => {
                let s: IpamBlockSpec = typed(raw);
                assert_eq!(s.host(), Some("edge-1"));
            }
            Kind::KubeControllersConfiguration | Kind::ClusterInformation => {
                let _: OpaqueSpec = typed(raw);
            }
            Kind::Namespace => {
                let _: NamespaceSpec = typed(raw);
            }
            Kind::KubeNode => {
                let _: KubeNodeSpec = typed(raw);
            }
            Kind::Pod => {
                let p: PodObject = serde_json::from_value(raw.value.clone()).unwrap();
                assert_eq!(p.spec.node_name.as_deref(), Some("edge-1"));
                assert_eq!(p.spec.containers[0].ports[0].container_port, 8080);
                assert_eq!(p.status.pod_ips[0].ip, "10.244.0.5");
            }
            Kind::KubeNetworkPolicy => {
                let s: KubeNetworkPolicySpec = typed(raw);
                let from = s.ingress.unwrap()[0].from.clone().unwrap();
                assert_eq!(from[1].ip_block.as_ref().unwrap().except.len(), 1);
                assert_eq!(s.egress.unwrap().len(), 1);
            }
        }
    }
}

// ------------------------------------------------------------------ schema ↔ model drift

/// Follow a local `$ref`.
fn resolve<'a>(doc: &'a Value, s: &'a Value) -> &'a Value {
    match s.get("$ref").and_then(|r| r.as_str()) {
        Some(r) => {
            let target = doc
                .pointer(r.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("dangling $ref {r}"));
            resolve(doc, target)
        }
        None => s,
    }
}

/// A value valid against `s` that sets every property the schema knows.
fn maximal(doc: &Value, s: &Value) -> Value {
    // Annotations on the referring schema (examples/default) win over the target's.
    for key in ["examples", "default"] {
        let v = match key {
            "examples" => s.get(key).and_then(|e| e.get(0)),
            _ => s.get(key),
        };
        if let Some(v) = v {
            // An empty default list would hide the item schema: expand instead.
            if !matches!(v, Value::Array(a) if a.is_empty()) {
                return v.clone();
            }
        }
    }
    let s = resolve(doc, s);
    for key in ["examples", "default"] {
        let v = match key {
            "examples" => s.get(key).and_then(|e| e.get(0)),
            _ => s.get(key),
        };
        if let Some(v) = v {
            return v.clone();
        }
    }
    if let Some(c) = s.get("const") {
        return c.clone();
    }
    if let Some(e) = s.get("enum").and_then(|e| e.get(0)) {
        return e.clone();
    }
    let ty = match s.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts[0].as_str().unwrap().to_string(),
        _ => panic!("schema without type: {s}"),
    };
    match ty.as_str() {
        "object" => {
            let mut m = serde_json::Map::new();
            if let Some(props) = s.get("properties").and_then(|p| p.as_object()) {
                for (k, p) in props {
                    m.insert(k.clone(), maximal(doc, p));
                }
            } else if let Some(ap @ Value::Object(_)) = s.get("additionalProperties") {
                m.insert("example.org/key".into(), maximal(doc, ap));
            }
            Value::Object(m)
        }
        "array" => match s.get("items") {
            Some(items) => json!([maximal(doc, items)]),
            None => json!([]),
        },
        "string" => {
            assert!(
                s.get("pattern").is_none(),
                "patterned string needs `examples`: {s}"
            );
            json!("x")
        }
        "integer" => s.get("minimum").cloned().unwrap_or(json!(1)),
        "number" => json!(1.5),
        "boolean" => json!(true),
        other => panic!("unexpected type {other}"),
    }
}

/// `v` without the object members that are null.
fn drop_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, drop_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(drop_nulls).collect()),
        v => v,
    }
}

fn roundtrip<T: DeserializeOwned + Serialize>(v: &Value) -> Value {
    let t: T =
        serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("model rejects {v}: {e}"));
    serde_json::to_value(t).unwrap()
}

/// Every key the input sets survives the model, and the model has no key the
/// schema lacks.
fn same_shape(input: &Value, back: &Value, path: &str) {
    match (input, back) {
        (Value::Object(a), Value::Object(b)) => {
            for k in a.keys() {
                assert!(
                    b.contains_key(k),
                    "{path}/{k}: in the schema but not in the model (serde drops it)"
                );
            }
            for k in b.keys() {
                assert!(
                    a.contains_key(k),
                    "{path}/{k}: in the model but not in the schema"
                );
            }
            for (k, v) in a {
                same_shape(v, &b[k], &format!("{path}/{k}"));
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(a.len(), b.len(), "{path}");
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                same_shape(x, y, &format!("{path}/{i}"));
            }
        }
        _ => {}
    }
}

#[test]
fn every_schema_property_is_known_to_the_model() {
    for &kind in Kind::ALL {
        let doc = schema(kind);
        let full = maximal(&doc, &doc);
        for key in ["apiVersion", "kind", "metadata", "spec", "status"] {
            assert!(full.get(key).is_some(), "{kind:?}: {key}");
        }
        // The generated document is itself valid…
        let text = serde_json::to_string_pretty(&full).unwrap();
        let raws = load(&text);
        assert_eq!(raws.len(), 1);
        let d = check(&raws[0]);
        assert!(
            d.is_empty(),
            "{kind:?}: generated document invalid: {d:#?}\n{text}"
        );

        // …and the model reads every field of it.
        let spec = &full["spec"];
        let back = match kind {
            Kind::IPPool => roundtrip::<IpPoolSpec>(spec),
            Kind::BGPConfiguration => roundtrip::<BgpConfigurationSpec>(spec),
            Kind::BGPPeer => roundtrip::<BgpPeerSpec>(spec),
            Kind::BGPFilter => roundtrip::<BgpFilterSpec>(spec),
            Kind::Node => roundtrip::<NodeSpec>(spec),
            Kind::NetworkPolicy => {
                // PolicySpec also carries the GNP-only fields, which the
                // NetworkPolicy schema rejects on purpose.
                let mut b = roundtrip::<PolicySpec>(spec);
                for f in [
                    "namespaceSelector",
                    "doNotTrack",
                    "preDNAT",
                    "applyOnForward",
                ] {
                    b.as_object_mut().unwrap().remove(f);
                }
                b
            }
            Kind::GlobalNetworkPolicy => roundtrip::<PolicySpec>(spec),
            Kind::GlobalNetworkSet | Kind::NetworkSet => roundtrip::<NetworkSetSpec>(spec),
            Kind::HostEndpoint => roundtrip::<HostEndpointSpec>(spec),
            Kind::WorkloadEndpoint => roundtrip::<WorkloadEndpointSpec>(spec),
            // Read, not compiled: the model keeps only what netc uses (failsafe
            // ports and MTUs, block CIDRs and owners); the schema is the
            // contract for the rest, so there is no drift to check.
            Kind::FelixConfiguration
            | Kind::Profile
            | Kind::BlockAffinity
            | Kind::IPAMBlock
            | Kind::KubeControllersConfiguration
            | Kind::ClusterInformation => spec.clone(),
            // Kubernetes kinds: the model types what conversion reads; the
            // optional ingress/egress halves of a rule serialize as null.
            Kind::Namespace => roundtrip::<NamespaceSpec>(spec),
            Kind::KubeNode => roundtrip::<KubeNodeSpec>(spec),
            Kind::Pod => roundtrip::<PodSpec>(spec),
            Kind::KubeNetworkPolicy => drop_nulls(roundtrip::<KubeNetworkPolicySpec>(spec)),
        };
        same_shape(spec, &back, &format!("{kind:?}/spec"));

        // Metadata: the model keeps name/namespace/labels/annotations; the
        // server-populated rest is accepted by the schema and dropped on purpose.
        let meta_back = roundtrip::<Metadata>(&full["metadata"]);
        let kept: Vec<&String> = meta_back.as_object().unwrap().keys().collect();
        assert_eq!(kept, ["name", "namespace", "labels", "annotations"]);
        for k in &kept {
            assert!(
                full["metadata"].get(k.as_str()).is_some(),
                "{kind:?}: metadata.{k}"
            );
            same_shape(
                &full["metadata"][k.as_str()],
                &meta_back[k.as_str()],
                "metadata",
            );
        }
    }
}

#[test]
#[should_panic(expected = "in the schema but not in the model")]
fn drift_check_catches_a_field_the_model_drops() {
    let spec = json!({"cidr": "10.0.0.0/16", "ipipmode": "Always"});
    let back = roundtrip::<IpPoolSpec>(&spec);
    same_shape(&spec, &back, "IPPool/spec");
}

#[test]
#[should_panic(expected = "in the model but not in the schema")]
fn drift_check_catches_a_field_the_schema_lacks() {
    let spec = json!({"cidr": "10.0.0.0/16"});
    let back = roundtrip::<IpPoolSpec>(&spec);
    same_shape(&spec, &back, "IPPool/spec");
}
