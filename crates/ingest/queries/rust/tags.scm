; Rust definitions and references for kausal-ingest.
; Capture names follow the tree-sitter tags convention (@definition.KIND,
; @reference.KIND with an inner @name). A function whose enclosing item is
; an impl or trait becomes a method in the extractor, so inline modules do
; not turn functions into methods (the grammar crate's query does).

(function_item name: (identifier) @name body: (_) @body) @definition.function
; Trait method signatures without a default body.
(function_signature_item name: (identifier) @name) @definition.function
(struct_item name: (type_identifier) @name) @definition.struct
(enum_item name: (type_identifier) @name) @definition.enum
(union_item name: (type_identifier) @name) @definition.union
(type_item name: (type_identifier) @name) @definition.type
(trait_item name: (type_identifier) @name body: (_) @body) @definition.trait
(mod_item name: (identifier) @name body: (_) @body) @definition.module
(const_item name: (identifier) @name) @definition.constant
(static_item name: (identifier) @name) @definition.static
(macro_definition name: (identifier) @name) @definition.macro

; impl blocks: the self type and the trait, as written.
(impl_item trait: (_) @impl.trait type: (_) @impl.type body: (_) @body) @definition.impl
(impl_item !trait type: (_) @impl.type body: (_) @body) @definition.impl

; Calls: bare `f()`, paths `a::b::f()`, `Foo::new()`, turbofish `f::<T>()`.
(call_expression function: (identifier) @name) @reference.call
(call_expression function: (scoped_identifier) @name) @reference.call
(call_expression function: (generic_function function: (identifier) @name)) @reference.call
(call_expression function: (generic_function function: (scoped_identifier) @name)) @reference.call

; Method calls `x.m()` and `x.m::<T>()`.
(call_expression
  function: (field_expression value: (_) @receiver field: (field_identifier) @name)) @reference.method_call
(call_expression
  function: (generic_function
    function: (field_expression value: (_) @receiver field: (field_identifier) @name))) @reference.method_call

; Comments, for doc lines (matched to items by position).
(line_comment) @comment
(block_comment) @comment

; Calls inside macro arguments (`assert_eq!(f(x), 1)`, `write!(f, "{}", self.name())`):
; tree-sitter keeps macro arguments as token trees, so match the token
; shapes `name (...)`, `recv . name (...)` and `Type :: name (...)`.
(token_tree (identifier) @name @reference.call . (token_tree . "(")) @macro.tokens
(token_tree [(identifier) (self)] @receiver . "." . (identifier) @name @reference.method_call . (token_tree . "(")) @macro.tokens
(token_tree (identifier) @qualifier . "::" . (identifier) @name @reference.call . (token_tree . "(")) @macro.tokens
