//! Reasons for rejected lines, and errors that stop reading an input.

use std::fmt;
use std::path::PathBuf;

/// A stable reason for a `rejects` row. The snake_case names are part of the
/// output format: reports and tests match on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RejectCode {
    /// The line does not start with a timestamp this parser reads.
    BadTimestamp,
    /// Nothing follows the timestamp, so there is no host name.
    MissingHost,
    /// No `program[pid]:` tag follows the host name.
    MissingProgram,
    /// The line is longer than the line length limit; it was cut.
    TruncatedLine,
    /// A line of a known program whose text matches no known form.
    UnrecognisedLine,
    /// A known field with a value of the wrong shape (`size=abc`).
    BadFieldValue,
    /// A line repeated at the start of the next file of a rotated set.
    DuplicateLine,
    /// A classic stamp in an input that gives no year (stdin without `--year`).
    MissingYear,
    /// A local time that the time zone skips (a daylight saving gap).
    NonexistentLocalTime,
    /// An empty line, or one of only spaces.
    BlankLine,
}

impl RejectCode {
    pub const ALL: [RejectCode; 10] = [
        RejectCode::BadTimestamp,
        RejectCode::MissingHost,
        RejectCode::MissingProgram,
        RejectCode::TruncatedLine,
        RejectCode::UnrecognisedLine,
        RejectCode::BadFieldValue,
        RejectCode::DuplicateLine,
        RejectCode::MissingYear,
        RejectCode::NonexistentLocalTime,
        RejectCode::BlankLine,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RejectCode::BadTimestamp => "bad_timestamp",
            RejectCode::MissingHost => "missing_host",
            RejectCode::MissingProgram => "missing_program",
            RejectCode::TruncatedLine => "truncated_line",
            RejectCode::UnrecognisedLine => "unrecognised_line",
            RejectCode::BadFieldValue => "bad_field_value",
            RejectCode::DuplicateLine => "duplicate_line",
            RejectCode::MissingYear => "missing_year",
            RejectCode::NonexistentLocalTime => "nonexistent_local_time",
            RejectCode::BlankLine => "blank_line",
        }
    }
}

impl fmt::Display for RejectCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error that stops reading one input.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The I/O error is part of the message, not a source, so that error
    /// chains print it once.
    #[error("failed to read {path}: {error}")]
    Read { path: PathBuf, error: std::io::Error },
    #[error("{path}: not a readable file or folder")]
    NotFound { path: PathBuf },
    #[error("{path}: the modification time is unreadable, so the year of its classic syslog stamps is unknown; pass --year")]
    NoModificationTime { path: PathBuf },
}
