//! `hilo run [--once]`.

use std::path::Path;

use tokio_util::sync::CancellationToken;

use super::{exit, load_config, runtime};
use crate::daemon::App;

pub fn run(config: &Path, once: bool, send: bool) -> anyhow::Result<u8> {
    let config_path = config.to_path_buf();
    let config = load_config(config)?;
    runtime()?.block_on(async move {
        let app = App::start(config).await?;
        let shutdown = CancellationToken::new();
        tokio::spawn(cancel_on_signal(shutdown.clone()));
        if !once {
            let (tx, signals) = tokio::sync::mpsc::unbounded_channel();
            tokio::spawn(reload_on_sighup(tx));
            let reloads = crate::daemon::Reloads {
                path: config_path,
                signals,
            };
            app.run(shutdown, Some(reloads)).await;
            return Ok(exit::OK);
        }
        let (desks, flushed) = app.run_once(&shutdown, send).await;
        let mut code = exit::OK;
        for (name, r) in desks {
            match r {
                Ok(rep) => println!("{name}: {rep}"),
                Err(e) => {
                    println!("{name}: failed: {}", crate::report(&e));
                    code = exit::TEMPFAIL;
                }
            }
        }
        match flushed {
            Ok(None) => println!("outbox: not sent (--no-send)"),
            Ok(Some(f)) => {
                println!(
                    "outbox: {} sent, {} to retry, {} failed{}",
                    f.sent,
                    f.retry,
                    f.failed,
                    if f.relay_down {
                        "; relay unreachable, the rest waits"
                    } else {
                        ""
                    }
                );
                if f.relay_down {
                    code = exit::TEMPFAIL;
                }
            }
            Err(e) => {
                println!("outbox: failed: {}", crate::report(&e));
                code = exit::TEMPFAIL;
            }
        }
        Ok(code)
    })
}

/// Asks for a configuration reload on every SIGHUP.
async fn reload_on_sighup(tx: tokio::sync::mpsc::UnboundedSender<()>) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        tracing::error!("cannot install the SIGHUP handler");
        return;
    };
    while hup.recv().await.is_some() {
        tracing::info!("SIGHUP: reloading the configuration");
        if tx.send(()).is_err() {
            return;
        }
    }
}

/// Cancels `token` on SIGTERM or SIGINT.
async fn cancel_on_signal(token: CancellationToken) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers");
        return;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM"),
        _ = int.recv() => tracing::info!("SIGINT"),
    }
    token.cancel();
}
