//! The `hilo` binary: parse arguments, set up logging, run the library,
//! map errors to exit codes.

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = match hilo::cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                hilo::cli::exit::USAGE
            } else {
                0
            });
        }
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        hilo::cli::LogFormat::Json => logs
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .init(),
        hilo::cli::LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
    match hilo::cli::main(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("hilo: {e:#}");
            ExitCode::from(hilo::cli::exit_code(&e))
        }
    }
}
