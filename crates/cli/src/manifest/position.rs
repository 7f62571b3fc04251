//! Where in the manifest: errors as `FILE:LINE:COLUMN: message`, and
//! paths as a person would type them.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::ManifestError;

/// Line and column (1-based, in characters) of a byte offset.
pub(super) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

/// A manifest's path and text: what an error needs to say where it is.
pub(super) struct Ctx<'a> {
    pub(super) path: &'a Path,
    pub(super) text: &'a str,
}

impl Ctx<'_> {
    pub(super) fn at(&self, span: &Range<usize>, message: impl fmt::Display) -> ManifestError {
        let (line, col) = line_col(self.text, span.start);
        ManifestError(format!("{}:{line}:{col}: {message}", self.path.display()))
    }

    pub(super) fn line_of(&self, span: &Range<usize>) -> usize {
        line_col(self.text, span.start).0
    }
}

/// `./x` → `x`: paths as a person would type them.
pub(super) fn shown(p: &Path) -> PathBuf {
    p.strip_prefix(".")
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters_from_one() {
        assert_eq!(line_col("ab\ncdé f", 0), (1, 1));
        assert_eq!(line_col("ab\ncdé f", 3), (2, 1));
        assert_eq!(line_col("ab\ncdé f", "ab\ncdé ".len()), (2, 5));
    }
}
