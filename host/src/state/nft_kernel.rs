//! A set's elements read from the kernel over netlink
//! (`NFT_MSG_GETSETELEM`), without nft, and compared with a desired set.
//!
//! Why: verification after an element delta reads the changed set back.
//! `nft -a list set` of a 10,000-element set costs ~90 ms, almost all of it
//! in nft's user space (rebuilding intervals, printing, one `write` per
//! line); the kernel's dump of the same elements takes a few milliseconds
//! (docs/lab-facts.md, "Reading a set back"). The elements come back as
//! the kernel holds them — key bytes, key-end bytes, the interval-end flag
//! — so they are compared as closed intervals of key bytes with the
//! desired elements encoded the same way ([`Layout::encode`]), never as
//! text. What cannot be compared that way (maps, element comments,
//! counters or timeouts, key types other than addresses, ports and
//! protocols) gives `None`, and the caller lists the set with nft.
//!
//! Hand-written rather than a crate: the Rust netlink crates (neli,
//! rust-netlink's netlink-packet-*) carry no nf_tables set-element
//! messages, and libnftnl bindings would add a C library for one request
//! and a walk over nested attributes.

use super::nft::{Elem, NftSet};
use serde_json::Value;
use std::io;
use std::net::IpAddr;

/// One element as the kernel holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelElem {
    pub key: Vec<u8>,
    /// Concatenated interval sets (pipapo): the interval's last key.
    pub key_end: Option<Vec<u8>>,
    /// Interval sets of one field (rbtree): this element is the first key
    /// after an interval (`NFT_SET_ELEM_INTERVAL_END`).
    pub interval_end: bool,
    /// A verdict map's value ([`verdict_bytes`]).
    pub data: Option<Vec<u8>>,
    /// The element carries more than its key and verdict (data of a value
    /// map, a comment, a counter, a timeout): not comparable this way.
    pub extras: bool,
}

/// Sets' elements as dumped from the kernel, by set name.
pub type Dumps = Vec<(String, Vec<KernelElem>)>;

/// Whether `dumps` holds exactly `set`'s elements under its name (see
/// [`same_elements`]; false also when it cannot tell).
/// `digest`: the set's [`digest`], when known; then its elements are not
/// read.
pub fn holds(dumps: &Dumps, set: &NftSet, digest: Option<&str>) -> bool {
    dumps.iter().any(|(n, elems)| {
        *n == set.name
            && match digest {
                Some(d) => Layout::of(set)
                    .and_then(|l| intervals(elems, &l))
                    .is_some_and(|live| digest_of(&live) == d),
                None => same_elements(elems, set) == Some(true),
            }
    })
}

/// [`holds`] for a set whose digest is not known yet: its digest when the
/// dump holds exactly its elements, else None.
pub fn held_digest(dumps: &Dumps, set: &NftSet) -> Option<String> {
    let (_, elems) = dumps.iter().find(|(n, _)| *n == set.name)?;
    let layout = Layout::of(set)?;
    let want = layout.intervals_of(set)?;
    (intervals(elems, &layout)? == want).then(|| digest_of(&want))
}

/// A digest of `set`'s elements as the kernel holds them (the sorted
/// intervals [`same_elements`] compares); None when they cannot be
/// encoded. Two sets of one layout with the same digest hold the same
/// elements.
pub fn digest(set: &NftSet) -> Option<String> {
    Layout::of(set)?.intervals_of(set).map(|v| digest_of(&v))
}

fn digest_of(intervals: &[Interval]) -> String {
    let mut h = netc_ir::digest::Parts::new();
    for (lo, hi, data) in intervals {
        h.add(lo).add(hi);
        match data {
            Some(d) => h.add(b"+").add(d),
            None => h.add(b"-"),
        };
    }
    h.hex(16)
}

/// A closed interval of key bytes, and a map element's verdict.
pub type Interval = (Vec<u8>, Vec<u8>, Option<Vec<u8>>);

// netlink and nf_tables constants (linux/netlink.h, linux/netfilter/nf_tables.h).
const NETLINK_NETFILTER: libc::c_int = 12;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_DUMP: u16 = 0x300;
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFT_MSG_GETSETELEM: u16 = 13;
const NFT_MSG_NEWSETELEM: u16 = 12;
const NFPROTO_INET: u8 = 1;
const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_DATA: u16 = 2;
const NFTA_SET_ELEM_FLAGS: u16 = 3;
const NFTA_SET_ELEM_USERDATA: u16 = 6;
const NFTA_SET_ELEM_KEY_END: u16 = 10;
const NFTA_DATA_VALUE: u16 = 1;
const NFTA_DATA_VERDICT: u16 = 2;
const NFTA_VERDICT_CODE: u16 = 1;
const NFTA_VERDICT_CHAIN: u16 = 2;
const NFT_SET_ELEM_INTERVAL_END: u32 = 1;
/// nft's own element user data (libnftnl's udata TLVs): a comment is type
/// 0; type 1 holds flags, where nft marks an interval that runs to the
/// last key (`NFTNL_SET_ELEM_F_INTERVAL_OPEN`) — bookkeeping, not content.
const NFTNL_UDATA_SET_ELEM_FLAGS: u8 = 1;
/// The attribute type bits (NLA_F_NESTED and NLA_F_NET_BYTEORDER masked off).
const NLA_TYPE_MASK: u16 = 0x3fff;

/// Dump the elements of each of `sets` of `inet table`, in order, in the
/// namespace `netns` (None: this process's own), entering it once: a
/// thread and a namespace switch per set cost ~0.5 ms each, which a merged
/// set split into 16 parts (`nftables::SHARD_ABOVE`) paid 16 times on
/// every plan. Each set's dump succeeds or fails on its own; when the
/// namespace cannot be entered, every one fails with that error.
pub fn dump_sets(
    netns: Option<&str>,
    table: &str,
    sets: &[&str],
) -> Vec<io::Result<Vec<KernelElem>>> {
    let dump_all = |table: &str, sets: &[&str]| sets.iter().map(|s| dump_here(table, s)).collect();
    let Some(ns) = netns else {
        return dump_all(table, sets);
    };
    // setns changes the calling thread's namespace only: do it on a thread
    // of its own, which ends with the dumps. A socket belongs to the
    // namespace it was created in.
    let owned = (ns.to_string(), table.to_string());
    let names: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let dumped = std::thread::spawn(move || -> io::Result<Vec<io::Result<Vec<KernelElem>>>> {
        let (ns, table) = owned;
        enter_netns(&ns)?;
        let sets: Vec<&str> = names.iter().map(String::as_str).collect();
        Ok(dump_all(&table, &sets))
    })
    .join()
    .map_err(|_| io::Error::other("the netlink reader panicked"))
    .and_then(|r| r);
    match dumped {
        Ok(each) => each,
        Err(e) => sets
            .iter()
            .map(|_| Err(io::Error::new(e.kind(), e.to_string())))
            .collect(),
    }
}

/// Move this thread into the named network namespace (as `ip netns exec`
/// does: the file `ip netns add` bind-mounts under /run/netns).
fn enter_netns(name: &str) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    if name.contains('/') || name.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "bad namespace name",
        ));
    }
    let f = std::fs::File::open(format!("/run/netns/{name}"))
        .or_else(|_| std::fs::File::open(format!("/var/run/netns/{name}")))?;
    // SAFETY: setns on a valid descriptor; it affects this thread only.
    if unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A netlink socket, closed when dropped.
struct Socket(libc::c_int);

impl Drop for Socket {
    fn drop(&mut self) {
        // SAFETY: the descriptor is ours and closed once.
        unsafe { libc::close(self.0) };
    }
}

fn dump_here(table: &str, set: &str) -> io::Result<Vec<KernelElem>> {
    // SAFETY: plain socket creation; the result is checked.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            NETLINK_NETFILTER,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let sock = Socket(fd);
    let req = request(table, set);
    // SAFETY: a zeroed sockaddr_nl is the kernel's address (pid 0).
    let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    // SAFETY: the buffer and the address outlive the call.
    let sent = unsafe {
        libc::sendto(
            sock.0,
            req.as_ptr().cast(),
            req.len(),
            0,
            (&kernel as *const libc::sockaddr_nl).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut elems = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        // SAFETY: recv into a buffer we own, at most its length. With
        // MSG_TRUNC the kernel returns the datagram's real length, so a
        // datagram larger than the buffer is an error, never half-read.
        let n = unsafe { libc::recv(sock.0, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_TRUNC) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        let n = n as usize;
        if n > buf.len() {
            return Err(malformed("a datagram larger than the buffer"));
        }
        if read_messages(&buf[..n], &mut elems)? {
            return Ok(elems);
        }
    }
}

/// The dump request: nlmsghdr, nfgenmsg, table and set names.
fn request(table: &str, set: &str) -> Vec<u8> {
    let mut m = vec![0u8; 16];
    m.extend_from_slice(&[NFPROTO_INET, 0, 0, 0]); // nfgenmsg: family, version, res_id
    put_attr(&mut m, NFTA_SET_ELEM_LIST_TABLE, &nul_terminated(table));
    put_attr(&mut m, NFTA_SET_ELEM_LIST_SET, &nul_terminated(set));
    let len = m.len() as u32;
    m[0..4].copy_from_slice(&len.to_ne_bytes());
    m[4..6].copy_from_slice(&((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETSETELEM).to_ne_bytes());
    m[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    m[8..12].copy_from_slice(&1u32.to_ne_bytes()); // sequence number
    m
}

fn nul_terminated(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

fn put_attr(m: &mut Vec<u8>, ty: u16, payload: &[u8]) {
    m.extend_from_slice(&((4 + payload.len()) as u16).to_ne_bytes());
    m.extend_from_slice(&ty.to_ne_bytes());
    m.extend_from_slice(payload);
    while !m.len().is_multiple_of(4) {
        m.push(0);
    }
}

fn malformed(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("malformed netlink reply: {what}"),
    )
}

/// Walk one datagram's messages into `out`; true at the end of the dump.
fn read_messages(mut b: &[u8], out: &mut Vec<KernelElem>) -> io::Result<bool> {
    while b.len() >= 16 {
        let len = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize;
        let ty = u16::from_ne_bytes([b[4], b[5]]);
        if len < 16 || len > b.len() {
            return Err(malformed("message length"));
        }
        let payload = &b[16..len];
        match ty {
            NLMSG_DONE => return Ok(true),
            NLMSG_ERROR => {
                let code = payload
                    .get(..4)
                    .map(|c| i32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
                    .ok_or_else(|| malformed("error message"))?;
                if code != 0 {
                    return Err(io::Error::from_raw_os_error(-code));
                }
            }
            t if t == (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM => {
                // Skip the nfgenmsg (4 bytes).
                let attrs = payload.get(4..).ok_or_else(|| malformed("nfgenmsg"))?;
                for (aty, list) in attributes(attrs)? {
                    if aty != NFTA_SET_ELEM_LIST_ELEMENTS {
                        continue;
                    }
                    for (ety, e) in attributes(list)? {
                        if ety == NFTA_LIST_ELEM {
                            out.push(element(e)?);
                        }
                    }
                }
            }
            _ => {}
        }
        let next = len.div_ceil(4) * 4;
        b = b.get(next..).unwrap_or_default();
    }
    Ok(false)
}

/// The attributes in `b`: (type, payload).
fn attributes(mut b: &[u8]) -> io::Result<Vec<(u16, &[u8])>> {
    let mut v = Vec::new();
    while b.len() >= 4 {
        let len = u16::from_ne_bytes([b[0], b[1]]) as usize;
        let ty = u16::from_ne_bytes([b[2], b[3]]) & NLA_TYPE_MASK;
        if len < 4 || len > b.len() {
            return Err(malformed("attribute length"));
        }
        v.push((ty, &b[4..len]));
        b = b.get(len.div_ceil(4) * 4..).unwrap_or_default();
    }
    Ok(v)
}

fn element(b: &[u8]) -> io::Result<KernelElem> {
    let mut e = KernelElem {
        key: Vec::new(),
        key_end: None,
        interval_end: false,
        data: None,
        extras: false,
    };
    let value = |nested: &[u8]| -> io::Result<Vec<u8>> {
        attributes(nested)?
            .into_iter()
            .find(|(t, _)| *t == NFTA_DATA_VALUE)
            .map(|(_, v)| v.to_vec())
            .ok_or_else(|| malformed("key without a value"))
    };
    for (ty, p) in attributes(b)? {
        match ty {
            NFTA_SET_ELEM_KEY => e.key = value(p)?,
            NFTA_SET_ELEM_KEY_END => e.key_end = Some(value(p)?),
            NFTA_SET_ELEM_FLAGS => {
                let f = p.get(..4).ok_or_else(|| malformed("element flags"))?;
                let flags = u32::from_be_bytes([f[0], f[1], f[2], f[3]]);
                e.interval_end = flags & NFT_SET_ELEM_INTERVAL_END != 0;
            }
            NFTA_SET_ELEM_USERDATA => e.extras |= !only_flags(p),
            NFTA_SET_ELEM_DATA => match verdict(p)? {
                Some(v) => e.data = Some(v),
                None => e.extras = true,
            },
            _ => e.extras = true,
        }
    }
    Ok(e)
}

/// A map element's data when it is a verdict, as [`verdict_bytes`].
fn verdict(data: &[u8]) -> io::Result<Option<Vec<u8>>> {
    let Some((_, v)) = attributes(data)?
        .into_iter()
        .find(|(t, _)| *t == NFTA_DATA_VERDICT)
    else {
        return Ok(None);
    };
    let (mut code, mut chain) = (None, None);
    for (t, p) in attributes(v)? {
        match t {
            NFTA_VERDICT_CODE => {
                let c = p.get(..4).ok_or_else(|| malformed("verdict code"))?;
                code = Some(i32::from_be_bytes([c[0], c[1], c[2], c[3]]));
            }
            NFTA_VERDICT_CHAIN => {
                chain = Some(p.split(|b| *b == 0).next().unwrap_or_default().to_vec())
            }
            _ => return Ok(None),
        }
    }
    Ok(code.map(|c| verdict_bytes(c, chain.as_deref())))
}

/// A verdict as compared: its code (big-endian), then the chain's name.
fn verdict_bytes(code: i32, chain: Option<&[u8]>) -> Vec<u8> {
    let mut v = code.to_be_bytes().to_vec();
    v.extend_from_slice(chain.unwrap_or_default());
    v
}

/// Whether element user data holds nothing but nft's flags TLV.
fn only_flags(mut u: &[u8]) -> bool {
    while let [ty, len, rest @ ..] = u {
        let len = usize::from(*len);
        if *ty != NFTNL_UDATA_SET_ELEM_FLAGS || rest.len() < len {
            return false;
        }
        u = &rest[len..];
    }
    u.is_empty()
}

/// The kernel's elements as closed intervals, sorted; None when they
/// cannot be read as such (extras, or an rbtree walk that does not pair up).
pub fn intervals(elems: &[KernelElem], layout: &Layout) -> Option<Vec<Interval>> {
    if elems.iter().any(|e| e.extras) {
        return None;
    }
    let mut v = Vec::with_capacity(elems.len());
    if !layout.interval || layout.concat() {
        // Hash sets hold values; concatenated interval sets both ends.
        for e in elems {
            if e.interval_end {
                return None;
            }
            let end = e.key_end.clone().unwrap_or_else(|| e.key.clone());
            v.push((e.key.clone(), end, e.data.clone()));
        }
    } else {
        // One field with intervals: a start element, then an end element
        // holding the first key after the interval (none when the interval
        // runs to the last key). Ends sort before starts of the same key:
        // adjacent intervals share that key.
        let mut sorted: Vec<&KernelElem> = elems.iter().collect();
        sorted.sort_unstable_by(|a, b| a.key.cmp(&b.key).then(b.interval_end.cmp(&a.interval_end)));
        // nft also puts an end at key zero when no interval starts there
        // (it closes "everything before the first interval").
        let mut start: Option<&KernelElem> = None;
        for e in sorted {
            match (e.interval_end, start) {
                (false, None) => start = Some(e),
                (true, Some(s)) => {
                    v.push((s.key.clone(), decrement(&e.key)?, s.data.clone()));
                    start = None;
                }
                (true, None) if e.key.iter().all(|b| *b == 0) => {}
                _ => return None,
            }
        }
        if let Some(s) = start {
            v.push((s.key.clone(), vec![0xff; s.key.len()], s.data.clone()));
        }
    }
    v.sort_unstable();
    Some(v)
}

/// `k - 1` as a big-endian number; None for zero.
fn decrement(k: &[u8]) -> Option<Vec<u8>> {
    let mut v = k.to_vec();
    for b in v.iter_mut().rev() {
        if *b > 0 {
            *b -= 1;
            return Some(v);
        }
        *b = 0xff;
    }
    None
}

/// One field of a set's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    V4,
    V6,
    Service,
    Proto,
    /// An interface name: its bytes, zero-padded to IFNAMSIZ.
    Ifname,
}

impl Field {
    fn parse(t: &str) -> Option<Field> {
        Some(match t {
            "ipv4_addr" => Field::V4,
            "ipv6_addr" => Field::V6,
            "inet_service" => Field::Service,
            "inet_proto" => Field::Proto,
            "ifname" => Field::Ifname,
            _ => return None,
        })
    }

    fn width(self) -> usize {
        match self {
            Field::V4 => 4,
            Field::V6 => 16,
            Field::Service => 2,
            Field::Proto => 1,
            Field::Ifname => 16,
        }
    }

    /// The closed interval of one element field, as big-endian numbers.
    fn interval(self, e: &Elem) -> Option<(u128, u128)> {
        match e {
            Elem::Prefix(p) => {
                let (a, bits) = self.addr(&p.prefix.addr)?;
                let len = u32::from(p.prefix.len);
                if len > bits {
                    return None;
                }
                let host = if bits - len == 128 {
                    u128::MAX
                } else {
                    (1u128 << (bits - len)) - 1
                };
                Some((a & !host, a | host))
            }
            Elem::Range(r) => Some((self.interval(&r.range.0)?.0, self.interval(&r.range.1)?.1)),
            Elem::Wrapped(w) => {
                let p = &w.elem;
                if p.timeout.is_some() || p.comment.is_some() || p.counter.is_some() {
                    return None;
                }
                self.interval(&p.val)
            }
            Elem::Num(n) => self.number(u128::from(*n)),
            Elem::Str(s) => match self {
                Field::V4 | Field::V6 => self.addr(s).map(|(a, _)| (a, a)),
                Field::Service => self.number(s.parse().ok()?),
                Field::Proto => self.number(proto_number(s)?),
                // A wildcard (`eth*`) is keyed otherwise: not compared.
                Field::Ifname if s.len() < 16 && !s.contains('*') && !s.contains('\0') => {
                    let mut b = [0u8; 16];
                    b[..s.len()].copy_from_slice(s.as_bytes());
                    let n = u128::from_be_bytes(b);
                    Some((n, n))
                }
                Field::Ifname => None,
            },
            _ => None,
        }
    }

    fn number(self, n: u128) -> Option<(u128, u128)> {
        let max = match self {
            Field::Service => u128::from(u16::MAX),
            Field::Proto => u128::from(u8::MAX),
            _ => return None,
        };
        (n <= max).then_some((n, n))
    }

    /// An address of this field's family, and its width in bits.
    fn addr(self, s: &str) -> Option<(u128, u32)> {
        match (self, s.parse::<IpAddr>().ok()?) {
            (Field::V4, IpAddr::V4(a)) => Some((u128::from(u32::from(a)), 32)),
            (Field::V6, IpAddr::V6(a)) => Some((u128::from(a), 128)),
            _ => None,
        }
    }
}

/// The protocol names nft prints for an `inet_proto` key (its own table
/// for these, /etc/protocols for the rest: a name not here is not compared).
fn proto_number(s: &str) -> Option<u128> {
    Some(match s {
        "icmp" => 1,
        "igmp" => 2,
        "tcp" => 6,
        "udp" => 17,
        "gre" => 47,
        "esp" => 50,
        "ah" => 51,
        "icmpv6" | "ipv6-icmp" => 58,
        "sctp" => 132,
        "udplite" => 136,
        n => n.parse().ok()?,
    })
}

/// How a set's elements are keyed: its fields, whether it holds
/// intervals, and whether it maps them to verdicts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    fields: Vec<Field>,
    interval: bool,
    verdicts: bool,
}

impl Layout {
    /// From a set's declaration (nft's JSON: `type`, `flags`, a map's
    /// `map`); None for value maps and key types this reader does not
    /// encode.
    pub fn of(set: &NftSet) -> Option<Layout> {
        let verdicts = match set.kind.as_str() {
            "set" => false,
            "map" if set.decl.get("map")? == "verdict" => true,
            _ => return None,
        };
        let fields = match set.decl.get("type")? {
            Value::String(t) => vec![Field::parse(t)?],
            Value::Array(ts) => ts
                .iter()
                .map(|t| t.as_str().and_then(Field::parse))
                .collect::<Option<Vec<_>>>()?,
            _ => return None,
        };
        let interval = match set.decl.get("flags") {
            None => false,
            Some(Value::Array(fs)) => fs.iter().any(|f| f == "interval"),
            Some(Value::String(f)) => f == "interval",
            Some(_) => return None,
        };
        Some(Layout {
            fields,
            interval,
            verdicts,
        })
    }

    fn concat(&self) -> bool {
        self.fields.len() > 1
    }

    /// One element as the kernel keys it: each field big-endian, padded
    /// to four bytes in a concatenation (nf_tables registers are 32 bits).
    pub fn encode(&self, e: &Elem) -> Option<Interval> {
        let (e, data) = match e {
            Elem::Mapping(kv) if self.verdicts => (&kv.0, Some(verdict_of(&kv.1)?)),
            _ if self.verdicts => return None,
            Elem::Mapping(_) => return None,
            e => (e, None),
        };
        let parts: Vec<&Elem> = match e {
            Elem::Concat(c) if self.concat() => c.concat.iter().collect(),
            Elem::Concat(_) => return None,
            _ if self.concat() => return None,
            other => vec![other],
        };
        if parts.len() != self.fields.len() {
            return None;
        }
        let (mut lo, mut hi) = (Vec::new(), Vec::new());
        for (f, part) in self.fields.iter().zip(parts) {
            let (a, b) = f.interval(part)?;
            for (out, x) in [(&mut lo, a), (&mut hi, b)] {
                out.extend_from_slice(&x.to_be_bytes()[16 - f.width()..]);
                if self.concat() {
                    out.resize(out.len().div_ceil(4) * 4, 0);
                }
            }
        }
        Some((lo, hi, data))
    }

    /// A desired set's elements as sorted intervals; None when one cannot
    /// be encoded.
    pub fn intervals_of(&self, set: &NftSet) -> Option<Vec<Interval>> {
        let mut v = set
            .elems
            .iter()
            .map(|e| self.encode(e))
            .collect::<Option<Vec<_>>>()?;
        v.sort_unstable();
        Some(v)
    }
}

/// A map element's verdict as the kernel's (linux/netfilter.h and
/// nf_tables.h: NF_DROP 0, NF_ACCEPT 1, NFT_CONTINUE -1, NFT_JUMP -3,
/// NFT_GOTO -4, NFT_RETURN -5).
fn verdict_of(e: &Elem) -> Option<Vec<u8>> {
    use super::nft::Verdict;
    let Elem::Verdict(v) = e else { return None };
    Some(match v {
        Verdict::Drop(()) => verdict_bytes(0, None),
        Verdict::Accept(()) => verdict_bytes(1, None),
        Verdict::Continue(()) => verdict_bytes(-1, None),
        Verdict::Jump(t) => verdict_bytes(-3, Some(t.target.as_bytes())),
        Verdict::Goto(t) => verdict_bytes(-4, Some(t.target.as_bytes())),
        Verdict::Return(()) => verdict_bytes(-5, None),
    })
}

/// Whether the kernel holds exactly `want`'s elements in set `want.name`
/// of netc's table; None when that cannot be told this way (see the
/// module's notes) and nft must list the set.
pub fn same_elements(elems: &[KernelElem], want: &NftSet) -> Option<bool> {
    let layout = Layout::of(want)?;
    let desired = layout.intervals_of(want)?;
    let live = intervals(elems, &layout)?;
    Some(live == desired)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ty: Value, interval: bool, elems: Value) -> NftSet {
        let mut decl = serde_json::json!({ "type": ty });
        if interval {
            decl["flags"] = serde_json::json!(["interval"]);
        }
        NftSet {
            kind: "set".into(),
            name: "s".into(),
            decl,
            decl_text: String::new(),
            elems: serde_json::from_value(elems).expect("elements"),
        }
    }

    fn k(key: &[u8], end: bool) -> KernelElem {
        KernelElem {
            key: key.to_vec(),
            key_end: None,
            interval_end: end,
            data: None,
            extras: false,
        }
    }

    #[test]
    fn rbtree_pairs_starts_with_ends_adjacent_and_open_ended() {
        let want = set(
            "ipv4_addr".into(),
            true,
            serde_json::json!([
                {"prefix": {"addr": "10.0.0.0", "len": 24}},
                {"range": ["10.0.1.0", "10.0.1.9"]},
                "10.0.2.7",
                {"prefix": {"addr": "255.0.0.0", "len": 8}}
            ]),
        );
        // As the kernel dumps them (any order): ends hold the next key.
        let live = vec![
            k(&[255, 0, 0, 0], false),
            k(&[10, 0, 2, 8], true),
            k(&[10, 0, 2, 7], false),
            k(&[10, 0, 1, 10], true),
            k(&[10, 0, 1, 0], false),
            k(&[10, 0, 1, 0], true),
            k(&[10, 0, 0, 0], false),
        ];
        assert_eq!(same_elements(&live, &want), Some(true));
        // One element gone, one extra, or the interval ends one later: differs.
        assert_eq!(same_elements(&live[1..], &want), Some(false));
        let mut wider = live.clone();
        wider[1] = k(&[10, 0, 2, 9], true);
        assert_eq!(same_elements(&wider, &want), Some(false));
        // An end without its start is not read as intervals.
        assert_eq!(same_elements(&live[..6], &want), None);
        // nft's end at key zero (nothing before the first interval) and
        // its "runs to the last key" flag in user data are bookkeeping; a
        // comment in user data is content this reader does not compare.
        let mut kept = live.clone();
        kept.push(k(&[0, 0, 0, 0], true));
        assert_eq!(same_elements(&kept, &want), Some(true));
        let mut open = kept.clone();
        open[0].extras = !only_flags(&[NFTNL_UDATA_SET_ELEM_FLAGS, 4, 0, 0, 0, 1]);
        assert_eq!(same_elements(&open, &want), Some(true));
        assert!(!only_flags(&[0, 3, b'h', b'i', 0]));
        assert!(!only_flags(&[NFTNL_UDATA_SET_ELEM_FLAGS, 4, 0]));
    }

    /// With a digest learnt from a dump that held the set, `holds` answers
    /// as the element comparison does for every dump, and the digest
    /// tells apart sets that differ in one element.
    #[test]
    fn a_kernel_digest_answers_as_the_elements_do() {
        let want = set(
            serde_json::json!(["ipv4_addr", "inet_service"]),
            true,
            serde_json::json!([
                {"concat": [{"prefix": {"addr": "10.1.0.0", "len": 16}}, 80]},
                {"concat": [{"prefix": {"addr": "10.2.0.0", "len": 24}}, {"range": [1, 9]}]}
            ]),
        );
        let e = |key: Vec<u8>, end: Vec<u8>| KernelElem {
            key,
            key_end: Some(end),
            interval_end: false,
            data: None,
            extras: false,
        };
        let held = vec![
            e(
                vec![10, 2, 0, 0, 0, 1, 0, 0],
                vec![10, 2, 0, 255, 0, 9, 0, 0],
            ),
            e(
                vec![10, 1, 0, 0, 0, 80, 0, 0],
                vec![10, 1, 255, 255, 0, 80, 0, 0],
            ),
        ];
        let mut other = held.clone();
        other[0].key_end = Some(vec![10, 2, 0, 255, 0, 10, 0, 0]);
        let dumps = |elems: &[KernelElem]| -> Dumps { vec![("s".to_string(), elems.to_vec())] };
        let d = held_digest(&dumps(&held), &want).expect("held");
        assert_eq!(Some(d.clone()), digest(&want));
        assert_eq!(held_digest(&dumps(&other), &want), None);
        for elems in [&held[..], &other[..], &held[..1], &[]] {
            let by_elements = same_elements(elems, &want) == Some(true);
            assert_eq!(holds(&dumps(elems), &want, Some(&d)), by_elements);
            assert_eq!(holds(&dumps(elems), &want, None), by_elements);
        }
        // Another set's name is not this set.
        let elsewhere: Dumps = vec![("t".to_string(), held.clone())];
        assert!(!holds(&elsewhere, &want, Some(&d)));
        // One element different: another digest.
        let mut fewer = want.clone();
        fewer.elems.make_mut().pop();
        assert_ne!(digest(&fewer), Some(d));
    }

    #[test]
    fn concatenations_pad_each_field_to_four_bytes() {
        let want = set(
            serde_json::json!(["ipv4_addr", "inet_service", "inet_proto"]),
            true,
            serde_json::json!([
                {"concat": [{"prefix": {"addr": "10.1.0.0", "len": 16}}, {"range": [80, 90]}, "tcp"]}
            ]),
        );
        let live = vec![KernelElem {
            key: vec![10, 1, 0, 0, 0, 80, 0, 0, 6, 0, 0, 0],
            key_end: Some(vec![10, 1, 255, 255, 0, 90, 0, 0, 6, 0, 0, 0]),
            interval_end: false,
            data: None,
            extras: false,
        }];
        assert_eq!(same_elements(&live, &want), Some(true));
        let mut other = live.clone();
        other[0].key_end = Some(vec![10, 1, 255, 255, 0, 91, 0, 0, 6, 0, 0, 0]);
        assert_eq!(same_elements(&other, &want), Some(false));
        let mut commented = live;
        commented[0].extras = true;
        assert_eq!(same_elements(&commented, &want), None);
    }

    #[test]
    fn verdict_maps_compare_keys_and_verdicts() {
        let mut want = set(
            "ifname".into(),
            false,
            serde_json::json!([["eth0", {"goto": {"target": "hi-eth0"}}], ["lo", {"accept": null}]]),
        );
        want.kind = "map".into();
        want.decl["map"] = "verdict".into();
        let name = |n: &str| {
            let mut b = vec![0u8; 16];
            b[..n.len()].copy_from_slice(n.as_bytes());
            b
        };
        // As the kernel sends a verdict: nested code and chain.
        let mut inner = Vec::new();
        put_attr(&mut inner, NFTA_VERDICT_CODE, &(-4i32).to_be_bytes());
        put_attr(&mut inner, NFTA_VERDICT_CHAIN, b"hi-eth0\0");
        let mut data = Vec::new();
        put_attr(&mut data, NFTA_DATA_VERDICT | 0x8000, &inner);
        let goto = verdict(&data).expect("parses").expect("a verdict");
        let mut live = vec![k(&name("eth0"), false), k(&name("lo"), false)];
        live[0].data = Some(goto);
        live[1].data = Some(verdict_bytes(1, None));
        assert_eq!(same_elements(&live, &want), Some(true));
        // Another chain, or accept turned drop: differs.
        live[0].data = Some(verdict_bytes(-4, Some(b"hi-eth1")));
        assert_eq!(same_elements(&live, &want), Some(false));
        live[0].data = Some(verdict_bytes(-4, Some(b"hi-eth0")));
        live[1].data = Some(verdict_bytes(0, None));
        assert_eq!(same_elements(&live, &want), Some(false));
        // A value map is not compared.
        want.decl["map"] = "ipv4_addr".into();
        assert_eq!(same_elements(&live, &want), None);
    }

    #[test]
    fn what_is_not_encoded_is_not_compared() {
        let names = set("ifname".into(), false, serde_json::json!(["eth*"]));
        assert_eq!(same_elements(&[], &names), None);
        let unknown_proto = set("inet_proto".into(), false, serde_json::json!(["xtp"]));
        assert_eq!(same_elements(&[], &unknown_proto), None);
    }

    #[test]
    fn replies_are_walked_to_the_end_of_the_dump() {
        // NEWSETELEM with one element (key 10.0.0.1), then DONE.
        let mut elem = Vec::new();
        let mut key = Vec::new();
        put_attr(&mut key, NFTA_DATA_VALUE, &[10, 0, 0, 1]);
        put_attr(&mut elem, NFTA_SET_ELEM_KEY | 0x8000, &key);
        let mut list = Vec::new();
        put_attr(&mut list, NFTA_LIST_ELEM | 0x8000, &elem);
        let mut msg = vec![0u8; 16];
        msg.extend_from_slice(&[NFPROTO_INET, 0, 0, 0]);
        put_attr(&mut msg, NFTA_SET_ELEM_LIST_ELEMENTS | 0x8000, &list);
        let len = msg.len() as u32;
        msg[0..4].copy_from_slice(&len.to_ne_bytes());
        msg[4..6]
            .copy_from_slice(&((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM).to_ne_bytes());
        let mut done = vec![0u8; 20];
        done[0..4].copy_from_slice(&20u32.to_ne_bytes());
        done[4..6].copy_from_slice(&NLMSG_DONE.to_ne_bytes());
        let mut out = Vec::new();
        assert!(!read_messages(&msg, &mut out).expect("parses"));
        assert_eq!(out, vec![k(&[10, 0, 0, 1], false)]);
        assert!(read_messages(&done, &mut out).expect("parses"));
        // Truncated input is an error, never a panic.
        assert!(read_messages(&msg[..msg.len() - 3], &mut Vec::new()).is_err());
    }

    /// Whatever bytes arrive — random, or a valid reply with bytes
    /// changed or cut — the reader returns, without panicking.
    #[test]
    fn any_reply_is_read_without_panicking() {
        let mut valid = vec![0u8; 16];
        valid.extend_from_slice(&[NFPROTO_INET, 0, 0, 0]);
        let mut key = Vec::new();
        put_attr(&mut key, NFTA_DATA_VALUE, &[10, 0, 0, 1, 0, 80, 0, 0]);
        let mut verdict = Vec::new();
        put_attr(&mut verdict, NFTA_VERDICT_CODE, &(-3i32).to_be_bytes());
        put_attr(&mut verdict, NFTA_VERDICT_CHAIN, b"c\0");
        let mut data = Vec::new();
        put_attr(&mut data, NFTA_DATA_VERDICT | 0x8000, &verdict);
        let mut elem = Vec::new();
        put_attr(&mut elem, NFTA_SET_ELEM_KEY | 0x8000, &key);
        put_attr(&mut elem, NFTA_SET_ELEM_KEY_END | 0x8000, &key);
        put_attr(&mut elem, NFTA_SET_ELEM_DATA | 0x8000, &data);
        put_attr(&mut elem, NFTA_SET_ELEM_FLAGS, &1u32.to_be_bytes());
        put_attr(&mut elem, NFTA_SET_ELEM_USERDATA, &[1, 4, 0, 0, 0, 1]);
        let mut list = Vec::new();
        put_attr(&mut list, NFTA_LIST_ELEM | 0x8000, &elem);
        put_attr(&mut valid, NFTA_SET_ELEM_LIST_ELEMENTS | 0x8000, &list);
        let len = valid.len() as u32;
        valid[0..4].copy_from_slice(&len.to_ne_bytes());
        valid[4..6]
            .copy_from_slice(&((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM).to_ne_bytes());
        let mut out = Vec::new();
        assert!(!read_messages(&valid, &mut out).expect("valid"));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].data, Some(verdict_bytes(-3, Some(b"c"))));
        assert!(out[0].interval_end && !out[0].extras);
        // A small deterministic generator (xorshift): no test dependency.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..20_000 {
            let mut b = valid.clone();
            for _ in 0..(next() % 4 + 1) {
                let i = (next() as usize) % b.len();
                b[i] = next() as u8;
            }
            b.truncate((next() as usize) % (b.len() + 1));
            let mut out = Vec::new();
            let _ = read_messages(&b, &mut out);
            let _ = intervals(
                &out,
                &Layout {
                    fields: vec![Field::V4, Field::Service],
                    interval: true,
                    verdicts: false,
                },
            );
            let random: Vec<u8> = (0..next() % 200).map(|_| next() as u8).collect();
            let _ = read_messages(&random, &mut Vec::new());
        }
    }
}
