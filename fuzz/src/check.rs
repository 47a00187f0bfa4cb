//! In-process grammar checks of emitted artifacts: a faithful subset of what
//! the consuming tools accept, fast enough to run on every fuzz input.
//! `tools.rs` runs the real tools on a sample.
//!
//! What is checked, per artifact (each `assert!` names the artifact and line):
//! - all: no control character but `\n` and `\t`; non-empty files end in a
//!   newline; outside `#` comment lines only ASCII.
//! - quoted strings (`"..."`) close on their own line and hold no `\`, and
//!   for nft no `$` (nft strings have no escapes; `$` expands variables).
//! - nftables: `{`/`}` balance outside strings and comments; chain, set and
//!   map names (definitions, `jump`, `goto`, `@ref`) match `[a-z][a-z0-9_-]*`.
//! - iptables: only `*table`, `:chain - [0:0]`, `-A chain ...`, `COMMIT`,
//!   `#` comments and blank lines; every declared/appended chain is netc's
//!   (`netc-` prefix, at most 28 bytes, `[A-Za-z0-9_-]`); `-j`/`-g` go to a
//!   netc chain or an upper-case built-in target.
//! - BIRD: braces balance outside strings and comments; `protocol bgp NAME`
//!   is a BIRD symbol.
//! - ip/bridge batch files: non-comment lines use only `[A-Za-z0-9 ./:_-]`
//!   (no quotes, `;`, `#` or `\` that `ip -batch`'s tokenizer would treat
//!   specially).

use netc_targets::ArtifactKind;

fn fail(kind: ArtifactKind, n: usize, line: &str, why: &str) -> ! {
    panic!("{kind}: line {}: {why}: {line:?}", n + 1)
}

fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

/// The part of `line` before a `#` that is outside a string, and the
/// strings it holds. Panics on an unterminated string.
fn split_strings(kind: ArtifactKind, n: usize, line: &str) -> (String, Vec<String>) {
    let mut code = String::new();
    let mut strings = Vec::new();
    let mut cur: Option<String> = None;
    for c in line.chars() {
        match (&mut cur, c) {
            (None, '"') => cur = Some(String::new()),
            (None, '#') => break,
            (None, c) => code.push(c),
            (Some(s), '"') => {
                strings.push(std::mem::take(s));
                cur = None;
                code.push_str("\"\"");
            }
            (Some(s), c) => s.push(c),
        }
    }
    if cur.is_some() {
        fail(kind, n, line, "unterminated string");
    }
    (code, strings)
}

fn nft_ident(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(b'a'..=b'z'))
        && b.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-')
}

fn ipt_chain(s: &str) -> bool {
    s.starts_with("netc-")
        && s.len() <= 28
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

fn ipt_builtin_target(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_uppercase())
}

fn braces(kind: ArtifactKind, n: usize, line: &str, code: &str, depth: &mut i64) {
    for c in code.chars() {
        match c {
            '{' => *depth += 1,
            '}' => {
                *depth -= 1;
                if *depth < 0 {
                    fail(kind, n, line, "unbalanced `}`");
                }
            }
            _ => {}
        }
    }
}

/// Check one artifact's text. Panics (a fuzz finding) on a violation.
pub fn artifact(kind: ArtifactKind, text: &str) {
    if !text.is_empty() && !text.ends_with('\n') {
        panic!("{kind}: does not end in a newline");
    }
    let mut depth = 0i64;
    for (n, line) in text.lines().enumerate() {
        if let Some(c) = line.chars().find(|c| c.is_control() && *c != '\t') {
            fail(kind, n, line, &format!("control character {c:?}"));
        }
        let comment = is_comment(line);
        if !comment && !line.is_ascii() {
            fail(kind, n, line, "non-ASCII outside a comment");
        }
        if comment {
            continue;
        }
        let (code, strings) = split_strings(kind, n, line);
        for s in &strings {
            if s.contains('\\') {
                fail(kind, n, line, "backslash in a string");
            }
            if kind == ArtifactKind::Nftables && s.contains('$') {
                fail(kind, n, line, "`$` in an nft string");
            }
        }
        match kind {
            ArtifactKind::Nftables => {
                braces(kind, n, line, &code, &mut depth);
                nft_line(kind, n, line, &code);
            }
            ArtifactKind::Bird => {
                braces(kind, n, line, &code, &mut depth);
                let t: Vec<&str> = code.split_whitespace().collect();
                if t.len() >= 3 && t[0] == "protocol" && t[1] == "bgp" {
                    let name = t[2];
                    let ok = name.starts_with(|c: char| c.is_ascii_alphabetic())
                        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                    if !ok {
                        fail(kind, n, line, "BGP protocol name is not a BIRD symbol");
                    }
                }
            }
            ArtifactKind::Iptables | ArtifactKind::Ip6tables => ipt_line(kind, n, line, &code),
            ArtifactKind::Tunnels | ArtifactKind::Fdb | ArtifactKind::Routes => {
                if !line.bytes().all(|b| {
                    b.is_ascii_alphanumeric()
                        || matches!(b, b' ' | b'.' | b'/' | b':' | b'_' | b'-')
                }) {
                    fail(
                        kind,
                        n,
                        line,
                        "character outside [A-Za-z0-9 ./:_-] in a batch command",
                    );
                }
            }
        }
    }
    if depth != 0 {
        panic!("{kind}: unbalanced braces at end of file ({depth})");
    }
}

fn nft_line(kind: ArtifactKind, n: usize, line: &str, code: &str) {
    let toks: Vec<&str> = code.split_whitespace().collect();
    let name_ok = |t: &str| {
        let t = t.trim_end_matches([',', '{', ';']);
        nft_ident(t)
    };
    // Definitions: `set X {`, `map X {`, `chain X {` at the start of a line.
    if toks.len() >= 2 && matches!(toks[0], "set" | "map" | "chain") && !name_ok(toks[1]) {
        fail(kind, n, line, "bad nft name in a definition");
    }
    for w in toks.windows(2) {
        if matches!(w[0], "jump" | "goto") && !name_ok(w[1]) {
            fail(kind, n, line, "bad nft chain name after jump/goto");
        }
    }
    for t in &toks {
        if let Some(r) = t.strip_prefix('@') {
            if !name_ok(r) {
                fail(kind, n, line, "bad nft set/map reference");
            }
        }
    }
}

fn ipt_line(kind: ArtifactKind, n: usize, line: &str, code: &str) {
    let toks: Vec<&str> = code.split_whitespace().collect();
    let Some(first) = toks.first() else { return };
    match *first {
        "COMMIT" if toks.len() == 1 => {}
        t if t.starts_with('*') => {
            if !matches!(t, "*raw" | "*mangle" | "*filter" | "*nat") || toks.len() != 1 {
                fail(kind, n, line, "bad table line");
            }
        }
        t if t.starts_with(':') => {
            if !ipt_chain(&t[1..]) || toks[1..] != ["-", "[0:0]"] {
                fail(kind, n, line, "bad chain declaration");
            }
        }
        "-A" => {
            if toks.len() < 2 || !ipt_chain(toks[1]) {
                fail(kind, n, line, "rule appended to a chain that is not netc's");
            }
            for w in toks.windows(2) {
                if matches!(w[0], "-j" | "-g") && !(ipt_chain(w[1]) || ipt_builtin_target(w[1])) {
                    fail(kind, n, line, "bad jump target");
                }
            }
        }
        _ => fail(kind, n, line, "unexpected iptables-restore line"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_golden_artifacts() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../golden");
        let mut seen = 0;
        for case in std::fs::read_dir(root).unwrap() {
            let exp = case.unwrap().path().join("expected");
            for node in std::fs::read_dir(exp).unwrap() {
                let node = node.unwrap().path();
                for kind in ArtifactKind::ALL {
                    let p = node.join(kind.file_name());
                    if let Ok(text) = std::fs::read_to_string(&p) {
                        artifact(kind, &text);
                        seen += 1;
                    }
                }
            }
        }
        assert!(seen > 50, "{seen}");
    }

    #[test]
    #[should_panic(expected = "unterminated string")]
    fn rejects_a_broken_string() {
        artifact(ArtifactKind::Nftables, "\tcomment \"a\n");
    }

    #[test]
    #[should_panic(expected = "not netc's")]
    fn rejects_a_foreign_chain() {
        artifact(
            ArtifactKind::Iptables,
            "*filter\n-A INPUT -j ACCEPT\nCOMMIT\n",
        );
    }
}
