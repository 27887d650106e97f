//! Command-line arguments (clap). They are checked and turned into a
//! [`crate::config`] value before anything runs.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::report::Lang;

#[derive(Debug, Parser)]
#[command(
    name = "relayaudit",
    version,
    about = "Replays mail server logs through the rules of Google Workspace's SMTP relay service",
    long_about = "Replays on-premises mail server logs through the rules of Google Workspace's SMTP relay \
                  service (smtp-relay.gmail.com) and reports which messages would be rejected, throttled \
                  or rewritten, and why."
)]
pub struct Cli {
    /// Log more about decisions (detected format, inferred year, rows per
    /// second); repeat for debug output.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse logs, replay them through the relay rules and write tables,
    /// summary and manifest.
    Replay(ReplayArgs),
    /// Parse logs and write the tables, without the replay.
    Ingest(IngestArgs),
    /// Rebuild the charts and report.html of an output folder that
    /// `replay` wrote.
    Report(ReportArgs),
    /// Write or validate a policy file.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Print the detected format of each file and the evidence for it.
    Detect {
        /// Log files to look at.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Print a commented starter policy with Google's documented limits.
    Init,
    /// Validate a policy file and its users CSV.
    Check {
        /// The policy file (TOML).
        file: PathBuf,
    },
}

/// Options shared by `replay` and `ingest`.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Log files, folders (read recursively) or `-` for standard input.
    /// Gzip-compressed files are read as they are; a rotated set
    /// (maillog, maillog.1, maillog.2.gz) is read oldest first.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// Output folder. It must not exist unless --force is given.
    #[arg(short, long, value_name = "DIR", default_value = "relayaudit-out")]
    pub output: PathBuf,

    /// Log format; `auto` detects it from the first 200 lines of each file.
    #[arg(long, value_enum, default_value_t = FormatArg::Auto)]
    pub format: FormatArg,

    /// Year of the first classic syslog stamp (`Mar  7 02:09:33`) of each
    /// rotated set. Default: the year of the newest file's modification
    /// time, taken as the year of its last line.
    #[arg(long, value_name = "YYYY", value_parser = clap::value_parser!(i32).range(1970..=9999))]
    pub year: Option<i32>,

    /// IANA time zone of stamps without a UTC offset, e.g. Asia/Tokyo.
    #[arg(long, value_name = "ZONE", default_value = "UTC")]
    pub tz: String,

    /// Worker threads for parsing (one rotated set per thread). Default: the
    /// number of CPU cores. Output is identical for any value.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,

    /// Write into an output folder that already exists, replacing its files.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Policy file (TOML). Default: Google's documented limits with
    /// allowed senders "any" and no owned domains, so the rules that need
    /// the organisation's domains and users are reported as not judged.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,

    /// Source of the relay connections. `smarthost`: the on-premises MTA
    /// relays all mail as the policy's [smarthost] describes. `direct`: each
    /// client in the logs connects to the relay itself, with the address,
    /// TLS, AUTH and HELO of its inbound session.
    #[arg(long, value_enum, default_value_t = ModeArg::Smarthost)]
    pub mode: ModeArg,

    /// Exit with status 1 when any recipient gets one of these outcomes
    /// (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "OUTCOMES")]
    pub fail_on: Vec<FailOn>,

    /// Language of report.html and the chart text.
    #[arg(long, value_enum, default_value_t = Lang::En)]
    pub lang: Lang,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Output folder written by `relayaudit replay`.
    pub dir: PathBuf,

    /// Language of report.html and the chart text.
    #[arg(long, value_enum, default_value_t = Lang::En)]
    pub lang: Lang,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    #[command(flatten)]
    pub input: InputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Auto,
    Postfix,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    Smarthost,
    Direct,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum FailOn {
    Rejected,
    Throttled,
    Rewritten,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn fail_on_list() {
        let cli = Cli::try_parse_from(["relayaudit", "replay", "x.log", "--fail-on", "rejected,throttled"])
            .unwrap();
        let Command::Replay(args) = cli.command else {
            panic!("expected replay");
        };
        assert_eq!(args.fail_on, vec![FailOn::Rejected, FailOn::Throttled]);
        assert_eq!(args.input.output, PathBuf::from("relayaudit-out"));
        assert_eq!(args.mode, ModeArg::Smarthost);
    }

    #[test]
    fn mode_direct() {
        let cli = Cli::try_parse_from(["relayaudit", "replay", "x.log", "--mode", "direct"]).unwrap();
        let Command::Replay(args) = cli.command else {
            panic!("expected replay");
        };
        assert_eq!(args.mode, ModeArg::Direct);
        assert!(Cli::try_parse_from(["relayaudit", "replay", "x.log", "--mode", "relay"]).is_err());
    }

    #[test]
    fn threads_zero_rejected() {
        assert!(Cli::try_parse_from(["relayaudit", "ingest", "x", "--threads", "0"]).is_err());
    }
}
