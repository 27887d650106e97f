//! The relay policy: which domains the organisation owns, how its SMTP relay
//! service settings are configured in the Admin console, and which limits
//! apply. The policy comes from a TOML file, optionally with a users CSV
//! next to it.
//!
//! `load` and `parse` return either a fully checked `Policy` or the first
//! error found, with the file, line, column and dotted key it concerns.
//! Sections are checked in a fixed order, not in the order of the file.

pub mod model;
pub use model::*;

mod assumptions;
mod error;
mod read;
mod tree;
mod users;
mod values;

#[cfg(test)]
mod tests;

use std::path::Path;

pub use error::{Location, PolicyError};

/// The note codes of the policy modules, one list per module.
pub(crate) const NOTE_CODES: &[&[&str]] = &[assumptions::NOTE_CODES];

/// Reads and checks the policy file at `path`. A relative `organisation.users`
/// path starts from the policy file's folder.
pub fn load(path: &Path) -> Result<Policy, PolicyError> {
    let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// Checks policy `text` as if read from `path`, which errors name and from
/// whose folder a relative users path starts. A users file named by the
/// policy is read from disk.
pub fn parse(text: &str, path: &Path) -> Result<Policy, PolicyError> {
    let root = tree::parse_document(text).map_err(|error| {
        let offset = error.span().map_or(0, |span| span.start);
        PolicyError::Syntax {
            at: Location::from_offset(path, text, offset),
            message: error.message().trim_end().replace('\n', "; "),
        }
    })?;
    let reader = values::Reader { path, text };
    read::read_policy(&reader, &root)
}

/// Returns the commented starter policy that `relayaudit policy init` writes.
/// It lists every key with its meaning, unit, default and source, and loads
/// as `Policy::builtin_default()` apart from `path`.
pub fn starter_text() -> &'static str {
    include_str!("starter.toml")
}
