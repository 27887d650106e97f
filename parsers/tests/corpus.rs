//! Every Postfix file of the shared corpus: parsed without panic, every line
//! accounted for. The corpus sits beside the repository in `../shared`.

use std::path::{Path, PathBuf};

use relayaudit_parsers::time::YearSource;
use relayaudit_parsers::{ingest_set, IngestOptions, Source};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/postfix")
}

#[test]
fn corpus_lines_accounted_for() {
    let mut paths: Vec<_> = std::fs::read_dir(corpus_dir())
        .expect("the corpus is at ../shared/corpus")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "log"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 9, "found only {} corpus files", paths.len());
    let options = IngestOptions {
        year: YearSource::Option(2024),
        zone: "UTC".parse().unwrap(),
        progress: None,
    };
    for path in paths {
        let source = Source {
            name: path.file_name().unwrap().to_string_lossy().into_owned(),
            path: Some(path.clone()),
        };
        let (tables, _) = ingest_set(&[source], None, &options).unwrap();
        let counts = &tables.counts;
        assert_eq!(
            counts.read,
            counts.used + counts.other_program + counts.rejected,
            "{}",
            path.display()
        );
        assert_eq!(counts.rejected as usize, tables.rejects.len());
        eprintln!(
            "{}: read {} used {} other {} rejected {} ({:.1}%) messages {} deliveries {} sessions {} codes {:?}",
            path.file_name().unwrap().to_string_lossy(),
            counts.read,
            counts.used,
            counts.other_program,
            counts.rejected,
            100.0 * counts.rejected as f64 / counts.read as f64,
            tables.messages.len(),
            tables.deliveries.len(),
            tables.sessions.len(),
            counts.reject_codes
        );
        for reject in tables.rejects.iter().take(8) {
            eprintln!("    {} {}: {}", reject.code, reject.line, reject.excerpt);
        }
    }
}

/// Cuts every corpus line at every character boundary and parses each
/// prefix: malformed lines must become rejects, never panics.
#[test]
fn truncated_corpus_lines_never_panic() {
    use relayaudit_parsers::{postfix, syslog};
    let mut checked = 0usize;
    for entry in std::fs::read_dir(corpus_dir()).unwrap() {
        let text = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&text);
        for line in text.lines() {
            for (cut, _) in line.char_indices() {
                let prefix = &line[..cut];
                if let Ok(parts) = syslog::parse_prefix(prefix) {
                    if let Some(daemon) = postfix::daemon_of(parts.program) {
                        let _ = postfix::parse_body(daemon, parts.body);
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 100_000, "checked {checked} prefixes");
}
