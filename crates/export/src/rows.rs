//! `Rows`: the rows of one table gathered in Arrow column builders, built
//! from the table's [`Column`] list (so what is written always has the
//! documented schema), taken as a record batch every
//! [`crate::limits::BATCH_ROWS`] rows.

use std::sync::Arc;

use arrow_array::builder::{StringBuilder, StringDictionaryBuilder, UInt32Builder, UInt64Builder};
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, SchemaRef};

use crate::schema::{ColumnType, Table};

/// One value of a row, in column order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    /// Text of a `Text` or `Category` column.
    Str(&'a str),
    /// A `U32` column's value.
    U32(u32),
    /// A `U64` column's value.
    U64(u64),
    /// Null (only in a nullable column).
    Null,
}

enum Builder {
    Text(StringBuilder),
    Category(StringDictionaryBuilder<Int32Type>),
    U32(UInt32Builder),
    U64(UInt64Builder),
}

impl Builder {
    fn new(kind: ColumnType) -> Self {
        match kind {
            ColumnType::Text => Builder::Text(StringBuilder::new()),
            ColumnType::Category => Builder::Category(StringDictionaryBuilder::new()),
            ColumnType::U32 => Builder::U32(UInt32Builder::new()),
            ColumnType::U64 => Builder::U64(UInt64Builder::new()),
        }
    }

    fn append(&mut self, value: Value<'_>) -> Result<(), &'static str> {
        match (self, value) {
            (Builder::Text(builder), Value::Str(text)) => builder.append_value(text),
            (Builder::Text(builder), Value::Null) => builder.append_null(),
            (Builder::Category(builder), Value::Str(text)) => {
                builder
                    .append(text)
                    .map_err(|_| "dictionary key overflow")?;
            }
            (Builder::Category(builder), Value::Null) => builder.append_null(),
            (Builder::U32(builder), Value::U32(number)) => builder.append_value(number),
            (Builder::U32(builder), Value::Null) => builder.append_null(),
            (Builder::U64(builder), Value::U64(number)) => builder.append_value(number),
            (Builder::U64(builder), Value::Null) => builder.append_null(),
            _ => return Err("a value of the wrong type"),
        }
        Ok(())
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Text(builder) => Arc::new(builder.finish()),
            Builder::Category(builder) => Arc::new(builder.finish()),
            Builder::U32(builder) => Arc::new(builder.finish()),
            Builder::U64(builder) => Arc::new(builder.finish()),
        }
    }
}

/// The rows of one table not yet handed to its writer.
pub(crate) struct Rows {
    table: Table,
    schema: SchemaRef,
    builders: Vec<Builder>,
    len: usize,
}

impl Rows {
    pub(crate) fn new(table: Table) -> Self {
        Self {
            table,
            schema: table.schema(),
            builders: table
                .columns
                .iter()
                .map(|column| Builder::new(column.kind))
                .collect(),
            len: 0,
        }
    }

    /// Rows gathered since the last batch.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Appends one row: a value per column, in column order. A row of the
    /// wrong length, a value of the wrong type or a null in a column that
    /// takes none is refused (a bug in the caller, reported, not written).
    pub(crate) fn push(&mut self, values: &[Value<'_>]) -> Result<(), ArrowError> {
        let refuse = |what: String| {
            ArrowError::InvalidArgumentError(format!("{} row: {what}", self.table.name))
        };
        if values.len() != self.builders.len() {
            return Err(refuse(format!(
                "{} values for {} columns",
                values.len(),
                self.builders.len()
            )));
        }
        for (column, value) in self.table.columns.iter().zip(values) {
            let fits = match (column.kind, value) {
                (_, Value::Null) => column.nullable,
                (ColumnType::Text | ColumnType::Category, Value::Str(_))
                | (ColumnType::U32, Value::U32(_))
                | (ColumnType::U64, Value::U64(_)) => true,
                _ => false,
            };
            if !fits {
                return Err(refuse(format!("{value:?} in column {}", column.name)));
            }
        }
        for ((builder, value), column) in
            self.builders.iter_mut().zip(values).zip(self.table.columns)
        {
            builder
                .append(*value)
                .map_err(|what| refuse(format!("column {}: {what}", column.name)))?;
        }
        self.len += 1;
        Ok(())
    }

    /// The gathered rows as a record batch; the builders start empty again.
    pub(crate) fn take_batch(&mut self) -> Result<RecordBatch, ArrowError> {
        let columns: Vec<ArrayRef> = self.builders.iter_mut().map(Builder::finish).collect();
        self.len = 0;
        RecordBatch::try_new(self.schema.clone(), columns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::EDGES;

    #[test]
    fn rows_of_the_wrong_shape_are_refused_and_leave_nothing_behind() {
        let mut rows = Rows::new(EDGES);
        let good = [
            Value::Str("r"),
            Value::Str("a"),
            Value::Str("b"),
            Value::Str("calls"),
            Value::Null,
        ];
        rows.push(&good).expect("a good row");
        assert!(rows.push(&good[..4]).is_err(), "too short");
        let mut null_source = good;
        null_source[1] = Value::Null;
        assert!(
            rows.push(&null_source).is_err(),
            "null in a non-null column"
        );
        let mut number = good;
        number[2] = Value::U32(1);
        assert!(rows.push(&number).is_err(), "wrong type");
        assert_eq!(rows.len(), 1);
        let batch = rows.take_batch().expect("batch");
        assert_eq!(batch.num_rows(), 1);
        assert_eq!(rows.len(), 0);
    }
}
