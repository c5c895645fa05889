//! `hilo run [--once]`.

use std::path::Path;

use tokio_util::sync::CancellationToken;

use super::{exit, load_config, runtime};
use crate::daemon::App;

pub fn run(config: &Path, once: bool, send: bool) -> anyhow::Result<u8> {
    let config = load_config(config)?;
    runtime()?.block_on(async move {
        let app = App::start(config).await?;
        let shutdown = CancellationToken::new();
        tokio::spawn(cancel_on_signal(shutdown.clone()));
        if !once {
            app.run(shutdown).await;
            return Ok(exit::OK);
        }
        let (desks, flushed) = app.run_once(&shutdown, send).await;
        let mut code = exit::OK;
        for (name, r) in desks {
            match r {
                Ok(rep) => println!("{name}: {rep}"),
                Err(e) => {
                    println!("{name}: failed: {e}");
                    code = exit::TEMPFAIL;
                }
            }
        }
        match flushed {
            Ok(None) => println!("outbox: not sent (--no-send)"),
            Ok(Some(f)) => println!(
                "outbox: {} sent, {} to retry, {} failed",
                f.sent, f.retry, f.failed
            ),
            Err(e) => {
                println!("outbox: failed: {e}");
                code = exit::TEMPFAIL;
            }
        }
        Ok(code)
    })
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
