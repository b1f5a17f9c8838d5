; TypeScript parameters: `(cb: () => void)` binds `cb` locally.
(required_parameter pattern: (identifier) @local.definition)
(optional_parameter pattern: (identifier) @local.definition)
