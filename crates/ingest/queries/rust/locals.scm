; Names bound inside a function body: a call through one of them (a closure
; or function-typed parameter) is local and makes no edge.
(let_declaration pattern: (identifier) @local.definition)
(parameter pattern: (identifier) @local.definition)
(closure_parameters (identifier) @local.definition)
