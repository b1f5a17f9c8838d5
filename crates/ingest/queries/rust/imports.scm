; `use` declarations; the extractor parses the use tree's text.
(use_declaration argument: (_) @import) @reference.import
