//! Finding the input files and grouping them into rotated sets.
//!
//! A rotated set is one log and its rotations in the same folder:
//! `maillog`, `maillog.1`, `maillog.2.gz`, `maillog-20240301.gz`. The set is
//! read oldest first: the highest number first, dated files by date, the
//! live file last. Sets are processed in the order of their first path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// One file of a set, or standard input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    /// `None` for standard input.
    pub path: Option<PathBuf>,
    /// The name written into provenance columns.
    pub name: String,
}

/// Files of one rotated set, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotatedSet {
    pub base: String,
    pub files: Vec<InputFile>,
}

/// Expands the command-line inputs into rotated sets.
pub fn collect(inputs: &[PathBuf]) -> Result<Vec<RotatedSet>> {
    let mut files = Vec::new();
    let mut stdin = false;
    for input in inputs {
        if input.as_os_str() == "-" {
            if stdin {
                bail!("standard input (-) is named twice");
            }
            stdin = true;
            continue;
        }
        let metadata = std::fs::metadata(input)
            .with_context(|| format!("input not found or unreadable: {}", input.display()))?;
        if metadata.is_dir() {
            walk(input, &mut files)?;
        } else {
            files.push(input.clone());
        }
    }
    files.sort();
    files.dedup();

    let mut sets: BTreeMap<(PathBuf, String), Vec<(RotationRank, PathBuf)>> = BTreeMap::new();
    for path in files {
        let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let file_name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (base, rank) = rotation_of(&file_name);
        sets.entry((folder, base)).or_default().push((rank, path));
    }
    let mut out: Vec<RotatedSet> = sets
        .into_iter()
        .map(|((folder, base), mut members)| {
            members.sort();
            RotatedSet {
                base: folder.join(&base).display().to_string(),
                files: members
                    .into_iter()
                    .map(|(_, path)| InputFile {
                        name: path.display().to_string(),
                        path: Some(path),
                    })
                    .collect(),
            }
        })
        .collect();
    if stdin {
        out.push(RotatedSet {
            base: "-".to_string(),
            files: vec![InputFile {
                path: None,
                name: "-".to_string(),
            }],
        });
    }
    Ok(out)
}

fn walk(folder: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let entries =
        std::fs::read_dir(folder).with_context(|| format!("failed to read folder {}", folder.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("failed to read folder {}", folder.display()))?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let file_type = entry
            .file_type()
            .with_context(|| format!("failed to read {}", path.display()))?;
        if file_type.is_dir() {
            walk(&path, files)?;
        } else if file_type.is_file() {
            files.push(path);
        }
    }
    Ok(())
}

/// Sorts members of a set oldest first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum RotationRank {
    /// `name.N` or `name.N.gz`: a higher N is older, so the key is reversed.
    Numbered(std::cmp::Reverse<u32>),
    /// `name-YYYYMMDD` (logrotate's `dateext`), oldest date first.
    Dated(String),
    /// The live file.
    Live,
}

/// Splits a file name into its set name and rank.
fn rotation_of(file_name: &str) -> (String, RotationRank) {
    let name = file_name.strip_suffix(".gz").unwrap_or(file_name);
    if let Some((base, number)) = name.rsplit_once('.') {
        if !base.is_empty() && !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(number) = number.parse() {
                return (
                    base.to_string(),
                    RotationRank::Numbered(std::cmp::Reverse(number)),
                );
            }
        }
    }
    if let Some((base, date)) = name.rsplit_once('-') {
        if !base.is_empty() && date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()) {
            return (base.to_string(), RotationRank::Dated(date.to_string()));
        }
    }
    (name.to_string(), RotationRank::Live)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_names() {
        let cases = [
            ("maillog", "maillog", RotationRank::Live),
            (
                "maillog.1",
                "maillog",
                RotationRank::Numbered(std::cmp::Reverse(1)),
            ),
            (
                "maillog.2.gz",
                "maillog",
                RotationRank::Numbered(std::cmp::Reverse(2)),
            ),
            ("mail.log", "mail.log", RotationRank::Live),
            (
                "mail.log.10.gz",
                "mail.log",
                RotationRank::Numbered(std::cmp::Reverse(10)),
            ),
            (
                "maillog-20240301.gz",
                "maillog",
                RotationRank::Dated("20240301".into()),
            ),
            ("maillog.gz", "maillog", RotationRank::Live),
        ];
        for (file_name, base, rank) in cases {
            assert_eq!(rotation_of(file_name), (base.to_string(), rank), "{file_name}");
        }
    }

    #[test]
    fn set_order_oldest_first() {
        let folder = tempfile::tempdir().unwrap();
        for name in [
            "maillog",
            "maillog.1",
            "maillog.2.gz",
            "maillog.10.gz",
            "other.log",
        ] {
            std::fs::write(folder.path().join(name), b"").unwrap();
        }
        let sets = collect(&[folder.path().to_path_buf()]).unwrap();
        assert_eq!(sets.len(), 2);
        let names: Vec<_> = sets[0]
            .files
            .iter()
            .map(|f| {
                Path::new(&f.name)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(names, ["maillog.10.gz", "maillog.2.gz", "maillog.1", "maillog"]);
    }

    #[test]
    fn missing_input_is_an_error() {
        let error = collect(&[PathBuf::from("/nonexistent/maillog")]).unwrap_err();
        assert!(error.to_string().contains("/nonexistent/maillog"), "{error}");
    }
}
