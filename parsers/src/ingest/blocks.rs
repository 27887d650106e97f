//! The first stage of reading a rotated set: lines are read into blocks of
//! about [`BLOCK_BYTES`], and each block is parsed into events borrowed from
//! it. [`super::ingest_set`] correlates one block while this stage reads and
//! parses the next one on another thread.
//!
//! Everything that depends on earlier lines except correlation happens
//! here, in line order: duplicate lines at the start of a rotated file, the
//! year of classic stamps, the line counts and the `rejects` rows.

use std::collections::{HashSet, VecDeque};
use std::io::{self, BufRead};
use std::sync::atomic::Ordering;

use super::{line_hash, read_error, IngestOptions, LineReader, Source, OVERLAP_LINES, PROGRESS_STEP_BYTES};
use crate::error::{InputError, RejectCode};
use crate::postfix::{self, correlate::LineRef, Daemon, Event};
use crate::records::{excerpt, RejectRecord};
use crate::shared::SharedStr;
use crate::syslog::{self, Stamp};
use crate::time::{Clock, YearTracker};
use crate::Tables;

/// Size of the text of one block, in bytes. A block ends with the first line
/// that reaches it, or at the end of a file.
pub const BLOCK_BYTES: usize = 1024 * 1024;

/// A run of consecutive lines of one file, as UTF-8 text (invalid bytes are
/// replaced with U+FFFD).
#[derive(Default)]
pub struct Block {
    source_file: SharedStr,
    text: String,
    lines: Vec<LineSlot>,
}

/// One line of a [`Block`]: where its text is, its 1-based number in the
/// file, and what the read found.
struct LineSlot {
    start: usize,
    end: usize,
    number: u64,
    kind: LineKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum LineKind {
    Whole,
    /// A repeat of the end of the previous file of the set.
    Duplicate,
    /// Cut at [`super::MAX_LINE_BYTES`].
    Truncated,
}

/// A line that parsed as a Postfix event, ready for the correlator.
pub type ParsedLine<'b> = (LineRef<'b>, Event<'b>);

/// Reads the files of one rotated set, oldest first, block by block, and
/// keeps the line counts and rejects.
pub struct SetReader<'s> {
    sources: &'s [Source],
    stdin: Option<&'s [u8]>,
    options: &'s IngestOptions,
    /// Index in `sources` of the file being read, or of the next one when
    /// `reader` is `None`.
    index: usize,
    reader: Option<LineReader<Box<dyn BufRead + Send + 's>>>,
    source_file: SharedStr,
    number: u64,
    /// True until the first line of the current file that does not repeat
    /// the end of the previous file.
    at_start: bool,
    tracker: YearTracker,
    clock: Clock,
    /// Hashes of the last lines of the previous file.
    previous_tail: HashSet<u64>,
    /// The last lines of the current file, kept as bytes in reused buffers
    /// and hashed only when the file ends, so that most lines are never
    /// hashed. Empty for the newest file, which has no successor whose
    /// start could repeat it.
    tail: VecDeque<Vec<u8>>,
    line: Vec<u8>,
    unreported_bytes: u64,
    block_bytes: usize,
    /// The counts and `rejects` rows of the lines read so far.
    pub tables: Tables,
}

impl<'s> SetReader<'s> {
    pub fn new(
        sources: &'s [Source],
        stdin: Option<&'s [u8]>,
        options: &'s IngestOptions,
        first_year: Option<i32>,
        block_bytes: usize,
    ) -> Self {
        SetReader {
            sources,
            stdin,
            options,
            index: 0,
            reader: None,
            source_file: SharedStr::default(),
            number: 0,
            at_start: false,
            tracker: YearTracker::new(first_year),
            clock: Clock::new(options.zone),
            previous_tail: HashSet::new(),
            tail: VecDeque::with_capacity(OVERLAP_LINES),
            line: Vec::new(),
            unreported_bytes: 0,
            block_bytes,
            tables: Tables::default(),
        }
    }

    /// Reads the next block into `block` and parses it. Returns the events
    /// of its lines, in line order, and whether more blocks may follow.
    pub fn next_block<'b>(
        &mut self,
        block: &'b mut Block,
    ) -> Result<(Vec<ParsedLine<'b>>, bool), InputError> {
        let more = self.fill(block)?;
        let block: &'b Block = block;
        Ok((self.parse(block), more))
    }

    /// Adds the bytes not reported yet to the progress counter.
    pub fn report_progress(&mut self) {
        if let Some(progress) = &self.options.progress {
            progress.fetch_add(self.unreported_bytes, Ordering::Relaxed);
            self.unreported_bytes = 0;
        }
    }

    fn fill(&mut self, block: &mut Block) -> Result<bool, InputError> {
        block.text.clear();
        block.lines.clear();
        loop {
            if self.reader.is_none() {
                if !block.lines.is_empty() || self.index == self.sources.len() {
                    return Ok(self.index < self.sources.len());
                }
                self.open_next()?;
            }
            if block.lines.is_empty() {
                block.source_file = self.source_file.clone();
            }
            let source = &self.sources[self.index];
            let reader = self.reader.as_mut().expect("opened above");
            let Some(truncated) = reader
                .next_line(&mut self.line)
                .map_err(|error| read_error(source, error))?
            else {
                self.close_file();
                continue;
            };
            let kind = self.check_line(truncated);
            let start = block.text.len();
            block.text.push_str(&String::from_utf8_lossy(&self.line));
            block.lines.push(LineSlot {
                start,
                end: block.text.len(),
                number: self.number,
                kind,
            });
            if block.text.len() >= self.block_bytes {
                return Ok(true);
            }
        }
    }

    fn open_next(&mut self) -> Result<(), InputError> {
        let source = &self.sources[self.index];
        let reader: Box<dyn BufRead + Send + 's> = match &source.path {
            Some(path) => super::open(path)?,
            None => Box::new(io::Cursor::new(self.stdin.unwrap_or_default())),
        };
        self.reader = Some(LineReader::new(reader));
        self.source_file = SharedStr::from(source.name.as_str());
        self.tables.files.push(self.source_file.clone());
        self.number = 0;
        self.at_start = !self.previous_tail.is_empty();
        Ok(())
    }

    fn close_file(&mut self) {
        self.previous_tail = self.tail.iter().map(|kept| line_hash(kept)).collect();
        self.tail.clear();
        self.reader = None;
        self.index += 1;
    }

    /// Counts the line just read, remembers it for the next file's overlap
    /// check, and returns whether it is a repeat or was cut.
    fn check_line(&mut self, truncated: bool) -> LineKind {
        self.number += 1;
        self.tables.counts.read += 1;
        if self.options.progress.is_some() {
            self.unreported_bytes += self.line.len() as u64 + 1;
            if self.unreported_bytes >= PROGRESS_STEP_BYTES {
                self.report_progress();
            }
        }
        if self.index + 1 < self.sources.len() {
            let mut kept = if self.tail.len() == OVERLAP_LINES {
                self.tail.pop_front().unwrap_or_default()
            } else {
                Vec::new()
            };
            kept.clear();
            kept.extend_from_slice(&self.line);
            self.tail.push_back(kept);
        }
        if self.at_start && self.previous_tail.contains(&line_hash(&self.line)) {
            return LineKind::Duplicate;
        }
        self.at_start = false;
        if truncated {
            return LineKind::Truncated;
        }
        LineKind::Whole
    }

    fn parse<'b>(&mut self, block: &'b Block) -> Vec<ParsedLine<'b>> {
        let mut parsed = Vec::with_capacity(block.lines.len());
        for slot in &block.lines {
            let text = &block.text[slot.start..slot.end];
            let source_file = &block.source_file;
            match slot.kind {
                LineKind::Duplicate => reject(
                    &mut self.tables,
                    source_file,
                    slot.number,
                    RejectCode::DuplicateLine,
                    text,
                ),
                LineKind::Truncated => reject(
                    &mut self.tables,
                    source_file,
                    slot.number,
                    RejectCode::TruncatedLine,
                    text,
                ),
                LineKind::Whole => {
                    let line = process_line(
                        text,
                        source_file,
                        slot.number,
                        &mut self.tracker,
                        &mut self.clock,
                        &mut self.tables,
                    );
                    parsed.extend(line);
                }
            }
        }
        parsed
    }
}

/// Parses one whole line. Returns its event, or `None` after counting a
/// line of another program or a reject.
fn process_line<'b>(
    text: &'b str,
    source_file: &'b SharedStr,
    number: u64,
    tracker: &mut YearTracker,
    clock: &mut Clock,
    tables: &mut Tables,
) -> Option<ParsedLine<'b>> {
    if text.trim().is_empty() {
        reject(tables, source_file, number, RejectCode::BlankLine, text);
        return None;
    }
    let prefix = match syslog::parse_prefix(text) {
        Ok(prefix) => prefix,
        Err(code) => {
            reject(tables, source_file, number, code, text);
            return None;
        }
    };
    let year = match prefix.stamp {
        Stamp::Classic { month, .. } => tracker.year_of(month),
        Stamp::Rfc3339 { .. } => None,
    };
    let Some(daemon) = postfix::daemon_of(prefix.program) else {
        other_program(tables, prefix.program);
        return None;
    };
    if daemon == Daemon::Auxiliary {
        other_program(tables, prefix.program);
        return None;
    }
    let at = match clock.instant(prefix.stamp, year) {
        Ok(at) => at,
        Err(code) => {
            reject(tables, source_file, number, code, text);
            return None;
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
            Some((line, event))
        }
        Err(code) => {
            reject(tables, source_file, number, code, text);
            None
        }
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

fn reject(tables: &mut Tables, source_file: &SharedStr, number: u64, code: RejectCode, line: &str) {
    tables.counts.rejected += 1;
    *tables.counts.reject_codes.entry(code.as_str()).or_default() += 1;
    tables.rejects.push(RejectRecord {
        source_file: source_file.clone(),
        line: number,
        code: code.as_str(),
        excerpt: excerpt(line),
    });
}
