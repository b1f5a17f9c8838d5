; Names bound by a function's parameters: a call through one of them
; (`httpbin("get")` with a pytest fixture `httpbin`, a callback) is local
; and makes no edge.
(parameters (identifier) @local.definition)
(parameters (default_parameter name: (identifier) @local.definition))
(parameters (typed_parameter (identifier) @local.definition))
(parameters (typed_default_parameter name: (identifier) @local.definition))
(lambda_parameters (identifier) @local.definition)
; Evident types of locals, so `s.get()` on `s = Session()` or `s: Session`
; resolves through the class: the annotation as written, or the whole
; call (its callee names a class, or a function whose return annotation
; is the type).
(typed_parameter (identifier) @local.definition type: (type) @local.type)
(typed_default_parameter name: (identifier) @local.definition type: (type) @local.type)
(assignment left: (identifier) @local.definition type: (type) @local.type)
(assignment left: (identifier) @local.definition right: (call) @local.type)
(with_item value: (as_pattern (call) @local.type alias: (as_pattern_target (identifier) @local.definition)))
; Fields: a class-level annotation, or what a method assigns to
; `self.x` (a call, or a typed parameter named as the value).
(class_definition body: (block (expression_statement (assignment left: (identifier) @field.name type: (type) @field.type))))
(assignment left: (attribute object: (identifier) @_self attribute: (identifier) @field.name) type: (type) @field.type (#eq? @_self "self"))
(assignment left: (attribute object: (identifier) @_self attribute: (identifier) @field.name) right: [(call) (identifier)] @field.type (#eq? @_self "self"))
