; Names bound by a function's parameters: a call through one of them
; (`httpbin("get")` with a pytest fixture `httpbin`, a callback) is local
; and makes no edge.
(parameters (identifier) @local.definition)
(parameters (default_parameter name: (identifier) @local.definition))
(parameters (typed_parameter (identifier) @local.definition))
(parameters (typed_default_parameter name: (identifier) @local.definition))
(lambda_parameters (identifier) @local.definition)
