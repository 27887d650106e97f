//! A rotated set read oldest first: gzip members, lines repeated across the
//! rotation boundary, and the December to January year change.

use std::io::Write;
use std::path::PathBuf;

use flate2::write::GzEncoder;
use relayaudit_parsers::time::YearSource;
use relayaudit_parsers::{ingest_set, IngestOptions, Source, Tables};

const OLDEST: &str = "\
Dec 31 23:58:00 mx postfix/smtpd[10]: connect from app.example.com[192.0.2.5]
Dec 31 23:58:00 mx postfix/smtpd[10]: AAAA11111: client=app.example.com[192.0.2.5]
";

const MIDDLE: &str = "\
Dec 31 23:58:01 mx postfix/qmgr[11]: AAAA11111: from=<a@example.com>, size=100, nrcpt=1 (queue active)
Dec 31 23:58:01 mx postfix/smtpd[10]: disconnect from app.example.com[192.0.2.5] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5
Jan  1 00:00:10 mx postfix/smtp[12]: AAAA11111: to=<b@example.org>, relay=mx.example.org[203.0.113.7]:25, delay=129, delays=0/0/128/1, dsn=2.0.0, status=sent (250 ok)
Jan  1 00:00:10 mx postfix/qmgr[11]: AAAA11111: removed
";

const NEWEST: &str = "\
Jan  1 00:00:10 mx postfix/smtp[12]: AAAA11111: to=<b@example.org>, relay=mx.example.org[203.0.113.7]:25, delay=129, delays=0/0/128/1, dsn=2.0.0, status=sent (250 ok)
Jan  1 00:00:10 mx postfix/qmgr[11]: AAAA11111: removed
Jan  1 00:05:00 mx postfix/pickup[13]: BBBB22222: uid=0 from=<root>
Jan  1 00:05:00 mx postfix/qmgr[11]: BBBB22222: from=<root@mx.example.com>, size=50, nrcpt=1 (queue active)
Jan  1 00:05:00 mx postfix/qmgr[11]: BBBB22222: removed
";

/// 2023-12-31T23:58:00Z and 2024-01-01T00:05:00Z in microseconds.
const DEC_31_2358_US: i64 = 1_704_067_080_000_000;
const JAN_1_0005_US: i64 = 1_704_067_500_000_000;

fn write_set(folder: &std::path::Path) -> Vec<Source> {
    let oldest = folder.join("maillog.2.gz");
    let mut encoder = GzEncoder::new(
        std::fs::File::create(&oldest).unwrap(),
        flate2::Compression::default(),
    );
    encoder.write_all(OLDEST.as_bytes()).unwrap();
    encoder.finish().unwrap();
    let middle = folder.join("maillog.1");
    std::fs::write(&middle, MIDDLE).unwrap();
    let newest = folder.join("maillog");
    std::fs::write(&newest, NEWEST).unwrap();
    [oldest, middle, newest].into_iter().map(source).collect()
}

fn source(path: PathBuf) -> Source {
    Source {
        name: path.file_name().unwrap().to_string_lossy().into_owned(),
        path: Some(path),
    }
}

fn ingest(sources: &[Source], year: YearSource) -> Tables {
    let options = IngestOptions {
        year,
        zone: "UTC".parse().unwrap(),
        progress: None,
    };
    ingest_set(sources, None, &options).unwrap().0
}

fn check(tables: &Tables) {
    assert_eq!(tables.counts.read, 11);
    assert_eq!(tables.counts.rejected, 2);
    assert!(tables
        .rejects
        .iter()
        .all(|r| r.code == "duplicate_line" && r.source_file == "maillog"));
    assert_eq!(tables.messages.len(), 2);
    let first = &tables.messages[0];
    assert_eq!(first.queue_id, "AAAA11111");
    assert_eq!(first.received_at.unwrap().utc_us, DEC_31_2358_US);
    assert_eq!(first.source_format, "postfix");
    assert_eq!(first.provenance.source_file, "maillog.2.gz");
    assert_eq!(
        tables.deliveries.len(),
        1,
        "the repeated delivery line is counted once"
    );
    assert_eq!(tables.deliveries[0].provenance.source_file, "maillog.1");
    let second = &tables.messages[1];
    assert_eq!(second.received_at.unwrap().utc_us, JAN_1_0005_US);
}

#[test]
fn rotated_set_with_year_option() {
    let folder = tempfile::tempdir().unwrap();
    let sources = write_set(folder.path());
    check(&ingest(&sources, YearSource::Option(2023)));
}

#[test]
fn rotated_set_with_modification_year() {
    let folder = tempfile::tempdir().unwrap();
    let sources = write_set(folder.path());
    // The newest line is in 2024, so the set starts in 2023.
    check(&ingest(&sources, YearSource::ModificationTime(2024)));
}

#[test]
fn gzip_file_read_alone() {
    let folder = tempfile::tempdir().unwrap();
    let sources = write_set(folder.path());
    let tables = ingest(&sources[..1], YearSource::Option(2023));
    assert_eq!(tables.counts.read, 2);
    assert_eq!(tables.counts.used, 2);
}
