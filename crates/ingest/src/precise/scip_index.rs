//! Reading a SCIP index (the protobuf format of `rust-analyzer scip`,
//! `scip-typescript`, `scip-python`): decoded with the `scip` crate, then
//! checked and copied into a compact form (symbols interned, ranges as
//! numbers). Everything that can be wrong with the file is found here,
//! before an ingest writes anything.

use std::collections::HashMap;

use scip::types::{Index, PositionEncoding, symbol_information::Kind};

use super::PreciseError;

/// Largest SCIP file read (the whole file is decoded in memory; indexes
/// of million-line projects are a few hundred MiB).
pub const MAX_SCIP_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// Most occurrences of one document: past it, the file is not a SCIP
/// index of source code.
pub const MAX_OCCURRENCES_PER_DOCUMENT: usize = 10_000_000;

/// `symbol_roles` bit of a definition.
const DEFINITION_ROLE: i32 = 1;

/// How a document's columns count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Columns {
    /// UTF-8 bytes (rust-analyzer).
    Bytes,
    /// UTF-16 code units (the TypeScript-based indexers).
    Utf16,
    /// Unicode scalar values.
    Chars,
}

/// One occurrence: 0-based lines and columns, as the index gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    /// Line of the first character.
    pub line: u32,
    /// Column of the first character.
    pub start: u32,
    /// Line of the end.
    pub end_line: u32,
    /// Column just past the last character.
    pub end: u32,
    /// Index into [`ScipIndex::symbols`].
    pub symbol: u32,
    /// A definition (else a reference).
    pub definition: bool,
}

/// One source file of the index.
#[derive(Debug, Clone)]
pub struct ScipDocument {
    /// Relative to the project root, `/`-separated.
    pub path: String,
    /// How its columns count.
    pub columns: Columns,
    /// Its occurrences with a symbol, in the index's order.
    pub occurrences: Vec<Occurrence>,
    /// The range of a whole definition (a function's signature and body)
    /// where the indexer gives one, by index into `occurrences`: (line,
    /// start, end line, end). Kept apart from the occurrences, which are
    /// many more. A malformed one is dropped: it only places a block the
    /// merge creates (`defs`), which falls back to the name's range.
    pub enclosing: HashMap<u32, (u32, u32, u32, u32)>,
    /// Symbols this document declares as functions or methods (by the
    /// symbol information's kind).
    pub function_symbols: Vec<u32>,
}

/// A decoded, checked SCIP index.
#[derive(Debug, Clone)]
pub struct ScipIndex {
    /// The indexer's name and version (`rust-analyzer 1.95.0`).
    pub tool: String,
    /// Its documents, in its order.
    pub documents: Vec<ScipDocument>,
    /// Every symbol string, interned.
    pub symbols: Vec<String>,
    /// Occurrences in all documents.
    pub occurrences: u64,
}

impl ScipIndex {
    /// Decodes and checks `bytes`, a SCIP index read from `origin`.
    pub fn decode(bytes: &[u8], origin: &str) -> Result<Self, PreciseError> {
        use protobuf::Message;
        let error = |reason: String| PreciseError::Corrupt {
            path: origin.to_string(),
            reason,
        };
        if bytes.is_empty() {
            return Err(error("the file is empty".into()));
        }
        check_framing(bytes).map_err(error)?;
        let index = Index::parse_from_bytes(bytes).map_err(|e| error(e.to_string()))?;
        let tool_info = index
            .metadata
            .as_ref()
            .and_then(|metadata| metadata.tool_info.as_ref());
        let tool_name = tool_info.map(|t| t.name.clone()).unwrap_or_default();
        let tool = match tool_info {
            Some(t) if !t.version.is_empty() => format!("{} {}", t.name, t.version),
            _ => tool_name.clone(),
        };
        if index.metadata.is_none() {
            return Err(error("it has no metadata (not a SCIP index)".into()));
        }
        if index.documents.is_empty() {
            return Err(error("it holds no documents".into()));
        }
        let mut interned: HashMap<String, u32> = HashMap::new();
        let mut symbols: Vec<String> = Vec::new();
        let mut intern = |symbol: &str| -> u32 {
            if let Some(&id) = interned.get(symbol) {
                return id;
            }
            let id = symbols.len() as u32;
            symbols.push(symbol.to_string());
            interned.insert(symbol.to_string(), id);
            id
        };
        let mut documents = Vec::with_capacity(index.documents.len());
        let mut total = 0u64;
        for (number, document) in index.documents.iter().enumerate() {
            let path = document.relative_path.as_str();
            let at = |what: String| error(format!("document {number} ({path:?}): {what}"));
            if path.is_empty()
                || path.starts_with('/')
                || path.split('/').any(|part| part == ".." || part.is_empty())
            {
                return Err(at(
                    "its path is not a relative path inside the project".into()
                ));
            }
            if document.occurrences.len() > MAX_OCCURRENCES_PER_DOCUMENT {
                return Err(at(format!(
                    "{} occurrences, limit is {MAX_OCCURRENCES_PER_DOCUMENT}",
                    document.occurrences.len()
                )));
            }
            let columns = columns(
                &tool_name,
                document.position_encoding.enum_value_or_default(),
            );
            let mut occurrences = Vec::with_capacity(document.occurrences.len());
            let mut enclosing = HashMap::new();
            for (n, occurrence) in document.occurrences.iter().enumerate() {
                if occurrence.symbol.is_empty() {
                    continue; // a syntax-highlighting occurrence
                }
                let Some((line, start, end_line, end)) = range(&occurrence.range) else {
                    return Err(at(format!(
                        "occurrence {n} has the range {:?} (want 3 or 4 non-negative numbers, end after start)",
                        occurrence.range
                    )));
                };
                occurrences.push(Occurrence {
                    line,
                    start,
                    end_line,
                    end,
                    symbol: intern(&occurrence.symbol),
                    definition: occurrence.symbol_roles & DEFINITION_ROLE != 0,
                });
                let definition = occurrence.symbol_roles & DEFINITION_ROLE != 0;
                if definition && let Some(whole) = range(&occurrence.enclosing_range) {
                    enclosing.insert(occurrences.len() as u32 - 1, whole);
                }
            }
            total += occurrences.len() as u64;
            let function_symbols = document
                .symbols
                .iter()
                .filter(|info| is_function(&info.symbol, info.kind.enum_value_or_default()))
                .map(|info| intern(&info.symbol))
                .collect();
            documents.push(ScipDocument {
                path: path.to_string(),
                columns,
                occurrences,
                enclosing,
                function_symbols,
            });
        }
        Ok(Self {
            tool,
            documents,
            symbols,
            occurrences: total,
        })
    }
}

/// Checks that every top-level field of the message fits in `bytes`.
/// The protobuf decoder accepts a nested message that ends early at a
/// field boundary (a document cut short decodes as a smaller document), so
/// a file cut anywhere but exactly between two top-level fields is caught
/// here, with the offset of the field that runs past the end.
fn check_framing(bytes: &[u8]) -> Result<(), String> {
    let mut offset = 0usize;
    while offset < bytes.len() {
        let field_start = offset;
        let tag = varint(bytes, &mut offset)
            .ok_or_else(|| format!("a field tag at byte {field_start} runs past the end"))?;
        let end = match tag & 7 {
            0 => {
                varint(bytes, &mut offset)
                    .ok_or_else(|| format!("a number at byte {field_start} runs past the end"))?;
                offset
            }
            1 => offset + 8,
            2 => {
                let length = varint(bytes, &mut offset)
                    .ok_or_else(|| format!("a length at byte {field_start} runs past the end"))?;
                usize::try_from(length)
                    .ok()
                    .and_then(|length| offset.checked_add(length))
                    .unwrap_or(usize::MAX)
            }
            5 => offset + 4,
            wire => {
                return Err(format!(
                    "field {} at byte {field_start} has wire type {wire}, which SCIP does not use",
                    tag >> 3
                ));
            }
        };
        if end > bytes.len() {
            return Err(format!(
                "field {} at byte {field_start} needs {} more bytes than the file has (truncated?)",
                tag >> 3,
                end - bytes.len()
            ));
        }
        offset = end;
    }
    Ok(())
}

/// Reads a base-128 varint at `offset`, advancing it; `None` past the end
/// or past ten bytes.
fn varint(bytes: &[u8], offset: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in 0..10 {
        let byte = *bytes.get(*offset)?;
        *offset += 1;
        value |= u64::from(byte & 0x7f) << (7 * shift);
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// The encoding a document declares; without one, UTF-8 bytes for
/// rust-analyzer and UTF-16 code units for the TypeScript-based indexers
/// (scip-python and scip-typescript count as JavaScript strings do).
fn columns(tool: &str, encoding: PositionEncoding) -> Columns {
    match encoding {
        PositionEncoding::UTF8CodeUnitOffsetFromLineStart => Columns::Bytes,
        PositionEncoding::UTF16CodeUnitOffsetFromLineStart => Columns::Utf16,
        PositionEncoding::UTF32CodeUnitOffsetFromLineStart => Columns::Chars,
        PositionEncoding::UnspecifiedPositionEncoding if tool == "rust-analyzer" => Columns::Bytes,
        PositionEncoding::UnspecifiedPositionEncoding => Columns::Utf16,
    }
}

/// An occurrence range, `[line, start, end]` or `[line, start, end line,
/// end]`, checked: non-negative, the end not before the start.
fn range(range: &[i32]) -> Option<(u32, u32, u32, u32)> {
    let n = |i: usize| range.get(i).and_then(|&v| u32::try_from(v).ok());
    let (line, start, end_line, end) = match range.len() {
        3 => (n(0)?, n(1)?, n(0)?, n(2)?),
        4 => (n(0)?, n(1)?, n(2)?, n(3)?),
        _ => return None,
    };
    ((end_line, end) >= (line, start)).then_some((line, start, end_line, end))
}

/// Whether the index says the symbol is a function or method.
fn is_function(symbol: &str, kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Function
            | Kind::Method
            | Kind::StaticMethod
            | Kind::TraitMethod
            | Kind::AbstractMethod
    ) || symbol.ends_with("().")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_checked() {
        assert_eq!(range(&[1, 2, 5]), Some((1, 2, 1, 5)));
        assert_eq!(range(&[1, 2, 3, 0]), Some((1, 2, 3, 0)));
        assert_eq!(range(&[1, 5, 2]), None);
        assert_eq!(range(&[-1, 0, 2]), None);
        assert_eq!(range(&[1, 2]), None);
        assert_eq!(range(&[2, 0, 1, 0]), None);
    }
}
