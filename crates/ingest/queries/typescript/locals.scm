; TypeScript parameters: `(cb: () => void)` binds `cb` locally.
(required_parameter pattern: (identifier) @local.definition)
(optional_parameter pattern: (identifier) @local.definition)
; Written types of parameters and variables, so `subscriber.next(v)` on
; `subscriber: Subscriber<T>` resolves through the class.
(required_parameter pattern: (identifier) @local.definition type: (type_annotation (_) @local.type))
(optional_parameter pattern: (identifier) @local.definition type: (type_annotation (_) @local.type))
(variable_declarator name: (identifier) @local.definition type: (type_annotation (_) @local.type))
(variable_declarator name: (identifier) @local.definition value: (new_expression constructor: (identifier) @local.type))
; `const x = make()`: the call's callee names a class or a function whose
; return type is written.
(variable_declarator name: (identifier) @local.definition value: (call_expression) @local.type)
(variable_declarator name: (identifier) @local.definition value: (await_expression (call_expression) @local.type))
; Fields with a written type (`private x: Foo`, a constructor's
; `private readonly x: Foo` parameter), or what a method assigns to
; `this.x` (`new Foo()`, a call, a typed parameter).
(public_field_definition name: [(property_identifier) (private_property_identifier)] @field.name type: (type_annotation (_) @field.type))
(required_parameter (accessibility_modifier) pattern: (identifier) @field.name type: (type_annotation (_) @field.type))
(assignment_expression left: (member_expression object: (this) property: [(property_identifier) (private_property_identifier)] @field.name) right: (new_expression constructor: (identifier) @field.type))
(assignment_expression left: (member_expression object: (this) property: [(property_identifier) (private_property_identifier)] @field.name) right: [(call_expression) (identifier)] @field.type)
