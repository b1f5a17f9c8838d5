; `const name = @import("spec");`
(variable_declaration (identifier) (builtin_function (builtin_identifier) @_b (#eq? @_b "@import"))) @reference.import
