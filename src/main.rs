//! The `hilo` binary: parse arguments, set up logging, run the library,
//! map errors to exit codes.

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::filter::{filter_fn, FilterExt};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

/// Libraries that log the protocol as written, credentials included
/// (async-imap traces every command it encodes: `LOGIN user password`,
/// `AUTHENTICATE` with the OAuth2 token). Their events are dropped at every
/// level, whatever `RUST_LOG` says: no filter setting may print a secret.
const WIRE_TARGETS: [&str; 3] = [
    "async_imap::imap_stream",
    "imap_proto",
    "lettre::transport::smtp::client",
];

fn wire_level(target: &str) -> bool {
    WIRE_TARGETS.iter().any(|t| {
        target
            .strip_prefix(t)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

/// glibc raises its mmap threshold after the first large buffer is freed,
/// so later multi-megabyte mails (raw bytes, decoded attachments) come from
/// per-thread heaps that keep the memory after it is freed, and each
/// thread (IMAP, parser, store) keeps its own. A fixed threshold sends them
/// to mmap and back to the system when freed (measured peak RSS through a
/// backlog with 20 x 10 MB mails: 97 MB before, 73 MB after), and two
/// arenas instead of eight per core keep small allocations from spreading.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// `hilo tickets show 1 | head`: a reader that closes the pipe ends the
/// command quietly, as it ends any Unix tool (Rust ignores SIGPIPE, so
/// `println!` would panic on EPIPE). Not for the daemon, whose sockets
/// must report EPIPE as an error rather than end the process.
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restores the default disposition before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    tune_allocator();
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
    if !matches!(cli.command, hilo::cli::Command::Run { .. }) {
        quiet_on_closed_pipe();
    }
    let env = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let filter = env.and(filter_fn(|m| !wire_level(m.target())));
    let registry = tracing_subscriber::registry();
    match cli.log_format {
        hilo::cli::LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(true)
                    .with_writer(std::io::stderr)
                    .with_filter(filter),
            )
            .init(),
        hilo::cli::LogFormat::Text => registry
            .with(
                fmt::layer()
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                    .with_writer(std::io::stderr)
                    .with_filter(filter),
            )
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

#[cfg(test)]
mod tests {
    use super::wire_level;

    #[test]
    fn protocol_traces_are_dropped_and_nothing_else() {
        assert!(wire_level("async_imap::imap_stream"));
        assert!(wire_level("imap_proto::parser::rfc3501"));
        assert!(wire_level(
            "lettre::transport::smtp::client::async_connection"
        ));
        assert!(!wire_level("async_imap::client"));
        assert!(!wire_level("imap_protocol"));
        assert!(!wire_level("hilo::watcher"));
    }
}
