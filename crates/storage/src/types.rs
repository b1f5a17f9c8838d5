//! The data model: block ids, context blocks, edge types and graph edges,
//! with validation of every field at the boundary.

use std::fmt;
use std::str::FromStr;

use serde::de::{IgnoredAny, MapAccess, Visitor};

use crate::limits::{MAX_CONTENT_BYTES, MAX_METADATA_BYTES, MAX_SOURCE_URI_BYTES};
use crate::{StorageError, StorageResult};

/// 128-bit identity of a context block. Formats and parses as 32 hex digits;
/// ordered as a big-endian number. The all-zero id is invalid.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct BlockId([u8; 16]);

// Ordered as the big-endian number, which is the bytes' order: the derived
// order on `[u8; 16]` calls `memcmp` for every comparison, and an ingest
// sorts and merges edge sets of the whole tree (two ids per edge) on
// every resolution.
impl Ord for BlockId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_u128().cmp(&other.as_u128())
    }
}

impl PartialOrd for BlockId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl BlockId {
    /// The id with these 16 bytes (not validated; see [`BlockId::validate`]).
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The id of a number, big-endian, so numeric and id order agree.
    pub const fn from_u128(value: u128) -> Self {
        Self(value.to_be_bytes())
    }

    /// The id as a number.
    pub const fn as_u128(&self) -> u128 {
        u128::from_be_bytes(self.0)
    }

    /// The id's 16 bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// True for the reserved all-zero id.
    pub fn is_zero(&self) -> bool {
        self.0 == [0u8; 16]
    }

    /// Rejects the all-zero id.
    pub fn validate(&self) -> StorageResult<()> {
        if self.is_zero() {
            return Err(StorageError::ZeroBlockId);
        }
        Ok(())
    }

    /// Parses 32 hex digits (either case) into a valid, non-zero id.
    pub fn parse_hex(text: &str) -> StorageResult<Self> {
        let invalid = |reason| StorageError::InvalidBlockId {
            text: text.chars().take(64).collect(),
            reason,
        };
        if text.len() != 32 {
            return Err(invalid("expected exactly 32 hex digits"));
        }
        let value = u128::from_str_radix(text, 16).map_err(|_| invalid("not a hex number"))?;
        if !text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Err(invalid("not a hex number"));
        }
        let id = Self::from_u128(value);
        id.validate()?;
        Ok(id)
    }
}

impl FromStr for BlockId {
    type Err = StorageError;
    fn from_str(text: &str) -> StorageResult<Self> {
        Self::parse_hex(text)
    }
}

impl fmt::Display for BlockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.as_u128())
    }
}

impl fmt::Debug for BlockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlockId({self})")
    }
}

/// A context block as stored: a unit of source code with its origin and
/// metadata. `sequence` is assigned by the engine on write (a value given to
/// `put_block` is ignored) and is global and monotonic.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContextBlock {
    /// The block's identity (never all zeros).
    pub id: BlockId,
    /// Sequence of the write that stored this version (set by the engine).
    pub sequence: u64,
    /// Where the code lives, e.g. `src/lib.rs` (at most `MAX_SOURCE_URI_BYTES`).
    pub source_uri: String,
    /// A JSON object describing the block (at most `MAX_METADATA_BYTES`).
    pub metadata_json: String,
    /// The source text (at most `MAX_CONTENT_BYTES`).
    pub content: String,
}

impl ContextBlock {
    /// A block ready for `put_block` (sequence 0 until stored).
    pub fn new(
        id: BlockId,
        source_uri: impl Into<String>,
        metadata_json: impl Into<String>,
        content: impl Into<String>,
    ) -> Self {
        Self {
            id,
            sequence: 0,
            source_uri: source_uri.into(),
            metadata_json: metadata_json.into(),
            content: content.into(),
        }
    }

    /// A borrowed view of this block.
    pub fn view(&self) -> BlockView<'_> {
        BlockView {
            id: self.id,
            sequence: self.sequence,
            source_uri: &self.source_uri,
            metadata_json: &self.metadata_json,
            content: &self.content,
        }
    }
}

/// A block borrowed from a snapshot (memtable arena or table map): reading
/// one allocates nothing. Valid while the snapshot is borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockView<'a> {
    /// The block's identity.
    pub id: BlockId,
    /// Sequence of the write that stored this version.
    pub sequence: u64,
    /// Where the code lives.
    pub source_uri: &'a str,
    /// The block's JSON metadata object.
    pub metadata_json: &'a str,
    /// The source text.
    pub content: &'a str,
}

impl BlockView<'_> {
    /// An owned copy.
    pub fn to_block(&self) -> ContextBlock {
        ContextBlock {
            id: self.id,
            sequence: self.sequence,
            source_uri: self.source_uri.to_string(),
            metadata_json: self.metadata_json.to_string(),
            content: self.content.to_string(),
        }
    }
}

/// Accepts exactly a JSON object, skipping its contents without building a
/// value (no allocation unless a string holds escapes).
struct JsonObjectOnly;

impl<'de> Visitor<'de> for JsonObjectOnly {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }
}

fn check_json_object(text: &str) -> Result<(), serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    serde::Deserializer::deserialize_map(&mut deserializer, JsonObjectOnly)?;
    deserializer.end()
}

/// Checks a block's fields against the limits and the metadata rule.
pub fn validate_block_fields(
    id: BlockId,
    source_uri: &str,
    metadata_json: &str,
    content: &str,
) -> StorageResult<()> {
    id.validate()?;
    let too_large = |field, len, max| StorageError::FieldTooLarge {
        id,
        field,
        len,
        max,
    };
    if source_uri.len() > MAX_SOURCE_URI_BYTES {
        return Err(too_large(
            "source_uri",
            source_uri.len(),
            MAX_SOURCE_URI_BYTES,
        ));
    }
    if metadata_json.len() > MAX_METADATA_BYTES {
        return Err(too_large(
            "metadata_json",
            metadata_json.len(),
            MAX_METADATA_BYTES,
        ));
    }
    if content.len() > MAX_CONTENT_BYTES {
        return Err(too_large("content", content.len(), MAX_CONTENT_BYTES));
    }
    check_json_object(metadata_json).map_err(|error| StorageError::InvalidMetadata {
        id,
        reason: error.to_string(),
    })
}

macro_rules! edge_types {
    ($($(#[doc = $doc:literal])+ $variant:ident = $value:literal => $name:literal),* $(,)?) => {
        /// Kind of a graph edge; stored on disk as a little-endian u16.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(u16)]
        #[non_exhaustive]
        pub enum EdgeType {
            $($(#[doc = $doc])+ $variant = $value),*
        }

        impl EdgeType {
            /// Every edge type, in value order.
            pub const ALL: &'static [EdgeType] = &[$(EdgeType::$variant),*];

            /// The edge type with this on-disk value.
            pub fn from_u16(value: u16) -> StorageResult<Self> {
                match value {
                    $($value => Ok(EdgeType::$variant),)*
                    _ => Err(StorageError::UnknownEdgeType { value }),
                }
            }

            /// The snake_case name (`calls`, `defined_in`, ...).
            pub fn name(&self) -> &'static str {
                match self {
                    $(EdgeType::$variant => $name,)*
                }
            }

            /// The edge type with this snake_case name.
            pub fn from_name(name: &str) -> StorageResult<Self> {
                match name {
                    $($name => Ok(EdgeType::$variant),)*
                    _ => Err(StorageError::UnknownEdgeTypeName { name: name.chars().take(64).collect() }),
                }
            }
        }
    };
}

edge_types! {
    /// A file or module imports another (`use`, `import`, `#include`).
    Imports = 1 => "imports",
    /// A function, type or module is defined in its parent (file, module, type).
    DefinedIn = 2 => "defined_in",
    /// A block mentions another without calling it.
    References = 3 => "references",
    /// A parent contains a child (the reverse of `defined_in`, where stored).
    Contains = 4 => "contains",
    /// A type extends (inherits from) another.
    Extends = 5 => "extends",
    /// A type implements a trait or interface.
    Implements = 6 => "implements",
    /// A call whose kind (function or method) was not told apart.
    Calls = 7 => "calls",
    /// A package or crate depends on another.
    DependsOn = 8 => "depends_on",
    /// A method belongs to a type.
    MethodOf = 9 => "method_of",
    /// A call through a receiver (`x.f()`), resolved to the method.
    CallsMethod = 10 => "calls_method",
    /// A call of a free or associated function by path (`f()`, `T::f()`).
    CallsFunction = 11 => "calls_function",
    /// A name-index node (not a block) to a block with that name; written
    /// by kausal-ingest so names resolve without scanning (DESIGN.md).
    Names = 12 => "names",
    /// A call the ingester could not settle between a few candidates: one
    /// edge to each (kausal-ingest's `MAX_CALL_CANDIDATES`), left out of
    /// call trees unless asked for.
    CallsCandidate = 13 => "calls_candidate",
}

impl EdgeType {
    /// The on-disk value.
    pub fn as_u16(&self) -> u16 {
        *self as u16
    }
}

impl fmt::Display for EdgeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A directed, typed edge between two blocks. Identity is the triple; a
/// second put of the same triple is an overwrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GraphEdge {
    /// The block the edge leaves.
    pub source: BlockId,
    /// The block the edge enters (it need not exist).
    pub target: BlockId,
    /// What the edge means.
    pub edge_type: EdgeType,
}

impl GraphEdge {
    /// The edge `source -edge_type-> target`.
    pub fn new(source: BlockId, target: BlockId, edge_type: EdgeType) -> Self {
        Self {
            source,
            target,
            edge_type,
        }
    }

    /// Rejects zero ids at either end.
    pub fn validate(&self) -> StorageResult<()> {
        self.source.validate()?;
        self.target.validate()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        // The on-disk order of keys (tables, the index) is the bytes'
        // order: the numeric comparison must never disagree with it.
        #[test]
        fn block_id_order_is_the_bytes_order(a in any::<[u8; 16]>(), b in any::<[u8; 16]>(), prefix in 0usize..16) {
            // Ids sharing a prefix test the later bytes too.
            let mut b = b;
            b[..prefix].copy_from_slice(&a[..prefix]);
            let (x, y) = (BlockId::from_bytes(a), BlockId::from_bytes(b));
            prop_assert_eq!(x.cmp(&y), a.cmp(&b));
            prop_assert_eq!(x.partial_cmp(&y), Some(a.cmp(&b)));
        }
    }

    #[test]
    fn block_id_hex_round_trip_and_errors() {
        let id = BlockId::from_u128(0x0123_4567_89ab_cdef_0011_2233_4455_6677);
        let text = id.to_string();
        assert_eq!(text, "0123456789abcdef0011223344556677");
        assert_eq!(BlockId::parse_hex(&text).unwrap(), id);
        assert_eq!(
            "0123456789ABCDEF0011223344556677"
                .parse::<BlockId>()
                .unwrap(),
            id
        );
        assert!(matches!(
            BlockId::parse_hex("abc"),
            Err(StorageError::InvalidBlockId { .. })
        ));
        assert!(matches!(
            BlockId::parse_hex("+123456789abcdef0011223344556677"),
            Err(StorageError::InvalidBlockId { .. })
        ));
        assert!(matches!(
            BlockId::parse_hex("0123456789abcdef001122334455667g"),
            Err(StorageError::InvalidBlockId { .. })
        ));
        assert!(matches!(
            BlockId::parse_hex(&"0".repeat(32)),
            Err(StorageError::ZeroBlockId)
        ));
        assert!(BlockId::from_u128(1) < BlockId::from_u128(256));
    }

    #[test]
    fn edge_types_round_trip_and_reject_unknown() {
        assert_eq!(EdgeType::ALL.len(), 13);
        for edge_type in EdgeType::ALL {
            assert_eq!(EdgeType::from_u16(edge_type.as_u16()).unwrap(), *edge_type);
            assert_eq!(EdgeType::from_name(edge_type.name()).unwrap(), *edge_type);
        }
        assert!(matches!(
            EdgeType::from_u16(0),
            Err(StorageError::UnknownEdgeType { value: 0 })
        ));
        assert!(matches!(
            EdgeType::from_u16(14),
            Err(StorageError::UnknownEdgeType { value: 14 })
        ));
        assert!(EdgeType::from_name("likes").is_err());
    }

    #[test]
    fn block_validation() {
        let id = BlockId::from_u128(5);
        validate_block_fields(
            id,
            "src/a.rs",
            r#"{"name":"a","n":[1,{"x":"\n"}]}"#,
            "fn a(){}",
        )
        .unwrap();
        validate_block_fields(id, "", "{}", "").unwrap();
        for bad in ["", "[]", "1", "{", r#"{"a":1} x"#, "null", r#""s""#] {
            assert!(
                matches!(
                    validate_block_fields(id, "u", bad, "c"),
                    Err(StorageError::InvalidMetadata { .. })
                ),
                "{bad:?} must be rejected"
            );
        }
        let long_uri = "u".repeat(MAX_SOURCE_URI_BYTES + 1);
        assert!(matches!(
            validate_block_fields(id, &long_uri, "{}", ""),
            Err(StorageError::FieldTooLarge {
                field: "source_uri",
                ..
            })
        ));
        let long_content = "c".repeat(MAX_CONTENT_BYTES + 1);
        assert!(matches!(
            validate_block_fields(id, "", "{}", &long_content),
            Err(StorageError::FieldTooLarge {
                field: "content",
                ..
            })
        ));
        let long_metadata = format!(r#"{{"a":"{}"}}"#, "m".repeat(MAX_METADATA_BYTES));
        assert!(matches!(
            validate_block_fields(id, "", &long_metadata, ""),
            Err(StorageError::FieldTooLarge {
                field: "metadata_json",
                ..
            })
        ));
        assert!(matches!(
            validate_block_fields(BlockId::default(), "", "{}", ""),
            Err(StorageError::ZeroBlockId)
        ));
    }
}
