//! Diagnostics: what went wrong, where, and what is allowed instead.
//!
//! A [`Diagnostic`] carries a stable code (see [`codes`]), a severity, the
//! resource it concerns (`IPPool pool-a`) and a primary [`Span`]. It renders
//! rustc-style through `codespan-reporting` (chosen over miette because it is
//! a small, dependency-light renderer that takes our own file database and
//! produces plain text for tests and colour for terminals), or as JSON for CI.

pub mod ci;
pub mod codes;

use crate::source::{FileId, SourceFile, SourceMap, Span};
use codespan_reporting::diagnostic as cs;
use codespan_reporting::term;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    /// A note that needs no action (e.g. "this resource is read but not compiled").
    Info,
}

/// One problem found in the desired state.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable code, e.g. `E0301`; documented in docs/diagnostics.md and by `netc explain`.
    pub code: &'static str,
    pub message: String,
    /// Where the problem is. `None` only for problems with no location (a missing file).
    pub span: Option<Span>,
    /// Short text printed under the caret.
    pub label: Option<String>,
    /// The resource concerned, as `Kind name`.
    pub resource: Option<String>,
    /// Further lines: what is allowed, how to fix it.
    pub notes: Vec<String>,
    /// Other places that take part (e.g. the first of two duplicates).
    pub related: Vec<(Span, String)>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Severity::Error, code, message)
    }
    pub fn warning(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Severity::Warning, code, message)
    }
    pub fn info(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Severity::Info, code, message)
    }
    fn new(severity: Severity, code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity,
            code,
            message: clip_words(message.into()),
            span: None,
            label: None,
            resource: None,
            notes: Vec::new(),
            related: Vec::new(),
        }
    }
    pub fn at(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }
    pub fn at_opt(mut self, span: Option<Span>) -> Self {
        self.span = span;
        self
    }
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(clip_words(label.into()));
        self
    }
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(clip_words(resource.into()));
        self
    }
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(clip_words(note.into()));
        self
    }
    pub fn related(mut self, span: Span, label: impl Into<String>) -> Self {
        self.related.push((span, clip_words(label.into())));
        self
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Sort key giving a stable, reader-friendly order: by file, line, column, code.
    fn sort_key(&self) -> (u32, u32, u32, &'static str, String) {
        match self.span {
            Some(s) => (s.file.0, s.line, s.col, self.code, self.message.clone()),
            None => (u32::MAX, 0, 0, self.code, self.message.clone()),
        }
    }
}

/// A set of diagnostics collected over a run.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }
    pub fn extend(&mut self, ds: impl IntoIterator<Item = Diagnostic>) {
        self.items.extend(ds);
    }
    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }
    pub fn warning_count(&self) -> usize {
        self.items
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .count()
    }
    pub fn info_count(&self) -> usize {
        self.items
            .iter()
            .filter(|d| d.severity == Severity::Info)
            .count()
    }
    pub fn has_errors(&self) -> bool {
        self.error_count() > 0
    }
    /// Stable order and no exact duplicates (the same problem reached twice).
    pub fn sort(&mut self) {
        self.items.sort_by_key(|a| a.sort_key());
        self.items.dedup();
    }
}

/// Version of the `--format json` document. Bumped only when a field changes
/// meaning or disappears; new fields may appear without a bump.
pub const JSON_FORMAT_VERSION: u32 = 1;

/// A place in an input file: start and end (end exclusive: the line and
/// column just after the last character), all 1-based, columns in characters.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Location<'a> {
    pub file: &'a str,
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
}

impl<'a> Location<'a> {
    pub fn of(span: &Span, sources: &'a SourceMap) -> Location<'a> {
        let f = sources.get(span.file);
        let (end_line, end_column) = f.span_end(span);
        Location {
            file: f.name.as_str(),
            line: span.line,
            column: span.col,
            end_line,
            end_column,
        }
    }
}

/// A secondary place of a diagnostic in JSON: where, and what it is.
#[derive(Serialize)]
pub struct JsonRelated<'a> {
    #[serde(flatten)]
    pub location: Location<'a>,
    pub message: &'a str,
}

/// JSON form of a diagnostic (`--format json`); field names are a stable interface.
#[derive(Serialize)]
pub struct JsonDiagnostic<'a> {
    pub file: Option<&'a str>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub end_line: Option<u32>,
    pub end_column: Option<u32>,
    pub severity: Severity,
    pub code: &'a str,
    pub message: &'a str,
    pub label: Option<&'a str>,
    pub resource: Option<&'a str>,
    pub notes: &'a [String],
    pub related: Vec<JsonRelated<'a>>,
}

impl Diagnostic {
    /// The primary location, with its end.
    pub fn location<'a>(&self, sources: &'a SourceMap) -> Option<Location<'a>> {
        self.span.as_ref().map(|s| Location::of(s, sources))
    }

    pub fn to_json<'a>(&'a self, sources: &'a SourceMap) -> JsonDiagnostic<'a> {
        let loc = self.location(sources);
        JsonDiagnostic {
            file: loc.as_ref().map(|l| l.file),
            line: loc.as_ref().map(|l| l.line),
            column: loc.as_ref().map(|l| l.column),
            end_line: loc.as_ref().map(|l| l.end_line),
            end_column: loc.as_ref().map(|l| l.end_column),
            severity: self.severity,
            code: self.code,
            message: &self.message,
            label: self.label.as_deref(),
            resource: self.resource.as_deref(),
            notes: &self.notes,
            related: self
                .related
                .iter()
                .map(|(s, m)| JsonRelated {
                    location: Location::of(s, sources),
                    message: m,
                })
                .collect(),
        }
    }

    /// One line for people: `Kind name: message` (the resource only when the
    /// message does not already start with it).
    pub fn headline(&self) -> String {
        match &self.resource {
            Some(r) if !self.message.starts_with(r.as_str()) => format!("{r}: {}", self.message),
            _ => self.message.clone(),
        }
    }
}

/// Longest run of non-blank characters a diagnostic's text shows whole.
const MAX_WORD: usize = 120;
/// Longest source line shown under a diagnostic; longer lines are named
/// by position only (a 50 MB value must not be echoed to the terminal).
const MAX_SNIPPET_LINE: usize = 1024;

/// Shorten every run of non-blank characters longer than [`MAX_WORD`]:
/// diagnostics quote values from the input, and an input value can be
/// megabytes long. Keeps the start and says how long the value was.
fn clip_words(text: String) -> String {
    if text.len() <= MAX_WORD || !text.split_whitespace().any(|w| w.len() > MAX_WORD) {
        return text;
    }
    let mut out = String::with_capacity(MAX_WORD * 4);
    let mut rest = text.as_str();
    while !rest.is_empty() {
        let blank = rest.len() - rest.trim_start().len();
        out.push_str(&rest[..blank]);
        rest = &rest[blank..];
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let word = &rest[..end];
        if word.len() > MAX_WORD {
            let mut cut = 60;
            while !word.is_char_boundary(cut) {
                cut -= 1;
            }
            out.push_str(&word[..cut]);
            out.push_str(&format!("…({} bytes)", word.len()));
        } else {
            out.push_str(word);
        }
        rest = &rest[end..];
    }
    out
}

/// Renders diagnostics rustc-style, reading the sources where they are.
pub struct Renderer<'a> {
    files: Files<'a>,
    config: term::Config,
}

/// The sources as codespan-reporting reads them: borrowed, with the line
/// starts each [`SourceFile`] keeps. (Its own `SimpleFiles` copies every
/// file and indexes its lines again: 4–5 ms for the 1.4 MiB of a
/// 10,000-rule input, paid on every plan that has a warning to show.)
struct Files<'a>(&'a SourceMap);

impl<'a> Files<'a> {
    fn get(&self, id: usize) -> Result<&'a SourceFile, codespan_reporting::files::Error> {
        u32::try_from(id)
            .ok()
            .and_then(|i| self.0.file(FileId(i)))
            .ok_or(codespan_reporting::files::Error::FileMissing)
    }
}

impl<'a> codespan_reporting::files::Files<'a> for Files<'a> {
    type FileId = usize;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: usize) -> Result<&'a str, codespan_reporting::files::Error> {
        Ok(self.get(id)?.name.as_str())
    }

    fn source(&'a self, id: usize) -> Result<&'a str, codespan_reporting::files::Error> {
        Ok(self.get(id)?.text.as_str())
    }

    fn line_index(
        &'a self,
        id: usize,
        byte_index: usize,
    ) -> Result<usize, codespan_reporting::files::Error> {
        Ok(self.get(id)?.line_index(byte_index))
    }

    fn line_range(
        &'a self,
        id: usize,
        line_index: usize,
    ) -> Result<std::ops::Range<usize>, codespan_reporting::files::Error> {
        let f = self.get(id)?;
        f.line_range(line_index)
            .ok_or(codespan_reporting::files::Error::LineTooLarge {
                given: line_index,
                max: f.line_index(f.text.len()),
            })
    }
}

impl<'a> Renderer<'a> {
    pub fn new(sources: &'a SourceMap) -> Renderer<'a> {
        Renderer {
            files: Files(sources),
            config: term::Config::default(),
        }
    }

    /// Render one diagnostic as plain text (no colour).
    pub fn render(&self, d: &Diagnostic) -> String {
        let cs = self.to_codespan(d);
        term::emit_into_string(&self.config, &self.files, &cs).unwrap_or_else(|_| {
            // Rendering can only fail for a span outside its file; fall back
            // to the one-line form rather than lose the diagnostic.
            format!("{}[{}]: {}\n", sev_word(d.severity), d.code, d.message)
        })
    }

    /// Render with ANSI colour to a terminal stream.
    pub fn render_color(
        &self,
        d: &Diagnostic,
        out: &mut dyn term::WriteStyle,
    ) -> Result<(), codespan_reporting::files::Error> {
        let cs = self.to_codespan(d);
        term::emit_to_write_style(out, &self.config, &self.files, &cs)
    }

    fn to_codespan(&self, d: &Diagnostic) -> cs::Diagnostic<usize> {
        let mut out = match d.severity {
            Severity::Error => cs::Diagnostic::error(),
            Severity::Warning => cs::Diagnostic::warning(),
            Severity::Info => cs::Diagnostic::note(),
        }
        .with_code(d.code);
        out = out.with_message(d.headline());
        let mut labels = Vec::new();
        let mut notes = Vec::new();
        if let Some(s) = d.span.filter(|s| self.line_too_long(s)) {
            // No snippet: say where, without echoing the line.
            notes.push(format!(
                "at {}:{}:{} (line longer than {MAX_SNIPPET_LINE} bytes, not shown)",
                self.files
                    .get(s.file.0 as usize)
                    .map_or("?", |f| f.name.as_str()),
                s.line,
                s.col
            ));
        } else if let Some(s) = d.span {
            let end = s.offset + s.len.max(1);
            let mut l = cs::Label::primary(s.file.0 as usize, s.offset..end);
            if let Some(text) = &d.label {
                l = l.with_message(text.clone());
            }
            labels.push(l);
        }
        for (s, text) in &d.related {
            if self.line_too_long(s) {
                notes.push(format!("{text} (line {}, not shown)", s.line));
                continue;
            }
            labels.push(
                cs::Label::secondary(s.file.0 as usize, s.offset..s.offset + s.len.max(1))
                    .with_message(text.clone()),
            );
        }
        notes.extend(d.notes.iter().cloned());
        out.with_labels(labels).with_notes(notes)
    }

    /// Whether the source line holding `s` is too long to show.
    fn line_too_long(&self, s: &Span) -> bool {
        let Ok(f) = self.files.get(s.file.0 as usize) else {
            return false;
        };
        let text = f.text.as_bytes();
        let at = s.offset.min(text.len());
        let start = text[..at]
            .iter()
            .rev()
            .take(MAX_SNIPPET_LINE + 1)
            .position(|&b| b == b'\n')
            .unwrap_or(at.min(MAX_SNIPPET_LINE + 1));
        let end = text[at..]
            .iter()
            .take(MAX_SNIPPET_LINE + 1)
            .position(|&b| b == b'\n')
            .unwrap_or((text.len() - at).min(MAX_SNIPPET_LINE + 1));
        start + end > MAX_SNIPPET_LINE
    }
}

fn sev_word(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// Colour output stream for terminals (re-exported so the binary needs no
/// direct termcolor dependency).
pub use term::termcolor::StandardStream;
pub struct ColorStream;

impl ColorStream {
    pub fn stderr() -> term::termcolor::StandardStream {
        term::termcolor::StandardStream::stderr(term::termcolor::ColorChoice::Auto)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceMap;

    /// The borrowed sources answer codespan-reporting exactly as its own
    /// `SimpleFiles` (which rendering used before) does, at every byte and
    /// line of texts with CRLF, blank lines, no final newline and
    /// multi-byte characters, and refuse the same lines and files.
    #[test]
    fn borrowed_sources_read_as_simple_files_do() {
        use codespan_reporting::files::{Files as _, SimpleFiles};
        let texts = [
            "",
            "\n",
            "a",
            "foo\nbar\r\n\nbaz",
            "kind: Node\nmetadata:\n  name: ünï\n",
            "x: 1\r\n\r\n\r\n",
        ];
        let mut sources = SourceMap::new();
        let mut simple = SimpleFiles::new();
        for (i, t) in texts.iter().enumerate() {
            sources.add(format!("f{i}.yaml"), *t);
            simple.add(format!("f{i}.yaml"), t.to_string());
        }
        let ours = Files(&sources);
        for (id, t) in texts.iter().enumerate() {
            assert_eq!(ours.name(id).unwrap(), simple.name(id).unwrap());
            assert_eq!(ours.source(id).unwrap(), simple.source(id).unwrap());
            for b in 0..=t.len() + 1 {
                assert_eq!(
                    ours.line_index(id, b).unwrap(),
                    simple.line_index(id, b).unwrap(),
                    "{t:?} byte {b}"
                );
            }
            for l in 0..t.lines().count() + 3 {
                let (a, b) = (ours.line_range(id, l), simple.line_range(id, l));
                assert_eq!(a.as_ref().ok(), b.as_ref().ok(), "{t:?} line {l}");
                assert_eq!(a.is_err(), b.is_err(), "{t:?} line {l}");
            }
        }
        assert!(ours.name(texts.len()).is_err());
        assert!(ours.line_range(texts.len(), 0).is_err());
    }

    #[test]
    fn long_values_are_clipped_in_every_text() {
        let v = "x".repeat(10_000);
        let d = Diagnostic::error("E0000", format!("bad `{v}` here"))
            .label(v.clone())
            .note(format!("see {v}"));
        for t in [&d.message, d.label.as_ref().unwrap(), &d.notes[0]] {
            assert!(t.len() < 200, "{t}");
            assert!(
                t.contains("(10002 bytes)") || t.contains("(10000 bytes)"),
                "{t}"
            );
        }
        assert!(d.message.starts_with("bad `xxx") && d.message.ends_with(" here"));
        // Ordinary text is untouched, multi-byte characters too.
        let s = "ünïcode ".repeat(40);
        assert_eq!(clip_words(s.clone()), s);
        let long = "é".repeat(100);
        assert!(clip_words(long).ends_with("…(200 bytes)"));
    }

    #[test]
    fn a_huge_line_is_located_not_echoed() {
        let mut sources = SourceMap::new();
        let line = format!("value: {}\n", "y".repeat(100_000));
        let id = sources.add("big.yaml", format!("a: 1\n{line}"));
        let span = Span {
            file: id,
            offset: 12,
            len: 100_000,
            line: 2,
            col: 8,
        };
        let d = Diagnostic::error("E0000", "too long").at(span);
        let out = Renderer::new(&sources).render(&d);
        assert!(out.len() < 500, "{out}");
        assert!(out.contains("big.yaml:2:8"), "{out}");
        // A short line still gets its snippet.
        let d = Diagnostic::error("E0000", "short").at(Span {
            file: id,
            offset: 0,
            len: 1,
            line: 1,
            col: 1,
        });
        let out = Renderer::new(&sources).render(&d);
        assert!(out.contains("a: 1"), "{out}");
    }
}
