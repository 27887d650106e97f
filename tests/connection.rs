//! End-to-end runs of `relayaudit replay` on the connection fixtures in
//! `fixtures/connection`, in smarthost and direct mode, and on every
//! Postfix file of the shared corpus in both modes.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arrow::array::{Array, RecordBatch, StringArray, UInt16Array};
use arrow::compute::concat_batches;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> PathBuf {
    repository().join("fixtures/connection").join(name)
}

fn relayaudit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_relayaudit"))
        .args(args)
        .current_dir(repository())
        .output()
        .expect("relayaudit runs")
}

/// The output folder of one replay run and its terminal output.
struct Run {
    _folder: tempfile::TempDir,
    out: PathBuf,
    stdout: String,
}

fn replay(log: &Path, policy: &Path, mode: &str) -> Run {
    let folder = tempfile::tempdir().expect("temporary folder");
    let out = folder.path().join("out");
    let output = relayaudit(&[
        "replay",
        log.to_str().expect("UTF-8 path"),
        "--policy",
        policy.to_str().expect("UTF-8 path"),
        "--year",
        "2024",
        "--mode",
        mode,
        "-o",
        out.to_str().expect("UTF-8 path"),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "replay of {} failed: {}\n{stdout}",
        log.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    Run {
        _folder: folder,
        out,
        stdout,
    }
}

impl Run {
    fn summary(&self) -> Value {
        let file = File::open(self.out.join("summary.json")).expect("summary.json");
        serde_json::from_reader(file).expect("summary.json is JSON")
    }

    fn table(&self, name: &str) -> Table {
        let file = File::open(self.out.join(format!("{name}.parquet"))).expect("parquet file");
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).expect("parquet header");
        let schema = builder.schema().clone();
        let reader = builder.build().expect("parquet reader");
        let batches: Vec<RecordBatch> = reader.map(|batch| batch.expect("batch")).collect();
        Table(concat_batches(&schema, &batches).expect("batches concatenate"))
    }
}

struct Table(RecordBatch);

impl Table {
    fn strings(&self, column: &str) -> Vec<Option<String>> {
        let array = self
            .0
            .column_by_name(column)
            .unwrap_or_else(|| panic!("no column {column}"));
        let strings = array
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap_or_else(|| panic!("{column} is not a string column"));
        (0..strings.len())
            .map(|row| (!strings.is_null(row)).then(|| strings.value(row).to_string()))
            .collect()
    }

    fn u16s(&self, column: &str) -> Vec<Option<u16>> {
        let array = self.0.column_by_name(column).expect("column");
        let numbers = array.as_any().downcast_ref::<UInt16Array>().expect("u16 column");
        (0..numbers.len())
            .map(|row| (!numbers.is_null(row)).then(|| numbers.value(row)))
            .collect()
    }

    fn rows(&self) -> usize {
        self.0.num_rows()
    }
}

/// One verdict row, by the queue id in its message key.
#[derive(Debug, Clone, PartialEq)]
struct VerdictRow {
    queue_id: String,
    recipient: String,
    outcome: String,
    rule: String,
    relay_setting: Option<String>,
    client_ip: Option<String>,
    warnings: String,
}

fn verdict_rows(run: &Run) -> Vec<VerdictRow> {
    let table = run.table("verdicts");
    let keys = table.strings("message_key");
    let recipients = table.strings("recipient");
    let outcomes = table.strings("outcome");
    let rules = table.strings("rule");
    let settings = table.strings("relay_setting");
    let ips = table.strings("client_ip");
    let warnings = table.strings("warnings");
    (0..table.rows())
        .map(|row| VerdictRow {
            queue_id: keys[row]
                .as_deref()
                .and_then(|key| key.split('/').nth(1))
                .expect("message key host/queue_id/...")
                .to_string(),
            recipient: recipients[row].clone().expect("recipient"),
            outcome: outcomes[row].clone().expect("outcome"),
            rule: rules[row].clone().expect("rule"),
            relay_setting: settings[row].clone(),
            client_ip: ips[row].clone(),
            warnings: warnings[row].clone().expect("warnings"),
        })
        .collect()
}

fn rows_of<'a>(rows: &'a [VerdictRow], queue_id: &str) -> Vec<&'a VerdictRow> {
    let found: Vec<&VerdictRow> = rows.iter().filter(|row| row.queue_id == queue_id).collect();
    assert!(!found.is_empty(), "no verdict rows for {queue_id}");
    found
}

fn finding_codes(summary: &Value) -> Vec<String> {
    summary["connection"]["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|finding| finding["code"].as_str().expect("code").to_string())
        .collect()
}

// Smarthost mode.

#[test]
fn smarthost_policy_contradicted_by_logs() {
    let run = replay(
        &fixture("smarthost-contradicted.log"),
        &fixture("smarthost-contradicted.toml"),
        "smarthost",
    );
    let summary = run.summary();

    assert_eq!(summary["mode"], "smarthost");
    assert_eq!(
        finding_codes(&summary),
        ["port_conflict", "tls_conflict", "auth_conflict"]
    );
    let findings = &summary["connection"]["findings"];
    assert_eq!(
        findings[0]["detail"],
        "the policy says port 587, but the logs show 12 delivery attempts to port 25 of \
         smtp-relay.gmail.com"
    );
    // The first plain delivery to the smart host, and the failed AUTH.
    assert_eq!(findings[1]["example"]["line"], 11);
    assert_eq!(findings[2]["example"]["line"], 18);
    let evidence = &summary["connection"]["evidence"];
    assert_eq!(evidence["delivery_attempts"], 12);
    assert_eq!(evidence["reused_connections"], 2);
    assert_eq!(evidence["tls"], 0);
    assert_eq!(evidence["client_tls_logged"], true);
    assert_eq!(evidence["auth_failures"], 1);

    // The policy's facts still decide: the connection is accepted.
    assert_eq!(summary["connection"]["facts"]["outcome"], "accepted");
    let finding_at = run
        .stdout
        .find("finding    port_conflict")
        .expect("finding in terminal");
    let outcomes_at = run.stdout.find("outcomes by rule").expect("outcomes in terminal");
    assert!(
        finding_at < outcomes_at,
        "connection findings come first:\n{}",
        run.stdout
    );
}

#[test]
fn smarthost_reuse_warning_on_burst() {
    let run = replay(
        &fixture("smarthost-contradicted.log"),
        &fixture("smarthost-contradicted.toml"),
        "smarthost",
    );
    let rows = verdict_rows(&run);

    for index in 10..15 {
        let row = rows_of(&rows, &format!("8C3D4E5F{index}"))[0];
        assert_eq!(row.outcome, "accepted");
        assert_eq!(row.warnings, "dos.no_connection_reuse", "{}", row.queue_id);
    }
    // Three messages over one cached connection in another minute.
    for index in 20..23 {
        let row = rows_of(&rows, &format!("9D4E5F6A{index}"))[0];
        assert_eq!(row.warnings, "", "{}", row.queue_id);
    }

    let summary = run.summary();
    let warnings = summary["warnings"].as_array().expect("warnings array");
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0]["rule"], "dos.no_connection_reuse");
    assert_eq!(warnings[0]["messages"], 5);
    assert_eq!(warnings[0]["reply_code"], 421);
    assert_eq!(summary["connection"]["busiest_minute"]["new_connections"], 5);
    let assumptions = summary["assumptions"].as_array().expect("assumptions");
    let thresholds = assumptions
        .iter()
        .find(|note| note["code"] == "reuse_thresholds")
        .expect("reuse thresholds assumed");
    assert!(thresholds["text"]
        .as_str()
        .expect("text")
        .contains("Google publishes no such thresholds; these are set in the policy file"));
    assert_eq!(thresholds["params"]["set_by_policy"], true);
}

#[test]
fn smarthost_only_second_setting_matches() {
    let run = replay(
        &fixture("smarthost-agreeing.log"),
        &fixture("smarthost-agreeing.toml"),
        "smarthost",
    );
    let summary = run.summary();

    assert!(
        finding_codes(&summary).is_empty(),
        "{}",
        summary["connection"]["findings"]
    );
    assert_eq!(summary["relay_setting"], "hub");
    assert_eq!(summary["connection"]["evidence"]["tls"], 3);
    assert_eq!(
        summary["connection"]["evidence"]["new_connections_without_handshake"],
        0
    );
    for row in verdict_rows(&run) {
        assert_eq!(row.relay_setting.as_deref(), Some("hub"));
        assert_eq!(row.client_ip.as_deref(), Some("203.0.113.5"));
        assert_eq!(row.outcome, "accepted");
    }
    let deliveries = run.table("deliveries");
    assert_eq!(
        deliveries.strings("tls_protocol"),
        vec![Some("TLSv1.3".to_string()); 3]
    );

    // Sessions get the verdict columns, empty in smarthost mode.
    let sessions = run.table("sessions");
    assert!(sessions.strings("connection_rule").iter().all(Option::is_none));
}

#[test]
fn smarthost_outside_every_range_rejects_all() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let policy = folder.path().join("outside.toml");
    let text = std::fs::read_to_string(fixture("smarthost-agreeing.toml"))
        .expect("policy")
        .replace("egress_ip = \"203.0.113.5\"", "egress_ip = \"203.0.113.8\"");
    std::fs::write(&policy, text).expect("write policy");

    let run = replay(&fixture("smarthost-agreeing.log"), &policy, "smarthost");

    for row in verdict_rows(&run) {
        assert_eq!(row.rule, "auth.ip_not_allowed");
        assert_eq!(row.outcome, "rejected");
        assert_eq!(row.relay_setting, None);
    }
    // The rejection is the third line, before the line counts.
    let third_line = run.stdout.lines().nth(2).unwrap_or_default();
    assert!(
        third_line.starts_with("  rejected   auth.ip_not_allowed 550 5.7.0: 2 messages, 3 recipients"),
        "{}",
        run.stdout
    );
}

// Direct mode.

#[test]
fn direct_mode_with_nat() {
    let run = replay(&fixture("clients.log"), &fixture("direct-nat.toml"), "direct");
    let rows = verdict_rows(&run);

    let expected = [
        ("2B3C4D5E01", "accepted", "", Some("hub"), Some("203.0.113.5")),
        (
            "2B3C4D5E02",
            "rejected",
            "tls.required",
            Some("hub"),
            Some("203.0.113.5"),
        ),
        (
            "2B3C4D5E03",
            "rejected",
            "auth.ip_not_allowed",
            None,
            Some("10.2.0.7"),
        ),
        (
            "2B3C4D5E04",
            "rejected",
            "auth.auth_without_tls",
            None,
            Some("198.51.100.77"),
        ),
        (
            "2B3C4D5E05",
            "rewritten",
            "sender.rewrite_postmaster",
            Some("apps"),
            Some("198.51.100.80"),
        ),
        (
            "2B3C4D5E06",
            "rejected",
            "auth.ip_not_allowed",
            None,
            Some("198.51.100.90"),
        ),
        // The content filter's copy is judged with app1's session.
        ("2B3C4D5E09", "accepted", "", Some("hub"), Some("203.0.113.5")),
    ];
    for (queue_id, outcome, rule, setting, ip) in expected {
        for row in rows_of(&rows, queue_id) {
            assert_eq!(row.outcome, outcome, "{queue_id}");
            assert_eq!(row.rule, rule, "{queue_id}");
            assert_eq!(row.relay_setting.as_deref(), setting, "{queue_id}");
            assert_eq!(row.client_ip.as_deref(), ip, "{queue_id}");
        }
    }
    // Cron mail from pickup has no inbound session.
    assert!(rows.iter().all(|row| row.queue_id != "2B3C4D5E07"));

    // Each client has its own setting: the report lists them all.
    let report = std::fs::read_to_string(run.out.join("report.html")).unwrap();
    assert!(report.contains("apps (1 message), hub (2 messages)"));

    let summary = run.summary();
    assert_eq!(summary["mode"], "direct");
    assert_eq!(summary["messages"]["no_inbound_session"], 1);
    assert_eq!(summary["messages"]["no_inbound_session_recipients"], 1);
    assert_eq!(summary["messages"]["replayed"], 7);
    assert_eq!(finding_codes(&summary), ["private_address_without_nat"]);
    let order = &summary["connection"]["setting_order"]["order_dependent"];
    assert_eq!(order["messages"], 2);
    assert_eq!(order["settings"], serde_json::json!(["hub", "apps"]));
}

#[test]
fn direct_mode_lists_breaking_clients() {
    let run = replay(&fixture("clients.log"), &fixture("direct-nat.toml"), "direct");
    let summary = run.summary();

    let clients: Vec<(String, String, String, u64)> = summary["clients"]
        .as_array()
        .expect("clients array")
        .iter()
        .map(|client| {
            (
                client["ip"].as_str().expect("ip").to_string(),
                client["host_names"][0].as_str().unwrap_or("").to_string(),
                client["rule"].as_str().expect("rule").to_string(),
                client["messages"].as_u64().expect("messages"),
            )
        })
        .collect();
    let expected = [
        ("10.1.0.40", "printer.corp.example.com", "tls.required", 1),
        ("10.2.0.7", "scanner2.lab.example.com", "auth.ip_not_allowed", 1),
        ("198.51.100.77", "legacy.example.net", "auth.auth_without_tls", 1),
        ("198.51.100.90", "helpdesk.example.net", "auth.ip_not_allowed", 1),
    ];
    let expected: Vec<(String, String, String, u64)> = expected
        .iter()
        .map(|(ip, host, rule, messages)| (ip.to_string(), host.to_string(), rule.to_string(), *messages))
        .collect();
    assert_eq!(clients, expected);
    assert_eq!(summary["clients"][0]["relay_ip"], "203.0.113.5");
    assert_eq!(summary["connection"]["clients_with_messages"], 6);
    assert_eq!(summary["connection"]["judged"], 7);
}

#[test]
fn direct_mode_session_verdicts() {
    let run = replay(&fixture("clients.log"), &fixture("direct-nat.toml"), "direct");
    let sessions = run.table("sessions");
    let services = sessions.strings("service");
    let addresses = sessions.strings("client_ip");
    let relay_ips = sessions.strings("relay_client_ip");
    let outcomes = sessions.strings("connection_outcome");
    let rules = sessions.strings("connection_rule");
    let codes = sessions.u16s("connection_reply_code");

    let row_of = |address: &str| {
        (0..sessions.rows())
            .find(|&row| {
                addresses[row].as_deref() == Some(address) && services[row].as_deref() == Some("smtpd")
            })
            .unwrap_or_else(|| panic!("no smtpd session from {address}"))
    };
    let printer = row_of("10.1.0.40");
    assert_eq!(relay_ips[printer].as_deref(), Some("203.0.113.5"));
    assert_eq!(outcomes[printer].as_deref(), Some("rejected"));
    assert_eq!(rules[printer].as_deref(), Some("tls.required"));
    assert_eq!(codes[printer], Some(530));
    let crm = row_of("198.51.100.80");
    assert_eq!(outcomes[crm].as_deref(), Some("accepted"));
    assert_eq!(rules[crm].as_deref(), Some(""));

    // The content filter's loopback session is not a client.
    let filter = (0..sessions.rows())
        .find(|&row| services[row].as_deref() == Some("10025/smtpd"))
        .expect("content filter session");
    assert_eq!(outcomes[filter], None);
}

#[test]
fn auth_with_and_without_tls() {
    let run = replay(&fixture("clients.log"), &fixture("direct-nat.toml"), "direct");
    let rows = verdict_rows(&run);
    // crm: TLS and AUTH, matched by the AUTH-only setting.
    assert_eq!(
        rows_of(&rows, "2B3C4D5E05")[0].relay_setting.as_deref(),
        Some("apps")
    );
    // legacy: AUTH on a plain connection.
    assert_eq!(rows_of(&rows, "2B3C4D5E04")[0].rule, "auth.auth_without_tls");
}

#[test]
fn ip_range_boundaries() {
    let run = replay(
        &fixture("boundaries.log"),
        &fixture("direct-boundaries.toml"),
        "direct",
    );
    let rows = verdict_rows(&run);

    // (queue id, client address, accepted)
    let expected = [
        ("3C4D5E6F01", "192.0.2.63", false),
        ("3C4D5E6F02", "192.0.2.64", true),
        ("3C4D5E6F03", "192.0.2.127", true),
        ("3C4D5E6F04", "192.0.2.128", false),
        ("3C4D5E6F05", "2001:db8:f:ffff:ffff:ffff:ffff:ffff", false),
        ("3C4D5E6F06", "2001:db8:10::", true),
        ("3C4D5E6F07", "2001:db8:10::ffff", true),
        ("3C4D5E6F08", "2001:db8:10::1:0", false),
    ];
    for (queue_id, address, accepted) in expected {
        let row = rows_of(&rows, queue_id)[0];
        assert_eq!(row.client_ip.as_deref(), Some(address), "{queue_id}");
        let rule = if accepted { "" } else { "auth.ip_not_allowed" };
        assert_eq!(row.rule, rule, "{address}");
    }
}

#[test]
fn ip_range_size_limit() {
    let accepted = relayaudit(&[
        "policy",
        "check",
        fixture("range-65536.toml").to_str().expect("path"),
    ]);
    assert!(
        accepted.status.success(),
        "{}",
        String::from_utf8_lossy(&accepted.stderr)
    );

    let refused = relayaudit(&[
        "policy",
        "check",
        fixture("range-too-wide.toml").to_str().expect("path"),
    ]);
    assert_eq!(refused.status.code(), Some(2));
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains(
            "range-too-wide.toml:7:16: relay[0].allowed_ips[0]: 10.0.0.0/15 contains 131,072 \
             addresses; the relay accepts at most 65,536 per range"
        ),
        "{message}"
    );
}

#[test]
fn generic_helo_each_form() {
    let run = replay(&fixture("helo.log"), &fixture("direct-helo.toml"), "direct");
    let rows = verdict_rows(&run);

    // (queue id, HELO name in the log, generic)
    let expected = [
        ("4D5E6F7A01", "localhost", true),
        ("4D5E6F7A02", "localhost.localdomain", true),
        ("4D5E6F7A03", "[192.0.2.23]", true),
        ("4D5E6F7A04", "[IPv6:2001:db8::24]", true),
        ("4D5E6F7A05", "(empty)", true),
        ("4D5E6F7A06", "smtp-relay.gmail.com", true),
        ("4D5E6F7A07", "mailhost", true),
        ("4D5E6F7A08", "printer.corp.example.com (listed)", true),
        ("4D5E6F7A09", "app.example.com", false),
        ("4D5E6F7A10", "(not logged)", false),
    ];
    for (queue_id, helo, generic) in expected {
        let row = rows_of(&rows, queue_id)[0];
        assert_eq!(row.outcome, "accepted", "{helo}");
        let warnings = if generic { "dos.generic_helo" } else { "" };
        assert_eq!(row.warnings, warnings, "{helo}");
    }
    let summary = run.summary();
    assert_eq!(summary["warnings"][0]["messages"], 8);
    // The last session sends HELO localhost but carries no message, so it
    // brings nothing to the relay and is not counted.
    assert_eq!(summary["warnings"][0]["connections"], 8);
    let not_judged = summary["connection"]["not_judged"]
        .as_array()
        .expect("not_judged");
    let helo = not_judged
        .iter()
        .find(|note| note["code"] == "helo_unknown")
        .unwrap_or_else(|| panic!("no helo_unknown in {not_judged:?}"));
    assert!(
        helo["text"].as_str().is_some_and(|text| text
            .starts_with("dos.generic_helo: the HELO name is unknown for 1 connection carrying 1 message")),
        "{helo}"
    );
    assert_eq!(helo["params"]["connections"], 1);
    assert_eq!(helo["params"]["messages"], 1);
}

#[test]
fn generic_helo_throttled_by_policy() {
    let run = replay(
        &fixture("helo.log"),
        &fixture("direct-helo-throttled.toml"),
        "direct",
    );
    let rows = verdict_rows(&run);

    let throttled: Vec<&str> = rows
        .iter()
        .filter(|row| row.rule == "dos.generic_helo")
        .map(|row| row.outcome.as_str())
        .collect();
    assert_eq!(throttled, ["throttled"; 8]);
    assert_eq!(rows_of(&rows, "4D5E6F7A09")[0].outcome, "accepted");
    assert_eq!(rows_of(&rows, "4D5E6F7A10")[0].outcome, "accepted");
}

// The shared corpus.

fn corpus_files() -> Vec<PathBuf> {
    let folder = repository().join("../shared/corpus/postfix");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap_or_else(|error| panic!("the corpus is at {}: {error}", folder.display()))
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "log"))
        .collect();
    files.sort();
    files
}

#[test]
fn corpus_both_modes() {
    let files = corpus_files();
    assert!(files.len() >= 9, "found only {} corpus files", files.len());
    let policy = repository().join("fixtures/policy/sample.toml");

    for file in files {
        let smarthost = replay(&file, &policy, "smarthost");
        let direct = replay(&file, &policy, "direct");
        let name = file.display();

        for run in [&smarthost, &direct] {
            let summary = run.summary();
            assert_eq!(
                run.table("verdicts").rows() as u64,
                summary["recipients_replayed"]
                    .as_u64()
                    .expect("recipients_replayed"),
                "{name}"
            );
            // Every message is in exactly one bucket.
            let messages = &summary["messages"];
            let bucket = |name: &str| messages[name].as_u64().unwrap_or_else(|| panic!("{name}"));
            assert_eq!(
                bucket("logical"),
                bucket("replayed")
                    + bucket("local_only")
                    + bucket("no_delivery")
                    + bucket("sender_unknown")
                    + bucket("content_filter_no_copy")
                    + bucket("address_probes")
                    + bucket("no_inbound_session"),
                "{name}"
            );
            assert_eq!(
                bucket("content_filter_hops"),
                bucket("reinjected_copies"),
                "{name}"
            );
            let sessions = run.table("sessions");
            assert_eq!(
                sessions.strings("connection_outcome").len(),
                summary["sessions"].as_u64().expect("sessions") as usize,
                "{name}"
            );
        }

        // Both modes replay the same messages, except those that direct
        // mode cannot tie to a client.
        let smarthost = smarthost.summary();
        let direct = direct.summary();
        let smarthost_messages = &smarthost["messages"];
        let direct_messages = &direct["messages"];
        assert_eq!(
            smarthost_messages["replayed"].as_u64(),
            Some(
                direct_messages["replayed"].as_u64().expect("replayed")
                    + direct_messages["no_inbound_session"]
                        .as_u64()
                        .expect("no_inbound_session")
            ),
            "{name}"
        );
        assert_eq!(smarthost_messages["no_inbound_session"], 0, "{name}");
        assert_eq!(direct["connection"]["mode"], "direct", "{name}");
        assert_eq!(smarthost["connection"]["judged"], 1, "{name}");
    }
}

#[test]
fn direct_mode_output_deterministic() {
    let first = replay(&fixture("clients.log"), &fixture("direct-nat.toml"), "direct");
    let second = replay(&fixture("clients.log"), &fixture("direct-nat.toml"), "direct");
    for name in ["summary.json", "verdicts.parquet", "sessions.parquet"] {
        let a = std::fs::read(first.out.join(name)).expect("first output");
        let b = std::fs::read(second.out.join(name)).expect("second output");
        assert!(a == b, "{name} differs between runs");
    }
}
