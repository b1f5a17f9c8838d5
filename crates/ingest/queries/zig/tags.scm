; Zig definitions and calls (the grammar crate ships no tags query).
; A container is a `const Name = struct { ... };` declaration; functions
; inside it become methods of it through the extractor's nesting.
(function_declaration name: (identifier) @name body: (_) @body) @definition.function
(variable_declaration (identifier) @name (struct_declaration) @body) @definition.struct
(variable_declaration (identifier) @name (enum_declaration) @body) @definition.enum
(variable_declaration (identifier) @name (union_declaration) @body) @definition.union

(call_expression function: (identifier) @name) @reference.call
(call_expression function: (field_expression object: (_) @receiver member: (identifier) @name)) @reference.method_call

; Comments, for doc lines (matched to items by position).
(comment) @comment
