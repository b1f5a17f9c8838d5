; Names bound inside a function body: a call through one of them (a closure
; or function-typed parameter) is local and makes no edge.
(let_declaration pattern: (identifier) @local.definition)
(parameter pattern: (identifier) @local.definition)
(closure_parameters (identifier) @local.definition)

; Declared or evident types of locals, parameters and fields, so that
; `x.m()` can resolve through the type of `x` (`x: &Table`,
; `let x = Table::open(..)`, `let x = Table { .. }`, `self.table.m()`).
(parameter pattern: (identifier) @local.definition type: (_) @local.type)
(let_declaration pattern: (identifier) @local.definition type: (_) @local.type)
(let_declaration pattern: (identifier) @local.definition
  value: (call_expression function: (scoped_identifier path: (_) @local.type)))
(let_declaration pattern: (identifier) @local.definition
  value: (struct_expression name: (_) @local.type))
; `let x = f(..)?`, `let x = a.b().unwrap()`: x has the type the call
; returns (see `local_value_call` in extract.rs).
(let_declaration pattern: (identifier) @local.definition value: (_) @local.value)
; `for x in g.edges(a)`, `for x in &self.items`: x is an element of it.
(for_expression pattern: (identifier) @local.definition value: (_) @local.iterable)
(field_declaration name: (field_identifier) @field.name type: (_) @field.type)
; `for (i, x) in v.iter().enumerate()`: x is an element of `v.iter()`.
(for_expression
  pattern: (tuple_pattern . (_) . (identifier) @local.definition .)
  value: (call_expression
    function: (field_expression value: (_) @local.iterable field: (field_identifier) @_adaptor)
    (#eq? @_adaptor "enumerate")))
; `it.map(|e| e.weight())`: a one-parameter closure given to an iterator
; adaptor binds an element of the receiver (as a `for` loop would).
(call_expression
  function: (field_expression value: (_) @local.iterable field: (field_identifier) @_adaptor)
  arguments: (arguments . (closure_expression
    parameters: (closure_parameters . (identifier) @local.definition .)))
  (#match? @_adaptor "^(map|filter|for_each|any|all|find|filter_map|flat_map|take_while|skip_while|position|inspect|map_while|max_by_key|min_by_key)$"))
