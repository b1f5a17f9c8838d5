; JavaScript / TypeScript definitions and calls (shared base of both).
(function_declaration name: (identifier) @name body: (_) @body) @definition.function
(generator_function_declaration name: (identifier) @name body: (_) @body) @definition.function
(method_definition name: (property_identifier) @name body: (_) @body) @definition.method
(class_declaration name: (_) @name body: (_) @body) @definition.class
(lexical_declaration (variable_declarator name: (identifier) @name value: [(arrow_function) (function_expression)] @body)) @definition.function

(call_expression function: (identifier) @name) @reference.call
(call_expression function: (member_expression object: (_) @receiver property: (property_identifier) @name)) @reference.method_call
(new_expression constructor: (identifier) @name) @reference.call

; Comments, for doc lines (matched to items by position).
(comment) @comment
