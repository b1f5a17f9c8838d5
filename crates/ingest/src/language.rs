//! The language table: one enum variant per supported language, with its
//! file extensions, grammar, query files and scope rules, all reached
//! through exhaustive `match`es so a new variant does not compile until
//! every column is filled in. Queries are compiled once per process.

use std::sync::OnceLock;

use tree_sitter::Query;

use crate::error::IngestError;

/// A supported source language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Language {
    /// Rust (`.rs`): crates, modules and `use` resolved (`resolve/rust/`).
    Rust,
    /// Python (`.py`, `.pyi`).
    Python,
    /// JavaScript (`.js`, `.mjs`, `.cjs`, `.jsx`).
    JavaScript,
    /// TypeScript (`.ts`, `.mts`, `.cts`).
    TypeScript,
    /// TypeScript with JSX (`.tsx`): its own grammar, TypeScript's queries.
    Tsx,
    /// Go (`.go`): every file of a directory shares one package scope.
    Go,
    /// C (`.c`, `.h`).
    C,
    /// Zig (`.zig`): functions declared in a container are its methods.
    Zig,
}

/// How a language names things: what a method receiver called `self`
/// looks like, and how qualified names are joined.
#[derive(Debug, Clone, Copy)]
pub struct ScopeRules {
    /// Receivers meaning "the enclosing type's instance" (`self`, `this`).
    pub self_receivers: &'static [&'static str],
    /// Joins module and item names in `qualified_name`.
    pub separator: &'static str,
    /// True when every file of a directory shares one namespace (Go packages).
    pub directory_is_module: bool,
    /// True when functions declared inside a struct/enum/union are its
    /// methods (Zig containers).
    pub containers_hold_methods: bool,
}

impl Language {
    /// Every language, in table order.
    pub const ALL: &'static [Language] = &[
        Language::Rust,
        Language::Python,
        Language::JavaScript,
        Language::TypeScript,
        Language::Tsx,
        Language::Go,
        Language::C,
        Language::Zig,
    ];

    /// The name stored in block metadata.
    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::JavaScript => "javascript",
            Language::TypeScript => "typescript",
            Language::Tsx => "tsx",
            Language::Go => "go",
            Language::C => "c",
            Language::Zig => "zig",
        }
    }

    /// The language with this metadata name.
    pub fn from_name(name: &str) -> Option<Language> {
        Language::ALL.iter().copied().find(|l| l.name() == name)
    }

    /// File extensions (without the dot) that select this language.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Language::Rust => &["rs"],
            Language::Python => &["py", "pyi"],
            Language::JavaScript => &["js", "mjs", "cjs", "jsx"],
            Language::TypeScript => &["ts", "mts", "cts"],
            Language::Tsx => &["tsx"],
            Language::Go => &["go"],
            Language::C => &["c", "h"],
            Language::Zig => &["zig"],
        }
    }

    /// The language of a file, from its extension.
    pub fn from_path(path: &str) -> Option<Language> {
        let extension = path.rsplit_once('.')?.1;
        Language::ALL
            .iter()
            .copied()
            .find(|language| language.extensions().contains(&extension))
    }

    pub(crate) fn grammar(self) -> tree_sitter::Language {
        match self {
            Language::Rust => tree_sitter_rust::LANGUAGE.into(),
            Language::Python => tree_sitter_python::LANGUAGE.into(),
            Language::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Language::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Language::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Language::Go => tree_sitter_go::LANGUAGE.into(),
            Language::C => tree_sitter_c::LANGUAGE.into(),
            Language::Zig => tree_sitter_zig::LANGUAGE.into(),
        }
    }

    /// The query files, concatenated in this order (a shared base first).
    pub fn query_sources(self) -> &'static [(&'static str, &'static str)] {
        macro_rules! q {
            ($($file:literal),*) => {
                &[$(($file, include_str!(concat!("../queries/", $file)))),*]
            };
        }
        match self {
            Language::Rust => q!("rust/tags.scm", "rust/locals.scm", "rust/imports.scm"),
            Language::Python => q!("python/tags.scm", "python/locals.scm", "python/imports.scm"),
            Language::JavaScript => q!(
                "ecma/tags.scm",
                "ecma/locals.scm",
                "javascript/locals.scm",
                "ecma/imports.scm"
            ),
            Language::TypeScript => q!(
                "ecma/tags.scm",
                "ecma/locals.scm",
                "ecma/imports.scm",
                "typescript/tags.scm",
                "typescript/locals.scm"
            ),
            Language::Tsx => q!(
                "ecma/tags.scm",
                "ecma/locals.scm",
                "ecma/imports.scm",
                "typescript/tags.scm",
                "typescript/locals.scm"
            ),
            Language::Go => q!("go/tags.scm", "go/imports.scm", "go/locals.scm"),
            Language::C => q!("c/tags.scm", "c/imports.scm"),
            Language::Zig => q!("zig/tags.scm", "zig/imports.scm", "zig/locals.scm"),
        }
    }

    /// Scope rules for resolution.
    pub fn scope_rules(self) -> ScopeRules {
        match self {
            Language::Rust => ScopeRules {
                self_receivers: &["self"],
                separator: "::",
                directory_is_module: false,
                containers_hold_methods: false,
            },
            Language::Python => ScopeRules {
                self_receivers: &["self", "cls"],
                separator: ".",
                directory_is_module: false,
                containers_hold_methods: false,
            },
            Language::JavaScript | Language::TypeScript | Language::Tsx => ScopeRules {
                self_receivers: &["this"],
                separator: ".",
                directory_is_module: false,
                containers_hold_methods: false,
            },
            Language::Go => ScopeRules {
                self_receivers: &[],
                separator: ".",
                directory_is_module: true,
                containers_hold_methods: false,
            },
            Language::C => ScopeRules {
                self_receivers: &[],
                separator: "::",
                directory_is_module: false,
                containers_hold_methods: false,
            },
            Language::Zig => ScopeRules {
                self_receivers: &["self"],
                separator: ".",
                directory_is_module: false,
                containers_hold_methods: true,
            },
        }
    }

    /// Whether extraction walks this language's tree instead of running
    /// its query (Rust: `extract/rust_walk.rs`), so needs no compiled
    /// query.
    pub fn walks_tree(self) -> bool {
        self == Language::Rust
    }

    /// The grammar and the compiled query, built on first use.
    pub fn compiled(self) -> Result<&'static Compiled, IngestError> {
        self.compiled_from(self.cell()?.get_or_init(|| Compiled::build(self)))
    }

    /// The compiled query if it is built already, without waiting for or
    /// starting a build (`None` while another thread builds it).
    pub fn compiled_if_ready(self) -> Option<Result<&'static Compiled, IngestError>> {
        match self.cell() {
            Ok(cell) => cell.get().map(|built| self.compiled_from(built)),
            Err(error) => Some(Err(error)),
        }
    }

    fn compiled_from(
        self,
        built: &'static Result<Compiled, String>,
    ) -> Result<&'static Compiled, IngestError> {
        match built {
            Ok(compiled) => Ok(compiled),
            Err(reason) => Err(IngestError::Query {
                language: self.name(),
                reason: reason.clone(),
            }),
        }
    }

    /// The language's cell of the table of compiled queries.
    fn cell(self) -> Result<&'static OnceLock<Result<Compiled, String>>, IngestError> {
        // One cell per language: compiling a query takes tens of
        // milliseconds, so only languages the tree uses are compiled.
        const LANGUAGES: usize = Language::ALL.len();
        static TABLE: [OnceLock<Result<Compiled, String>>; LANGUAGES] =
            [const { OnceLock::new() }; LANGUAGES];
        Language::ALL
            .iter()
            .position(|l| *l == self)
            .and_then(|index| TABLE.get(index))
            .ok_or_else(|| IngestError::Query {
                language: self.name(),
                reason: "not in the language table".into(),
            })
    }
}

/// What a capture name means to the extractor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `@definition.KIND`: an item of this kind.
    Definition(crate::summary::ItemKind),
    /// `@name`: the definition's or reference's name.
    Name,
    /// `@body`: where the signature ends.
    Body,
    /// `@impl.type`: an impl block's self type.
    ImplType,
    /// `@impl.trait`: an impl block's trait (for classes: the base class
    /// or implemented interface).
    ImplTrait,
    /// `@reference.call`: a call through a name or path.
    Call,
    /// `@reference.method_call`: a call through a receiver.
    MethodCall,
    /// `@receiver`: the receiver expression of a method call.
    Receiver,
    /// `@qualifier`: a path prefix written before `@name` (`Type` in
    /// `Type::f(..)` inside a macro's token tree).
    Qualifier,
    /// `@reference.module`: `mod name;`, a module whose body is another file.
    ModuleDecl,
    /// `@reference.import`: the whole import statement.
    ImportStatement,
    /// `@import`: the part of an import statement the language parser reads.
    Import,
    /// `@local.definition`: a name bound inside a function body.
    LocalDefinition,
    /// `@local.type`: the declared or evident type of that name.
    LocalType,
    /// `@local.value`: the value a `let` binds (its type is what the call
    /// in it returns).
    LocalValue,
    /// `@local.iterable`: what a `for` loop iterates (its binding is an
    /// element of it).
    LocalIterable,
    /// `@field.name`: a struct field's name.
    FieldName,
    /// `@field.type`: that field's type as written.
    FieldType,
    /// `@doc`: a documentation string (Python docstrings).
    Doc,
    /// `@macro.tokens`: the macro token tree a call pattern matched in.
    MacroTokens,
    /// `@comment`: a comment; the extractor attaches doc lines by position.
    Comment,
    /// `@_name`: a helper capture for predicates, ignored.
    Ignored,
}

impl Role {
    /// The role of a capture name; `None` for a name kausal does not know,
    /// which makes the query fail to compile (see `Compiled::build`).
    pub fn from_capture(name: &str) -> Option<Role> {
        use crate::summary::ItemKind;
        Some(match name {
            "name" => Role::Name,
            "body" => Role::Body,
            "impl.type" => Role::ImplType,
            "impl.trait" => Role::ImplTrait,
            "reference.call" => Role::Call,
            "reference.method_call" => Role::MethodCall,
            "receiver" => Role::Receiver,
            "qualifier" => Role::Qualifier,
            "reference.import" => Role::ImportStatement,
            "reference.module" => Role::ModuleDecl,
            "import" => Role::Import,
            "local.definition" => Role::LocalDefinition,
            "local.type" => Role::LocalType,
            "local.value" => Role::LocalValue,
            "local.iterable" => Role::LocalIterable,
            "field.name" => Role::FieldName,
            "field.type" => Role::FieldType,
            "doc" => Role::Doc,
            "comment" => Role::Comment,
            "macro.tokens" => Role::MacroTokens,
            _ if name.starts_with('_') => Role::Ignored,
            "definition.function" => Role::Definition(ItemKind::Function),
            "definition.method" => Role::Definition(ItemKind::Method),
            "definition.struct" => Role::Definition(ItemKind::Struct),
            "definition.enum" => Role::Definition(ItemKind::Enum),
            "definition.union" => Role::Definition(ItemKind::Union),
            "definition.class" => Role::Definition(ItemKind::Class),
            "definition.trait" => Role::Definition(ItemKind::Trait),
            "definition.interface" => Role::Definition(ItemKind::Interface),
            "definition.impl" => Role::Definition(ItemKind::Impl),
            "definition.module" => Role::Definition(ItemKind::Module),
            "definition.constant" => Role::Definition(ItemKind::Const),
            "definition.static" => Role::Definition(ItemKind::Static),
            "definition.type" => Role::Definition(ItemKind::TypeAlias),
            "definition.macro" => Role::Definition(ItemKind::Macro),
            _ => return None,
        })
    }
}

/// A language's grammar with its compiled query and capture roles.
pub struct Compiled {
    /// The tree-sitter grammar to set on a `Parser` before parsing.
    pub grammar: tree_sitter::Language,
    /// The language's query files (`query_sources`) compiled as one query.
    pub query: Query,
    /// Role of each capture index.
    pub roles: Vec<Role>,
}

impl Compiled {
    fn build(language: Language) -> Result<Compiled, String> {
        let grammar = language.grammar();
        let mut source = String::new();
        for (_, text) in language.query_sources() {
            source.push_str(text);
            source.push('\n');
        }
        let query = Query::new(&grammar, &source).map_err(|error| {
            let files: Vec<&str> = language.query_sources().iter().map(|(f, _)| *f).collect();
            format!("{} (query files {})", error, files.join(" + "))
        })?;
        let mut roles = Vec::new();
        for name in query.capture_names() {
            let role = Role::from_capture(name).ok_or_else(|| {
                format!(
                    "unknown capture name @{name} in {} queries",
                    language.name()
                )
            })?;
            roles.push(role);
        }
        Ok(Compiled {
            grammar,
            query,
            roles,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `query-check` of the style guide: every language's queries
    /// compile against its grammar and use only known capture names.
    #[test]
    fn every_query_compiles_with_known_captures() {
        for language in Language::ALL {
            if let Err(error) = language.compiled() {
                panic!("{error}");
            }
        }
    }

    #[test]
    fn extensions_select_languages() {
        assert_eq!(Language::from_path("src/a.rs"), Some(Language::Rust));
        assert_eq!(Language::from_path("x/y.tsx"), Some(Language::Tsx));
        assert_eq!(Language::from_path("main.zig"), Some(Language::Zig));
        assert_eq!(Language::from_path("README.md"), None);
        assert_eq!(Language::from_path("Makefile"), None);
    }
}
