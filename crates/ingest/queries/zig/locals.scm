; Names bound inside a function: a call through one (a function-typed
; parameter) is local and makes no edge.
(parameter name: (identifier) @local.definition)
; Written types, so `p.next()` on `p: *Parse` resolves through Parse
; (resolve/generic/zig.rs).
(parameter name: (identifier) @local.definition type: (_) @local.type)
(variable_declaration (identifier) @local.definition type: (_) @local.type)
; `const t = Ast.init(..)` / `Ast.parse(..)`: by convention a value of Ast.
(variable_declaration (identifier) @local.definition
  (call_expression function: (field_expression object: (identifier) @local.type
    member: (identifier) @_constructor (#match? @_constructor "^(init|create|parse)$"))))
; Container fields with their types (a file's top-level fields are its
; struct's): `p.syms.popScope()` follows `syms: SymbolStack`.
(container_field name: (identifier) @field.name type: (_) @field.type)
; `const astgen = gz.astgen;`: the value it is bound to, followed through
; `gz`'s type and the field's (resolve/generic/zig.rs).
(variable_declaration (identifier) @local.definition (field_expression) @local.type)
(variable_declaration (identifier) @local.definition
  (try_expression (call_expression function: (field_expression object: (identifier) @local.type
    member: (identifier) @_constructor (#match? @_constructor "^(init|create|parse)$")))))
