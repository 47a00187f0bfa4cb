//! The cluster's BGP topology as a picture (`netc graph`): nodes grouped by
//! underlay subnet (or a label such as `rack`), route reflectors and their
//! clients, the node-to-node mesh, external peers with their AS numbers,
//! sessions coloured by kind; and one node's policy path from its IR
//! firewall (hook → tier → policy → endpoint).
//!
//! The sessions are the IR's (`BgpSession`s of every node, as lowering
//! decided them; nothing is re-derived here). [`Topology`] is what the
//! cluster is; [`View`] is what is drawn: a large mesh becomes a note
//! ("full mesh of N nodes"), a large group's ordinary nodes become one box,
//! while route reflectors always stay visible. DOT and Mermaid are text; SVG
//! is laid out and rendered in-process by `layout-rs`.

use netc_ir::{HostIr, SessionKind};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::IpAddr;

/// What a session is, for colour and legend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Mesh,
    /// Route reflector ↔ its client.
    RrClient,
    /// Route reflector ↔ route reflector.
    RrPeer,
    /// A node-specific BGPPeer between nodes.
    Node,
    /// A peer outside the cluster (BGPPeer with peerIP), global or per node.
    External,
    /// A step of a policy path (hook → dispatch → endpoint → tier → policy).
    Flow,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Mesh => "mesh",
            Kind::RrClient => "rr-client",
            Kind::RrPeer => "rr-rr",
            Kind::Node => "node",
            Kind::External => "external",
            Kind::Flow => "",
        }
    }
    pub fn color(self) -> &'static str {
        match self {
            Kind::Mesh => "gray",
            Kind::RrClient => "blue",
            Kind::RrPeer => "purple",
            Kind::Node => "darkgreen",
            Kind::External => "orange",
            Kind::Flow => "black",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TNode {
    pub name: String,
    pub address: Option<String>,
    pub asn: Option<u32>,
    /// routeReflectorClusterID.
    pub rr_cluster: Option<String>,
    pub group: String,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum End {
    Node(String),
    External(IpAddr),
}

/// One session, once (both nodes' IRs name it).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TSession {
    pub a: End,
    pub b: End,
    pub kind: Kind,
}

#[derive(Clone, Debug, Default)]
pub struct Topology {
    pub nodes: Vec<TNode>,
    /// External peers and their AS numbers.
    pub externals: BTreeMap<IpAddr, u32>,
    pub sessions: Vec<TSession>,
}

/// What the topology needs of one node: the BGP part of its IR
/// (`Cluster::lower_bgp`), its address and its group.
pub struct NodeBgp<'a> {
    pub node: &'a str,
    pub address: Option<ipnet::Ipv4Net>,
    pub bgp: Option<&'a netc_ir::Bgp>,
    pub group: String,
}

impl Topology {
    /// From every node's BGP sessions.
    pub fn from_nodes(irs: &[NodeBgp<'_>]) -> Topology {
        let mut t = Topology::default();
        let mut rr_client: BTreeSet<(String, String)> = BTreeSet::new();
        let mut pairs: BTreeMap<(String, String), Kind> = BTreeMap::new();
        let mut ext: BTreeSet<TSession> = BTreeSet::new();
        let rrs: BTreeSet<&str> = irs
            .iter()
            .filter(|ir| ir.bgp.is_some_and(|b| b.cluster_id.is_some()))
            .map(|ir| ir.node)
            .collect();
        for ir in irs {
            t.nodes.push(TNode {
                name: ir.node.to_string(),
                address: ir.address.as_ref().map(|a| a.to_string()),
                asn: ir.bgp.map(|b| b.asn),
                rr_cluster: ir.bgp.and_then(|b| b.cluster_id).map(|c| c.to_string()),
                group: ir.group.clone(),
            });
            let Some(bgp) = ir.bgp else { continue };
            for s in &bgp.sessions {
                match &s.remote_node {
                    Some(r) => {
                        let key = if ir.node <= r.as_str() {
                            (ir.node.to_string(), r.clone())
                        } else {
                            (r.clone(), ir.node.to_string())
                        };
                        if s.rr_client {
                            rr_client.insert(key.clone());
                        }
                        let kind = match s.kind {
                            SessionKind::Mesh => Kind::Mesh,
                            _ if rrs.contains(ir.node) && rrs.contains(r.as_str()) => Kind::RrPeer,
                            _ => Kind::Node,
                        };
                        pairs
                            .entry(key)
                            .and_modify(|k| *k = (*k).min(kind))
                            .or_insert(kind);
                    }
                    None => {
                        t.externals.insert(s.neighbor, s.peer_as);
                        ext.insert(TSession {
                            a: End::Node(ir.node.to_string()),
                            b: End::External(s.neighbor),
                            kind: Kind::External,
                        });
                    }
                }
            }
        }
        for ((a, b), kind) in pairs {
            let kind = if rr_client.contains(&(a.clone(), b.clone())) && kind != Kind::Mesh {
                Kind::RrClient
            } else {
                kind
            };
            t.sessions.push(TSession {
                a: End::Node(a),
                b: End::Node(b),
                kind,
            });
        }
        t.sessions.extend(ext);
        t
    }
}

/// A box in the picture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VBox {
    pub id: String,
    pub label: String,
    pub shape: Shape,
    /// The group (cluster) it is drawn in.
    pub group: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Node,
    RouteReflector,
    External,
    /// Several ordinary nodes of one group.
    Collapsed,
    Note,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VEdge {
    pub a: String,
    pub b: String,
    pub kind: Kind,
    /// Sessions this edge stands for.
    pub count: usize,
}

/// What is drawn.
#[derive(Clone, Debug, Default)]
pub struct View {
    pub title: String,
    pub boxes: Vec<VBox>,
    pub edges: Vec<VEdge>,
    /// Group name → its label.
    pub groups: BTreeMap<String, String>,
}

/// A DOT / Mermaid / SVG-safe identifier.
fn ident(prefix: &str, s: &str) -> String {
    let mut o = String::from(prefix);
    for c in s.chars() {
        o.push(if c.is_ascii_alphanumeric() { c } else { '_' });
    }
    o
}

impl View {
    /// `collapse`: a mesh of more nodes becomes a note; a group with more
    /// ordinary (non-RR) nodes draws them as one box.
    pub fn new(t: &Topology, collapse: usize) -> View {
        let mut v = View {
            title: format!(
                "{} nodes, {} BGP sessions\\n{} external peers",
                t.nodes.len(),
                t.sessions.len(),
                t.externals.len()
            ),
            ..View::default()
        };
        let mut by_group: BTreeMap<&str, Vec<&TNode>> = BTreeMap::new();
        for n in &t.nodes {
            by_group.entry(n.group.as_str()).or_default().push(n);
        }
        // Where each node is drawn.
        let mut at: BTreeMap<&str, String> = BTreeMap::new();
        for (g, members) in &by_group {
            let gid = ident("g_", g);
            v.groups
                .insert(gid.clone(), format!("{g} ({} nodes)", members.len()));
            let plain: Vec<&&TNode> = members.iter().filter(|n| n.rr_cluster.is_none()).collect();
            let collapsed = plain.len() > collapse;
            if collapsed {
                let id = ident("c_", g);
                let first = plain.first().map(|n| n.name.as_str()).unwrap_or("");
                let last = plain.last().map(|n| n.name.as_str()).unwrap_or("");
                v.boxes.push(VBox {
                    id: id.clone(),
                    label: format!("{} nodes: {first} … {last}", plain.len()),
                    shape: Shape::Collapsed,
                    group: Some(gid.clone()),
                });
                for n in &plain {
                    at.insert(n.name.as_str(), id.clone());
                }
            }
            for n in members {
                if collapsed && n.rr_cluster.is_none() {
                    continue;
                }
                let id = ident("n_", &n.name);
                let mut label = n.name.clone();
                if let Some(a) = &n.address {
                    let _ = write!(label, "\\n{a}");
                }
                if let Some(c) = &n.rr_cluster {
                    let _ = write!(label, "\\nRR cluster {c}");
                }
                v.boxes.push(VBox {
                    id: id.clone(),
                    label,
                    shape: if n.rr_cluster.is_some() {
                        Shape::RouteReflector
                    } else {
                        Shape::Node
                    },
                    group: Some(gid.clone()),
                });
                at.insert(n.name.as_str(), id);
            }
        }
        let mesh_nodes: BTreeSet<&str> = t
            .sessions
            .iter()
            .filter(|s| s.kind == Kind::Mesh)
            .flat_map(|s| [&s.a, &s.b])
            .filter_map(|e| match e {
                End::Node(n) => Some(n.as_str()),
                End::External(_) => None,
            })
            .collect();
        let mesh_collapsed = mesh_nodes.len() > collapse;
        if mesh_collapsed {
            let n = mesh_nodes.len();
            v.boxes.push(VBox {
                id: "mesh_note".into(),
                label: format!(
                    "full mesh of {n} nodes\\n({} sessions, not drawn)",
                    n * (n - 1) / 2
                ),
                shape: Shape::Note,
                group: None,
            });
        }
        // Sessions among route reflectors: a large set becomes a note too
        // (the reflectors themselves stay drawn).
        let rr_pairs = t.sessions.iter().filter(|s| s.kind == Kind::RrPeer).count();
        let rr_meshed: BTreeSet<&str> = t
            .sessions
            .iter()
            .filter(|s| s.kind == Kind::RrPeer)
            .flat_map(|s| [&s.a, &s.b])
            .filter_map(|e| match e {
                End::Node(n) => Some(n.as_str()),
                End::External(_) => None,
            })
            .collect();
        let rr_collapsed = rr_meshed.len() > collapse;
        if rr_collapsed {
            let n = rr_meshed.len();
            let what = if rr_pairs == n * (n - 1) / 2 {
                format!("route reflectors fully meshed: {n} reflectors")
            } else {
                format!("{rr_pairs} sessions among {n} route reflectors")
            };
            v.boxes.push(VBox {
                id: "rr_note".into(),
                label: format!("{what}\\n({rr_pairs} rr-rr sessions, not drawn)"),
                shape: Shape::Note,
                group: None,
            });
        }
        // External peers: one box each, or one per collapsed group.
        let mut ext_at: BTreeMap<(String, IpAddr), String> = BTreeMap::new();
        let mut ext_boxes: BTreeMap<String, (BTreeSet<IpAddr>, BTreeSet<u32>)> = BTreeMap::new();
        for s in &t.sessions {
            if let (End::Node(n), End::External(ip)) = (&s.a, &s.b) {
                let from = at.get(n.as_str()).cloned().unwrap_or_default();
                let id = if from.starts_with("c_") {
                    format!("x{from}")
                } else {
                    ident("e_", &ip.to_string())
                };
                let e = ext_boxes.entry(id.clone()).or_default();
                e.0.insert(*ip);
                if let Some(asn) = t.externals.get(ip) {
                    e.1.insert(*asn);
                }
                ext_at.insert((n.clone(), *ip), id);
            }
        }
        for (id, (ips, asns)) in &ext_boxes {
            let asns: Vec<String> = asns.iter().map(|a| format!("AS{a}")).collect();
            let label = if ips.len() == 1 {
                let ip = ips.iter().next().map(|i| i.to_string()).unwrap_or_default();
                format!("{ip}\\n{}", asns.join(", "))
            } else {
                let a = if asns.len() > 3 {
                    format!(
                        "{} … {} ({} ASes)",
                        asns[0],
                        asns[asns.len() - 1],
                        asns.len()
                    )
                } else {
                    asns.join(", ")
                };
                format!("{} external peers\\n{a}", ips.len())
            };
            v.boxes.push(VBox {
                id: id.clone(),
                label,
                shape: Shape::External,
                group: None,
            });
        }
        let rr_ids: BTreeSet<String> = v
            .boxes
            .iter()
            .filter(|b| b.shape == Shape::RouteReflector)
            .map(|b| b.id.clone())
            .collect();
        // Edges, merged where their ends were merged.
        let mut edges: BTreeMap<(String, String, Kind), usize> = BTreeMap::new();
        for s in &t.sessions {
            if (s.kind == Kind::Mesh && mesh_collapsed) || (s.kind == Kind::RrPeer && rr_collapsed)
            {
                continue;
            }
            let (a, b) = match (&s.a, &s.b) {
                (End::Node(a), End::Node(b)) => (
                    at.get(a.as_str()).cloned().unwrap_or_default(),
                    at.get(b.as_str()).cloned().unwrap_or_default(),
                ),
                (End::Node(a), End::External(ip)) => (
                    at.get(a.as_str()).cloned().unwrap_or_default(),
                    ext_at.get(&(a.clone(), *ip)).cloned().unwrap_or_default(),
                ),
                _ => continue,
            };
            if a.is_empty() || b.is_empty() || a == b {
                continue;
            }
            let (a, b) = if rr_ids.contains(&b) && !rr_ids.contains(&a) {
                (b, a)
            } else {
                (a, b)
            };
            *edges.entry((a, b, s.kind)).or_default() += 1;
        }
        v.edges = edges
            .into_iter()
            .map(|((a, b, kind), count)| VEdge { a, b, kind, count })
            .collect();
        v
    }
}

/// One node's policy path from its IR firewall: kernel hooks → dispatch
/// stages → endpoint chains → tiers → policies (ir/src/firewall.rs,
/// "The chain graph"). Edges follow evaluation order.
pub fn policy_view(ir: &HostIr) -> View {
    let fw = &ir.firewall;
    let mut v = View {
        title: format!(
            "policy path of node {}: {} endpoint chains, {} tiers, {} policies",
            ir.node,
            fw.endpoint_chains.len(),
            fw.tiers.len(),
            fw.policies.len()
        ),
        ..View::default()
    };
    let mut flow = |a: String, b: String| {
        v.edges.push(VEdge {
            a,
            b,
            kind: Kind::Flow,
            count: 1,
        })
    };
    let mut boxes = Vec::new();
    for h in &fw.hooks {
        let id = ident("h_", &format!("{:?}", h.hook));
        boxes.push(VBox {
            id: id.clone(),
            label: format!("{:?} hook", h.hook),
            shape: Shape::Note,
            group: None,
        });
        for d in &h.stages {
            flow(id.clone(), ident("d_", d.name().as_ref()));
        }
    }
    for d in &fw.dispatch {
        let id = ident("d_", d.name.as_ref());
        boxes.push(VBox {
            id: id.clone(),
            label: format!("dispatch {}\\n{:?}", d.name, d.dir),
            shape: Shape::Collapsed,
            group: None,
        });
        let mut targets: BTreeSet<String> = d
            .entries
            .iter()
            .filter_map(|e| e.chain.as_ref())
            .map(|c| ident("ep_", c.name().as_ref()))
            .collect();
        if let Some(f) = &d.fallback {
            targets.insert(ident("ep_", f.name().as_ref()));
        }
        for t in targets {
            flow(id.clone(), t);
        }
    }
    for e in &fw.endpoint_chains {
        let id = ident("ep_", e.name.as_ref());
        boxes.push(VBox {
            id: id.clone(),
            label: format!("{}\\n{:?}", e.endpoint, e.direction),
            shape: Shape::Node,
            group: None,
        });
        for t in &e.tiers {
            flow(id.clone(), ident("t_", t.name().as_ref()));
        }
    }
    for t in &fw.tiers {
        let id = ident("t_", t.name.as_ref());
        boxes.push(VBox {
            id: id.clone(),
            label: format!(
                "tier {}{}",
                t.tier,
                if t.end_drop { "\\nend: drop" } else { "" }
            ),
            shape: Shape::RouteReflector,
            group: None,
        });
        for p in &t.policies {
            flow(id.clone(), ident("p_", p.name().as_ref()));
        }
    }
    for p in &fw.policies {
        boxes.push(VBox {
            id: ident("p_", p.name.as_ref()),
            label: format!("{}\\n{:?}, {} rules", p.policy, p.direction, p.rules.len()),
            shape: Shape::External,
            group: None,
        });
    }
    v.boxes = boxes;
    v
}

fn edge_label(e: &VEdge) -> String {
    if e.count > 1 {
        format!("{} × {}", e.count, e.kind.name())
    } else {
        e.kind.name().to_string()
    }
}

fn dot_escape(s: &str) -> String {
    // Labels carry `\n` escapes on purpose; only quotes need escaping.
    s.replace('"', "\\\"")
}

/// Graphviz DOT: groups as `cluster_` subgraphs.
pub fn to_dot(v: &View) -> String {
    let mut o = String::from("graph netc {\n");
    let _ = writeln!(
        o,
        "  graph [label=\"{}\", labelloc=t, fontname=\"sans-serif\"];",
        dot_escape(&v.title)
    );
    o.push_str("  node [fontname=\"sans-serif\", fontsize=11];\n  edge [fontname=\"sans-serif\", fontsize=9];\n");
    let node_line = |b: &VBox| {
        let (shape, style) = match b.shape {
            Shape::Node => ("box", "rounded"),
            Shape::RouteReflector => ("box", "filled,bold"),
            Shape::External => ("ellipse", "dashed"),
            Shape::Collapsed => ("box3d", "solid"),
            Shape::Note => ("note", "solid"),
        };
        let fill = if b.shape == Shape::RouteReflector {
            ", fillcolor=\"lightblue\""
        } else {
            ""
        };
        format!(
            "{} [label=\"{}\", shape={shape}, style=\"{style}\"{fill}];",
            b.id,
            dot_escape(&b.label)
        )
    };
    for (gid, label) in &v.groups {
        let _ = writeln!(o, "  subgraph cluster_{gid} {{");
        let _ = writeln!(o, "    label=\"{}\"; style=rounded;", dot_escape(label));
        for b in v.boxes.iter().filter(|b| b.group.as_deref() == Some(gid)) {
            let _ = writeln!(o, "    {}", node_line(b));
        }
        o.push_str("  }\n");
    }
    for b in v.boxes.iter().filter(|b| b.group.is_none()) {
        let _ = writeln!(o, "  {}", node_line(b));
    }
    for e in &v.edges {
        let _ = writeln!(
            o,
            "  {} -- {} [label=\"{}\", color={}{}];",
            e.a,
            e.b,
            dot_escape(&edge_label(e)),
            e.kind.color(),
            if e.kind == Kind::Mesh {
                ", style=dashed"
            } else {
                ""
            }
        );
    }
    o.push_str("}\n");
    o
}

fn mermaid_text(s: &str) -> String {
    s.replace("\\n", "<br/>").replace('"', "#quot;")
}

/// Mermaid flowchart: groups as subgraphs, edges coloured with linkStyle.
pub fn to_mermaid(v: &View) -> String {
    let mut o = String::from("flowchart LR\n");
    let _ = writeln!(o, "  %% {}", v.title.replace("\\n", ", "));
    let node = |b: &VBox| {
        let l = mermaid_text(&b.label);
        match b.shape {
            Shape::Node => format!("{}[\"{l}\"]", b.id),
            Shape::RouteReflector => format!("{}[[\"{l}\"]]", b.id),
            Shape::External => format!("{}([\"{l}\"])", b.id),
            Shape::Collapsed => format!("{}[/\"{l}\"/]", b.id),
            Shape::Note => format!("{}>\"{l}\"]", b.id),
        }
    };
    for (gid, label) in &v.groups {
        let _ = writeln!(o, "  subgraph {gid}[\"{}\"]", mermaid_text(label));
        for b in v.boxes.iter().filter(|b| b.group.as_deref() == Some(gid)) {
            let _ = writeln!(o, "    {}", node(b));
        }
        o.push_str("  end\n");
    }
    for b in v.boxes.iter().filter(|b| b.group.is_none()) {
        let _ = writeln!(o, "  {}", node(b));
    }
    for e in &v.edges {
        let arrow = if e.kind == Kind::Mesh { "-.-" } else { "---" };
        let _ = writeln!(o, "  {} {arrow}|{}| {}", e.a, edge_label(e), e.b);
    }
    for (i, e) in v.edges.iter().enumerate() {
        let _ = writeln!(o, "  linkStyle {i} stroke:{}", e.kind.color());
    }
    o
}

/// SVG, laid out by layout-rs. layout-rs has no cluster boxes, so each
/// group is drawn as a header box joined to its members by dashed lines.
pub fn to_svg(v: &View) -> Result<String, String> {
    use layout::backends::svg::SVGWriter;
    use layout::core::base::Orientation;
    use layout::core::color::Color;
    use layout::core::style::{LineStyleKind, StyleAttr};
    use layout::std_shapes::render::get_shape_size;
    use layout::std_shapes::shapes::{Arrow, Element, LineEndKind, ShapeKind};
    use layout::topo::layout::VisualGraph;

    let v = v.clone();
    let run = move || {
        let dir = Orientation::TopToBottom;
        let mut vg = VisualGraph::new(dir);
        let mut handles = BTreeMap::new();
        let mut add = |vg: &mut VisualGraph, id: &str, label: &str, shape: Shape| {
            let text = label.replace("\\n", "\n");
            let (kind, line, fill, width) = match shape {
                Shape::RouteReflector => (ShapeKind::new_box(&text), "blue", "lightblue", 2),
                Shape::Node => (ShapeKind::new_box(&text), "black", "white", 1),
                Shape::External => (ShapeKind::new_circle(&text), "orange", "lightyellow", 1),
                Shape::Collapsed => (ShapeKind::new_box(&text), "black", "whitesmoke", 2),
                Shape::Note => (ShapeKind::new_box(&text), "gray", "lightyellow", 1),
            };
            let sz = get_shape_size(dir.flip(), &kind, 12, false);
            let look = StyleAttr::new(
                Color::fast(line),
                width,
                Some(Color::fast(fill)),
                if shape == Shape::Node { 5 } else { 0 },
                12,
            );
            let h = vg.add_node(Element::create(kind, look, dir.flip(), sz));
            handles.insert(id.to_string(), h);
        };
        let legend = format!(
            "{}\\nmesh: gray, dashed · rr-client: blue\\nrr-rr: purple · node: green\\nexternal: orange",
            v.title
        );
        add(&mut vg, "legend", &legend, Shape::Note);
        for (gid, label) in &v.groups {
            add(&mut vg, gid, label, Shape::Note);
        }
        for b in &v.boxes {
            add(&mut vg, &b.id, &b.label, b.shape);
        }
        let arrow = |label: &str, color: &str, dashed: bool| {
            Arrow::new(
                LineEndKind::None,
                LineEndKind::None,
                if dashed {
                    LineStyleKind::Dashed
                } else {
                    LineStyleKind::Normal
                },
                label,
                &StyleAttr::new(Color::fast(color), 1, None, 0, 10),
                &None,
                &None,
            )
        };
        for b in &v.boxes {
            if let (Some(g), Some(h)) = (&b.group, handles.get(&b.id)) {
                if let Some(gh) = handles.get(g) {
                    vg.add_edge(arrow("", "lightgray", true), *gh, *h);
                }
            }
        }
        for e in &v.edges {
            if let (Some(a), Some(b)) = (handles.get(&e.a), handles.get(&e.b)) {
                vg.add_edge(
                    arrow(&edge_label(e), e.kind.color(), e.kind == Kind::Mesh),
                    *a,
                    *b,
                );
            }
        }
        let mut svg = SVGWriter::new();
        vg.do_it(false, false, false, &mut svg);
        svg.finalize()
    };
    // layout-rs asserts internally; its panics must not take netc down.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
        .map_err(|_| "layout-rs failed to lay out the graph".to_string())
}
