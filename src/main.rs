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
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match hilo::cli::main(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("hilo: {e:#}");
            ExitCode::from(hilo::cli::exit_code(&e))
        }
    }
}
