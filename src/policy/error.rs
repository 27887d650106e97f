//! Errors from loading a policy file or its users CSV.

use std::fmt;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use ipnet::IpNet;

use crate::policy::model::Account;
use crate::text::group_thousands;

/// A position in the policy file: 1-based line and column. Columns count
/// Unicode characters, not bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl Location {
    /// Converts a byte offset into `text` to a line and column.
    pub(crate) fn from_offset(path: &Path, text: &str, offset: usize) -> Location {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        Location {
            path: path.to_path_buf(),
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }

    /// Location of the start of a byte span.
    pub(crate) fn from_span(path: &Path, text: &str, span: &Range<usize>) -> Location {
        Location::from_offset(path, text, span.start)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.path.display(), self.line, self.column)
    }
}

/// Every way a policy can fail to load. Policy file errors carry a
/// `Location` and the dotted key (`relay[1].allowed_ips[2]`); users CSV
/// errors carry the CSV's path and line.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("{}: failed to read the policy file: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },

    /// The text is not valid TOML. `message` is the TOML parser's message.
    #[error("{at}: invalid TOML: {message}")]
    Syntax { at: Location, message: String },

    #[error("{at}: {key}: unknown key; expected one of {}", accepted.join(", "))]
    UnknownKey {
        at: Location,
        key: String,
        accepted: Vec<String>,
    },

    /// A required key is absent; `at` is the table that lacks it.
    #[error("{at}: {key}: missing required key; expected {expected}")]
    MissingKey {
        at: Location,
        key: String,
        expected: String,
    },

    /// The value has the wrong TOML type, for example a string where an
    /// integer belongs. `found` is the type and the value (`float 1.5`).
    #[error("{at}: {key}: invalid type ({found}); expected {expected}")]
    WrongType {
        at: Location,
        key: String,
        found: String,
        expected: String,
    },

    /// The value has the right type but is not accepted. `found` is the value
    /// as written in TOML (strings quoted).
    #[error("{at}: {key}: invalid value {found}; expected {expected}")]
    InvalidValue {
        at: Location,
        key: String,
        found: String,
        expected: String,
    },

    /// A value that must be unique appears twice. `first_key` and
    /// `first_line` are where it appears first, in the same file.
    #[error("{at}: {key}: duplicate value {found}; {first_key} at line {first_line} already uses it")]
    Duplicate {
        at: Location,
        key: String,
        found: String,
        first_key: String,
        first_line: usize,
    },

    #[error(
        "{at}: {key}: {range} contains {} addresses; the relay accepts at most 65,536 per range",
        address_count_text(range)
    )]
    RangeTooLarge { at: Location, key: String, range: IpNet },

    /// `smarthost.auth_user` is set while `smarthost.tls` is false.
    #[error(
        "{at}: {key}: SMTP AUTH requires TLS because the relay offers AUTH only after \
         STARTTLS; set smarthost.tls = true or remove auth_user"
    )]
    AuthWithoutTls { at: Location, key: String },

    /// A trial or unpaid account whose file does not set the per-user limits
    /// in `missing`. `at` and `key` point at `organisation.account`.
    #[error(
        "{at}: {key}: {} account needs {} set in [limits], because Google publishes per-user \
         relay limits only for paid accounts",
        account_phrase(*account),
        missing.join(" and ")
    )]
    UnpublishedLimits {
        at: Location,
        key: String,
        account: Account,
        missing: Vec<String>,
    },

    #[error("{}: failed to read the users file: {source}", path.display())]
    UsersRead { path: PathBuf, source: io::Error },

    /// The CSV reader failed, for example on a row with a different number of
    /// fields than the header. `line` is `None` when the reader gives none.
    #[error("{}{}: invalid CSV: {message}", path.display(), line_suffix(*line))]
    UsersCsv {
        path: PathBuf,
        line: Option<u64>,
        message: String,
    },

    /// The header row lacks a required column; `header` lists the columns
    /// it has.
    #[error(
        "{}:1: missing column \"{column}\"; the header row has {}",
        path.display(),
        header_text(header)
    )]
    UsersMissingColumn {
        path: PathBuf,
        column: String,
        header: Vec<String>,
    },

    #[error("{}:{line}: {column}: invalid value {found:?}; expected {expected}", path.display())]
    UsersInvalidValue {
        path: PathBuf,
        line: u64,
        column: String,
        found: String,
        expected: String,
    },

    #[error(
        "{}:{line}: duplicate address {address:?}; line {first_line} already lists it",
        path.display()
    )]
    UsersDuplicate {
        path: PathBuf,
        line: u64,
        first_line: u64,
        address: String,
    },
}

fn account_phrase(account: Account) -> &'static str {
    match account {
        Account::Paid => "a paid",
        Account::Trial => "a trial",
        Account::Unpaid => "an unpaid",
    }
}

fn header_text(header: &[String]) -> String {
    if header.is_empty() {
        "no columns".to_owned()
    } else {
        header.join(", ")
    }
}

fn line_suffix(line: Option<u64>) -> String {
    line.map_or_else(String::new, |line| format!(":{line}"))
}

/// Number of addresses in `range`, with thousands separators.
pub(crate) fn address_count_text(range: &IpNet) -> String {
    let host_bits = u32::from(range.max_prefix_len() - range.prefix_len());
    match 1u128.checked_shl(host_bits) {
        Some(count) => group_thousands(count),
        // ::/0 contains 2^128 addresses, one more than u128::MAX.
        None => "2^128".to_owned(),
    }
}
