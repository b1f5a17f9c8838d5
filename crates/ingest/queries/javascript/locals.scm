; JavaScript parameters: `function f(cb, opt = {})` binds `cb` and `opt`.
(formal_parameters (identifier) @local.definition)
(formal_parameters (assignment_pattern left: (identifier) @local.definition))
