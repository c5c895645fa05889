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

use crate::config::{Credential, Security, SmtpConfig};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum SmtpSetupError {
    #[error("cannot read smtp.ca_file {path}")]
    CaRead {
        path: String,
        #[source]
        cause: std::io::Error,
    },
    #[error("smtp.ca_file {path} holds no certificate lettre can use")]
    CaPem {
        path: String,
        #[source]
        cause: lettre::transport::smtp::Error,
    },
    #[error("smtp.ca_file")]
    CaFile(#[source] crate::net::tls::TlsError),
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
    /// OAuth2: the tokens, and whose.
    oauth: Option<(Arc<crate::auth::Tokens>, crate::auth::Account)>,
    /// How the last session logged in, for `hilo check`.
    pub(super) used: std::sync::Mutex<hilo_domain::LoginInfo>,
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
    #[error(transparent)]
    Tls(#[from] crate::net::tls::TlsError),
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
    /// No OAuth2 access token for the relay.
    #[error("no access token")]
    Token(#[source] crate::auth::AuthError),
    /// The relay refused our OAuth2 token, a fresh one too.
    #[error("the relay refused the OAuth2 login: {0}")]
    AuthRefused(String),
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
    pub(super) fn new(
        cfg: &SmtpConfig,
        tokens: Option<Arc<crate::auth::Tokens>>,
    ) -> Result<Connector, SmtpSetupError> {
        let mut starttls = None;
        let mut tls = None;
        match cfg.security {
            Security::None => {}
            Security::Starttls => {
                let mut params = TlsParameters::builder(cfg.host.clone());
                if let Some(path) = &cfg.ca_file {
                    let shown = path.display().to_string();
                    let pem = std::fs::read(path).map_err(|cause| SmtpSetupError::CaRead {
                        path: shown.clone(),
                        cause,
                    })?;
                    let cert = Certificate::from_pem(&pem)
                        .map_err(|cause| SmtpSetupError::CaPem { path: shown, cause })?;
                    params = params.add_root_certificate(cert);
                }
                starttls = Some(params.build_rustls().map_err(SmtpSetupError::Tls)?);
            }
            Security::Tls => {
                tls = Some(
                    crate::net::tls::client_config(cfg.ca_file.as_deref())
                        .map_err(SmtpSetupError::CaFile)?,
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
            credentials: match (&cfg.username, &cfg.credential) {
                (Some(u), Some(Credential::Password(p))) => {
                    Some(Credentials::new(u.clone(), p.expose().to_string()))
                }
                _ => None,
            },
            oauth: match (&cfg.credential, tokens) {
                (Some(Credential::OAuth2(source)), Some(t)) => Some((
                    t,
                    crate::auth::Account {
                        key: "smtp".into(),
                        user: cfg.sasl_user().unwrap_or_default().to_string(),
                        source: source.clone(),
                    },
                )),
                _ => None,
            },
            used: std::sync::Mutex::new(hilo_domain::LoginInfo::default()),
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
                use crate::net::tls::TlsError;
                let name =
                    rustls_pki_types::ServerName::try_from(self.host.clone()).map_err(|cause| {
                        TlsError::ServerName {
                            host: self.host.clone(),
                            cause,
                        }
                    })?;
                let handshake = async {
                    let c = tokio_rustls::TlsConnector::from(cfg.clone());
                    c.connect(name, tcp)
                        .await
                        .map_err(|cause| TlsError::Handshake {
                            addr: format!("{}:{}", self.host, self.port),
                            cause,
                        })
                };
                let s = self.timed(handshake).await?;
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
            self.note("PLAIN/LOGIN", None);
        }
        if let Some((tokens, account)) = &self.oauth {
            self.oauth_login(&mut conn, tokens, account).await?;
        }
        Ok(conn)
    }

    fn note(&self, mechanism: &'static str, token_expires: Option<chrono::DateTime<chrono::Utc>>) {
        *self.used.lock().unwrap_or_else(|p| p.into_inner()) = hilo_domain::LoginInfo {
            mechanism,
            token_expires,
        };
    }

    /// AUTH with an OAuth2 token: OAUTHBEARER when the server offers it,
    /// else XOAUTH2; a refused token is refreshed and tried once more.
    async fn oauth_login(
        &self,
        conn: &mut AsyncSmtpConnection,
        tokens: &crate::auth::Tokens,
        account: &crate::auth::Account,
    ) -> Result<(), SendError> {
        use base64::Engine;
        // lettre keeps only the mechanisms it knows: read the EHLO again.
        let ehlo = self
            .timed(conn.command(lettre::transport::smtp::commands::Ehlo::new(
                self.hello.clone(),
            )))
            .await?;
        let offered: Vec<String> = ehlo
            .message()
            .filter_map(|l| l.strip_prefix("AUTH ").or_else(|| l.strip_prefix("AUTH=")))
            .flat_map(|l| l.split_whitespace().map(str::to_string))
            .collect();
        let mech = crate::net::sasl::Mechanism::choose(offered.iter().map(String::as_str))
            .ok_or(SendError::Unsupported("AUTH OAUTHBEARER or XOAUTH2"))?;
        for fresh in [false, true] {
            let token = tokens.get(account, fresh).await.map_err(SendError::Token)?;
            self.note(mech.name(), token.expires_at);
            let initial = base64::engine::general_purpose::STANDARD.encode(mech.response(
                &account.user,
                token.secret.expose(),
                &self.host,
                self.port,
            ));
            let answer = self
                .timed(conn.command(AuthLine(mech.name(), initial)))
                .await;
            let refusal = match answer {
                Ok(r) if r.has_code(235) => return Ok(()),
                // The server's reason as a challenge: it waits for an empty line.
                Ok(r) if r.has_code(334) => {
                    let last = self.timed(conn.command("\r\n")).await;
                    match last {
                        Ok(r) if r.has_code(235) => return Ok(()),
                        Ok(r) => r.message().collect::<Vec<_>>().join(" "),
                        Err(e) => crate::report(&e).to_string(),
                    }
                }
                Ok(r) => r.message().collect::<Vec<_>>().join(" "),
                Err(SendError::Smtp(e)) if e.is_permanent() => crate::report(&e).to_string(),
                Err(e) => return Err(e),
            };
            if fresh {
                tokens.login_refused(account, &refusal);
                return Err(SendError::AuthRefused(refusal));
            }
        }
        unreachable!("the loop returns on its second turn")
    }
}

/// `AUTH MECHANISM initial-response`: written by hand, since lettre knows
/// no OAUTHBEARER. Never logged (lettre's tracing is off).
struct AuthLine(&'static str, String);

impl std::fmt::Display for AuthLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AUTH {} {}\r\n", self.0, self.1)
    }
}

/// Connects, says EHLO, upgrades with STARTTLS and authenticates as
/// configured, then quits: what `hilo check` needs to know.
pub async fn test_connection(
    cfg: &SmtpConfig,
    tokens: Option<Arc<crate::auth::Tokens>>,
) -> Result<hilo_domain::LoginInfo, String> {
    let c = Connector::new(cfg, tokens).map_err(|e| crate::report(&e).to_string())?;
    let mut conn = c
        .connect()
        .await
        .map_err(|e| crate::report(&e).to_string())?;
    let _ = conn.quit().await;
    let used = c.used.lock().unwrap_or_else(|p| p.into_inner()).clone();
    Ok(used)
}

/// The open session, and when it was last used.
pub(super) struct Session {
    pub(super) conn: AsyncSmtpConnection,
    pub(super) used: std::time::Instant,
}
