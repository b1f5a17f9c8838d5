; Names bound inside a function: a call through one (a func-typed
; parameter) is local and makes no edge.
(parameter_declaration name: (identifier) @local.definition)
; Written and evident types, so `x.M()` resolves through x's type
; (resolve/generic/go.rs): parameters and method receivers, `var x T`,
; `x := T{..}` / `x := &T{..}`, and `x := f(..)` / `x, err := f(..)`.
(parameter_declaration name: (identifier) @local.definition type: (_) @local.type)
(var_spec name: (identifier) @local.definition type: (_) @local.type)
(short_var_declaration left: (expression_list . (identifier) @local.definition)
  right: (expression_list . (composite_literal type: (_) @local.type)))
(short_var_declaration left: (expression_list . (identifier) @local.definition)
  right: (expression_list . (unary_expression operand: (composite_literal type: (_) @local.type))))
(short_var_declaration left: (expression_list . (identifier) @local.definition)
  right: (expression_list . (call_expression) @local.value))
(short_var_declaration left: (expression_list . (identifier) @local.definition)
  right: (expression_list . (call_expression function: (identifier) @_new (#eq? @_new "new")
    arguments: (argument_list . (_) @local.type))))
