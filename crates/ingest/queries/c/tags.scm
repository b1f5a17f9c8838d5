; C definitions and calls.
(function_definition declarator: (function_declarator declarator: (identifier) @name) body: (_) @body) @definition.function
(function_definition declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) @name)) body: (_) @body) @definition.function
(struct_specifier name: (type_identifier) @name body: (_) @body) @definition.struct
(union_specifier name: (type_identifier) @name body: (_) @body) @definition.union
(enum_specifier name: (type_identifier) @name body: (_) @body) @definition.enum
(type_definition declarator: (type_identifier) @name) @definition.type
(preproc_function_def name: (identifier) @name) @definition.macro
(preproc_def name: (identifier) @name) @definition.macro

(call_expression function: (identifier) @name) @reference.call
(call_expression function: (field_expression argument: (_) @receiver field: (field_identifier) @name)) @reference.method_call

; Comments, for doc lines (matched to items by position).
(comment) @comment

; Function prototypes at file level (`int f(void);`, `void *g(size_t);`):
; stored with the file's top-level declarations, for call resolution
; through included headers (`resolve/generic/c.rs`).
(declaration declarator: (function_declarator declarator: (identifier) @name)) @reference.module
(declaration declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))) @reference.module
