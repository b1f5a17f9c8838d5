(preproc_include) @reference.import
