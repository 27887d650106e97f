//! The `ingest`, `replay` and `detect` commands, from validated arguments to
//! files on disk.

use std::io::{BufRead, IsTerminal, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::{bail, Context, Result};
use chrono_tz::Tz;
use rayon::prelude::*;
use relayaudit_parsers::columnar;
use relayaudit_parsers::detect::{self, Detection, Format};
use relayaudit_parsers::time::YearSource;
use relayaudit_parsers::{ingest_set, IngestOptions, Source, Tables, TimeChoice};
use sha2::{Digest, Sha256};

use crate::cli::{FailOn, FormatArg, InputArgs, ModeArg, ReplayArgs};
use crate::export::{sessions_with_verdicts, verdicts_batch, verdicts_by_session, OutputDir};
use crate::input::{self, RotatedSet};
use crate::policy::{self, Policy};
use crate::relay_view;
use crate::replay;
use crate::summary;

/// Result of reading the inputs: the tables, and per rotated set how it was read.
pub struct Ingested {
    pub tables: Tables,
    pub sets: Vec<SetReport>,
    pub inputs: Vec<InputDigest>,
    pub zone: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SetReport {
    pub base: String,
    pub files: Vec<String>,
    pub format: &'static str,
    pub format_evidence: String,
    pub first_year: Option<i32>,
    pub year_source: &'static str,
    pub zone: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct InputDigest {
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
}

/// Reads and correlates every input, one rotated set per task.
pub fn ingest(args: &InputArgs) -> Result<Ingested> {
    let zone: Tz = args.tz.parse().map_err(|_| {
        anyhow::anyhow!(
            "invalid --tz {:?}: expected an IANA time zone name such as UTC or Asia/Tokyo",
            args.tz
        )
    })?;
    let sets = input::collect(&args.inputs)?;
    if sets.is_empty() {
        bail!("no input files found in {:?}", args.inputs);
    }
    let stdin = if sets.iter().any(|set| set.base == "-") {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("failed to read standard input")?;
        Some(bytes)
    } else {
        None
    };

    let threads = args
        .threads
        .map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    log::info!("reading {} rotated set(s) with {threads} thread(s)", sets.len());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("failed to start worker threads")?;
    let started = std::time::Instant::now();
    let bytes_read = Arc::new(AtomicU64::new(0));
    let progress = Progress::start(&sets, Arc::clone(&bytes_read));
    let results: Vec<Result<(Tables, SetReport, Vec<InputDigest>)>> = pool.install(|| {
        sets.par_iter()
            .map(|set| ingest_one(set, args, zone, stdin.as_deref(), &bytes_read))
            .collect()
    });
    drop(progress);

    let mut tables = Tables::default();
    let mut reports = Vec::new();
    let mut inputs = Vec::new();
    for result in results {
        let (set_tables, report, digests) = result?;
        tables.append(set_tables);
        reports.push(report);
        inputs.extend(digests);
    }
    let seconds = started.elapsed().as_secs_f64();
    log::info!(
        "read {} lines in {seconds:.2} s ({:.0} lines/s)",
        tables.counts.read,
        tables.counts.read as f64 / seconds.max(1e-9)
    );
    Ok(Ingested {
        tables,
        sets: reports,
        inputs,
        zone: zone.name().to_string(),
    })
}

/// A progress bar on stderr over the bytes read, shown only when stderr is
/// a terminal. A thread polls the byte counter until the bar is dropped.
struct Progress {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    fn start(sets: &[RotatedSet], bytes_read: Arc<AtomicU64>) -> Option<Progress> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        // Compressed files grow when read, so the total is an estimate that
        // the bar raises when the count passes it.
        let total: u64 = sets
            .iter()
            .flat_map(|set| &set.files)
            .filter_map(|file| file.path.as_ref())
            .filter_map(|path| std::fs::metadata(path).ok())
            .map(|metadata| metadata.len())
            .sum();
        let bar = indicatif::ProgressBar::new(total.max(1));
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || loop {
            let done = bytes_read.load(Ordering::Relaxed);
            if done > bar.length().unwrap_or(0) {
                bar.set_length(done);
            }
            bar.set_position(done);
            match stopped.recv_timeout(std::time::Duration::from_millis(200)) {
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
                _ => {
                    bar.finish_and_clear();
                    return;
                }
            }
        });
        Some(Progress {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn ingest_one(
    set: &RotatedSet,
    args: &InputArgs,
    zone: Tz,
    stdin: Option<&[u8]>,
    bytes_read: &Arc<AtomicU64>,
) -> Result<(Tables, SetReport, Vec<InputDigest>)> {
    let first = &set.files[0];
    let detection = match &first.path {
        Some(path) => detect_file(path)?,
        None => detect::detect(String::from_utf8_lossy(stdin.unwrap_or_default()).lines()),
    };
    let format = match args.format {
        FormatArg::Postfix => Format::Postfix,
        FormatArg::Auto => match detection.format {
            Some(format) if format.is_parsed() => format,
            Some(format) => bail!(
                "{}: detected {} ({}); this version parses Postfix logs only. Leave the file out, or pass --format postfix to read it as Postfix",
                first.name,
                format.as_str(),
                detection.evidence
            ),
            None => bail!(
                "{}: format not recognised ({}); pass --format postfix to read it as Postfix",
                first.name,
                detection.evidence
            ),
        },
    };
    log::info!("{}: {} ({})", set.base, format.as_str(), detection.evidence);

    let year = match (args.year, &set.files.last().and_then(|f| f.path.clone())) {
        (Some(year), _) => YearSource::Option(year),
        (None, Some(newest)) => YearSource::ModificationTime(modification_year(newest, zone)?),
        (None, None) => YearSource::Unknown,
    };
    let sources: Vec<Source> = set
        .files
        .iter()
        .map(|file| Source {
            name: file.name.clone(),
            path: file.path.clone(),
        })
        .collect();
    let options = IngestOptions {
        year,
        zone,
        progress: Some(Arc::clone(bytes_read)),
    };
    // The SHA-256 of the inputs is computed beside the parsing, on another
    // thread of the pool when one is free.
    let (parsed, digests) = rayon::join(
        || ingest_set(&sources, stdin, &options),
        || {
            set.files
                .iter()
                .map(|file| digest(file.path.as_deref(), stdin))
                .collect::<Result<Vec<_>>>()
        },
    );
    let (tables, choice) = parsed?;
    let digests = digests?;
    if tables.counts.reject_codes.contains_key("missing_year") {
        bail!("standard input has classic syslog stamps, which carry no year; pass --year");
    }
    let TimeChoice {
        first_year,
        year_source,
        zone,
    } = choice;
    if let Some(year) = first_year {
        log::info!(
            "{}: first classic stamp taken as year {year} ({year_source})",
            set.base
        );
    }
    let report = SetReport {
        base: set.base.clone(),
        files: set.files.iter().map(|f| f.name.clone()).collect(),
        format: format.as_str(),
        format_evidence: detection.evidence,
        first_year,
        year_source,
        zone,
    };
    Ok((tables, report, digests))
}

/// Detects the format of a file from its first lines.
pub fn detect_file(path: &Path) -> Result<Detection> {
    let reader = relayaudit_parsers::ingest::open(path)?;
    let mut lines = Vec::new();
    for line in reader.split(b'\n').take(detect::SAMPLE_LINES) {
        let line = line.with_context(|| format!("failed to read {}", path.display()))?;
        lines.push(String::from_utf8_lossy(&line).into_owned());
    }
    Ok(detect::detect(lines.iter().map(String::as_str)))
}

fn modification_year(path: &Path, zone: Tz) -> Result<i32> {
    let modified: SystemTime = std::fs::metadata(path)
        .and_then(|metadata| metadata.modified())
        .map_err(|_| relayaudit_parsers::InputError::NoModificationTime {
            path: path.to_path_buf(),
        })?;
    let utc: chrono::DateTime<chrono::Utc> = modified.into();
    Ok(chrono::Datelike::year(&utc.with_timezone(&zone)))
}

fn digest(path: Option<&Path>, stdin: Option<&[u8]>) -> Result<InputDigest> {
    let mut hasher = Sha256::new();
    let (name, bytes) = match path {
        Some(path) => {
            let mut file =
                std::fs::File::open(path).with_context(|| format!("failed to read {}", path.display()))?;
            let bytes = std::io::copy(&mut file, &mut hasher)
                .with_context(|| format!("failed to read {}", path.display()))?;
            (path.display().to_string(), bytes)
        }
        None => {
            let bytes = stdin.unwrap_or_default();
            hasher.update(bytes);
            ("-".to_string(), bytes.len() as u64)
        }
    };
    Ok(InputDigest {
        name,
        bytes,
        sha256: hex(&hasher.finalize()),
    })
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes the four ingest tables and, after a replay, the verdicts, one table
/// per task. After a replay `sessions` gains the connection verdicts. Each
/// file is written by one thread, so the bytes do not depend on the thread
/// count.
fn write_tables(
    out: &OutputDir,
    tables: &Tables,
    replayed: Option<&replay::model::ReplayOutput>,
) -> Result<()> {
    type Job<'a> = Box<dyn FnOnce() -> Result<()> + Send + 'a>;
    let messages = &tables.messages;
    let deliveries = &tables.deliveries;
    let sessions = &tables.sessions;
    let rejects = &tables.rejects;
    let mut jobs: Vec<Job<'_>> = vec![
        Box::new(|| {
            out.write_parquet("messages.parquet", messages.len(), |range| {
                Ok(columnar::messages_batch(&messages[range])?)
            })
        }),
        Box::new(|| {
            out.write_parquet("deliveries.parquet", deliveries.len(), |range| {
                Ok(columnar::deliveries_batch(&deliveries[range])?)
            })
        }),
        Box::new(move || {
            let by_key = replayed.map(|replayed| verdicts_by_session(&replayed.connections));
            out.write_parquet("sessions.parquet", sessions.len(), |range| {
                let batch = columnar::sessions_batch(&sessions[range.clone()])?;
                match &by_key {
                    Some(by_key) => sessions_with_verdicts(batch, &sessions[range], by_key),
                    None => Ok(batch),
                }
            })
        }),
        Box::new(|| {
            out.write_parquet("rejects.parquet", rejects.len(), |range| {
                Ok(columnar::rejects_batch(&rejects[range])?)
            })
        }),
    ];
    if let Some(replayed) = replayed {
        let verdicts = &replayed.verdicts;
        jobs.push(Box::new(move || {
            out.write_parquet("verdicts.parquet", verdicts.len(), |range| {
                verdicts_batch(&verdicts[range])
            })
        }));
    }
    jobs.into_par_iter()
        .map(|job| job())
        .collect::<Result<Vec<()>>>()?;
    Ok(())
}

/// `relayaudit ingest`.
pub fn run_ingest(args: &InputArgs) -> Result<()> {
    OutputDir::check(&args.output, args.force)?;
    let ingested = ingest(args)?;
    let out = OutputDir::create(&args.output, args.force)?;
    out.remove_earlier_outputs()?;
    let started = std::time::Instant::now();
    write_tables(&out, &ingested.tables, None)?;
    log::info!("wrote the tables in {:.2} s", started.elapsed().as_secs_f64());
    let manifest = summary::manifest(&ingested, args, None, "ingest")?;
    out.write_json("manifest.json", &manifest)?;
    let tables = &ingested.tables;
    out.write_json("summary.json", &summary::ingest_summary(tables))?;
    let logical = summary::logical_messages(tables);
    let copies = tables.messages.len() - logical;
    print!("{}", summary::terminal_lines(&tables.counts));
    let copies = match copies {
        1 => "1 copy".to_string(),
        n => format!("{n} copies"),
    };
    println!("messages: {logical} (and {copies} re-injected by a content filter, each a row of its own)");
    println!("wrote {}", out.path().display());
    // Freeing millions of rows one by one just before the process exits
    // costs more than it returns; the operating system reclaims them.
    std::mem::forget(ingested);
    Ok(())
}

/// `relayaudit replay`. Returns whether `--fail-on` matched.
pub fn run_replay(args: &ReplayArgs) -> Result<bool> {
    let policy = match &args.policy {
        Some(path) => policy::load(path).map_err(|error| anyhow::anyhow!("{error}"))?,
        None => Policy::builtin_default(),
    };
    OutputDir::check(&args.input.output, args.input.force)?;
    let mut ingested = ingest(&args.input)?;
    let out = OutputDir::create(&args.input.output, args.input.force)?;
    out.remove_earlier_outputs()?;
    let mode = match args.mode {
        ModeArg::Smarthost => replay::model::Mode::Smarthost,
        ModeArg::Direct => replay::model::Mode::Direct,
    };
    let started = std::time::Instant::now();
    let relay_view::RelayView { input, report: view } = relay_view::build(&ingested.tables, &policy, mode);
    log::info!("built the relay view in {:.2} s", started.elapsed().as_secs_f64());
    log::info!(
        "replaying {} message(s) over {} connection(s) in {} mode",
        input.messages.len(),
        input.connections.len(),
        mode.as_str()
    );
    let started = std::time::Instant::now();
    let replayed = replay::replay_input(input, &policy);
    log::info!("replayed in {:.2} s", started.elapsed().as_secs_f64());

    let started = std::time::Instant::now();
    write_tables(&out, &ingested.tables, Some(&replayed))?;
    log::info!("wrote the tables in {:.2} s", started.elapsed().as_secs_f64());
    let summary = summary::replay_summary(&ingested, &policy, &view, &replayed);
    out.write_json("summary.json", &summary)?;
    let mut manifest = summary::manifest(&ingested, &args.input, Some(&policy), "replay")?;
    manifest["options"]["mode"] = serde_json::json!(mode.as_str());
    out.write_json("manifest.json", &manifest)?;
    let terminal = summary::terminal_replay(&ingested, &policy, &view, &replayed);

    // The report reads the tables back from the files, so the rows are no
    // longer needed. Freeing them on another thread while the report is
    // built lowers the peak memory without adding to the run time.
    let rows = std::mem::take(&mut ingested.tables);
    let freeing = std::thread::spawn(move || drop(rows));
    let started = std::time::Instant::now();
    let report = crate::report::write(out.path(), args.lang).with_context(|| {
        format!(
            "the tables and summary.json were written but the report was not; \
             fix the cause, then run `relayaudit report {}`",
            out.path().display()
        )
    })?;
    log::info!("wrote the report in {:.2} s", started.elapsed().as_secs_f64());
    print!("{terminal}");
    println!(
        "wrote {} (report: {})",
        out.path().display(),
        report.html.display()
    );

    let matched = args.fail_on.iter().any(|fail_on| {
        let outcome = match fail_on {
            FailOn::Rejected => replay::model::Outcome::Rejected,
            FailOn::Throttled => replay::model::Outcome::Throttled,
            FailOn::Rewritten => replay::model::Outcome::Rewritten,
        };
        replayed.verdicts.iter().any(|verdict| verdict.outcome == outcome)
    });
    // The verdicts are no longer needed and the process is about to exit:
    // leaving them to the operating system saves freeing millions of small
    // allocations one by one.
    std::mem::forget(replayed);
    let _ = freeing.join();
    Ok(matched)
}

/// `relayaudit detect`.
pub fn run_detect(files: &[std::path::PathBuf]) -> Result<()> {
    for file in files {
        let detection = detect_file(file)?;
        let format = detection.format.map_or("unknown", Format::as_str);
        let parsed = match detection.format {
            Some(format) if format.is_parsed() => "",
            Some(_) => " (detected only; not parsed by this version)",
            None => "",
        };
        println!("{}: {format}{parsed}: {}", file.display(), detection.evidence);
    }
    Ok(())
}
