//! The per-file item summary: what extraction produces from one file and
//! what resolution reads. It is a pure function of (language, path, source),
//! and it is stored in the file block's metadata so a re-ingest can resolve
//! calls of unchanged files without parsing them again.

use serde::{Deserialize, Serialize};

/// Kind of a block, stored as `kind` in its metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A whole source file (one block per file, carrying its ingest state).
    File,
    /// An inline module (`mod m { .. }`, a TypeScript namespace).
    Module,
    /// A free function (or a nested one).
    Function,
    /// A function defined in an impl, trait, class, interface or (Zig)
    /// container, or a Go function with a receiver.
    Method,
    /// A struct (Rust, C, Go, Zig).
    Struct,
    /// An enum.
    Enum,
    /// A union (Rust, C, Zig).
    Union,
    /// A class (Python, JavaScript, TypeScript).
    Class,
    /// A Rust trait.
    Trait,
    /// An interface (TypeScript, Go).
    Interface,
    /// A Rust impl block, named after its self type (`<Table>`).
    Impl,
    /// A constant (Rust `const`, Go `const`).
    Const,
    /// A Rust `static`.
    Static,
    /// A named type that is not a struct, enum, union or interface:
    /// `type A = B;`, a C `typedef`, a Go `type T []int`.
    TypeAlias,
    /// A macro: `macro_rules!` or a C `#define` (with or without parameters).
    Macro,
}

impl ItemKind {
    /// Every kind, in declaration order.
    pub const ALL: &'static [ItemKind] = &[
        ItemKind::File,
        ItemKind::Module,
        ItemKind::Function,
        ItemKind::Method,
        ItemKind::Struct,
        ItemKind::Enum,
        ItemKind::Union,
        ItemKind::Class,
        ItemKind::Trait,
        ItemKind::Interface,
        ItemKind::Impl,
        ItemKind::Const,
        ItemKind::Static,
        ItemKind::TypeAlias,
        ItemKind::Macro,
    ];

    /// The metadata name (`function`, `type_alias`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ItemKind::File => "file",
            ItemKind::Module => "module",
            ItemKind::Function => "function",
            ItemKind::Method => "method",
            ItemKind::Struct => "struct",
            ItemKind::Enum => "enum",
            ItemKind::Union => "union",
            ItemKind::Class => "class",
            ItemKind::Trait => "trait",
            ItemKind::Interface => "interface",
            ItemKind::Impl => "impl",
            ItemKind::Const => "const",
            ItemKind::Static => "static",
            ItemKind::TypeAlias => "type_alias",
            ItemKind::Macro => "macro",
        }
    }

    /// Functions and methods: the items a call can target.
    pub fn is_callable(self) -> bool {
        matches!(self, ItemKind::Function | ItemKind::Method)
    }

    /// Items that hold methods (impl blocks, traits, classes, interfaces).
    pub fn holds_methods(self) -> bool {
        matches!(
            self,
            ItemKind::Impl | ItemKind::Trait | ItemKind::Class | ItemKind::Interface
        )
    }

    /// Named types a path can continue through (`Type::method`).
    pub fn is_type(self) -> bool {
        matches!(
            self,
            ItemKind::Struct
                | ItemKind::Enum
                | ItemKind::Union
                | ItemKind::Class
                | ItemKind::Trait
                | ItemKind::Interface
                | ItemKind::TypeAlias
        )
    }
}

/// One item defined in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// What the item is.
    pub kind: ItemKind,
    /// Its own name as written (not qualified; an impl's is its self type).
    pub name: String,
    /// Index of the enclosing item in the same file, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<u32>,
    /// Byte offset of the item's first byte in the file.
    pub start_byte: u32,
    /// Byte offset just past the item's last byte.
    pub end_byte: u32,
    /// First line, 1-based.
    pub start_line: u32,
    /// Last line, 1-based, inclusive.
    pub end_line: u32,
    /// The declaration up to its body (`pub fn parse(text: &str) -> Ast`),
    /// cut at `MAX_SIGNATURE_BYTES`; empty when the item has none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub signature: String,
    /// First line of its doc comment or docstring, cut at `MAX_DOC_BYTES`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub doc: String,
    /// Impl blocks: the self type as written (generics stripped). Classes:
    /// unused.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub impl_type: String,
    /// Impl blocks: the trait as written; classes: the implemented
    /// interfaces / base classes (comma-separated).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub impl_trait: String,
    /// Rust: a `#[cfg(..)]` known to be false (`not(debug_assertions)`,
    /// `any()`) switches the item off, or it is inside one that is: it
    /// makes no calls and no call resolves to it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub compiled_out: bool,
}

/// How a call names its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallKind {
    /// `f()` or `a::b::f()`: `text` is the path, segments joined by `::`.
    Path,
    /// `recv.m()`: `text` is `m`, `receiver` the receiver's text.
    Method,
}

/// One call site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRef {
    /// Index of the calling item; `None` for code at file level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<u32>,
    /// Path call or method call.
    pub kind: CallKind,
    /// The called path (`a::b::f`) or, for a method call, the method name.
    pub text: String,
    /// Method calls: the receiver expression as written (`self.table`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub receiver: String,
    /// Method calls whose receiver is itself a call (`a.b().c()`): the
    /// index of that call in the file's list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver_call: Option<u32>,
    /// 1-based line of the call.
    pub line: u32,
}

/// One imported name (a `use` tree is flattened into several).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Import {
    /// Index of the enclosing module item; `None` for the file's scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<u32>,
    /// The path as written, segments in order (`["crate", "a", "b"]`;
    /// for file-based languages the module specifier as one segment,
    /// followed by the imported name if any).
    pub path: Vec<String>,
    /// The local name when it differs from the last segment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// `use a::*` / `from a import *`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub glob: bool,
    /// 1-based line of the import.
    pub line: u32,
}

impl Import {
    /// The name this import binds in its scope (none for globs).
    pub fn local_name(&self) -> Option<&str> {
        if self.glob {
            return None;
        }
        self.alias
            .as_deref()
            .or_else(|| self.path.last().map(String::as_str))
    }
}

/// A name with a type as written: a typed local or parameter (scope: the
/// function) or a struct field (scope: the struct).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypedName {
    /// Index of the function (for locals) or struct (for fields) it
    /// belongs to; `None` at file level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<u32>,
    /// The local's, parameter's or field's name.
    pub name: String,
    /// The type text (cut at 128 bytes), e.g. `&mut Table<K>` or `Box<Node>`.
    #[serde(rename = "type")]
    pub type_text: String,
    /// 1-based line of the declaration.
    pub line: u32,
    /// `let x = <call>` with no written type: the index of that call in
    /// the file's list; x has the type it returns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_call: Option<u32>,
    /// `Result` / `Option` layers `?`, `.unwrap()` or `.expect(..)` peel
    /// off that call's return type.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub peel: u8,
    /// A `for` binding: it is an element of what `value_call` returns or
    /// of `iterable`'s type.
    #[serde(default, skip_serializing_if = "is_false")]
    pub element: bool,
    /// `for x in v` / `for x in &self.items`: the local or `self` field
    /// iterated.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub iterable: String,
}

fn is_false(value: &bool) -> bool {
    !*value
}

fn is_zero(value: &u8) -> bool {
    *value == 0
}

/// Everything extraction learned about one file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Items in file order; a parent always comes before its children, and
    /// `parent`, `caller` and `scope` fields index this list.
    pub items: Vec<Item>,
    /// Call sites in file order.
    pub calls: Vec<CallRef>,
    /// Imported names in file order.
    pub imports: Vec<Import>,
    /// Calls through a local binding (closure, parameter): no edge.
    #[serde(default)]
    pub local_calls: u32,
    /// Locals and parameters with a known type.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub typed_locals: Vec<TypedName>,
    /// Struct fields with their types.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<TypedName>,
    /// Declarations at the top level of the file that define nothing:
    /// Rust `mod name;`, C function prototypes (`int f(void);`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub module_decls: Vec<String>,
    /// ERROR and MISSING nodes in the tree (tree-sitter recovers around them).
    #[serde(default)]
    pub syntax_errors: u32,
    /// Lines of the file.
    pub lines: u32,
    /// First line of the file's leading doc comment.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub doc: String,
    /// Why the file is only partially ingested (entry cap hit), if it is.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub truncated: String,
}
