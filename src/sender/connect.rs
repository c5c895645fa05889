//! Opening SMTP sessions: TCP with TCP_NODELAY, TLS from the first byte or
//! STARTTLS, EHLO and AUTH, each step under the configured timeout; and
//! what a failure to send means ([`SendError`]).

use std::sync::Arc;
use std::time::Duration;

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters,
};
use lettre::transport::smtp::extension::ClientId;

use crate::config::{Security, SmtpConfig};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum SmtpSetupError {
    #[error("smtp.ca_file {path}: {message}")]
    CaFile { path: String, message: String },
    #[error("smtp: TLS settings")]
    Tls(#[source] lettre::transport::smtp::Error),
}

/// Opens SMTP sessions as configured, with TCP_NODELAY. lettre's own
/// transport leaves Nagle's algorithm on, and its small writes then wait for
/// delayed ACKs: measured here, 23 msg/s into Postfix against 261 msg/s for
/// a client that sends without that wait.
pub(super) struct Connector {
    host: String,
    port: u16,
    security: Security,
    pub(super) timeout: Duration,
    hello: ClientId,
    /// For STARTTLS (lettre upgrades the session).
    starttls: Option<TlsParameters>,
    /// For TLS from the first byte (we wrap the socket).
    tls: Option<Arc<rustls::ClientConfig>>,
    credentials: Option<Credentials>,
}

/// Why a mail could not be handed over.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error(transparent)]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("connection")]
    Io(#[from] std::io::Error),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("the server does not offer STARTTLS")]
    NoStarttls,
    #[error("the server does not offer {0}, which this mail needs")]
    Unsupported(&'static str),
    /// Recording the previous mail as sent failed (not an SMTP problem).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Opening a session failed (TCP, TLS, greeting, EHLO, AUTH): the relay
    /// is down or misconfigured, whichever mail is next.
    #[error("relay unreachable")]
    Connect(#[source] Box<SendError>),
    /// The row was taken by another sender (or sent) before its DATA.
    #[error("the row is no longer ours")]
    Lost,
}

impl SendError {
    /// A 5xx answer: retrying will not help.
    pub fn is_permanent(&self) -> bool {
        match self {
            SendError::Smtp(e) => e.is_permanent(),
            SendError::Unsupported(_) => true,
            _ => false,
        }
    }

    /// The server's answer to this mail (4xx or 5xx), as opposed to a
    /// failure of the relay or of the connection.
    pub(super) fn is_answer(&self) -> bool {
        match self {
            SendError::Smtp(e) => e.is_permanent() || e.is_transient(),
            SendError::Unsupported(_) => true,
            _ => false,
        }
    }
}

/// A TLS socket lettre can speak SMTP over.
#[derive(Debug)]
struct TlsSocket(tokio_rustls::client::TlsStream<tokio::net::TcpStream>);

impl tokio::io::AsyncRead for TlsSocket {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for TlsSocket {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for TlsSocket {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl Connector {
    pub(super) fn new(cfg: &SmtpConfig) -> Result<Connector, SmtpSetupError> {
        let mut starttls = None;
        let mut tls = None;
        match cfg.security {
            Security::None => {}
            Security::Starttls => {
                let mut params = TlsParameters::builder(cfg.host.clone());
                if let Some(path) = &cfg.ca_file {
                    let err = |message: String| SmtpSetupError::CaFile {
                        path: path.display().to_string(),
                        message,
                    };
                    let pem = std::fs::read(path).map_err(|e| err(e.to_string()))?;
                    let cert = Certificate::from_pem(&pem).map_err(|e| err(e.to_string()))?;
                    params = params.add_root_certificate(cert);
                }
                starttls = Some(params.build_rustls().map_err(SmtpSetupError::Tls)?);
            }
            Security::Tls => {
                tls = Some(
                    crate::net::tls::client_config(cfg.ca_file.as_deref(), &cfg.host).map_err(
                        |e| SmtpSetupError::CaFile {
                            path: cfg
                                .ca_file
                                .as_ref()
                                .map(|p| p.display().to_string())
                                .unwrap_or_default(),
                            message: e.message,
                        },
                    )?,
                );
            }
        }
        let hello = match &cfg.hello_name {
            Some(name) => ClientId::Domain(name.clone()),
            None => ClientId::default(),
        };
        Ok(Connector {
            host: cfg.host.clone(),
            port: cfg.port,
            security: cfg.security,
            timeout: cfg.timeout,
            hello,
            starttls,
            tls,
            credentials: match (&cfg.username, &cfg.password) {
                (Some(u), Some(p)) => Some(Credentials::new(u.clone(), p.expose().to_string())),
                _ => None,
            },
        })
    }

    pub(super) async fn timed<T, E: Into<SendError>>(
        &self,
        f: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, SendError> {
        match tokio::time::timeout(self.timeout, f).await {
            Err(_) => Err(SendError::Timeout(self.timeout)),
            Ok(r) => r.map_err(Into::into),
        }
    }

    /// A session ready for MAIL FROM: connected, EHLO, TLS, AUTH.
    pub(super) async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let tcp = self
            .timed(tokio::net::TcpStream::connect((
                self.host.as_str(),
                self.port,
            )))
            .await?;
        tcp.set_nodelay(true)?;
        let stream: Box<dyn AsyncTokioStream> = match &self.tls {
            Some(cfg) => {
                let name = rustls_pki_types::ServerName::try_from(self.host.clone())
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
                let s = self
                    .timed(tokio_rustls::TlsConnector::from(cfg.clone()).connect(name, tcp))
                    .await?;
                Box::new(TlsSocket(s))
            }
            None => Box::new(tcp),
        };
        let mut conn = self
            .timed(AsyncSmtpConnection::connect_with_transport(
                stream,
                &self.hello,
            ))
            .await?;
        if self.security == Security::Starttls {
            if !conn.can_starttls() {
                return Err(SendError::NoStarttls);
            }
            let params = self.starttls.clone().expect("built for STARTTLS");
            self.timed(conn.starttls(params, &self.hello)).await?;
        }
        if let Some(c) = &self.credentials {
            self.timed(conn.auth(&[Mechanism::Plain, Mechanism::Login], c))
                .await?;
        }
        Ok(conn)
    }
}

/// Connects, says EHLO, upgrades with STARTTLS and authenticates as
/// configured, then quits: what `hilo check` needs to know.
pub async fn test_connection(cfg: &SmtpConfig) -> Result<(), String> {
    let c = Connector::new(cfg).map_err(|e| crate::report(&e).to_string())?;
    let mut conn = c
        .connect()
        .await
        .map_err(|e| crate::report(&e).to_string())?;
    let _ = conn.quit().await;
    Ok(())
}

/// The open session, and when it was last used.
pub(super) struct Session {
    pub(super) conn: AsyncSmtpConnection,
    pub(super) used: std::time::Instant,
}
