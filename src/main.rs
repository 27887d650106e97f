//! relayaudit: replays mail server logs through the rules of Google
//! Workspace's SMTP relay service. `main` only maps the result to an exit
//! status: 0 done, 1 `--fail-on` matched, 2 usage, policy or input error.

use std::process::ExitCode;

use clap::Parser;

use relayaudit::cli::{Cli, Command, PolicyCommand};
use relayaudit::{policy, report, run};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = match cli.verbose {
        0 => log::LevelFilter::Warn,
        1 => log::LevelFilter::Info,
        _ => log::LevelFilter::Debug,
    };
    env_logger::Builder::new()
        .filter_level(level)
        .parse_default_env()
        .format_timestamp(None)
        .init();

    match execute(cli.command) {
        Ok(true) => ExitCode::from(1),
        Ok(false) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("relayaudit: error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs one command; `Ok(true)` when `--fail-on` matched.
fn execute(command: Command) -> anyhow::Result<bool> {
    match command {
        Command::Replay(args) => run::run_replay(&args),
        Command::Ingest(args) => run::run_ingest(&args.input).map(|()| false),
        Command::Report(args) => {
            let written = report::write(&args.dir, args.lang)?;
            println!("wrote {}", written.html.display());
            Ok(false)
        }
        Command::Detect { files } => run::run_detect(&files).map(|()| false),
        Command::Policy(PolicyCommand::Init) => {
            print!("{}", policy::starter_text());
            Ok(false)
        }
        Command::Policy(PolicyCommand::Check { file }) => {
            let policy = policy::load(&file).map_err(|error| anyhow::anyhow!("{error}"))?;
            println!(
                "{}: valid: {} owned domain(s), {} relay setting(s), {} registered user(s)",
                file.display(),
                policy.organisation.domains.len(),
                policy.relays.len(),
                policy
                    .organisation
                    .users
                    .as_ref()
                    .map_or(0, |users| users.by_address.len())
            );
            if policy.relays.is_empty() {
                println!(
                    "warning: the policy lists no [[relay]] setting; the relay refuses all mail \
                     until one exists, and the replay then judges senders as if a setting \
                     allowed any address, without the connection rules"
                );
            }
            Ok(false)
        }
    }
}
