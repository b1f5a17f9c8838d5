(import_declaration) @reference.import
