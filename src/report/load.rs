//! Reads an output folder back: `summary.json`, `manifest.json` and the
//! Parquet tables the report needs, as plain rows.
//!
//! Only the columns the report uses are read. A missing table or column is
//! an error that names the file and asks for a rerun of `relayaudit replay`.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use arrow::array::{
    Array, RecordBatch, StringArray, TimestampMicrosecondArray, UInt16Array, UInt32Array, UInt64Array,
};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use serde_json::Value;

/// Everything the report is made from.
pub struct Evidence {
    pub summary: Value,
    pub manifest: Value,
    pub verdicts: Vec<VerdictRow>,
    /// Messages that appear in `verdicts`, by message key.
    pub messages: BTreeMap<String, MessageRow>,
    /// Connection start of every SMTP session the logs show, in microseconds.
    pub session_starts_us: Vec<i64>,
    /// Outbound SMTP delivery attempts of replayed messages.
    pub attempts: Vec<AttemptRow>,
}

/// One row of `verdicts.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct VerdictRow {
    pub message_key: String,
    pub recipient: String,
    pub transaction: u32,
    pub outcome: String,
    pub rule: String,
    pub reply_code: u16,
    pub enhanced_code: String,
    pub code_source: String,
    /// The replay's English detail.
    pub detail: String,
    /// Stable code of `detail`; empty when accepted, or when the folder
    /// was written before verdicts had detail codes.
    pub detail_code: String,
    /// Parameters of `detail`, a JSON object; null when the column is
    /// missing.
    pub detail_params: Value,
    pub rewritten_from: String,
    pub rewritten_to: String,
    pub counter_value: Option<u64>,
    pub counter_limit: Option<u64>,
    /// When the MTA would hand the message to the relay (UTC microseconds).
    pub at_us: i64,
    pub source_file: String,
    pub first_line: u64,
    /// File and line of the recipient's relay-bound delivery; `None` in
    /// folders written before verdicts had them.
    pub delivery: Option<(String, u64)>,
}

/// The columns of `messages.parquet` that the report shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MessageRow {
    /// Envelope sender as logged; empty for the null sender.
    pub envelope_from: String,
    pub size_bytes: Option<u64>,
}

/// One outbound SMTP delivery attempt of a replayed message.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRow {
    pub message_key: String,
    pub at_us: i64,
    pub relay_host: String,
    /// Postfix's `conn_use`: set when the attempt reused a cached connection.
    pub conn_use: Option<u32>,
}

impl Evidence {
    /// Reads the output folder `dir` written by `relayaudit replay`.
    pub fn read(dir: &Path) -> Result<Self> {
        let summary = read_json(&dir.join("summary.json"))?;
        let manifest = read_json(&dir.join("manifest.json"))?;
        if manifest.get("command").and_then(Value::as_str) != Some("replay") {
            bail!(
                "{} was not written by `relayaudit replay`; the report needs the verdicts of a replay",
                dir.display()
            );
        }

        let verdict_batch = read_table(&dir.join("verdicts.parquet"), VERDICT_COLUMNS)?;
        let verdicts = verdict_rows(&verdict_batch).context("failed to read verdicts.parquet")?;

        let message_batch = read_table(&dir.join("messages.parquet"), MESSAGE_COLUMNS)?;
        let mut messages: BTreeMap<String, MessageRow> = verdicts
            .iter()
            .map(|row| (row.message_key.clone(), MessageRow::default()))
            .collect();
        fill_messages(&message_batch, &mut messages).context("failed to read messages.parquet")?;

        let session_batch = read_table(&dir.join("sessions.parquet"), SESSION_COLUMNS)?;
        let session_starts_us = session_starts(&session_batch).context("failed to read sessions.parquet")?;

        let delivery_batch = read_table(&dir.join("deliveries.parquet"), DELIVERY_COLUMNS)?;
        let attempts =
            smtp_attempts(&delivery_batch, &messages).context("failed to read deliveries.parquet")?;

        Ok(Evidence {
            summary,
            manifest,
            verdicts,
            messages,
            session_starts_us,
            attempts,
        })
    }
}

fn read_json(path: &Path) -> Result<Value> {
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "failed to read {}; run `relayaudit replay` into this folder first",
            path.display()
        )
    })?;
    serde_json::from_slice(&bytes).with_context(|| format!("{} is not valid JSON", path.display()))
}

/// Columns of `verdicts.parquet` that [`verdict_rows`] reads.
const VERDICT_COLUMNS: &[&str] = &[
    "message_key",
    "recipient",
    "transaction",
    "outcome",
    "rule",
    "reply_code",
    "enhanced_code",
    "code_source",
    "detail",
    "detail_code",
    "detail_params",
    "rewritten_from",
    "rewritten_to",
    "counter_value",
    "counter_limit",
    "at",
    "source_file",
    "first_line",
    "delivery_file",
    "delivery_line",
];
/// Columns of `messages.parquet` that [`fill_messages`] reads.
const MESSAGE_COLUMNS: &[&str] = &["message_key", "envelope_from", "size_bytes"];
/// Columns of `sessions.parquet` that [`session_starts`] reads.
const SESSION_COLUMNS: &[&str] = &["connected_at"];
/// Columns of `deliveries.parquet` that [`smtp_attempts`] reads.
const DELIVERY_COLUMNS: &[&str] = &["message_key", "attempt_at", "transport", "relay_host", "conn_use"];

/// Reads the top-level `columns` of the Parquet file at `path` into one
/// batch. A column the file lacks is left out, so that the reader of the
/// batch reports it by name.
fn read_table(path: &Path, columns: &[&str]) -> Result<RecordBatch> {
    let file = File::open(path).with_context(|| {
        format!(
            "failed to read {}; run `relayaudit replay` into this folder first",
            path.display()
        )
    })?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .with_context(|| format!("{} is not a Parquet file", path.display()))?;
    let wanted: Vec<usize> = builder
        .schema()
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, field)| columns.contains(&field.name().as_str()))
        .map(|(index, _)| index)
        .collect();
    let schema = builder
        .schema()
        .project(&wanted)
        .with_context(|| format!("failed to read {}", path.display()))?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), wanted);
    let builder = builder.with_projection(mask);
    let reader = builder
        .build()
        .with_context(|| format!("failed to read {}", path.display()))?;
    let batches = reader
        .collect::<Result<Vec<RecordBatch>, _>>()
        .with_context(|| format!("failed to read {}", path.display()))?;
    arrow::compute::concat_batches(&std::sync::Arc::new(schema), &batches)
        .with_context(|| format!("failed to read {}", path.display()))
}

fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T> {
    let array = batch
        .column_by_name(name)
        .ok_or_else(|| anyhow!("column {name:?} is missing; rerun `relayaudit replay` with this version"))?;
    array.as_any().downcast_ref::<T>().ok_or_else(|| {
        anyhow!(
            "column {name:?} has type {}, which the report does not read",
            array.data_type()
        )
    })
}

/// Returns a column that folders written by earlier versions lack, or
/// `None` when it is missing.
fn optional_column<'a>(batch: &'a RecordBatch, name: &str) -> Result<Option<&'a StringArray>> {
    match batch.column_by_name(name) {
        None => Ok(None),
        Some(_) => column::<StringArray>(batch, name).map(Some),
    }
}

fn text(array: &StringArray, row: usize) -> String {
    if array.is_null(row) {
        String::new()
    } else {
        array.value(row).to_string()
    }
}

fn optional<A: Array, T>(array: &A, row: usize, value: impl Fn(usize) -> T) -> Option<T> {
    (!array.is_null(row)).then(|| value(row))
}

fn verdict_rows(batch: &RecordBatch) -> Result<Vec<VerdictRow>> {
    let message_key = column::<StringArray>(batch, "message_key")?;
    let recipient = column::<StringArray>(batch, "recipient")?;
    let transaction = column::<UInt32Array>(batch, "transaction")?;
    let outcome = column::<StringArray>(batch, "outcome")?;
    let rule = column::<StringArray>(batch, "rule")?;
    let reply_code = column::<UInt16Array>(batch, "reply_code")?;
    let enhanced_code = column::<StringArray>(batch, "enhanced_code")?;
    let code_source = column::<StringArray>(batch, "code_source")?;
    let detail = column::<StringArray>(batch, "detail")?;
    let detail_code = optional_column(batch, "detail_code")?;
    let detail_params = optional_column(batch, "detail_params")?;
    let rewritten_from = column::<StringArray>(batch, "rewritten_from")?;
    let rewritten_to = column::<StringArray>(batch, "rewritten_to")?;
    let counter_value = column::<UInt64Array>(batch, "counter_value")?;
    let counter_limit = column::<UInt64Array>(batch, "counter_limit")?;
    let at = column::<TimestampMicrosecondArray>(batch, "at")?;
    let source_file = column::<StringArray>(batch, "source_file")?;
    let first_line = column::<UInt64Array>(batch, "first_line")?;
    let delivery_file = optional_column(batch, "delivery_file")?;
    let delivery_line = match batch.column_by_name("delivery_line") {
        Some(_) => Some(column::<UInt64Array>(batch, "delivery_line")?),
        None => None,
    };

    let mut rows = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        if at.is_null(row) {
            bail!("row {row} has no relay time in column \"at\"");
        }
        rows.push(VerdictRow {
            message_key: text(message_key, row),
            recipient: text(recipient, row),
            transaction: transaction.value(row),
            outcome: text(outcome, row),
            rule: text(rule, row),
            reply_code: reply_code.value(row),
            enhanced_code: text(enhanced_code, row),
            code_source: text(code_source, row),
            detail: text(detail, row),
            detail_code: detail_code.map_or_else(String::new, |codes| text(codes, row)),
            detail_params: detail_params
                .and_then(|params| serde_json::from_str(params.value(row)).ok())
                .unwrap_or(Value::Null),
            rewritten_from: text(rewritten_from, row),
            rewritten_to: text(rewritten_to, row),
            counter_value: optional(counter_value, row, |r| counter_value.value(r)),
            counter_limit: optional(counter_limit, row, |r| counter_limit.value(r)),
            at_us: at.value(row),
            source_file: text(source_file, row),
            first_line: first_line.value(row),
            delivery: match (delivery_file, delivery_line) {
                (Some(files), Some(lines)) if !files.is_null(row) && !lines.is_null(row) => {
                    Some((files.value(row).to_string(), lines.value(row)))
                }
                _ => None,
            },
        });
    }
    Ok(rows)
}

/// Fills in sender and size of the messages already keyed in `messages`.
fn fill_messages(batch: &RecordBatch, messages: &mut BTreeMap<String, MessageRow>) -> Result<()> {
    let message_key = column::<StringArray>(batch, "message_key")?;
    let envelope_from = column::<StringArray>(batch, "envelope_from")?;
    let size_bytes = column::<UInt64Array>(batch, "size_bytes")?;
    for row in 0..batch.num_rows() {
        if let Some(message) = messages.get_mut(message_key.value(row)) {
            message.envelope_from = text(envelope_from, row);
            message.size_bytes = optional(size_bytes, row, |r| size_bytes.value(r));
        }
    }
    Ok(())
}

fn session_starts(batch: &RecordBatch) -> Result<Vec<i64>> {
    let connected_at = column::<TimestampMicrosecondArray>(batch, "connected_at")?;
    let mut starts: Vec<i64> = connected_at.iter().flatten().collect();
    starts.sort_unstable();
    Ok(starts)
}

/// Returns the SMTP delivery attempts of the messages in `replayed`.
fn smtp_attempts(batch: &RecordBatch, replayed: &BTreeMap<String, MessageRow>) -> Result<Vec<AttemptRow>> {
    let message_key = column::<StringArray>(batch, "message_key")?;
    let attempt_at = column::<TimestampMicrosecondArray>(batch, "attempt_at")?;
    let transport = column::<StringArray>(batch, "transport")?;
    let relay_host = column::<StringArray>(batch, "relay_host")?;
    let conn_use = column::<UInt32Array>(batch, "conn_use")?;
    let mut attempts = Vec::new();
    for row in 0..batch.num_rows() {
        let key = message_key.value(row);
        if transport.value(row) != "smtp" || attempt_at.is_null(row) || !replayed.contains_key(key) {
            continue;
        }
        attempts.push(AttemptRow {
            message_key: key.to_string(),
            at_us: attempt_at.value(row),
            relay_host: text(relay_host, row),
            conn_use: optional(conn_use, row, |r| conn_use.value(r)),
        });
    }
    Ok(attempts)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, StringArray, UInt64Array};
    use parquet::arrow::ArrowWriter;

    use super::*;

    /// Writes a `messages.parquet` with a column the report does not read
    /// and, when `with_size` is false, without `size_bytes`.
    fn write_messages(dir: &Path, with_size: bool) -> std::path::PathBuf {
        let mut columns: Vec<(&str, ArrayRef)> = vec![
            ("message_key", Arc::new(StringArray::from(vec!["m1", "m2"]))),
            ("queue_id", Arc::new(StringArray::from(vec!["A1", "B2"]))),
            (
                "envelope_from",
                Arc::new(StringArray::from(vec!["a@example.com", ""])),
            ),
        ];
        if with_size {
            columns.push(("size_bytes", Arc::new(UInt64Array::from(vec![Some(10), None]))));
        }
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        let path = dir.join("messages.parquet");
        let mut writer = ArrowWriter::try_new(File::create(&path).unwrap(), batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        path
    }

    #[test]
    fn table_read_with_asked_columns_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_messages(dir.path(), true);
        let batch = read_table(&path, MESSAGE_COLUMNS).unwrap();
        let names: Vec<&str> = batch
            .schema_ref()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        assert_eq!(names, ["message_key", "envelope_from", "size_bytes"]);

        let mut messages = BTreeMap::from([("m1".to_string(), MessageRow::default())]);
        fill_messages(&batch, &mut messages).unwrap();
        assert_eq!(
            messages["m1"],
            MessageRow {
                envelope_from: "a@example.com".to_string(),
                size_bytes: Some(10),
            }
        );
    }

    #[test]
    fn missing_column_named_in_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_messages(dir.path(), false);
        let batch = read_table(&path, MESSAGE_COLUMNS).unwrap();
        let error = fill_messages(&batch, &mut BTreeMap::new()).unwrap_err();
        assert!(error.to_string().contains("\"size_bytes\" is missing"), "{error}");
    }
}
