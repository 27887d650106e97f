//! The readiness report end to end: `replay` and `report` on the sample log,
//! the chart files read back, the numbers compared with `summary.json`, and
//! the page opened in headless Chromium.
//!
//! The browser test skips with a message when Chromium is not installed,
//! unless `RELAYAUDIT_REQUIRE_BROWSER=1` (set by `.ci/run`) makes that a
//! failure. Screenshots go to `target/test-artefacts/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arrow::array::{Array, RecordBatch, StringArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use relayaudit::report::{render_note, Lang};
use serde_json::Value;

/// Every section of the page, by `id`.
const SECTIONS: [&str; 8] = [
    "verdict",
    "break",
    "senders",
    "clients",
    "headroom",
    "compliance",
    "assumptions",
    "provenance",
];

/// Charts the sample log has data for: all seven.
const CHARTS: [&str; 7] = [
    "chart-1-org-recipients-short",
    "chart-2-org-recipients-day",
    "chart-3-busiest-senders",
    "chart-4-verdicts-by-rule",
    "chart-5-transaction-recipients",
    "chart-6-message-sizes",
    "chart-7-new-connections",
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(command: &mut Command) -> Output {
    let output = command.output().expect("the binary runs");
    if !output.status.success() {
        eprintln!("stdout:\n{}", String::from_utf8_lossy(&output.stdout));
        eprintln!("stderr:\n{}", String::from_utf8_lossy(&output.stderr));
    }
    output
}

fn replay_sample(out: &Path, policy: &Path, extra: &[&str]) -> Output {
    run(Command::new(env!("CARGO_BIN_EXE_relayaudit"))
        .arg("replay")
        .arg(repo().join("fixtures/postfix/sample.log"))
        .arg("--policy")
        .arg(policy)
        .args(["--year", "2024", "--force", "-o"])
        .arg(out)
        .args(extra))
}

fn sample_policy() -> PathBuf {
    repo().join("fixtures/policy/sample.toml")
}

fn report(dir: &Path, lang: &str) -> Output {
    run(Command::new(env!("CARGO_BIN_EXE_relayaudit"))
        .arg("report")
        .arg(dir)
        .args(["--lang", lang]))
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn read_text(path: &Path) -> String {
    String::from_utf8(read(path)).expect("UTF-8")
}

fn summary(dir: &Path) -> Value {
    serde_json::from_slice(&read(&dir.join("summary.json"))).unwrap()
}

/// Returns (name, text) of every `data-summary="name">text<` in the page.
fn summary_numbers(html: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("data-summary=\"") {
        rest = &rest[start + "data-summary=\"".len()..];
        let name_end = rest.find('"').unwrap();
        let name = rest[..name_end].to_string();
        let text_start = rest.find('>').unwrap() + 1;
        let text_end = rest[text_start..].find('<').unwrap() + text_start;
        found.push((name, rest[text_start..text_end].to_string()));
        rest = &rest[text_end..];
    }
    found
}

/// Reads the width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (width, height)
}

#[test]
fn replay_writes_report_and_charts() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    assert!(replay_sample(&out, &sample_policy(), &[]).status.success());

    let html = read_text(&out.join("report.html"));
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<html lang=\"en\">"));
    for section in SECTIONS {
        assert!(
            html.contains(&format!("data-section=\"{section}\"")),
            "section {section}"
        );
    }
    for chart in CHARTS {
        let svg = read_text(&out.join(format!("{chart}.svg")));
        assert!(svg.starts_with("<svg"), "{chart}.svg is SVG");
        assert!(svg.contains("<text"), "{chart}.svg has text");
        assert!(svg.len() > 2_000, "{chart}.svg has {} bytes", svg.len());
        assert!(
            html.contains(&format!("data-chart=\"{chart}\"")),
            "{chart} in the page"
        );

        let png = read(&out.join(format!("{chart}.png")));
        assert_eq!(png_size(&png), (960, 440), "{chart}.png size");
        assert!(png.len() > 10_000, "{chart}.png has {} bytes", png.len());
    }
}

#[test]
fn report_is_self_contained() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    assert!(replay_sample(&out, &sample_policy(), &[]).status.success());
    let html = read_text(&out.join("report.html"));
    assert!(!html.contains("<script"), "no script");
    assert!(!html.contains("<link"), "no linked stylesheet or font");
    assert!(!html.contains("@import"), "no imported CSS");
    assert!(!html.contains("url("), "no CSS url()");
    assert!(!html.contains("src=\"http"), "no remote source");
    assert!(html.matches("<svg").count() >= CHARTS.len(), "charts inline");
}

#[test]
fn report_numbers_match_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    assert!(replay_sample(&out, &sample_policy(), &[]).status.success());
    let summary = summary(&out);
    let html = read_text(&out.join("report.html"));

    let numbers = summary_numbers(&html);
    assert!(numbers.len() >= 10, "found {numbers:?}");
    for (name, text) in &numbers {
        let pointer = format!("/{}", name.replace('.', "/"));
        let expected = summary.pointer(&pointer).and_then(Value::as_u64).unwrap_or(0);
        let shown: u64 = text
            .replace(',', "")
            .parse()
            .unwrap_or_else(|_| panic!("{name}: {text:?}"));
        assert_eq!(shown, expected, "{name}");
    }
    for name in [
        "recipients_replayed",
        "outcomes.rejected",
        "peaks.org_recipients_10min.limit",
        "peaks.message_bytes.value",
    ] {
        assert!(numbers.iter().any(|(n, _)| n == name), "{name} shown");
    }
}

#[test]
fn sample_verdict_is_not_ready() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    assert!(replay_sample(&out, &sample_policy(), &[]).status.success());
    let html = read_text(&out.join("report.html"));
    assert!(html.contains("data-readiness=\"not-ready\""));
    // Each rejecting rule has its own block with an example pointing to a
    // log line.
    assert!(html.contains("data-rule=\"sender.domain_not_owned\""));
    assert!(html.contains("data-rule=\"sender.no_gmail_licence\""));
    assert!(html.contains("sample.log:13"), "example of bob@example.com");
    assert!(html.contains("data-clients=\"not-applicable\""));
    assert!(html.contains("data-assumed-rule=\"sender.no_gmail_licence\""));
}

#[test]
fn report_rebuild_is_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    assert!(replay_sample(&out, &sample_policy(), &[]).status.success());
    let first_html = read(&out.join("report.html"));
    let first_svg = read(&out.join("chart-1-org-recipients-short.svg"));
    let first_png = read(&out.join("chart-6-message-sizes.png"));

    assert!(report(&out, "en").status.success());
    assert_eq!(read(&out.join("report.html")), first_html);
    assert_eq!(read(&out.join("chart-1-org-recipients-short.svg")), first_svg);
    assert_eq!(read(&out.join("chart-6-message-sizes.png")), first_png);
}

#[test]
fn japanese_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    assert!(replay_sample(&out, &sample_policy(), &["--lang", "ja"])
        .status
        .success());
    let html = read_text(&out.join("report.html"));
    assert!(html.contains("<html lang=\"ja\">"));
    assert!(html.contains("移行不可"));
    assert!(html.contains("エンベロープ送信者"));
    assert!(!html.contains("Verdict at a glance"), "no English heading");
    let chart = read_text(&out.join("chart-1-org-recipients-short.svg"));
    assert!(chart.contains("リレーの上限"), "Japanese chart text");

    assert!(report(&out, "en").status.success());
    let english = read_text(&out.join("report.html"));
    assert!(english.contains("Verdict at a glance"));
}

#[test]
fn policy_limit_moves_chart_line() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    let sample = read_text(&sample_policy());
    std::fs::write(
        &policy,
        format!("{sample}\n[limits]\norg_recipients_per_10min = 1_000\n"),
    )
    .unwrap();
    std::fs::copy(
        repo().join("fixtures/policy/users.csv"),
        dir.path().join("users.csv"),
    )
    .unwrap();
    let out = dir.path().join("out");
    assert!(replay_sample(&out, &policy, &[]).status.success());

    let chart = read_text(&out.join("chart-1-org-recipients-short.svg"));
    assert!(chart.contains("relay limit 1,000"), "limit label");
    assert!(!chart.contains("319,444"));
    let html = read_text(&out.join("report.html"));
    assert!(
        html.contains("limits.org_recipients_per_10min = 1,000"),
        "named as an assumption"
    );
}

#[test]
fn report_needs_replay_folder() {
    let dir = tempfile::tempdir().unwrap();
    let output = report(dir.path(), "en");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("summary.json"), "{stderr}");
}

/// Runs the page's checks in Chromium: section heights, chart boxes and
/// drawn SVG elements, page width. The report has no script, so a copy with
/// a probe script appended is opened instead.
const PROBE: &str = r#"<script>
(function () {
  const result = { sections: {}, charts: {}, scrollWidth: document.documentElement.scrollWidth,
                   innerWidth: window.innerWidth, height: document.documentElement.scrollHeight };
  for (const section of document.querySelectorAll("section[data-section]")) {
    result.sections[section.id] = section.getBoundingClientRect().height;
  }
  for (const figure of document.querySelectorAll("figure[data-chart]")) {
    const svg = figure.querySelector("svg");
    const box = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
    const shapes = svg ? svg.querySelectorAll("rect, polyline, path, line, circle").length : 0;
    const texts = svg ? Array.from(svg.querySelectorAll("text")).filter(t => t.getComputedTextLength() > 0).length : 0;
    result.charts[figure.dataset.chart] = { width: box.width, height: box.height, shapes: shapes, texts: texts };
  }
  const pre = document.createElement("pre");
  pre.id = "probe-result";
  pre.textContent = JSON.stringify(result);
  document.body.appendChild(pre);
})();
</script>"#;

fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("RELAYAUDIT_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|folder| folder.join("chromium"))
        .find(|candidate| candidate.is_file())
}

fn artefacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target"));
    let folder = target.join("test-artefacts");
    std::fs::create_dir_all(&folder).unwrap();
    folder
}

fn headless(browser: &Path, profile: &Path, extra: &[String], page: &Path) -> Output {
    let output = Command::new("timeout")
        .arg("120")
        .arg(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium starts");
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn browser_check(lang: &str) {
    let Some(browser) = chromium() else {
        let required = std::env::var("RELAYAUDIT_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "RELAYAUDIT_REQUIRE_BROWSER=1 but chromium is not installed"
        );
        eprintln!("skipped: chromium is not installed (apt-get install chromium); .ci/run installs it");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    assert!(replay_sample(&out, &sample_policy(), &["--lang", lang])
        .status
        .success());

    let html = read_text(&out.join("report.html"));
    let probed = out.join("probe.html");
    std::fs::write(&probed, html.replace("</body>", &format!("{PROBE}</body>"))).unwrap();
    let profile = dir.path().join("profile");
    let width = 1280;
    let dom = headless(
        &browser,
        &profile,
        &["--dump-dom".to_string(), format!("--window-size={width},900")],
        &probed,
    );
    let dom = String::from_utf8_lossy(&dom.stdout);
    let start =
        dom.find("<pre id=\"probe-result\">").expect("the probe ran") + "<pre id=\"probe-result\">".len();
    let end = dom[start..].find("</pre>").unwrap() + start;
    let json = dom[start..end].replace("&quot;", "\"").replace("&amp;", "&");
    let result: Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));

    for section in SECTIONS {
        let height = result["sections"][section].as_f64().unwrap_or(0.0);
        assert!(height > 40.0, "section {section} rendered {height} px high");
    }
    for chart in CHARTS {
        let drawn = &result["charts"][chart];
        assert!(
            drawn["width"].as_f64().unwrap_or(0.0) > 600.0,
            "{chart} width: {drawn}"
        );
        assert!(
            drawn["height"].as_f64().unwrap_or(0.0) > 250.0,
            "{chart} height: {drawn}"
        );
        assert!(
            drawn["shapes"].as_u64().unwrap_or(0) >= 5,
            "{chart} shapes: {drawn}"
        );
        assert!(drawn["texts"].as_u64().unwrap_or(0) >= 5, "{chart} text: {drawn}");
    }
    let scroll_width = result["scrollWidth"].as_f64().unwrap();
    let inner_width = result["innerWidth"].as_f64().unwrap();
    assert!(
        scroll_width <= inner_width,
        "page wider than the window: {scroll_width} > {inner_width}"
    );

    let height = result["height"].as_f64().unwrap().ceil() as u32;
    let shot = artefacts().join(format!("report-{lang}.png"));
    headless(
        &browser,
        &profile,
        &[
            format!("--screenshot={}", shot.display()),
            format!("--window-size={width},{height}"),
        ],
        &out.join("report.html"),
    );
    let (shot_width, shot_height) = png_size(&read(&shot));
    assert_eq!(shot_width, width);
    assert!(shot_height > 2_000, "screenshot height {shot_height}");
    eprintln!("screenshot: {}", shot.display());
}

#[test]
fn browser_renders_english_report() {
    browser_check("en");
}

#[test]
fn browser_renders_japanese_report() {
    browser_check("ja");
}

#[test]
fn new_summary_fields_appear_without_code() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    assert!(replay_sample(&out, &sample_policy(), &[]).status.success());

    // A later replay may write direct mode, per-client rows and rule ids
    // this version has no words for; the report shows them as they are.
    let mut summary = summary(&out);
    summary["mode"] = Value::from("direct");
    summary["clients"] = serde_json::json!([
        { "client_ip": "10.0.0.40", "helo": "printer", "rules": ["dos.generic_helo"], "recipients": 1200 },
    ]);
    summary["outcomes_by_rule"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({ "rule": "dos.future_rule", "outcome": "warning", "recipients": 2 }));
    std::fs::write(
        out.join("summary.json"),
        serde_json::to_vec_pretty(&summary).unwrap(),
    )
    .unwrap();

    assert!(report(&out, "en").status.success());
    let html = read_text(&out.join("report.html"));
    assert!(
        html.contains("<th>client_ip</th>"),
        "client columns from the JSON keys"
    );
    assert!(html.contains("10.0.0.40"));
    assert!(html.contains("1,200"));
    assert!(!html.contains("data-clients=\"not-applicable\""));
    assert!(
        html.contains("2 recipients flagged by dos.future_rule"),
        "reason for the new rule"
    );
    let chart = read_text(&out.join("chart-4-verdicts-by-rule.svg"));
    assert!(
        chart.contains("dos.future_rule (warning)"),
        "bar for the new rule"
    );
}

/// Replays `log` into `out` with `args` after the log (policy, mode, ...).
fn replay_log(log: &str, out: &Path, args: &[&str]) -> Output {
    run(Command::new(env!("CARGO_BIN_EXE_relayaudit"))
        .arg("replay")
        .arg(repo().join(log))
        .args(["--year", "2024", "--force", "-o"])
        .arg(out)
        .args(args))
}

/// Escapes text as the report writes it into HTML.
fn html_escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// One note as the replay wrote it: code, parameters and English text.
struct WrittenNote {
    place: String,
    code: String,
    params: Value,
    text: String,
}

/// Collects every note of `summary.json` that the report shows.
fn summary_notes(summary: &Value) -> Vec<WrittenNote> {
    let mut notes = Vec::new();
    let mut add = |place: String, code: &Value, params: &Value, text: &Value| {
        let text = text.as_str().unwrap_or_default();
        if !text.is_empty() {
            notes.push(WrittenNote {
                place,
                code: code.as_str().unwrap_or_default().to_string(),
                params: params.clone(),
                text: text.to_string(),
            });
        }
    };
    for pointer in ["/assumptions", "/not_judged", "/connection/not_judged"] {
        for (index, note) in summary
            .pointer(pointer)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            add(
                format!("{pointer}/{index}"),
                &note["code"],
                &note["params"],
                &note["text"],
            );
        }
    }
    for (index, finding) in summary["connection"]["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        add(
            format!("/connection/findings/{index}"),
            &finding["code"],
            &finding["params"],
            &finding["detail"],
        );
    }
    for (index, warning) in summary["warnings"].as_array().into_iter().flatten().enumerate() {
        add(
            format!("/warnings/{index}"),
            &warning["example_code"],
            &warning["example_params"],
            &warning["example"],
        );
    }
    let facts = &summary["connection"]["facts"];
    add(
        "/connection/facts".to_string(),
        &facts["detail_code"],
        &facts["detail_params"],
        &facts["detail"],
    );
    notes
}

/// Collects the distinct verdict details of `verdicts.parquet`.
fn verdict_notes(dir: &Path) -> Vec<WrittenNote> {
    let file = std::fs::File::open(dir.join("verdicts.parquet")).expect("verdicts.parquet");
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).expect("parquet header");
    let schema = builder.schema().clone();
    let batches: Vec<RecordBatch> = builder.build().unwrap().map(Result::unwrap).collect();
    let batch = arrow::compute::concat_batches(&schema, &batches).unwrap();
    let column = |name: &str| {
        batch
            .column_by_name(name)
            .unwrap_or_else(|| panic!("column {name}"))
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap()
            .clone()
    };
    let (details, codes, params) = (column("detail"), column("detail_code"), column("detail_params"));
    let mut notes: Vec<WrittenNote> = Vec::new();
    for row in 0..batch.num_rows() {
        if details.is_null(row) || details.value(row).is_empty() {
            assert_eq!(codes.value(row), "", "row {row} has a code but no detail");
            assert_eq!(params.value(row), "{}", "row {row}");
            continue;
        }
        if notes.iter().any(|note| note.text == details.value(row)) {
            continue;
        }
        notes.push(WrittenNote {
            place: format!("verdicts row {row}"),
            code: codes.value(row).to_string(),
            params: serde_json::from_str(params.value(row)).expect("detail_params is JSON"),
            text: details.value(row).to_string(),
        });
    }
    notes
}

/// Runs that between them write assumptions, rules not judged, findings,
/// warnings and refusals of every rule family.
const NOTE_RUNS: [(&str, &str, &[&str]); 5] = [
    (
        "sample",
        "fixtures/postfix/sample.log",
        &["--policy", "fixtures/policy/sample.toml"],
    ),
    ("no-policy", "fixtures/postfix/sample.log", &[]),
    (
        "contradicted",
        "fixtures/connection/smarthost-contradicted.log",
        &["--policy", "fixtures/connection/smarthost-contradicted.toml"],
    ),
    (
        "direct",
        "fixtures/connection/clients.log",
        &[
            "--policy",
            "fixtures/connection/direct-nat.toml",
            "--mode",
            "direct",
        ],
    ),
    (
        "helo",
        "fixtures/connection/helo.log",
        &[
            "--policy",
            "fixtures/connection/direct-helo.toml",
            "--mode",
            "direct",
        ],
    ),
];

#[test]
fn report_words_match_replay_notes() {
    let dir = tempfile::tempdir().unwrap();
    let mut codes_seen = std::collections::BTreeSet::new();
    for (name, log, args) in NOTE_RUNS {
        let out = dir.path().join(name);
        let args: Vec<String> = args
            .iter()
            .map(|arg| {
                if arg.starts_with("fixtures/") {
                    repo().join(arg).display().to_string()
                } else {
                    arg.to_string()
                }
            })
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert!(replay_log(log, &out, &args).status.success(), "{name}");

        let notes = summary_notes(&summary(&out))
            .into_iter()
            .chain(verdict_notes(&out));
        for note in notes {
            let english = render_note(Lang::En, &note.code, &note.params, &note.text);
            assert!(
                english.translated,
                "{name} {}: no words for {:?}",
                note.place, note.code
            );
            assert_eq!(english.text, note.text, "{name} {}: {}", note.place, note.code);
            let japanese = render_note(Lang::Ja, &note.code, &note.params, &note.text);
            assert!(japanese.translated, "{name} {}: {}", note.place, note.code);
            codes_seen.insert(note.code);
        }
    }
    // The runs reach each kind of note, so a gap in them shows up here.
    for code in [
        "per_user_limits_without_users",
        "outside_owned_domains_unknown",
        "sender_domain_not_owned",
        "no_gmail_licence",
        "port_conflict",
        "tls_conflict",
        "connection_reuse_low",
        "address_not_in_ranges",
        "private_address_without_nat",
        "generic_helo",
        "helo_unknown",
    ] {
        assert!(codes_seen.contains(code), "no run wrote {code}: {codes_seen:?}");
    }
}

#[test]
fn japanese_report_has_no_english_notes() {
    let dir = tempfile::tempdir().unwrap();
    for (name, log, args) in NOTE_RUNS {
        let out = dir.path().join(name);
        let mut args: Vec<String> = args
            .iter()
            .map(|arg| {
                if arg.starts_with("fixtures/") {
                    repo().join(arg).display().to_string()
                } else {
                    arg.to_string()
                }
            })
            .collect();
        args.extend(["--lang".to_string(), "ja".to_string()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert!(replay_log(log, &out, &args).status.success(), "{name}");
        let japanese = read_text(&out.join("report.html"));

        let notes: Vec<WrittenNote> = summary_notes(&summary(&out))
            .into_iter()
            .chain(verdict_notes(&out))
            .collect();
        assert!(!notes.is_empty(), "{name} wrote no notes");
        for note in &notes {
            assert!(
                !japanese.contains(&html_escaped(&note.text)),
                "{name}: English of {} ({}) in the Japanese report: {}",
                note.place,
                note.code,
                note.text
            );
        }
        assert!(!japanese.contains("英語のまま"), "{name}: untranslated note");

        // The English report shows the replay's sentences word for word.
        assert!(report(&out, "en").status.success(), "{name}");
        let english = read_text(&out.join("report.html"));
        for note in summary_notes(&summary(&out)) {
            assert!(
                english.contains(&html_escaped(&note.text)),
                "{name}: {} missing from the English report: {}",
                note.place,
                note.text
            );
        }
    }
}

#[test]
fn japanese_examples_show_detail() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    assert!(replay_sample(&out, &sample_policy(), &["--lang", "ja"])
        .status
        .success());
    let html = read_text(&out.join("report.html"));
    assert!(html.contains("<th>詳細</th>"), "detail column");
    assert!(
        html.contains("bob@example.com は登録済みユーザーですが、Gmail のライセンスがありません。"),
        "Japanese detail of the no-licence example"
    );
    assert!(!html.contains("原文 (英語)"), "no note that details stay English");
}

#[test]
fn unknown_note_code_marked_untranslated() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    assert!(replay_sample(&out, &sample_policy(), &[]).status.success());
    let mut summary = summary(&out);
    summary["assumptions"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "code": "future_assumption",
            "params": { "count": 3 },
            "text": "A later version assumed 3 things.",
        }));
    std::fs::write(
        out.join("summary.json"),
        serde_json::to_vec_pretty(&summary).unwrap(),
    )
    .unwrap();

    assert!(report(&out, "ja").status.success());
    let html = read_text(&out.join("report.html"));
    assert!(
        html.contains("<span lang=\"en\">A later version assumed 3 things.</span> <span class=\"untranslated\">(英語のまま)</span>"),
        "fallback with marker"
    );
    assert!(report(&out, "en").status.success());
    let html = read_text(&out.join("report.html"));
    assert!(html.contains("<li>A later version assumed 3 things.</li>"));
    assert!(!html.contains("英語のまま"));
}
