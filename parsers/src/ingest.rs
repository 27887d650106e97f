//! Reads one rotated set of log files, oldest first, and feeds every line to
//! the parser of its format. Every line read ends up in exactly one of three
//! counts: used, other program, or rejected (with a `rejects` row).

mod blocks;

use std::collections::BTreeMap;
use std::fs::File;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{self, BufRead, BufReader};
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use chrono_tz::Tz;
use flate2::read::MultiGzDecoder;

use crate::error::InputError;
use crate::postfix::correlate::Correlator;
use crate::syslog::{self, Stamp};
use crate::time::{count_rollovers, YearSource};
use crate::Tables;
use blocks::{Block, ParsedLine, SetReader};

/// Maximum line length kept, in bytes. A longer line is cut to this length and
/// rejected as `truncated_line`.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// How many lines at the end of a file are remembered to find lines that the
/// next file of a rotated set repeats.
const OVERLAP_LINES: usize = 10_000;

/// One input: a file or standard input.
#[derive(Debug, Clone)]
pub struct Source {
    /// The name used in provenance columns: the path as given, or `-`.
    pub name: String,
    /// `None` for standard input, which the caller passes as bytes.
    pub path: Option<PathBuf>,
}

/// Line counts of one set, and what was learned about its time stamps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineCounts {
    pub read: u64,
    pub used: u64,
    pub other_program: u64,
    pub rejected: u64,
    /// Lines per program that is not Postfix (or a Postfix helper such as
    /// anvil), by program name.
    pub other_programs: BTreeMap<String, u64>,
    pub reject_codes: BTreeMap<&'static str, u64>,
}

impl LineCounts {
    pub fn add(&mut self, other: &LineCounts) {
        self.read += other.read;
        self.used += other.used;
        self.other_program += other.other_program;
        self.rejected += other.rejected;
        for (program, count) in &other.other_programs {
            *self.other_programs.entry(program.clone()).or_default() += count;
        }
        for (code, count) in &other.reject_codes {
            *self.reject_codes.entry(code).or_default() += count;
        }
    }
}

/// The year and zone choices made for one set, recorded in the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeChoice {
    /// The year given to the first classic stamp, if the set has any.
    pub first_year: Option<i32>,
    pub year_source: &'static str,
    pub zone: String,
}

/// Options that apply to every set.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    pub year: YearSource,
    pub zone: Tz,
    /// Bytes read so far (decompressed), for a progress bar; updated every
    /// [`PROGRESS_STEP_BYTES`].
    pub progress: Option<Arc<AtomicU64>>,
}

/// How many bytes are read between two updates of the progress counter.
pub const PROGRESS_STEP_BYTES: u64 = 4 * 1024 * 1024;

/// Opens a file, decompressing it when it starts with the gzip magic bytes.
pub fn open(path: &std::path::Path) -> Result<Box<dyn BufRead + Send>, InputError> {
    let read_error = |error| InputError::Read {
        path: path.to_path_buf(),
        error,
    };
    let mut file = BufReader::with_capacity(256 * 1024, File::open(path).map_err(read_error)?);
    let magic = file.fill_buf().map_err(read_error)?;
    if magic.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(BufReader::with_capacity(
            256 * 1024,
            MultiGzDecoder::new(file),
        )))
    } else {
        Ok(Box::new(file))
    }
}

/// Reads lines of at most [`MAX_LINE_BYTES`], without the line ending.
pub struct LineReader<R> {
    inner: R,
}

impl<R: BufRead> LineReader<R> {
    pub fn new(inner: R) -> Self {
        LineReader { inner }
    }

    /// Reads the next line into `line`. Returns `None` at the end, else
    /// whether the line was cut at the length limit.
    pub fn next_line(&mut self, line: &mut Vec<u8>) -> io::Result<Option<bool>> {
        line.clear();
        let mut truncated = false;
        let mut any = false;
        loop {
            let available = match self.inner.fill_buf() {
                Ok(bytes) => bytes,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            if available.is_empty() {
                break;
            }
            any = true;
            let (chunk, used, done) = match memchr::memchr(b'\n', available) {
                Some(at) => (&available[..at], at + 1, true),
                None => (available, available.len(), false),
            };
            let room = MAX_LINE_BYTES.saturating_sub(line.len());
            if chunk.len() > room {
                truncated = true;
            }
            line.extend_from_slice(&chunk[..chunk.len().min(room)]);
            self.inner.consume(used);
            if done {
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Ok(Some(truncated))
    }
}

/// Reads every line of `sources` (one rotated set, oldest first) and returns
/// the tables built from them. `stdin` contains the bytes of standard input
/// when a source has no path.
pub fn ingest_set(
    sources: &[Source],
    stdin: Option<&[u8]>,
    options: &IngestOptions,
) -> Result<(Tables, TimeChoice), InputError> {
    read_set(sources, stdin, options, blocks::BLOCK_BYTES)
}

/// Like [`ingest_set`], with blocks of `block_bytes`; the result does not
/// depend on the block size.
fn read_set(
    sources: &[Source],
    stdin: Option<&[u8]>,
    options: &IngestOptions,
    block_bytes: usize,
) -> Result<(Tables, TimeChoice), InputError> {
    let reader_for = |source: &Source| -> Result<Box<dyn BufRead + Send + '_>, InputError> {
        match &source.path {
            Some(path) => open(path),
            None => Ok(Box::new(io::Cursor::new(stdin.unwrap_or_default()))),
        }
    };

    let first_year = match options.year {
        YearSource::Option(year) => Some(year),
        YearSource::Unknown => None,
        YearSource::ModificationTime(last_year) => {
            // The newest line was written in the year of the file's
            // modification time; walk back over the year changes.
            let mut months = Vec::new();
            let mut line = Vec::new();
            for source in sources {
                let mut reader = LineReader::new(reader_for(source)?);
                while reader
                    .next_line(&mut line)
                    .map_err(|source_error| read_error(source, source_error))?
                    .is_some()
                {
                    if let Some(month) = classic_month(&line) {
                        months.push(month);
                    }
                }
            }
            Some(last_year - count_rollovers(months))
        }
    };
    let choice = TimeChoice {
        first_year,
        year_source: match options.year {
            YearSource::Option(_) => "option",
            YearSource::ModificationTime(_) => "modification_time",
            YearSource::Unknown => "none",
        },
        zone: options.zone.name().to_string(),
    };

    let mut reader = SetReader::new(sources, stdin, options, first_year, block_bytes);
    let mut correlator = Correlator::new();
    let mut rows = Tables::default();
    // Two blocks take turns: while the correlator joins the events of one,
    // the reader fills and parses the other on a second thread of the pool
    // (on the same thread when the pool has one). The correlator receives
    // every event in line order, so the rows do not depend on the threads.
    let mut block_a = Block::default();
    let mut block_b = Block::default();
    let (mut events_a, mut more) = reader.next_block(&mut block_a)?;
    loop {
        if !more {
            correlate(&mut correlator, &mut rows, events_a);
            break;
        }
        let (parsed_b, ()) = rayon::join(
            || reader.next_block(&mut block_b),
            || correlate(&mut correlator, &mut rows, events_a),
        );
        let (events_b, more_b) = parsed_b?;
        if !more_b {
            correlate(&mut correlator, &mut rows, events_b);
            break;
        }
        let (parsed_a, ()) = rayon::join(
            || reader.next_block(&mut block_a),
            || correlate(&mut correlator, &mut rows, events_b),
        );
        (events_a, more) = parsed_a?;
    }
    correlator.finish(&mut rows);
    reader.report_progress();

    let mut tables = std::mem::take(&mut reader.tables);
    tables.messages = rows.messages;
    tables.deliveries = rows.deliveries;
    tables.sessions = rows.sessions;
    Ok((tables, choice))
}

/// Applies the events of one block, in order.
fn correlate(correlator: &mut Correlator, rows: &mut Tables, events: Vec<ParsedLine<'_>>) {
    for (line, event) in events {
        correlator.apply(line, event, rows);
    }
}

fn read_error(source: &Source, error: io::Error) -> InputError {
    InputError::Read {
        path: source.path.clone().unwrap_or_else(|| PathBuf::from("-")),
        error,
    }
}

/// Returns the month of a line that starts (after an optional `<PRI>`) with a
/// classic stamp.
fn classic_month(line: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(line.get(..24.min(line.len()))?).ok()?;
    match syslog::parse_stamp(text.trim_start_matches(|c: char| c == '<' || c == '>' || c.is_ascii_digit())) {
        Ok((Stamp::Classic { month, .. }, _)) => Some(month),
        _ => None,
    }
}

fn line_hash(line: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    line.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::YearSource;

    fn read_all(bytes: &[u8]) -> Vec<(Vec<u8>, bool)> {
        let mut reader = LineReader::new(io::Cursor::new(bytes));
        let mut line = Vec::new();
        let mut out = Vec::new();
        while let Some(truncated) = reader.next_line(&mut line).unwrap() {
            out.push((line.clone(), truncated));
        }
        out
    }

    #[test]
    fn line_reader_endings() {
        let lines = read_all(b"a\r\nb\nc");
        assert_eq!(
            lines,
            vec![
                (b"a".to_vec(), false),
                (b"b".to_vec(), false),
                (b"c".to_vec(), false)
            ]
        );
        assert!(read_all(b"").is_empty());
        assert_eq!(read_all(b"\n"), vec![(Vec::new(), false)]);
    }

    #[test]
    fn line_reader_cuts_long_lines() {
        let mut bytes = vec![b'x'; MAX_LINE_BYTES + 10];
        bytes.extend_from_slice(b"\nnext\n");
        let lines = read_all(&bytes);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].0.len(), MAX_LINE_BYTES);
        assert!(lines[0].1);
        assert_eq!(lines[1], (b"next".to_vec(), false));
    }

    #[test]
    fn classic_month_with_priority() {
        assert_eq!(classic_month(b"<22>Dec 31 23:59:59 h p: x"), Some(12));
        assert_eq!(classic_month(b"Jan  1 00:00:00 h p: x"), Some(1));
        assert_eq!(classic_month(b"2024-01-01T00:00:00Z h p: x"), None);
    }

    /// Writes a rotated set of three files whose later files repeat the end
    /// of the earlier ones, with blank, cut, non-UTF-8 and foreign lines.
    fn write_rotated_set(folder: &std::path::Path) -> Vec<Source> {
        let sample = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/postfix/sample.log"
        ))
        .unwrap();
        let lines: Vec<&[u8]> = sample.split(|&byte| byte == b'\n').collect();
        let third = lines.len() / 3;
        let mut oldest = lines[..third].join(&b'\n');
        oldest.extend_from_slice(b"\n\nMar  7 02:09:33 mx opendkim[9]: x\n");
        oldest.extend_from_slice(b"Mar  7 02:09:33 mx postfix/smtpd[9]: caf\xe9 \xff\n");
        oldest.extend(std::iter::repeat_n(b'x', MAX_LINE_BYTES + 5));
        oldest.push(b'\n');
        // The middle and newest files start with the last lines of the file
        // before them, as an overlapping rotation writes them.
        let middle = lines[third - 4..2 * third].join(&b'\n');
        let newest = lines[2 * third - 3..].join(&b'\n');
        let mut sources = Vec::new();
        for (name, bytes) in [("maillog.2", oldest), ("maillog.1", middle), ("maillog", newest)] {
            let path = folder.join(name);
            std::fs::write(&path, bytes).unwrap();
            sources.push(Source {
                name: name.to_string(),
                path: Some(path),
            });
        }
        sources
    }

    #[test]
    fn block_size_does_not_change_tables() {
        let folder = tempfile::tempdir().unwrap();
        let sources = write_rotated_set(folder.path());
        let options = IngestOptions {
            year: YearSource::Option(2024),
            zone: "UTC".parse().unwrap(),
            progress: None,
        };
        let (expected, _) = read_set(&sources, None, &options, blocks::BLOCK_BYTES).unwrap();
        let codes = &expected.counts.reject_codes;
        for code in ["duplicate_line", "truncated_line", "blank_line"] {
            assert!(codes.contains_key(code), "{code} missing from {codes:?}");
        }
        assert!(expected.deliveries.len() > 10);
        for block_bytes in [1, 7, 100, 4096] {
            let (tables, _) = read_set(&sources, None, &options, block_bytes).unwrap();
            assert_eq!(tables.counts, expected.counts, "{block_bytes}");
            assert_eq!(tables.rejects, expected.rejects, "{block_bytes}");
            assert_eq!(tables.messages, expected.messages, "{block_bytes}");
            assert_eq!(tables.deliveries, expected.deliveries, "{block_bytes}");
            assert_eq!(tables.sessions, expected.sessions, "{block_bytes}");
        }
    }
}
