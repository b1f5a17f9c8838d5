(import_statement) @reference.import
