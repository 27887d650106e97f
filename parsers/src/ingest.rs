//! Reads one rotated set of log files, oldest first, and feeds every line to
//! the parser of its format. Every line read ends up in exactly one of three
//! counts: used, other program, or rejected (with a `rejects` row).

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fs::File;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{self, BufRead, BufReader};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono_tz::Tz;
use flate2::read::MultiGzDecoder;

use crate::error::{InputError, RejectCode};
use crate::postfix::{self, correlate::Correlator, correlate::LineRef, Daemon};
use crate::records::{excerpt, RejectRecord};
use crate::shared::SharedStr;
use crate::syslog::{self, Stamp};
use crate::time::{count_rollovers, to_instant, YearSource, YearTracker};
use crate::Tables;

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
    let read_error = |source| InputError::Read {
        path: path.to_path_buf(),
        source,
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

    let mut tables = Tables::default();
    let mut correlator = Correlator::new();
    let mut tracker = YearTracker::new(first_year);
    let mut previous_tail: HashSet<u64> = HashSet::new();
    let mut line = Vec::new();
    // The last lines of the current file, kept as bytes in reused buffers and
    // hashed only when the file ends, so that most lines are never hashed.
    let mut tail: VecDeque<Vec<u8>> = VecDeque::with_capacity(OVERLAP_LINES);
    let mut unreported_bytes = 0u64;
    for (index, source) in sources.iter().enumerate() {
        let mut reader = LineReader::new(reader_for(source)?);
        let source_file = SharedStr::from(source.name.as_str());
        let mut at_start = !previous_tail.is_empty();
        // The newest file has no successor whose start could repeat it.
        let keep_tail = index + 1 < sources.len();
        let mut number = 0u64;
        while let Some(truncated) = reader
            .next_line(&mut line)
            .map_err(|error| read_error(source, error))?
        {
            number += 1;
            tables.counts.read += 1;
            if let Some(progress) = &options.progress {
                unreported_bytes += line.len() as u64 + 1;
                if unreported_bytes >= PROGRESS_STEP_BYTES {
                    progress.fetch_add(unreported_bytes, Ordering::Relaxed);
                    unreported_bytes = 0;
                }
            }
            if keep_tail {
                let mut kept = if tail.len() == OVERLAP_LINES {
                    tail.pop_front().unwrap_or_default()
                } else {
                    Vec::new()
                };
                kept.clear();
                kept.extend_from_slice(&line);
                tail.push_back(kept);
            }
            if at_start && previous_tail.contains(&line_hash(&line)) {
                reject(
                    &mut tables,
                    &source_file,
                    number,
                    RejectCode::DuplicateLine,
                    &line,
                );
                continue;
            }
            at_start = false;
            if truncated {
                reject(
                    &mut tables,
                    &source_file,
                    number,
                    RejectCode::TruncatedLine,
                    &line,
                );
                continue;
            }
            let text = String::from_utf8_lossy(&line);
            process_line(
                &text,
                &source_file,
                number,
                &mut tracker,
                options.zone,
                &mut correlator,
                &mut tables,
            );
        }
        previous_tail = tail.iter().map(|kept| line_hash(kept)).collect();
        tail.clear();
    }
    correlator.finish(&mut tables);
    if let Some(progress) = &options.progress {
        progress.fetch_add(unreported_bytes, Ordering::Relaxed);
    }
    Ok((tables, choice))
}

fn read_error(source: &Source, error: io::Error) -> InputError {
    InputError::Read {
        path: source.path.clone().unwrap_or_else(|| PathBuf::from("-")),
        source: error,
    }
}

fn process_line(
    text: &str,
    source_file: &SharedStr,
    number: u64,
    tracker: &mut YearTracker,
    zone: Tz,
    correlator: &mut Correlator,
    tables: &mut Tables,
) {
    if text.trim().is_empty() {
        reject(
            tables,
            source_file,
            number,
            RejectCode::BlankLine,
            text.as_bytes(),
        );
        return;
    }
    let prefix = match syslog::parse_prefix(text) {
        Ok(prefix) => prefix,
        Err(code) => {
            reject(tables, source_file, number, code, text.as_bytes());
            return;
        }
    };
    let year = match prefix.stamp {
        Stamp::Classic { month, .. } => tracker.year_of(month),
        Stamp::Rfc3339 { .. } => None,
    };
    let Some(daemon) = postfix::daemon_of(prefix.program) else {
        other_program(tables, prefix.program);
        return;
    };
    if daemon == Daemon::Auxiliary {
        other_program(tables, prefix.program);
        return;
    }
    let at = match to_instant(prefix.stamp, year, zone) {
        Ok(at) => at,
        Err(code) => {
            reject(tables, source_file, number, code, text.as_bytes());
            return;
        }
    };
    match postfix::parse_body(daemon, prefix.body) {
        Ok(event) => {
            tables.counts.used += 1;
            let line = LineRef {
                source_file,
                line: number,
                at,
                host: prefix.host,
                program: prefix.program,
                pid: prefix.pid,
            };
            correlator.apply(line, event, tables);
        }
        Err(code) => reject(tables, source_file, number, code, text.as_bytes()),
    }
}

fn other_program(tables: &mut Tables, program: &str) {
    tables.counts.other_program += 1;
    match tables.counts.other_programs.get_mut(program) {
        Some(count) => *count += 1,
        None => {
            tables.counts.other_programs.insert(program.to_string(), 1);
        }
    }
}

fn reject(tables: &mut Tables, source_file: &SharedStr, number: u64, code: RejectCode, line: &[u8]) {
    tables.counts.rejected += 1;
    *tables.counts.reject_codes.entry(code.as_str()).or_default() += 1;
    tables.rejects.push(RejectRecord {
        source_file: source_file.clone(),
        line: number,
        code: code.as_str(),
        excerpt: excerpt(&String::from_utf8_lossy(line)),
    });
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
}
