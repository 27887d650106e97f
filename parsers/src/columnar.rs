//! The one place that builds Arrow arrays: schemas and record batches for
//! the `messages`, `deliveries`, `sessions` and `rejects` tables, and column
//! helpers for the tables the replay adds.
//!
//! Times are `Timestamp(Microsecond, "UTC")`; the offset the log wrote, where
//! it had one, is a separate `*_offset_s` column.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int32Array, RecordBatch, StringArray, TimestampMicrosecondArray,
    UInt16Array, UInt32Array, UInt64Array,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::error::ArrowError;

use crate::records::{
    DeliveryRecord, Instant, MessageRecord, Provenance, RejectRecord, SessionRecord, COUNTER_NAMES,
};

/// Builds a record batch column by column, keeping the schema in step.
#[derive(Default)]
pub struct BatchBuilder {
    fields: Vec<Field>,
    columns: Vec<ArrayRef>,
}

impl BatchBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&mut self, name: &str, array: ArrayRef, nullable: bool) -> &mut Self {
        self.fields
            .push(Field::new(name, array.data_type().clone(), nullable));
        self.columns.push(array);
        self
    }

    pub fn string<'a>(&mut self, name: &str, values: impl Iterator<Item = &'a str>) -> &mut Self {
        self.push(name, Arc::new(StringArray::from_iter_values(values)), false)
    }

    pub fn opt_string<'a>(&mut self, name: &str, values: impl Iterator<Item = Option<&'a str>>) -> &mut Self {
        self.push(name, Arc::new(StringArray::from_iter(values)), true)
    }

    pub fn u64(&mut self, name: &str, values: impl Iterator<Item = u64>) -> &mut Self {
        self.push(name, Arc::new(UInt64Array::from_iter_values(values)), false)
    }

    pub fn opt_u64(&mut self, name: &str, values: impl Iterator<Item = Option<u64>>) -> &mut Self {
        self.push(name, Arc::new(UInt64Array::from_iter(values)), true)
    }

    pub fn u32(&mut self, name: &str, values: impl Iterator<Item = u32>) -> &mut Self {
        self.push(name, Arc::new(UInt32Array::from_iter_values(values)), false)
    }

    pub fn opt_u32(&mut self, name: &str, values: impl Iterator<Item = Option<u32>>) -> &mut Self {
        self.push(name, Arc::new(UInt32Array::from_iter(values)), true)
    }

    pub fn u16(&mut self, name: &str, values: impl Iterator<Item = u16>) -> &mut Self {
        self.push(name, Arc::new(UInt16Array::from_iter_values(values)), false)
    }

    pub fn opt_u16(&mut self, name: &str, values: impl Iterator<Item = Option<u16>>) -> &mut Self {
        self.push(name, Arc::new(UInt16Array::from_iter(values)), true)
    }

    pub fn opt_f64(&mut self, name: &str, values: impl Iterator<Item = Option<f64>>) -> &mut Self {
        self.push(name, Arc::new(Float64Array::from_iter(values)), true)
    }

    pub fn bool(&mut self, name: &str, values: impl Iterator<Item = bool>) -> &mut Self {
        let array: BooleanArray = values.map(Some).collect();
        self.push(name, Arc::new(array), false)
    }

    /// Adds a UTC microsecond timestamp column without an offset column, for
    /// times that no log line wrote (such as a replay's relay time).
    pub fn timestamp(&mut self, name: &str, values: impl Iterator<Item = Option<i64>>) -> &mut Self {
        let times = TimestampMicrosecondArray::from_iter(values).with_timezone("UTC");
        self.push(name, Arc::new(times), true)
    }

    /// Adds `name` (UTC microseconds) and `name_offset_s` (the logged offset).
    pub fn instant(
        &mut self,
        name: &str,
        values: impl Iterator<Item = Option<Instant>> + Clone,
    ) -> &mut Self {
        let times = TimestampMicrosecondArray::from_iter(values.clone().map(|v| v.map(|i| i.utc_us)))
            .with_timezone("UTC");
        self.push(name, Arc::new(times), true);
        let offsets = Int32Array::from_iter(values.map(|v| v.and_then(|i| i.offset_seconds)));
        self.push(&format!("{name}_offset_s"), Arc::new(offsets), true)
    }

    /// Adds `source_file`, `first_line` and `last_line`.
    pub fn provenance<'a>(&mut self, values: impl Iterator<Item = &'a Provenance> + Clone) -> &mut Self {
        self.string("source_file", values.clone().map(|p| p.source_file.as_str()));
        self.u64("first_line", values.clone().map(|p| p.first_line));
        self.u64("last_line", values.map(|p| p.last_line))
    }

    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let schema = Arc::new(Schema::new(std::mem::take(&mut self.fields)));
        RecordBatch::try_new(schema, std::mem::take(&mut self.columns))
    }
}

/// Returns the timestamp type of every time column.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

pub fn messages_batch(rows: &[MessageRecord]) -> Result<RecordBatch, ArrowError> {
    let it = || rows.iter();
    BatchBuilder::new()
        .string("message_key", it().map(|r| r.message_key.as_str()))
        .string("source_format", it().map(|r| r.source_format))
        .string("host", it().map(|r| r.host.as_str()))
        .string("queue_id", it().map(|r| r.queue_id.as_str()))
        .opt_string("message_id", it().map(|r| r.message_id.as_deref()))
        .instant("received_at", it().map(|r| r.received_at))
        .opt_string("envelope_from", it().map(|r| r.envelope_from.as_deref()))
        .opt_u64("size_bytes", it().map(|r| r.size_bytes))
        .opt_u32("nrcpt", it().map(|r| r.nrcpt))
        .string("origin", it().map(|r| r.origin))
        .opt_string("client_ip", it().map(|r| r.client_ip.as_deref()))
        .opt_string("client_host", it().map(|r| r.client_host.as_deref()))
        .opt_string("helo", it().map(|r| r.helo.as_deref()))
        .opt_string("auth_method", it().map(|r| r.auth_method.as_deref()))
        .opt_string("auth_user", it().map(|r| r.auth_user.as_deref()))
        .opt_string("sasl_sender", it().map(|r| r.sasl_sender.as_deref()))
        .opt_string("tls_protocol", it().map(|r| r.tls_protocol.as_deref()))
        .opt_string("tls_cipher", it().map(|r| r.tls_cipher.as_deref()))
        .opt_string("session_key", it().map(|r| r.session_key.as_deref()))
        .opt_u32("local_uid", it().map(|r| r.local_uid))
        .opt_string("reinjected_from", it().map(|r| r.reinjected_from.as_deref()))
        .opt_string("notice_of", it().map(|r| r.notice_of.as_deref()))
        .opt_string("notice_kind", it().map(|r| r.notice_kind.as_deref()))
        .opt_string("stopped", it().map(|r| r.stopped.as_deref()))
        .bool("expired", it().map(|r| r.expired))
        .bool("removed", it().map(|r| r.removed))
        .provenance(it().map(|r| &r.provenance))
        .finish()
}

pub fn deliveries_batch(rows: &[DeliveryRecord]) -> Result<RecordBatch, ArrowError> {
    let it = || rows.iter();
    BatchBuilder::new()
        .string("message_key", it().map(|r| r.message_key.as_str()))
        .string("recipient", it().map(|r| r.recipient.as_str()))
        .opt_string("orig_recipient", it().map(|r| r.orig_recipient.as_deref()))
        .instant("attempt_at", it().map(|r| Some(r.attempt_at)))
        .string("transport", it().map(|r| r.transport))
        .string("relay_host", it().map(|r| r.relay_host.as_str()))
        .opt_string("relay_ip", it().map(|r| r.relay_ip.as_deref()))
        .opt_u16("relay_port", it().map(|r| r.relay_port))
        .string("status", it().map(|r| r.status.as_str()))
        .opt_string("dsn", it().map(|r| r.dsn.as_deref()))
        .opt_u16("reply_code", it().map(|r| r.reply_code))
        .opt_string("enhanced_code", it().map(|r| r.enhanced_code.as_deref()))
        .string("reply_text", it().map(|r| r.reply_text.as_str()))
        .opt_string("smtp_stage", it().map(|r| r.smtp_stage.as_deref()))
        .opt_f64("delay_s", it().map(|r| r.delay_s))
        .opt_string("delays", it().map(|r| r.delays.as_deref()))
        .opt_u32("conn_use", it().map(|r| r.conn_use))
        .opt_string("tls_protocol", it().map(|r| r.tls_protocol.as_deref()))
        .opt_string("tls_cipher", it().map(|r| r.tls_cipher.as_deref()))
        .opt_string("reinjected_as", it().map(|r| r.reinjected_as.as_deref()))
        .provenance(it().map(|r| &r.provenance))
        .finish()
}

pub fn sessions_batch(rows: &[SessionRecord]) -> Result<RecordBatch, ArrowError> {
    let it = || rows.iter();
    let mut builder = BatchBuilder::new();
    builder
        .string("session_key", it().map(|r| r.session_key.as_str()))
        .string("host", it().map(|r| r.host.as_str()))
        .string("service", it().map(|r| r.service.as_str()))
        .opt_string("client_ip", it().map(|r| r.client_ip.as_deref()))
        .opt_string("client_host", it().map(|r| r.client_host.as_deref()))
        .opt_u16("client_port", it().map(|r| r.client_port))
        .instant("connected_at", it().map(|r| r.connected_at))
        .instant("disconnected_at", it().map(|r| r.disconnected_at))
        .opt_string("helo", it().map(|r| r.helo.as_deref()))
        .opt_string("tls_protocol", it().map(|r| r.tls_protocol.as_deref()))
        .opt_string("tls_cipher", it().map(|r| r.tls_cipher.as_deref()))
        .opt_string("tls_trust", it().map(|r| r.tls_trust.as_deref()))
        .opt_string("auth_method", it().map(|r| r.auth_method.as_deref()))
        .opt_string("auth_user", it().map(|r| r.auth_user.as_deref()))
        .u32("auth_failures", it().map(|r| r.auth_failures))
        .opt_string("auth_failed_user", it().map(|r| r.auth_failed_user.as_deref()));
    for (index, name) in COUNTER_NAMES.iter().enumerate() {
        builder.opt_u32(
            &format!("{name}_ok"),
            it().map(|r| r.counters[index].map(|c| c.0)),
        );
        builder.opt_u32(
            &format!("{name}_total"),
            it().map(|r| r.counters[index].map(|c| c.1)),
        );
    }
    builder
        .u32("messages", it().map(|r| r.messages))
        .u32("noqueue_rejects", it().map(|r| r.noqueue_rejects))
        .opt_string("last_reject", it().map(|r| r.last_reject.as_deref()))
        .opt_string("lost_after", it().map(|r| r.lost_after.as_deref()))
        .provenance(it().map(|r| &r.provenance))
        .finish()
}

pub fn rejects_batch(rows: &[RejectRecord]) -> Result<RecordBatch, ArrowError> {
    let it = || rows.iter();
    BatchBuilder::new()
        .string("source_file", it().map(|r| r.source_file.as_str()))
        .u64("line", it().map(|r| r.line))
        .string("code", it().map(|r| r.code))
        .string("excerpt", it().map(|r| r.excerpt.as_str()))
        .finish()
}
