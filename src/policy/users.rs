//! Reads the registered users CSV named by `organisation.users`.
//!
//! The header row must contain `address` and `gmail_licence`, in any order
//! and any case; other columns are ignored. `gmail_licence` is `true` or
//! `false`, in any case.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::policy::error::PolicyError;
use crate::policy::model::Users;

const ADDRESS_COLUMN: &str = "address";
const LICENCE_COLUMN: &str = "gmail_licence";

/// Reads the users CSV at `path`, which the errors name.
pub(crate) fn load_users(path: &Path) -> Result<Users, PolicyError> {
    let file = File::open(path).map_err(|source| PolicyError::UsersRead {
        path: path.to_path_buf(),
        source,
    })?;
    read_users(file, path)
}

/// Reads users from CSV `input`. `path` names the file in errors and becomes
/// `Users::path`.
pub(crate) fn read_users<R: Read>(input: R, path: &Path) -> Result<Users, PolicyError> {
    let mut csv_reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(input);
    let header = csv_reader
        .headers()
        .map_err(|error| csv_error(path, error))?
        .clone();
    let address_index = column_index(path, &header, ADDRESS_COLUMN)?;
    let licence_index = column_index(path, &header, LICENCE_COLUMN)?;

    let mut by_address = BTreeMap::new();
    let mut first_lines: BTreeMap<String, u64> = BTreeMap::new();
    for record in csv_reader.records() {
        let record = record.map_err(|error| csv_error(path, error))?;
        let line = record.position().map_or(0, |position| position.line());
        let invalid = |column: &str, found: &str, expected: &str| PolicyError::UsersInvalidValue {
            path: path.to_path_buf(),
            line,
            column: column.to_owned(),
            found: found.to_owned(),
            expected: expected.to_owned(),
        };

        let raw_address = record.get(address_index).unwrap_or("");
        let address = raw_address.to_ascii_lowercase();
        if !is_address(&address) {
            return Err(invalid(
                ADDRESS_COLUMN,
                raw_address,
                "an email address with one @ and text on both sides",
            ));
        }

        let raw_licence = record.get(licence_index).unwrap_or("");
        let licence = match raw_licence.to_ascii_lowercase().as_str() {
            "true" => true,
            "false" => false,
            _ => return Err(invalid(LICENCE_COLUMN, raw_licence, "true or false")),
        };

        if let Some(first_line) = first_lines.get(&address) {
            return Err(PolicyError::UsersDuplicate {
                path: path.to_path_buf(),
                line,
                first_line: *first_line,
                address,
            });
        }
        first_lines.insert(address.clone(), line);
        by_address.insert(address, licence);
    }

    Ok(Users {
        path: path.to_path_buf(),
        by_address,
    })
}

/// Finds `name` in the header row, ignoring case; the CSV reader has already
/// trimmed the names.
fn column_index(path: &Path, header: &csv::StringRecord, name: &str) -> Result<usize, PolicyError> {
    header
        .iter()
        .position(|column| column.eq_ignore_ascii_case(name))
        .ok_or_else(|| PolicyError::UsersMissingColumn {
            path: path.to_path_buf(),
            column: name.to_owned(),
            header: header.iter().map(str::to_owned).collect(),
        })
}

fn is_address(address: &str) -> bool {
    match address.split_once('@') {
        Some((local, domain)) => !local.is_empty() && !domain.is_empty() && !domain.contains('@'),
        None => false,
    }
}

fn csv_error(path: &Path, error: csv::Error) -> PolicyError {
    let line = error.position().map(|position| position.line());
    let message = match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("the row has {len} fields but the header has {expected_len}"),
        csv::ErrorKind::Utf8 { err, .. } => format!("the file is not UTF-8: {err}"),
        _ if error.is_io_error() => {
            if let csv::ErrorKind::Io(source) = error.into_kind() {
                return PolicyError::UsersRead {
                    path: path.to_path_buf(),
                    source,
                };
            }
            unreachable!("is_io_error() is true only for ErrorKind::Io")
        }
        _ => error.to_string(),
    };
    PolicyError::UsersCsv {
        path: path.to_path_buf(),
        line,
        message,
    }
}
