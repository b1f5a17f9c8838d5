(import_statement) @reference.import
(import_from_statement) @reference.import
