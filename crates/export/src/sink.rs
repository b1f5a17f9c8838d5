//! Where a table goes: a Parquet writer over a file of the export
//! directory, written through [`kausal_vfs::Vfs`] (as every byte kausal
//! writes) into `<table>.parquet.tmp`, synced, then renamed over
//! `<table>.parquet`. A reader of the directory sees the previous export's
//! file or this one's, never a half-written one.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use kausal_vfs::{Vfs, VfsFile};

use crate::error::ExportError;
use crate::limits::{ROW_GROUP_BYTES, ROW_GROUP_ROWS, WRITE_BUFFER_BYTES, ZSTD_LEVEL};
use crate::schema::Table;

/// `std::io::Write` over a [`VfsFile`], appending at the end, buffered.
struct VfsWriter {
    file: Box<dyn VfsFile>,
    offset: u64,
    buffer: Vec<u8>,
}

impl VfsWriter {
    fn new(file: Box<dyn VfsFile>) -> Self {
        Self {
            file,
            offset: 0,
            buffer: Vec::with_capacity(WRITE_BUFFER_BYTES),
        }
    }

    fn write_out(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        self.file
            .write_at(self.offset, &self.buffer)
            .map_err(std::io::Error::other)?;
        self.offset += self.buffer.len() as u64;
        self.buffer.clear();
        Ok(())
    }
}

impl Write for VfsWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buffer.len() + data.len() > WRITE_BUFFER_BYTES {
            self.write_out()?;
        }
        if data.len() >= WRITE_BUFFER_BYTES {
            self.file
                .write_at(self.offset, data)
                .map_err(std::io::Error::other)?;
            self.offset += data.len() as u64;
        } else {
            self.buffer.extend_from_slice(data);
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.write_out()
    }
}

/// A table being written.
pub(crate) struct TableSink {
    table: Table,
    vfs: Arc<dyn Vfs>,
    temporary: PathBuf,
    path: PathBuf,
    writer: ArrowWriter<VfsWriter>,
}

/// What a finished table file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Written {
    pub path: PathBuf,
    pub rows: u64,
    pub row_groups: usize,
    pub bytes: u64,
}

impl TableSink {
    /// Starts `table` in `dir`, with `metadata` in the file's key-value
    /// metadata.
    pub(crate) fn create(
        vfs: Arc<dyn Vfs>,
        dir: &Path,
        table: Table,
        metadata: Vec<KeyValue>,
    ) -> Result<Self, ExportError> {
        let path = dir.join(table.file_name);
        let temporary = dir.join(format!("{}.tmp", table.file_name));
        let file = vfs.create_file(&temporary)?;
        let level = ZstdLevel::try_new(ZSTD_LEVEL).map_err(|source| ExportError::Parquet {
            path: temporary.clone(),
            source,
        })?;
        let properties = WriterProperties::builder()
            .set_compression(Compression::ZSTD(level))
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
            .set_created_by(format!("kausal {}", env!("CARGO_PKG_VERSION")))
            .set_key_value_metadata(Some(metadata))
            .build();
        let writer = ArrowWriter::try_new(VfsWriter::new(file), table.schema(), Some(properties))
            .map_err(|source| ExportError::Parquet {
            path: temporary.clone(),
            source,
        })?;
        Ok(Self {
            table,
            vfs,
            temporary,
            path,
            writer,
        })
    }

    /// The table this sink writes.
    pub(crate) fn table(&self) -> Table {
        self.table
    }

    /// Appends `batch` (the writer closes a row group when it is full).
    pub(crate) fn write(&mut self, batch: &RecordBatch) -> Result<(), ExportError> {
        self.writer
            .write(batch)
            .map_err(|source| ExportError::Parquet {
                path: self.temporary.clone(),
                source,
            })
    }

    /// Writes the footer, syncs the file and renames it into place.
    pub(crate) fn finish(mut self) -> Result<Written, ExportError> {
        let parquet_error = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ExportError::Parquet { path, source }
        };
        let metadata = self
            .writer
            .finish()
            .map_err(parquet_error(&self.temporary))?;
        let inner = self.writer.inner_mut();
        inner
            .flush()
            .map_err(|error| parquet_error(&self.temporary)(error.into()))?;
        inner.file.sync_data()?;
        let bytes = inner.offset;
        let rows = metadata
            .row_groups()
            .iter()
            .map(|group| group.num_rows().max(0) as u64)
            .sum();
        let row_groups = metadata.num_row_groups();
        drop(self.writer);
        self.vfs.rename(&self.temporary, &self.path)?;
        Ok(Written {
            path: self.path,
            rows,
            row_groups,
            bytes,
        })
    }
}
