//! The catalogue of diagnostic codes. Codes are stable: tools and CI match on
//! them. `E` codes are errors, `W` codes warnings. `netc explain CODE` prints
//! the explanation; docs/diagnostics.md is generated from this table
//! (`netc explain --all --markdown`), and a test keeps the two in step.

pub struct CodeInfo {
    pub code: &'static str,
    pub title: &'static str,
    pub explain: &'static str,
}

macro_rules! codes {
    ($( $name:ident = $code:literal, $title:literal, $explain:literal; )*) => {
        $( pub const $name: &str = $code; )*
        pub const ALL: &[CodeInfo] = &[ $( CodeInfo { code: $code, title: $title, explain: $explain }, )* ];
    };
}

codes! {
    // ---- loading: YAML and resource envelopes ----
    YAML_SYNTAX = "E0001", "YAML syntax error",
        "The file is not valid YAML. The position is where the parser gave up; the mistake is often just before it (indentation, a missing colon, an unclosed quote).";
    YAML_TAG = "E0002", "YAML tag in input",
        "A value starting with `!` is a YAML tag, not a string: `nodeSelector: !has(x)` parses as the tag `!has(x)` on an empty value, and Calico then silently drops the field (a peer meant for some nodes becomes global). netc rejects every tag. Quote the value: `nodeSelector: \"!has(x)\"`.";
    YAML_DUPLICATE_KEY = "E0003", "duplicate key",
        "A mapping has the same key twice. YAML forbids it and other tools keep only one of them, silently. Remove one.";
    YAML_UNSUPPORTED = "E0004", "unsupported YAML construct",
        "Mapping keys must be plain strings, and anchors/aliases must not expand beyond a fixed budget (a guard against alias bombs).";
    NOT_A_RESOURCE = "E0005", "document is not a resource",
        "Every YAML document must be a mapping with `apiVersion`, `kind` and (except for List kinds) `metadata.name`. Empty documents are skipped.";
    API_VERSION = "E0006", "unsupported apiVersion",
        "netc reads Calico v3 resources: `apiVersion: projectcalico.org/v3`, or `crd.projectcalico.org/v1` as written through kubectl; and the Kubernetes kinds Namespace, Pod, Node and List (`v1`) and NetworkPolicy (`networking.k8s.io/v1`).";
    UNKNOWN_KIND = "E0007", "unknown kind",
        "The kind is not one netc reads. Kinds: IPPool, BGPConfiguration, BGPPeer, BGPFilter, Node, NetworkPolicy, GlobalNetworkPolicy, GlobalNetworkSet, NetworkSet, HostEndpoint, WorkloadEndpoint; read but not compiled: FelixConfiguration, Profile, BlockAffinity, IPAMBlock, KubeControllersConfiguration, ClusterInformation; each also with a `List` suffix holding `items`. Kubernetes kinds (apiVersion `v1`: Namespace, Pod, Node, List; `networking.k8s.io/v1`: NetworkPolicy) are read too.";
    IO = "E0008", "cannot read input",
        "A path given on the command line could not be read, or a directory held no *.yaml/*.yml files.";
    KIND_NOT_COMPILED = "I0009", "resource read but not compiled",
        "The kind is part of a calicoctl export and netc reads and checks it (so a whole export loads), but netc does not compile it into any artifact: FelixConfiguration (its failsafe ports and MTUs are read for later use), Profile, KubeControllersConfiguration, ClusterInformation. BlockAffinity and IPAMBlock are read as the cluster's live block allocation. Nothing to do; this is a note.";
    BAD_SECRETS = "E0010", "malformed secrets file",
        "The `--secrets` file is YAML of the form `secret-name: {key: value}` (a mapping of mappings of strings), each key once. Error messages about this file never show its values.";
    KUBE_KIND_IGNORED = "W0011", "Kubernetes kind not read",
        "The document is a Kubernetes object of a kind netc does not read (a Service, a ConfigMap, a Deployment… as `kubectl get all -o yaml` prints them). netc reads the Kubernetes kinds Namespace, Pod, Node (`v1`) and NetworkPolicy (`networking.k8s.io/v1`) and skips the others with this warning; nothing else is affected. Leave such objects out of the input to silence it.";

    // ---- schema ----
    UNKNOWN_FIELD = "E0101", "unknown field",
        "The field is not part of the resource's schema. Calico ignores unknown fields, which hides typos such as `ipipmode`; netc rejects them and suggests the closest known field.";
    WRONG_TYPE = "E0102", "wrong type",
        "The value has the wrong YAML type (for example a string where a number or list is expected). Quote numbers that must be strings; do not quote numbers or booleans that must stay so.";
    NOT_ALLOWED = "E0103", "value not allowed",
        "The value is not one of the values the field accepts; the diagnostic lists them. Values are case-sensitive.";
    MISSING_FIELD = "E0104", "missing required field",
        "A required field is absent.";
    BAD_FORMAT = "E0105", "malformed value",
        "The value does not have the form the field requires (a pattern or format such as an interface name or a duration).";
    OUT_OF_RANGE = "E0106", "value out of range",
        "A number or a list length is outside the allowed range.";
    SCHEMA_OTHER = "E0107", "schema violation",
        "The document violates its JSON Schema in a way not covered by a more specific code.";
    NOT_COMPILED = "W0108", "field accepted but not compiled",
        "The schema accepts the field (it is valid Calico) but netc does not turn it into any artifact, so setting it has no effect on the nodes; the message says why (for example a feature that needs a Kubernetes control plane, or IPv6 lowering not done yet). Remove the field, or keep it knowing netc ignores it. docs/fields.md lists every such field; fields with no dataplane effect in Calico either (server-populated metadata, status) are ignored without a warning, and a value equal to the field's default is not reported.";
    YAML11_SCALAR = "W0109", "unquoted scalar read the way calicoctl reads it",
        "calicoctl decodes YAML with YAML 1.1 rules (go-yaml v2 under sigs.k8s.io/yaml) and then converts the value to the type of the field: in a string field (a label or annotation value, a selector, a name) an unquoted `true`, `yes`, `on`, `y` becomes the string \"true\" (`no`, `off`, `n`: \"false\"), a number becomes its Go spelling (`1.10` → \"1.1\", `010` → \"8\", `1e3` → \"1000\"); in a boolean field `yes`/`on`/`y` mean true; in a number field `010` is octal 8 and `1_000` is 1000. netc reads the value exactly as Calico does and warns, because the text in the file is not what Calico uses. Quote the value the warning shows (or quote the text you meant, knowing it differs from what Calico used until now).";

    // ---- names and metadata ----
    BAD_NAME = "E0201", "invalid resource name",
        "Resource names are DNS-1123 subdomains: lower-case letters, digits, `-` and `.`, starting and ending alphanumeric, at most 253 characters. Policy names have stricter forms (see the message).";
    DUPLICATE_NAME = "E0202", "duplicate resource",
        "Two resources of the same kind (and namespace) share a name; one would silently replace the other.";
    BAD_LABEL = "E0203", "invalid label",
        "Label keys must be Kubernetes qualified names (optional DNS prefix and `/`, then up to 63 of `[A-Za-z0-9_.-]`, alphanumeric at both ends); values at most 63 such characters or empty.";

    // ---- IPPool ----
    BAD_CIDR = "E0301", "invalid CIDR",
        "The CIDR does not parse, or has host bits set. Calico requires pool CIDRs to be strictly masked: write `10.0.0.0/16`, not `10.0.0.1/16`.";
    BLOCK_SIZE = "E0302", "blockSize out of range",
        "blockSize must be 20..32 for IPv4 pools and 116..128 for IPv6 pools.";
    POOL_TOO_SMALL = "E0303", "pool smaller than a block",
        "An enabled pool's prefix must be at most its blockSize: a /28 pool cannot hold a /26 block.";
    IPIP_AND_VXLAN = "E0304", "IPIP and VXLAN both enabled",
        "A pool uses one encapsulation: set ipipMode or vxlanMode to Never.";
    IPIP_V6 = "E0305", "IPIP on an IPv6 pool",
        "IPIP only carries IPv4. Use vxlanMode for IPv6 pools.";
    LINK_LOCAL = "E0306", "pool overlaps a reserved range",
        "Pools must not overlap link-local 169.254.0.0/16 (IPv4) or fe80::/10 (IPv6): Calico's CRD validation rejects that. netc also rejects pools overlapping loopback (127.0.0.0/8, ::1), multicast (224.0.0.0/4, ff00::/8) or holding the unspecified address (0.0.0.0, ::), which calicoctl accepts but which cannot work as workload or tunnel addresses.";
    POOL_OVERLAP = "E0307", "pools overlap",
        "Two pools cover common addresses. calicoctl only checks this when a pool is created; netc checks the whole desired state.";
    ALLOWED_USES = "E0308", "conflicting allowedUses",
        "LoadBalancer pools cannot also be Workload/Tunnel pools, cannot use IPIP/VXLAN or disableBGPExport, and need nodeSelector all(). Tunnel pools cannot have a namespaceSelector.";
    POOL_EXHAUSTED = "E0309", "more nodes than blocks",
        "The pool's nodeSelector selects more nodes than the pool has blocks of blockSize, so some node would get no block.";
    BLOCK_CONFLICT = "E0312", "live block allocation disagrees",
        "BlockAffinity, IPAMBlock and Node tunnel addresses (spec.ipv4VXLANTunnelAddr, spec.bgp.ipv4IPIPTunnelAddr) all say which node owns which block of a pool. Two of them name different nodes for one block (or a block is not a block of its pool). Fix the export, or remove the stale resource, so netc seeds netc.lock from one consistent allocation.";
    CROSS_SUBNET_HOST_MASK = "W0311", "/32 node address under CrossSubnet",
        "With CrossSubnet, a peer is on the same subnet when both addresses share the node's ipv4Address prefix. A /32 (or missing) mask makes every peer look remote, so every route is encapsulated. Give the node its real prefix length, e.g. `10.0.0.5/24`.";

    // ---- BGPConfiguration ----
    BGP_CONFIG_NAME = "E0401", "invalid BGPConfiguration name",
        "BGPConfiguration is named `default` (cluster-wide) or `node.<nodename>` (one node's override).";
    MESH_OPTIONS_WITHOUT_MESH = "E0402", "mesh option while the mesh is off",
        "nodeMeshPassword and nodeMeshMaxRestartTime only apply to the node-to-node mesh; they are not allowed when nodeToNodeMeshEnabled is false.";
    BAD_COMMUNITY = "E0403", "invalid BGP community",
        "A standard community is `aa:nn` with two 16-bit numbers; a large community is `aa:nn:mm` with three 32-bit numbers.";
    COMMUNITY_REFERENCE = "E0404", "community definition or reference",
        "Every community defined in `communities` must be used by a prefixAdvertisement, and every name a prefixAdvertisement uses must be defined (or be a literal value).";
    CONFIG_NODE_UNKNOWN = "W0405", "per-node BGPConfiguration for an unknown node",
        "`node.<name>` names a node that is not declared; the configuration has no effect.";
    BGP_CONFIG_DEFAULT_ONLY = "E0407", "cluster-wide field in a per-node BGPConfiguration",
        "nodeToNodeMeshEnabled, asNumber, serviceClusterIPs and serviceExternalIPs apply to the whole cluster and can only be set in the BGPConfiguration named `default`; Calico rejects them in a `node.<name>` override. A node's own AS number goes in its Node resource (spec.bgp.asNumber).";
    EMPTY_SERVICE_RANGE = "W0408", "empty service range entry",
        "An entry of serviceClusterIPs, serviceExternalIPs or serviceLoadBalancerIPs has no `cidr` (`- {}`). calicoctl's validator accepts it (the field is optional) and Calico advertises nothing for it; netc ignores it too and warns, since it is usually a leftover.";
    NODE_WITHOUT_PEERS = "W0406", "node has no BGP peers",
        "The node-to-node mesh is disabled and this node has no route reflector, BGPPeer or peerSelector peering left: it will lose every route it learned. Create the route-reflector peerings before disabling the mesh.";

    // ---- BGPPeer ----
    PEER_NODE_AND_SELECTOR = "E0501", "node and nodeSelector both set",
        "A BGPPeer applies to one node (`node`), to selected nodes (`nodeSelector`), or, with neither, to all nodes; not both.";
    PEER_IP_AND_SELECTOR = "E0502", "peerIP and peerSelector",
        "A BGPPeer names its remote side with exactly one of peerIP or peerSelector (or localWorkloadSelector).";
    BAD_PEER_IP = "E0503", "invalid peerIP",
        "peerIP is an IP address, `IPv4:port` or `[IPv6]:port`, with port 1..65535.";
    AS_WITH_PEER_SELECTOR = "E0504", "asNumber with peerSelector",
        "Peers chosen by peerSelector take their AS number from the selected Node (or the global AS); asNumber must be empty.";
    REACHABLE_BY = "E0505", "invalid reachableBy",
        "reachableBy needs peerIP and must be an address of the same family.";
    NEXT_HOP_BOTH = "E0506", "keepOriginalNextHop and nextHopMode",
        "keepOriginalNextHop is the deprecated form of nextHopMode: Keep; set only one.";
    UNKNOWN_NODE = "E0507", "unknown node",
        "The resource names a node that is not declared in the input.";
    SELECTS_NOTHING = "W0508", "selector selects no node",
        "The selector matches none of the declared nodes, so the resource has no effect.";
    EBGP_RR_CLIENT = "E0509", "eBGP neighbor as route-reflector client",
        "A route reflector peers with a node that has no (or another) cluster ID, so the node is meant to be its route-reflector client, but the two are in different ASes. Route reflection only exists within one AS: BIRD refuses `rr client` on such a session (\"Only internal neighbor can be RR client\", which fails the whole config in Calico's fork), and Calico and netc therefore make it a plain eBGP session on which the client never receives the reflected routes. Give both nodes the same AS, or peer the node with a reflector in its own AS.";
    LOCAL_WORKLOAD = "E0510", "invalid localWorkloadSelector",
        "localWorkloadSelector excludes peerIP and peerSelector and requires asNumber.";
    BAD_AS = "E0511", "invalid AS number",
        "An AS number is 1..4294967295, or asdot `X.Y` with two 16-bit halves (not 0.0). AS 0 is reserved (RFC 7607) and BIRD refuses it (\"Local AS number must be set\" / \"Neighbor AS number out of range\").";
    BAD_DURATION = "E0512", "invalid duration",
        "Durations are Go durations such as `120s`, `2m`, `1h30m`.";
    UNKNOWN_FILTER = "E0513", "unknown BGPFilter",
        "The BGPPeer lists a BGPFilter that is not declared. Calico silently skips a missing filter (the peering then runs unfiltered); netc refuses it. Declare the BGPFilter or fix the name.";
    SESSION_COLLISION = "W0514", "mesh and BGPPeer sessions to the same neighbour",
        "With the node-to-node mesh on, a BGPPeer to another node's address makes a second session to the same neighbour (Calico's `Mesh_<ip>` and `Node_<ip>`/`Global_<ip>`). netc writes both, as Calico does, but BIRD can only keep one TCP connection per neighbour address and port: the sessions fight over it. Disable the mesh (use route reflectors / BGPPeers), or drop the BGPPeer.";

    // ---- BGPFilter ----
    FILTER_CIDR_OPERATOR = "E0520", "cidr and matchOperator",
        "In a BGPFilter rule, `cidr` and `matchOperator` go together: a cidr needs an operator (Equal, NotEqual, In, NotIn) and an operator needs a cidr. `prefixLength` needs a cidr too. Calico rejects such rules.";
    FILTER_PREFIX_LENGTH = "E0521", "invalid prefixLength",
        "prefixLength min and max are 0..32 in IPv4 rules and 0..128 in IPv6 rules, min is at most max, and the range must leave some length at or beyond the cidr's own prefix length (confd matches `cidr{max(len, min), max}`; an empty range makes an invalid BIRD prefix pattern).";
    FILTER_FAMILY = "E0522", "cidr of the wrong family",
        "importV4/exportV4 rules match IPv4 CIDRs and importV6/exportV6 rules IPv6 CIDRs; the cidr must also be strictly masked (no host bits), e.g. `10.0.0.0/8`.";
    FILTER_INTERFACE = "E0523", "invalid filter interface",
        "A BGPFilter rule's `interface` is an interface name or pattern: 1..15 characters of `[A-Za-z0-9_.-]` and `*` wildcards (Calico's `bgpFilterInterface`).";
    FILTER_COMMUNITY = "E0524", "invalid filter community",
        "Communities in a BGPFilter (communities.values, addCommunity.value) are `aa:nn` with two 16-bit numbers or `aa:nn:mm` with three 32-bit numbers, and `communities.values` holds exactly one value.";
    FILTER_OPERATION = "E0525", "invalid filter operation",
        "Each entry of `operations` sets exactly one of addCommunity, prependASPath (1..10 AS numbers), setPriority (1..2147483646); operations are only allowed with action Accept (a rejected route is not modified).";
    FILTER_EMPTY_REF = "W0526", "BGPFilter with no rules for a session",
        "A BGPPeer lists a BGPFilter that has no rules for the address family of any of its sessions (e.g. only IPv6 rules on an IPv4 peering). Calico then calls no filter function for that session; netc does the same and warns, since the filter has no effect there.";
    V6_PEER_WITHOUT_V6 = "W0529", "IPv6 peering on a node without an IPv6 address",
        "A BGPPeer with an IPv6 peerIP applies to a node that has no spec.bgp.ipv6Address. IPv6 sessions are sourced from that address (Calico's bird6.cfg says \"IPv6 disabled on this node\"), so the node gets no session for this peering; Calico drops it silently, netc warns. Give the node an ipv6Address or restrict the BGPPeer with node/nodeSelector.";
    FILTER_LISTED_TWICE = "W0527", "BGPFilter listed twice",
        "A BGPPeer lists the same BGPFilter twice. Its functions are called twice, but the first call already accepts or rejects every route one of its rules matches, so the second has no effect. Remove the repetition.";
    FILTER_EQUAL_PREFIX_LENGTH = "W0528", "Equal/NotEqual with prefixLength",
        "With prefixLength, confd compares the route with a prefix pattern `[ cidr{min,max} ]`. BIRD's `=` and `!=` compare values of one type, and a route's prefix never equals a pattern: `Equal` never matches and `NotEqual` always does. netc writes what confd writes and warns; use `In` / `NotIn` to match a range of prefix lengths, or drop prefixLength to match the cidr exactly.";

    // ---- Node ----
    BAD_NODE_ADDRESS = "E0601", "invalid node address",
        "spec.bgp.ipv4Address is an IPv4 address with its prefix length, e.g. `10.0.0.5/24`; the prefix defines the node's subnet for CrossSubnet.";
    BAD_CLUSTER_ID = "E0602", "invalid routeReflectorClusterID",
        "routeReflectorClusterID is a dotted-quad IPv4 value such as `224.0.0.1`.";
    DUPLICATE_NODE_IP = "E0603", "duplicate node address",
        "Two nodes share an IPv4 address. Calico generates two BGP protocols with the same name and BIRD rejects the whole config (\"Symbol already defined\").";
    DUPLICATE_ROUTER_ID = "E0604", "duplicate router id",
        "Two nodes would use the same BGP router id (their IPv4 address); sessions between them fail.";
    EMPTY_BGP = "E0605", "empty spec.bgp",
        "`spec.bgp: {}` is rejected by Calico; omit `bgp` or give it an address.";
    BAD_TUNNEL_ADDRESS = "E0607", "invalid tunnel address or MAC",
        "Tunnel addresses (spec.bgp.ipv4IPIPTunnelAddr, spec.ipv4VXLANTunnelAddr, spec.ipv6VXLANTunnelAddr) are single addresses of their family with no prefix length, e.g. `10.244.3.0`. VXLAN MACs (vxlanTunnelMACAddr, vxlanTunnelMACAddrV6) are six hex octets of a unicast address (lowest bit of the first octet clear), e.g. `66:9a:1b:2c:3d:4e`.";
    BAD_ANNOTATION = "E0606", "invalid netc annotation",
        "A `netc.dev/...` annotation has a value netc cannot use; see the message for the allowed form.";

    // ---- policy ----
    BAD_SELECTOR = "E0701", "invalid selector",
        "The selector does not parse. Grammar: has(k), all(), k == \"v\", k != \"v\", k in {\"a\",\"b\"}, k not in {...}, k contains/starts with/ends with \"s\", !, &&, ||, parentheses.";
    PORTS_NEED_PROTOCOL = "E0702", "ports without a port protocol",
        "Numeric ports need protocol TCP, UDP or SCTP; without a protocol only named ports are allowed.";
    ICMP_PROTOCOL = "E0703", "icmp with the wrong protocol",
        "icmp/notICMP need protocol ICMP (with ipVersion 4) or ICMPv6 (with ipVersion 6); a code needs a type.";
    MIXED_FAMILY = "E0704", "mixed IP families in one rule",
        "All nets in one rule must be of one IP family, and that family must match ipVersion if set.";
    NOT_NETS_ALL = "E0705", "notNets excludes everything",
        "`notNets: [0.0.0.0/0]` (or ::/0) can never match; the rule is a contradiction.";
    PRE_DNAT = "E0706", "preDNAT / doNotTrack misuse",
        "preDNAT and doNotTrack are mutually exclusive, both require applyOnForward: true, and preDNAT policies cannot have egress rules or the Egress type.";
    DUPLICATE_TYPES = "E0707", "duplicate policy types",
        "`types` lists Ingress and Egress at most once each.";
    BAD_PORT = "E0708", "invalid port",
        "A port is a number 1..65535 (0 is allowed as a range start), a range `lo:hi` with lo <= hi, or a named port.";
    BAD_PROTOCOL = "E0709", "invalid protocol",
        "Protocols are TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite (any case) or a number 1..255.";
    GLOBAL_SELECTOR = "E0710", "global() misuse",
        "global() is only valid, alone, as an EntityRule namespaceSelector.";
    SERVICES = "E0711", "services misuse",
        "services excludes namespaceSelector, selector, notSelector, nets, notNets, serviceAccounts and ports, and is not allowed in an egress source or an ingress destination.";
    HTTP_MATCH = "E0712", "http match misuse",
        "http matches are only allowed on Allow rules whose protocol is TCP or unset.";
    BAD_NET = "E0714", "invalid net",
        "Rule nets are CIDRs (host bits allowed, as Calico does) or bare addresses.";
    UNSUPPORTED_MATCH = "W0715", "match netc cannot enforce",
        "The rule uses a match that needs a Kubernetes control plane (serviceAccounts, services, a serviceAccountSelector other than all()) or an application-layer proxy (http). netc compiles the rule as if that match never matched for Allow (fail closed) and warns. (A namespaceSelector is resolved from the Namespace objects of the input, docs/k8s.md §3.)";
    POLICY_ORDER_TIE = "W0716", "policies share an order",
        "Two policies in one tier have the same order; Calico breaks the tie by name. Make the order explicit if the sequence matters.";
    NAMED_PORT_UNKNOWN = "W0717", "named port selects nothing",
        "A rule matches a named port (`ports: [http]`) that no WorkloadEndpoint or HostEndpoint in the input declares under spec.ports. The port set is empty, so the rule never matches: an Allow rule allows nothing. Check the spelling or declare the port on the endpoints.";

    // ---- endpoints ----
    HEP_NEEDS_IFACE_OR_IPS = "E0801", "host endpoint without interface",
        "A HostEndpoint needs interfaceName or expectedIPs.";
    BAD_INTERFACE = "E0802", "invalid interface name",
        "Interface names are 1..15 characters of `[A-Za-z0-9_.-]` (HostEndpoint also accepts `*`), and not `.` or `..` (the kernel refuses them).";
    HOST_PORT = "W0805", "hostPort not compiled",
        "A WorkloadEndpoint port has hostPort/hostIP: Felix forwards the host's port to the workload (a DNAT hostPort feature). netc reads the field but does not compile hostPort forwarding, so traffic to the host port is not forwarded.";
    WORKLOAD_ADDRESS = "E0803", "invalid workload address",
        "WorkloadEndpoint ipNetworks are IPv4 or IPv6 /32 or /128 addresses (or bare addresses).";
    BAD_EXPECTED_IP = "E0804", "invalid host endpoint address",
        "HostEndpoint expectedIPs are the host's bare IPv4 or IPv6 addresses, without prefix length, e.g. `10.0.0.5`; policy selectors that pick the endpoint match these addresses.";

    // ---- Kubernetes input (docs/k8s.md) ----
    KUBE_SELECTOR = "E0901", "invalid Kubernetes label selector",
        "A `podSelector` / `namespaceSelector` is a Kubernetes label selector: `matchLabels` keys are qualified names (an optional DNS-subdomain prefix and `/`, then at most 63 characters of `[A-Za-z0-9_.-]` starting and ending with a letter or digit) and values are label values (empty, or at most 63 such characters); each `matchExpressions` entry has a valid `key`, an `operator` (In, NotIn, Exists, DoesNotExist), and `values`: In and NotIn need at least one, Exists and DoesNotExist must have none. The API server rejects anything else.";
    KUBE_IP_BLOCK = "E0902", "invalid ipBlock",
        "`ipBlock.cidr` is a CIDR (`10.0.0.0/16`, `2001:db8::/48`) and every entry of `except` is a CIDR of the same family strictly inside it (a smaller network contained in `cidr`), as the API server requires. Host bits are allowed, as the API server allows them; Calico masks them.";
    KUBE_PEER = "E0903", "invalid NetworkPolicy peer",
        "A `from`/`to` entry sets `podSelector`, `namespaceSelector` (together they AND), or `ipBlock` alone; `ipBlock` cannot be combined with a selector, and an entry with none of them is rejected by the API server. To allow everything, leave `from`/`to` out (or empty).";
    KUBE_END_PORT = "E0904", "invalid endPort",
        "`endPort` makes a port range `port..endPort`: it needs a numeric `port` (not a named port, not absent) and must be at least `port` and at most 65535.";
    POD_IP_OUTSIDE_POOLS = "W0905", "pod IP in no IPPool",
        "The pod's IP (status.podIPs) is in no IPPool of the input. Calico's IPAM assigns pod IPs from its pools, so the pod was addressed by something else, or a pool is missing from the input. netc still compiles the pod's endpoint, but routes and NAT decisions for pool addresses do not cover it. Add the pool, or check the pod's address.";
    POD_UNKNOWN_NODE = "W0906", "pod on an unknown node",
        "The pod's `spec.nodeName` names no Node of the input (neither a Calico Node nor a Kubernetes Node). Its address still feeds policy selectors, but no node gets its interface, route or firewall chains. Add the node (for example the `kubectl get nodes -o yaml` output) or check the name.";
    KUBE_NODE_SHADOWED = "I0907", "Calico Node overrides a Kubernetes Node",
        "A Calico `Node` (projectcalico.org/v3) and a Kubernetes `Node` (v1) have the same name. The Calico resource wins and the Kubernetes Node's `projectcalico.org/*` annotations and labels are not read. Nothing to do if that is intended; remove one of them otherwise.";
    BAD_POD_IP = "E0908", "invalid pod IP",
        "`status.podIPs[].ip` and `status.podIP` are bare IPv4 or IPv6 addresses. Calico refuses to convert a pod whose IP does not parse.";
    KUBE_POD_SHADOWED = "I0910", "Calico WorkloadEndpoint overrides a pod",
        "A Calico `WorkloadEndpoint` (projectcalico.org/v3, as `calicoctl get workloadendpoints -o yaml` prints them) and a Kubernetes `Pod` describe the same endpoint: same namespace, and the endpoint names the pod (spec.pod) or has the name Calico derives for it (`<node>-k8s-<pod>-eth0`). The Calico resource wins and the pod is not converted, so the endpoint is not compiled twice. Nothing to do if that is intended; export only one of them otherwise.";
    KUBE_POLICY_CLASH = "E0909", "Kubernetes NetworkPolicy name taken",
        "A Kubernetes NetworkPolicy `<name>` becomes the Calico policy `knp.default.<name>` in its namespace; a Calico NetworkPolicy of that name in the same namespace already exists. Rename one of them.";
}

/// Look a code up (case-insensitive).
pub fn lookup(code: &str) -> Option<&'static CodeInfo> {
    ALL.iter().find(|c| c.code.eq_ignore_ascii_case(code))
}
