//! Input files as the diagnostics see them: name, text and line index.
//!
//! Every span in netc points into a [`SourceMap`] by [`FileId`], so a
//! diagnostic raised deep in validation can still print `file:line:column`
//! and the offending source line.

use std::fmt;

/// Index of a file in a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub u32);

/// A position in an input file. Lines and columns are 1-based, columns count
/// characters (what an editor shows), `offset` is a byte offset for slicing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub file: FileId,
    pub offset: usize,
    pub len: usize,
    pub line: u32,
    pub col: u32,
}

impl Span {
    /// A span `len` bytes long starting at this one's start.
    pub fn with_len(self, len: usize) -> Span {
        Span { len, ..self }
    }
    /// A span `delta` bytes further along the same line (used to point inside a string).
    pub fn shifted(self, delta_bytes: usize, delta_chars: usize, len: usize) -> Span {
        Span {
            offset: self.offset + delta_bytes,
            col: self.col + delta_chars as u32,
            len,
            ..self
        }
    }
}

/// One input file.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path as the user gave it (or `<stdin>`).
    pub name: String,
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> SourceFile {
        let text = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceFile {
            name: name.into(),
            text,
            line_starts,
        }
    }

    /// The 0-based index of the line holding byte `offset`.
    pub fn line_index(&self, offset: usize) -> usize {
        // line_starts begins with 0, so `next` is at least 1.
        self.line_starts
            .binary_search(&offset)
            .unwrap_or_else(|next| next - 1)
    }

    /// The byte range of the 0-based line `index`, its newline included;
    /// None past the last line.
    pub fn line_range(&self, index: usize) -> Option<std::ops::Range<usize>> {
        let start = |i: usize| match i.cmp(&self.line_starts.len()) {
            std::cmp::Ordering::Less => Some(self.line_starts[i]),
            std::cmp::Ordering::Equal => Some(self.text.len()),
            std::cmp::Ordering::Greater => None,
        };
        Some(start(index)?..start(index + 1)?)
    }

    /// Byte offset of the start of 1-based `line`.
    pub fn line_start(&self, line: u32) -> usize {
        let idx = (line.max(1) - 1) as usize;
        *self
            .line_starts
            .get(idx)
            .unwrap_or(self.line_starts.last().unwrap_or(&0))
    }

    /// Byte offset of a 1-based (line, char-column) position, clamped to the file.
    pub fn offset_of(&self, line: u32, col: u32) -> usize {
        let start = self.line_start(line);
        let rest = &self.text[start..];
        let line_text = rest.split('\n').next().unwrap_or("");
        match line_text.char_indices().nth((col.max(1) - 1) as usize) {
            Some((i, _)) => start + i,
            None => start + line_text.len(),
        }
    }

    /// 1-based (line, char-column) of a byte offset, clamped to the file
    /// (an offset inside a multi-byte character counts as that character).
    pub fn position(&self, offset: usize) -> (u32, u32) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let idx = self.line_index(offset);
        let start = self.line_starts.get(idx).copied().unwrap_or(0);
        let col = self.text[start..offset].chars().count() + 1;
        (idx as u32 + 1, col as u32)
    }

    /// Where a span ends, as the 1-based (line, column) just after its last
    /// character (exclusive, as SARIF and LSP count). An empty span covers
    /// the character it points at, so every region is at least one wide.
    pub fn span_end(&self, span: &Span) -> (u32, u32) {
        let mut len = span.len;
        if len == 0 {
            len = self
                .text
                .get(span.offset.min(self.text.len())..)
                .and_then(|rest| rest.chars().next())
                .filter(|c| *c != '\n')
                .map_or(0, char::len_utf8);
        }
        self.position(span.offset.saturating_add(len))
    }

    /// The text of 1-based `line`, without its newline.
    pub fn line_text(&self, line: u32) -> &str {
        let start = self.line_start(line);
        self.text[start..].split('\n').next().unwrap_or("")
    }
}

/// All files read for one run.
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn new() -> SourceMap {
        SourceMap::default()
    }
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        self.files.push(SourceFile::new(name, text));
        FileId((self.files.len() - 1) as u32)
    }
    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }
    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(i as u32), f))
    }
    pub fn len(&self) -> usize {
        self.files.len()
    }
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
    /// The file `id`, if the map holds it.
    pub fn file(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }
}

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "file#{}", self.0)
    }
}
