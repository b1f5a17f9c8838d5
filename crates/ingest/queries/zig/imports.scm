; `const name = @import("spec");`
(variable_declaration (identifier) (builtin_function (builtin_identifier) @_b (#eq? @_b "@import"))) @reference.import
; `const Self = @This();`: a name for the file's own struct.
(variable_declaration (identifier) (builtin_function (builtin_identifier) @_t (#eq? @_t "@This"))) @reference.import
