; TypeScript additions to the ecma base.
(interface_declaration name: (type_identifier) @name body: (_) @body) @definition.interface
(type_alias_declaration name: (type_identifier) @name) @definition.type
(enum_declaration name: (identifier) @name body: (_) @body) @definition.enum
(abstract_class_declaration name: (type_identifier) @name body: (_) @body) @definition.class
(method_signature name: (property_identifier) @name) @definition.method
(class_declaration name: (_) @name (class_heritage (implements_clause (type_identifier) @impl.trait)) body: (_) @body) @definition.class
(module name: (_) @name body: (_) @body) @definition.module
; Base classes and base interfaces: `self`-style calls (`this.m()`,
; `super.m()`) and typed receivers look there for inherited methods.
(class_declaration name: (_) @name (class_heritage (extends_clause value: (_) @impl.trait)) body: (_) @body) @definition.class
(abstract_class_declaration name: (type_identifier) @name (class_heritage (extends_clause value: (_) @impl.trait)) body: (_) @body) @definition.class
(abstract_class_declaration name: (type_identifier) @name (class_heritage (implements_clause (type_identifier) @impl.trait)) body: (_) @body) @definition.class
(interface_declaration name: (type_identifier) @name (extends_type_clause type: (_) @impl.trait) body: (_) @body) @definition.interface
