; Go definitions and calls. Methods name their receiver type (@impl.type);
; a package is a directory, so resolution scopes by directory.
(function_declaration name: (identifier) @name body: (_) @body) @definition.function
(method_declaration
  receiver: (parameter_list (parameter_declaration type: [(type_identifier) @impl.type (pointer_type (type_identifier) @impl.type) (generic_type type: (type_identifier) @impl.type) (pointer_type (generic_type type: (type_identifier) @impl.type))]))
  name: (field_identifier) @name body: (_) @body) @definition.method
(type_declaration (type_spec name: (type_identifier) @name type: (struct_type))) @definition.struct
(type_declaration (type_spec name: (type_identifier) @name type: (interface_type))) @definition.interface
(type_declaration (type_spec name: (type_identifier) @name type: [(type_identifier) (qualified_type) (function_type) (map_type) (slice_type) (pointer_type) (channel_type) (array_type) (generic_type)])) @definition.type
(const_declaration (const_spec name: (identifier) @name)) @definition.constant

(call_expression function: (identifier) @name) @reference.call
(call_expression function: (selector_expression operand: (_) @receiver field: (field_identifier) @name)) @reference.method_call

; Comments, for doc lines (matched to items by position).
(comment) @comment
