(import_statement) @reference.import
; `export ... from` re-exports: a barrel module passes names on.
(export_statement source: (string)) @reference.import
