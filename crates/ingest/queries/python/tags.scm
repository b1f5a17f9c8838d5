; Python definitions and calls. A function inside a class becomes a method
; in the extractor. Docstrings are captured as @doc.
(function_definition name: (identifier) @name body: (block . (expression_statement (string) @doc)?) @body) @definition.function
(class_definition name: (identifier) @name superclasses: (argument_list (_) @impl.trait)? body: (block . (expression_statement (string) @doc)?) @body) @definition.class

(call function: (identifier) @name) @reference.call
(call function: (attribute object: (_) @receiver attribute: (identifier) @name)) @reference.method_call

; Comments, for doc lines (matched to items by position).
(comment) @comment
