//! The export's bounds: how many rows it holds in memory before handing
//! them to the Parquet writer, how large a row group grows, and how it
//! buffers writes. Together they cap the export's memory whatever the
//! size of the graph (a row group is encoded in memory until it is full).

/// Rows gathered per table before they become one Arrow record batch and
/// go to the Parquet writer.
pub const BATCH_ROWS: usize = 8_192;

/// Most rows in one Parquet row group (the unit engines skip and read in
/// parallel). Blocks rows average a few hundred bytes before compression,
/// so a row group stays in the tens of megabytes.
pub const ROW_GROUP_ROWS: usize = 131_072;

/// Most encoded bytes of one row group, whichever limit comes first.
pub const ROW_GROUP_BYTES: usize = 64 * 1024 * 1024;

/// Bytes buffered before each write to the file.
pub const WRITE_BUFFER_BYTES: usize = 1024 * 1024;

/// zstd level of every column (3: zstd's default, fast to write, read by
/// DataFusion, DuckDB, Spark and Trino).
pub const ZSTD_LEVEL: i32 = 3;
