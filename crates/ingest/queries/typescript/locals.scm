; TypeScript parameters: `(cb: () => void)` binds `cb` locally.
(required_parameter pattern: (identifier) @local.definition)
(optional_parameter pattern: (identifier) @local.definition)
; Written types of parameters and variables, so `subscriber.next(v)` on
; `subscriber: Subscriber<T>` resolves through the class.
(required_parameter pattern: (identifier) @local.definition type: (type_annotation (_) @local.type))
(optional_parameter pattern: (identifier) @local.definition type: (type_annotation (_) @local.type))
(variable_declarator name: (identifier) @local.definition type: (type_annotation (_) @local.type))
(variable_declarator name: (identifier) @local.definition value: (new_expression constructor: (identifier) @local.type))
