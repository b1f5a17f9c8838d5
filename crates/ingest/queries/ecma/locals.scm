; Names bound by a function's parameters: a call through one of them (a
; callback) is local and makes no edge (parameter lists are in
; javascript/locals.scm and typescript/locals.scm, whose grammars differ).
(arrow_function parameter: (identifier) @local.definition)
