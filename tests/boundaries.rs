//! Relay limits at their boundaries, run end to end on generated Postfix
//! logs: the parser, the relay view and the replay together.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use arrow::array::{Array, RecordBatch, StringArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// Writes one message from `sender` with `recipients` remote recipients at
/// `second` seconds after 2024-12-31 00:00:00 (classic stamps, year 2024).
fn message(log: &mut String, queue_id: &str, second: u64, sender: &str, size: u64, recipients: &[String]) {
    let at = chrono::NaiveDate::from_ymd_opt(2024, 12, 31)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        + chrono::Duration::seconds(second as i64);
    let stamp = at.format("%b %e %H:%M:%S");
    let _ = writeln!(
        log,
        "{stamp} mx postfix/smtpd[100]: {queue_id}: client=app.example.com[192.0.2.5]"
    );
    let _ = writeln!(
        log,
        "{stamp} mx postfix/qmgr[101]: {queue_id}: from=<{sender}>, size={size}, nrcpt={} (queue active)",
        recipients.len()
    );
    for recipient in recipients {
        let _ = writeln!(
            log,
            "{stamp} mx postfix/smtp[102]: {queue_id}: to=<{recipient}>, relay=mx.example.org[203.0.113.9]:25, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (250 ok)"
        );
    }
    let _ = writeln!(log, "{stamp} mx postfix/qmgr[101]: {queue_id}: removed");
}

fn replay(folder: &Path, log: &str, policy: &str) -> RecordBatch {
    std::fs::write(folder.join("maillog"), log).unwrap();
    replay_input(folder, &folder.join("maillog"), policy)
}

/// Replays `input` (a file or a folder) with `policy` into `folder/out` and
/// returns the verdict rows.
fn replay_input(folder: &Path, input: &Path, policy: &str) -> RecordBatch {
    std::fs::write(folder.join("p.toml"), policy).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_relayaudit"))
        .arg("replay")
        .arg(input)
        .arg("--policy")
        .arg(folder.join("p.toml"))
        .args(["--year", "2024", "-o"])
        .arg(folder.join("out"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let file = std::fs::File::open(folder.join("out/verdicts.parquet")).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<_> = reader.map(Result::unwrap).collect();
    arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap()
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> &'a StringArray {
    batch
        .column_by_name(name)
        .unwrap()
        .as_any()
        .downcast_ref()
        .unwrap()
}

/// (recipient, outcome, rule) for every verdict row.
fn rows(batch: &RecordBatch) -> Vec<(String, String, String)> {
    let recipients = column(batch, "recipient");
    let outcomes = column(batch, "outcome");
    let rules = column(batch, "rule");
    (0..batch.num_rows())
        .map(|i| {
            (
                recipients.value(i).to_string(),
                outcomes.value(i).to_string(),
                rules.value(i).to_string(),
            )
        })
        .collect()
}

const OWNED: &str = "[organisation]\ndomains = [\"example.com\"]\n";

#[test]
fn message_size_at_25_mb() {
    let folder = tempfile::tempdir().unwrap();
    let mut log = String::new();
    message(
        &mut log,
        "AAAAA00001",
        0,
        "a@example.com",
        26_214_400,
        &["x@example.org".to_string()],
    );
    message(
        &mut log,
        "AAAAA00002",
        1,
        "a@example.com",
        26_214_401,
        &["y@example.org".to_string()],
    );
    let rows = rows(&replay(folder.path(), &log, OWNED));
    assert_eq!(rows[0], ("x@example.org".into(), "accepted".into(), "".into()));
    assert_eq!(
        rows[1],
        (
            "y@example.org".into(),
            "rejected".into(),
            "limit.message_size".into()
        )
    );
}

#[test]
fn transaction_of_100_and_101_recipients() {
    let folder = tempfile::tempdir().unwrap();
    let recipients: Vec<String> = (1..=101).map(|i| format!("r{i}@example.org")).collect();
    let mut log = String::new();
    message(
        &mut log,
        "BBBBB00001",
        0,
        "a@example.com",
        1000,
        &recipients[..100],
    );
    message(&mut log, "BBBBB00002", 60, "b@example.com", 1000, &recipients);
    // Postfix splits at 50 by default; a split of 200 puts all in one
    // transaction.
    let policy = format!("{OWNED}[sources.postfix]\nrecipients_per_transaction = 200\n");
    let rows = rows(&replay(folder.path(), &log, &policy));
    assert_eq!(rows.len(), 201);
    assert!(rows[..100].iter().all(|(_, outcome, _)| outcome == "accepted"));
    assert!(rows[100..200].iter().all(|(_, outcome, _)| outcome == "accepted"));
    assert_eq!(
        rows[200],
        (
            "r101@example.org".into(),
            "throttled".into(),
            "limit.transaction_recipients".into()
        )
    );
}

#[test]
fn default_postfix_split_keeps_transactions_under_the_limit() {
    let folder = tempfile::tempdir().unwrap();
    let recipients: Vec<String> = (1..=120).map(|i| format!("r{i}@example.org")).collect();
    let mut log = String::new();
    message(&mut log, "CCCCC00001", 0, "a@example.com", 1000, &recipients);
    let batch = replay(folder.path(), &log, OWNED);
    assert!(rows(&batch).iter().all(|(_, outcome, _)| outcome == "accepted"));
    let transactions = batch
        .column_by_name("transaction")
        .unwrap()
        .as_any()
        .downcast_ref::<arrow::array::UInt32Array>()
        .unwrap();
    assert_eq!(transactions.value(0), 0);
    assert_eq!(transactions.value(49), 0);
    assert_eq!(transactions.value(50), 1);
    assert_eq!(transactions.value(119), 2);
    assert_eq!(transactions.null_count(), 0);
}

#[test]
fn user_messages_over_new_year() {
    let folder = tempfile::tempdir().unwrap();
    let mut log = String::new();
    // 10,001 messages from one user, 4 seconds apart, starting on
    // 2024-12-31 and running past midnight into 2025.
    for n in 0..10_001u64 {
        let queue_id = format!("D{n:09X}");
        message(
            &mut log,
            &queue_id,
            50_000 + n * 4,
            "bulk@example.com",
            500,
            &[format!("c{}@example.org", n % 50)],
        );
    }
    let batch = replay(folder.path(), &log, OWNED);
    let rows = rows(&batch);
    assert_eq!(rows.len(), 10_001);
    assert!(rows[..10_000].iter().all(|(_, outcome, _)| outcome == "accepted"));
    assert_eq!(rows[10_000].1, "rejected");
    assert_eq!(rows[10_000].2, "limit.user_messages");
    // The rejected message is the last one logged (10,000 = 0x2710), on
    // 2025-01-01: the replay order follows the year change.
    let keys = column(&batch, "message_key");
    assert!(
        keys.value(10_000).starts_with("mx/D000002710/"),
        "{}",
        keys.value(10_000)
    );
    assert!(keys.value(0).starts_with("mx/D000000000/"), "{}", keys.value(0));
}

#[test]
fn same_second_follows_log_order() {
    let folder = tempfile::tempdir().unwrap();
    let mut log = String::new();
    // Two messages in the same second; the first logged has the queue id
    // that sorts last.
    message(
        &mut log,
        "F0001",
        10,
        "a@example.com",
        500,
        &["x@example.org".to_string()],
    );
    message(
        &mut log,
        "10002",
        10,
        "a@example.com",
        500,
        &["y@example.org".to_string()],
    );
    let policy = format!("{OWNED}[limits]\nuser_messages_per_day = 1\n");
    let rows = rows(&replay(folder.path(), &log, &policy));
    assert_eq!(rows[0], ("x@example.org".into(), "accepted".into(), "".into()));
    assert_eq!(
        rows[1],
        (
            "y@example.org".into(),
            "rejected".into(),
            "limit.user_messages".into()
        )
    );
}

#[test]
fn address_probes_not_replayed() {
    let folder = tempfile::tempdir().unwrap();
    let mut log = String::new();
    message(
        &mut log,
        "AB0001",
        0,
        "a@example.com",
        500,
        &["x@example.org".to_string()],
    );
    // A sender address verification probe: RCPT TO only, no message.
    log.push_str(
        "Dec 31 00:00:05 mx postfix/qmgr[101]: AB0002: from=<double-bounce@example.com>, size=250, nrcpt=1 (queue active)\n\
         Dec 31 00:00:05 mx postfix/smtp[102]: AB0002: to=<y@example.org>, relay=mx.example.org[203.0.113.9]:25, delay=0.2, delays=0/0/0.1/0.1, dsn=2.1.5, status=deliverable (250 2.1.5 Ok)\n\
         Dec 31 00:00:05 mx postfix/qmgr[101]: AB0002: removed\n",
    );
    let rows = rows(&replay(folder.path(), &log, OWNED));
    assert_eq!(rows, [("x@example.org".into(), "accepted".into(), "".into())]);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.path().join("out/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["messages"]["address_probes"], 1);
    assert_eq!(summary["messages"]["replayed"], 1);
}

#[test]
fn same_second_across_rotation_follows_read_order() {
    let folder = tempfile::tempdir().unwrap();
    let logs = folder.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    // maillog.1 is older: its last message comes first, in the same second
    // as the first message of maillog, whose queue id sorts first.
    let mut older = String::new();
    message(
        &mut older,
        "FFFF000001",
        10,
        "a@example.com",
        500,
        &["x@example.org".to_string()],
    );
    let mut newer = String::new();
    message(
        &mut newer,
        "1111000002",
        10,
        "a@example.com",
        500,
        &["y@example.org".to_string()],
    );
    std::fs::write(logs.join("maillog.1"), older).unwrap();
    std::fs::write(logs.join("maillog"), newer).unwrap();
    let policy = format!("{OWNED}[limits]\nuser_messages_per_day = 1\n");
    let rows = rows(&replay_input(folder.path(), &logs, &policy));
    assert_eq!(rows[0], ("x@example.org".into(), "accepted".into(), "".into()));
    assert_eq!(
        rows[1],
        (
            "y@example.org".into(),
            "rejected".into(),
            "limit.user_messages".into()
        )
    );
}
