//! CI-native forms of diagnostics: GitHub Actions workflow annotations and
//! SARIF 2.1.0 (code scanning, IDEs, any SARIF viewer).
//!
//! Positions are 1-based; columns count characters (SARIF `columnKind`
//! `unicodeCodePoints`). SARIF's `endColumn` is exclusive (the column just
//! after the region); GitHub's `endColumn` is the last column of the region.

use super::{codes, Diagnostic, Location, Severity};
use crate::source::SourceMap;
use serde_json::{json, Value};

/// Official location of the SARIF 2.1.0 schema (the errata01 OASIS standard).
pub const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// One GitHub Actions workflow command per diagnostic:
/// `::error file=F,line=L,col=C,endLine=EL,endColumn=EC,title=CODE::message`.
/// The message carries the resource and the notes (as further lines).
pub fn github_annotations(diags: &[Diagnostic], sources: &SourceMap) -> String {
    let mut out = String::new();
    for d in diags {
        let cmd = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let mut props = Vec::new();
        if let Some(l) = d.location(sources) {
            props.push(format!("file={}", escape_property(l.file)));
            props.push(format!("line={}", l.line));
            props.push(format!("col={}", l.column));
            let (end_line, end_col) = inclusive_end(&l);
            props.push(format!("endLine={end_line}"));
            props.push(format!("endColumn={end_col}"));
        }
        props.push(format!("title={}", escape_property(d.code)));
        let mut text = d.headline();
        for n in &d.notes {
            text.push('\n');
            text.push_str(n);
        }
        out.push_str(&format!(
            "::{cmd} {}::{}\n",
            props.join(","),
            escape_data(&text)
        ));
    }
    out
}

/// GitHub wants the last column of the region, not the one after it.
fn inclusive_end(l: &Location) -> (u32, u32) {
    if l.end_line > l.line && l.end_column == 1 {
        // The region ends with a newline: it ends on the line before.
        (l.end_line - 1, l.end_column.max(1))
    } else if l.end_line == l.line {
        (l.end_line, l.end_column.saturating_sub(1).max(l.column))
    } else {
        (l.end_line, l.end_column.saturating_sub(1).max(1))
    }
}

/// Workflow command data: `%`, CR and LF are escaped.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Workflow command properties: also `:` and `,`.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// A SARIF 2.1.0 log with one run: the tool (rules = every diagnostic code
/// netc has, so a viewer can show the explanation of each) and one result per
/// diagnostic, with its region and related locations.
pub fn sarif(diags: &[Diagnostic], sources: &SourceMap, tool_version: &str) -> Value {
    let rules: Vec<Value> = codes::ALL
        .iter()
        .map(|c| {
            let level = if c.code.starts_with('W') {
                "warning"
            } else if c.code.starts_with('I') {
                "note"
            } else {
                "error"
            };
            json!({
                "id": c.code,
                "name": rule_name(c.title),
                "shortDescription": { "text": c.title },
                "fullDescription": { "text": c.explain },
                "help": { "text": format!("{}\n\nRun `netc explain {}` for details.", c.explain, c.code) },
                "defaultConfiguration": { "level": level },
            })
        })
        .collect();
    let results: Vec<Value> = diags
        .iter()
        .map(|d| {
            let mut text = d.headline();
            for n in &d.notes {
                text.push('\n');
                text.push_str(n);
            }
            let mut r = json!({
                "ruleId": d.code,
                "level": match d.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                    Severity::Info => "note",
                },
                "message": { "text": text },
            });
            if let Some(i) = codes::ALL.iter().position(|c| c.code == d.code) {
                r["ruleIndex"] = json!(i);
            }
            if let Some(l) = d.location(sources) {
                let mut loc = json!({ "physicalLocation": physical(&l) });
                if let Some(label) = &d.label {
                    loc["message"] = json!({ "text": label });
                }
                if let Some(res) = &d.resource {
                    loc["logicalLocations"] =
                        json!([{ "fullyQualifiedName": res, "kind": "resource" }]);
                }
                r["locations"] = json!([loc]);
            }
            if !d.related.is_empty() {
                let related: Vec<Value> = d
                    .related
                    .iter()
                    .enumerate()
                    .map(|(i, (s, m))| {
                        json!({
                            "id": i,
                            "physicalLocation": physical(&Location::of(s, sources)),
                            "message": { "text": m },
                        })
                    })
                    .collect();
                r["relatedLocations"] = json!(related);
            }
            r
        })
        .collect();
    json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "netc",
                "version": tool_version,
                "semanticVersion": tool_version,
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

fn physical(l: &Location) -> Value {
    json!({
        "artifactLocation": { "uri": path_to_uri(l.file) },
        "region": {
            "startLine": l.line,
            "startColumn": l.column,
            "endLine": l.end_line,
            "endColumn": l.end_column,
        },
    })
}

/// `invalid CIDR` → `InvalidCidr`: SARIF's rule name is an identifier.
fn rule_name(title: &str) -> String {
    title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut cs = w.chars();
            match cs.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + &cs.as_str().to_ascii_lowercase(),
                None => String::new(),
            }
        })
        .collect()
}

/// A file path as a URI reference: relative paths stay relative (GitHub
/// resolves them against the repository root), absolute ones become
/// `file://` URIs; everything outside RFC 3986's unreserved set and `/` is
/// percent-encoded.
pub fn path_to_uri(path: &str) -> String {
    let path = path.strip_prefix("./").unwrap_or(path);
    let mut out = String::new();
    if path.starts_with('/') {
        out.push_str("file://");
    }
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Span;

    fn sample() -> (SourceMap, Vec<Diagnostic>) {
        let mut sm = SourceMap::new();
        let f = sm.add("dir/a b.yaml", "kind: IPPool\nspec:\n  cidr: 10.0.0.1/16\n");
        let span = Span {
            file: f,
            offset: 27,
            len: 11,
            line: 3,
            col: 9,
        };
        let d = Diagnostic::error(codes::BAD_CIDR, "host bits set, 50%: a, b")
            .at(span)
            .resource("IPPool p")
            .note("use 10.0.0.0/16")
            .related(span.with_len(4), "here");
        (sm, vec![d])
    }

    #[test]
    fn github_lines_are_escaped_and_positioned() {
        let (sm, d) = sample();
        let out = github_annotations(&d, &sm);
        assert_eq!(
            out,
            "::error file=dir/a b.yaml,line=3,col=9,endLine=3,endColumn=19,title=E0301::IPPool p: host bits set, 50%25: a, b%0Ause 10.0.0.0/16\n"
        );
    }

    #[test]
    fn sarif_has_rules_and_regions() {
        let (sm, d) = sample();
        let v = sarif(&d, &sm, "1.2.3");
        let r = &v["runs"][0]["results"][0];
        assert_eq!(r["ruleId"], "E0301");
        let region = &r["locations"][0]["physicalLocation"]["region"];
        assert_eq!(
            (
                &region["startLine"],
                &region["startColumn"],
                &region["endLine"],
                &region["endColumn"]
            ),
            (&json!(3), &json!(9), &json!(3), &json!(20))
        );
        assert_eq!(
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "dir/a%20b.yaml"
        );
        let i = r["ruleIndex"].as_u64().unwrap_or(u64::MAX) as usize;
        assert_eq!(v["runs"][0]["tool"]["driver"]["rules"][i]["id"], "E0301");
        assert_eq!(r["relatedLocations"][0]["message"]["text"], "here");
    }

    #[test]
    fn uris() {
        assert_eq!(path_to_uri("./x/y.yaml"), "x/y.yaml");
        assert_eq!(path_to_uri("/tmp/é.yaml"), "file:///tmp/%C3%A9.yaml");
    }
}
