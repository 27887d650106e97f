//! Writing the output folder: Parquet tables and JSON files, each written to
//! a temporary name and renamed, so an interrupted run leaves no half-written
//! file under a final name.

use std::fs::File;
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use relayaudit_parsers::columnar::BatchBuilder;

use std::collections::HashMap;

use relayaudit_parsers::SessionRecord;

use crate::replay::model::{ConnectionVerdict, Verdict};

/// Rows per batch handed to the Parquet writer. The writer encodes a batch
/// in mini-batches of 1,024 rows (parquet's default `write_batch_size`) and
/// checks the page size after each. Chunks that are a multiple of it leave
/// the mini-batches, and so the pages, where one batch of all the rows puts
/// them.
pub const PARQUET_CHUNK_ROWS: usize = 64 * 1024;

/// Returns the Parquet writer settings of every table.
fn parquet_properties(schema: &Schema) -> WriterProperties {
    // Column statistics are kept for time columns only: query engines prune
    // row groups by time, and min/max over string columns such as
    // message_key cost more than they save.
    let mut properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_statistics_enabled(EnabledStatistics::None);
    for field in schema.fields() {
        if matches!(field.data_type(), DataType::Timestamp(..)) {
            properties = properties.set_column_statistics_enabled(
                ColumnPath::from(field.name().as_str()),
                EnabledStatistics::Chunk,
            );
        }
    }
    properties.build()
}

/// The files that `ingest` and `replay` write, besides the charts.
const OUTPUT_FILES: &[&str] = &[
    "messages.parquet",
    "deliveries.parquet",
    "sessions.parquet",
    "rejects.parquet",
    "verdicts.parquet",
    "summary.json",
    "manifest.json",
    "report.html",
];

/// The output folder, checked and created.
pub struct OutputDir {
    path: PathBuf,
}

impl OutputDir {
    /// Checks that the folder may be written: an existing folder is an
    /// error unless `force` is set, because its files would be replaced.
    /// Commands call this before reading their input, so that a refused
    /// folder costs no work, and create the folder only when the input was
    /// read, so that a failed run leaves no empty folder behind.
    pub fn check(path: &Path, force: bool) -> Result<()> {
        if path.exists() {
            if !force {
                bail!(
                    "output folder {} already exists; choose another with -o or pass --force to replace its files",
                    path.display()
                );
            }
            if !path.is_dir() {
                bail!("output path {} exists and is not a folder", path.display());
            }
            return Ok(());
        }
        // The folder is created after the input is read; a path that can
        // never be a folder should fail now, not after a long read.
        let nearest = path.ancestors().skip(1).find(|ancestor| ancestor.exists());
        if let Some(ancestor) = nearest.filter(|ancestor| !ancestor.is_dir()) {
            bail!(
                "cannot create output folder {}: {} is not a folder",
                path.display(),
                ancestor.display()
            );
        }
        Ok(())
    }

    /// Checks the folder as [`OutputDir::check`] does and creates it.
    pub fn create(path: &Path, force: bool) -> Result<Self> {
        Self::check(path, force)?;
        std::fs::create_dir_all(path)
            .with_context(|| format!("failed to create output folder {}", path.display()))?;
        Ok(OutputDir {
            path: path.to_path_buf(),
        })
    }

    /// Removes the files that an earlier run wrote into this folder. Without
    /// this, a run that fails midway, an `ingest` after a `replay`, or a
    /// replay whose report fails would leave tables, a report or charts of
    /// other logs beside its own. Only relayaudit's own file names are
    /// removed, and only when the folder holds `manifest.json` or
    /// `messages.parquet`, so another program's `report.html` is kept.
    pub fn remove_earlier_outputs(&self) -> Result<()> {
        let ours = ["manifest.json", "messages.parquet"]
            .iter()
            .any(|name| self.path.join(name).is_file());
        if !ours {
            return Ok(());
        }
        let charts = crate::report::CHART_IDS
            .iter()
            .flat_map(|id| [format!("{id}.svg"), format!("{id}.png")]);
        let names = OUTPUT_FILES.iter().map(|name| name.to_string()).chain(charts);
        for name in names {
            for path in [self.path.join(&name), self.path.join(format!(".{name}.partial"))] {
                if path.is_file() {
                    std::fs::remove_file(&path)
                        .with_context(|| format!("failed to remove {}", path.display()))?;
                }
            }
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `bytes` to `name` through a temporary file in the same folder.
    pub fn write_atomic(&self, name: &str, write: impl FnOnce(&mut File) -> Result<()>) -> Result<()> {
        let final_path = self.path.join(name);
        let temporary = self.path.join(format!(".{name}.partial"));
        let mut file =
            File::create(&temporary).with_context(|| format!("failed to create {}", temporary.display()))?;
        let written = write(&mut file)
            .and_then(|()| Ok(file.sync_all()?))
            .with_context(|| format!("failed to write {}", final_path.display()));
        drop(file);
        let renamed = written.and_then(|()| {
            std::fs::rename(&temporary, &final_path).with_context(|| {
                format!(
                    "failed to rename {} to {}",
                    temporary.display(),
                    final_path.display()
                )
            })
        });
        if renamed.is_err() {
            // The error is what the caller needs; a temporary file that
            // cannot be removed either is left for the next --force run.
            let _ = std::fs::remove_file(&temporary);
        }
        renamed
    }

    /// Writes a table of `rows` rows as one Parquet file. `batch(range)`
    /// builds the batch of the rows in `range` and is called for at most
    /// [`PARQUET_CHUNK_ROWS`] rows at a time, so only one chunk of Arrow
    /// columns is in memory. The file has the same bytes as one written from
    /// a single batch of all the rows.
    pub fn write_parquet(
        &self,
        name: &str,
        rows: usize,
        batch: impl Fn(Range<usize>) -> Result<RecordBatch>,
    ) -> Result<()> {
        self.write_atomic(name, |file| {
            let first = batch(0..rows.min(PARQUET_CHUNK_ROWS))?;
            let properties = parquet_properties(&first.schema());
            let mut writer = ArrowWriter::try_new(file, first.schema(), Some(properties))?;
            writer.write(&first)?;
            drop(first);
            let mut start = PARQUET_CHUNK_ROWS;
            while start < rows {
                let end = rows.min(start + PARQUET_CHUNK_ROWS);
                writer.write(&batch(start..end)?)?;
                start = end;
            }
            writer.close()?;
            Ok(())
        })
    }

    pub fn write_json(&self, name: &str, value: &serde_json::Value) -> Result<()> {
        self.write_atomic(name, |file| {
            serde_json::to_writer_pretty(&mut *file, value)?;
            file.write_all(b"\n")?;
            Ok(())
        })
    }
}

/// Builds `verdicts`. `warnings` lists the warning rule ids of the row's
/// connection, comma-separated, and is empty when there are none.
/// `detail_code` and `detail_params` (a JSON object) are the machine-readable
/// form of the English `detail`.
pub fn verdicts_batch(rows: &[Verdict]) -> Result<RecordBatch> {
    let it = || rows.iter();
    let client_ips: Vec<Option<String>> = it().map(|r| r.client_ip.map(|ip| ip.to_string())).collect();
    let warnings: Vec<String> = it().map(|r| r.warnings.join(",")).collect();
    let batch = BatchBuilder::new()
        .string("message_key", it().map(|r| r.message_key.as_str()))
        .string("recipient", it().map(|r| r.recipient.as_str()))
        .u32("transaction", it().map(|r| r.transaction))
        .timestamp("at", it().map(|r| Some(r.at_us)))
        .string("outcome", it().map(|r| r.outcome.as_str()))
        .string("rule", it().map(|r| r.rule.as_str()))
        .u16("reply_code", it().map(|r| r.reply_code))
        .string("enhanced_code", it().map(|r| r.enhanced_code.as_str()))
        .string("code_source", it().map(|r| r.code_source.as_str()))
        .string("detail", it().map(|r| r.detail.as_str()))
        .string("detail_code", it().map(|r| r.detail_code))
        .string("detail_params", it().map(|r| r.detail_params.as_str()))
        .string("rewritten_from", it().map(|r| r.rewritten_from.as_str()))
        .string("rewritten_to", it().map(|r| r.rewritten_to.as_str()))
        .opt_u64("counter_value", it().map(|r| r.counter_value))
        .opt_u64("counter_limit", it().map(|r| r.counter_limit))
        .opt_string("relay_setting", it().map(|r| r.relay_setting.as_deref()))
        .opt_string("client_ip", client_ips.iter().map(Option::as_deref))
        .string("warnings", warnings.iter().map(String::as_str))
        .string("source_file", it().map(|r| r.provenance.source_file.as_str()))
        .u64("first_line", it().map(|r| r.provenance.first_line))
        .u64("last_line", it().map(|r| r.provenance.last_line))
        .opt_string(
            "delivery_file",
            it().map(|r| r.delivery.as_ref().map(|line| line.source_file.as_str())),
        )
        .opt_u64(
            "delivery_line",
            it().map(|r| r.delivery.as_ref().map(|line| line.line)),
        )
        .finish()?;
    Ok(batch)
}

/// Indexes connection verdicts by session key.
pub fn verdicts_by_session(verdicts: &[ConnectionVerdict]) -> HashMap<&str, &ConnectionVerdict> {
    verdicts
        .iter()
        .map(|verdict| (verdict.key.as_str(), verdict))
        .collect()
}

/// Adds the connection verdict of each session to `sessions` (the batch of
/// `rows`): columns `relay_client_ip`, `relay_setting`,
/// `connection_outcome`, `connection_rule` (empty when accepted),
/// `connection_reply_code`, `connection_enhanced_code`,
/// `connection_detail` and `connection_warnings` (comma-separated). They are
/// null for sessions that were not judged: every session in smarthost mode,
/// and postscreen and content filter sessions in direct mode. `by_key` is
/// [`verdicts_by_session`] of the replay's connection verdicts.
pub fn sessions_with_verdicts(
    sessions: RecordBatch,
    rows: &[SessionRecord],
    by_key: &HashMap<&str, &ConnectionVerdict>,
) -> Result<RecordBatch> {
    let matched: Vec<Option<&ConnectionVerdict>> = rows
        .iter()
        .map(|row| by_key.get(row.session_key.as_str()).copied())
        .collect();
    let it = || matched.iter();
    let client_ips: Vec<Option<String>> = it()
        .map(|verdict| verdict.and_then(|v| v.client_ip).map(|ip| ip.to_string()))
        .collect();
    let warnings: Vec<Option<String>> = it()
        .map(|verdict| verdict.map(|v| v.warnings.join(",")))
        .collect();
    let extra = BatchBuilder::new()
        .opt_string("relay_client_ip", client_ips.iter().map(Option::as_deref))
        .opt_string(
            "relay_setting",
            it().map(|verdict| verdict.and_then(|v| v.relay_setting.as_deref())),
        )
        .opt_string(
            "connection_outcome",
            it().map(|verdict| verdict.map(|v| v.outcome.as_str())),
        )
        .opt_string("connection_rule", it().map(|verdict| verdict.map(|v| v.rule)))
        .opt_u16(
            "connection_reply_code",
            it().map(|verdict| verdict.map(|v| v.reply_code)),
        )
        .opt_string(
            "connection_enhanced_code",
            it().map(|verdict| verdict.map(|v| v.enhanced_code)),
        )
        .opt_string(
            "connection_detail",
            it().map(|verdict| verdict.map(|v| v.detail.as_str())),
        )
        .opt_string("connection_warnings", warnings.iter().map(Option::as_deref))
        .finish()?;

    let mut fields: Vec<arrow::datatypes::FieldRef> = sessions.schema().fields().iter().cloned().collect();
    fields.extend(extra.schema().fields().iter().cloned());
    let mut columns = sessions.columns().to_vec();
    columns.extend(extra.columns().iter().cloned());
    let schema = std::sync::Arc::new(arrow::datatypes::Schema::new(fields));
    Ok(RecordBatch::try_new(schema, columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds rows `range` of a table with a unique string column, a
    /// repeated one and a number, like `message_key`, `status` and
    /// `first_line`.
    fn table(range: Range<usize>) -> Result<RecordBatch> {
        let keys: Vec<String> = range
            .clone()
            .map(|row| format!("mx1/{row:X}/maillog:{row}"))
            .collect();
        let batch = BatchBuilder::new()
            .string("message_key", keys.iter().map(String::as_str))
            .string("status", range.clone().map(|row| ["sent", "deferred"][row % 2]))
            .u64("first_line", range.map(|row| row as u64))
            .finish()?;
        Ok(batch)
    }

    #[test]
    fn chunked_parquet_matches_single_batch() {
        let folder = tempfile::tempdir().unwrap();
        let out = OutputDir::create(folder.path(), true).unwrap();
        let rows = 2 * PARQUET_CHUNK_ROWS + 1_000;
        out.write_parquet("chunked.parquet", rows, table).unwrap();
        let batch = table(0..rows).unwrap();
        let mut whole = Vec::new();
        let properties = parquet_properties(&batch.schema());
        let mut writer = ArrowWriter::try_new(&mut whole, batch.schema(), Some(properties)).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let chunked = std::fs::read(folder.path().join("chunked.parquet")).unwrap();
        assert!(chunked == whole, "chunked and single-batch files differ");
    }

    #[test]
    fn folder_under_a_file_refused_early() {
        let folder = tempfile::tempdir().unwrap();
        let file = folder.path().join("notes.txt");
        std::fs::write(&file, b"x").unwrap();
        let error = OutputDir::check(&file.join("out"), false).unwrap_err();
        assert!(error.to_string().contains("is not a folder"), "{error}");
        assert!(OutputDir::check(&folder.path().join("a/b"), false).is_ok());
    }

    #[test]
    fn empty_table_written() {
        let folder = tempfile::tempdir().unwrap();
        let out = OutputDir::create(folder.path(), true).unwrap();
        out.write_parquet("empty.parquet", 0, table).unwrap();
        assert!(folder.path().join("empty.parquet").exists());
    }
}
