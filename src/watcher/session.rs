//! Talking to the server: connecting (plain, STARTTLS or TLS, each step
//! within the command timeout), logging in and selecting the folder; the
//! stream type, the error type, and commands with a timeout.

pub use hilo_domain::LoginInfo;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::config::{Credential, ImapConfig, Security};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("cannot connect to {addr}")]
    Connect {
        addr: String,
        #[source]
        cause: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] crate::net::tls::TlsError),
    #[error("the server rejected the login of {user}: {message}")]
    Auth { user: String, message: String },
    /// No OAuth2 access token: the provider refused (`permanent`) or did
    /// not answer.
    #[error("no access token: {message}")]
    Token { permanent: bool, message: String },
    #[error("IMAP {command}")]
    Protocol {
        command: &'static str,
        #[source]
        cause: async_imap::error::Error,
    },
    #[error("IMAP {0}: no answer within the timeout")]
    Timeout(&'static str),
    #[error("folder has no UIDVALIDITY")]
    NoUidValidity,
    #[error("the server did not return UID {0} it listed; will retry")]
    Missing(u32),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ImapError {
    /// Wrong credentials: retried slowly, never in a tight loop.
    pub fn is_auth(&self) -> bool {
        matches!(
            self,
            ImapError::Auth { .. }
                | ImapError::Token {
                    permanent: true,
                    ..
                }
        )
    }
}

/// A plain or TLS connection, as async-imap wants one type.
#[derive(Debug)]
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

pub type Session = async_imap::Session<Stream>;

pub(super) async fn timed<T, E>(
    t: Duration,
    command: &'static str,
    fut: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, ImapError>
where
    E: Into<async_imap::error::Error>,
{
    match tokio::time::timeout(t, fut).await {
        Err(_) => Err(ImapError::Timeout(command)),
        Ok(Err(e)) => Err(ImapError::Protocol {
            command,
            cause: e.into(),
        }),
        Ok(Ok(v)) => Ok(v),
    }
}

pub(super) async fn start_tls(cfg: &ImapConfig, tcp: TcpStream) -> Result<Stream, ImapError> {
    use crate::net::tls::TlsError;
    let tls = crate::net::tls::client_config(cfg.ca_file.as_deref())?;
    let name = rustls_pki_types::ServerName::try_from(cfg.host.clone()).map_err(|cause| {
        TlsError::ServerName {
            host: cfg.host.clone(),
            cause,
        }
    })?;
    let s = TlsConnector::from(tls)
        .connect(name, tcp)
        .await
        .map_err(|cause| TlsError::Handshake {
            addr: format!("{}:{}", cfg.host, cfg.port),
            cause,
        })?;
    Ok(Stream::Tls(Box::new(s)))
}

/// What the server told us at connection time.
#[derive(Debug, Clone, Copy)]
pub struct Mailbox {
    pub uid_validity: u32,
    pub uid_next: Option<u32>,
    pub idle: bool,
    pub moves: bool,
    pub uidplus: bool,
}

/// Connects, logs in and selects the folder.
/// Drops the untagged responses async-imap set aside (EXISTS, RECENT,
/// FETCH FLAGS of other clients...). hilo reads the folder by UID SEARCH,
/// not by these; left in the channel, each one pins the read buffer it was
/// cut from.
pub(super) fn drain_unsolicited(session: &Session) {
    while session.unsolicited_responses.try_recv().is_ok() {}
}

/// The TLS handshake, within the command timeout: a server that accepts TCP
/// and never speaks must not stall the watcher or `hilo check`.
pub(super) async fn tls_within(
    timeout: Duration,
    cfg: &ImapConfig,
    tcp: TcpStream,
) -> Result<Stream, ImapError> {
    match tokio::time::timeout(timeout, start_tls(cfg, tcp)).await {
        Err(_) => Err(ImapError::Timeout("TLS handshake")),
        Ok(r) => r,
    }
}

/// Connects with a password (an OAuth2 login needs [`connect_as`]).
pub async fn connect(cfg: &ImapConfig, timeout: Duration) -> Result<(Session, Mailbox), ImapError> {
    connect_as(cfg, timeout, None, &mut LoginInfo::default()).await
}

/// Connects, logs in (with the account's OAuth2 tokens when it uses them)
/// and selects the folder; says in `used` how it logged in.
pub async fn connect_as(
    cfg: &ImapConfig,
    timeout: Duration,
    oauth: Option<(&crate::auth::Tokens, &crate::auth::Account)>,
    used: &mut LoginInfo,
) -> Result<(Session, Mailbox), ImapError> {
    let addr = format!("{}:{}", cfg.host, cfg.port);
    let tcp = match tokio::time::timeout(timeout, TcpStream::connect(&addr)).await {
        Err(_) => return Err(ImapError::Timeout("connect")),
        Ok(Err(cause)) => return Err(ImapError::Connect { addr, cause }),
        Ok(Ok(s)) => s,
    };
    tcp.set_nodelay(true).ok();
    let stream = match cfg.security {
        Security::Tls => tls_within(timeout, cfg, tcp).await?,
        _ => Stream::Plain(tcp),
    };
    let mut client = async_imap::Client::new(stream);
    // async-imap does not read the greeting itself.
    match tokio::time::timeout(timeout, client.read_response()).await {
        Err(_) => return Err(ImapError::Timeout("greeting")),
        Ok(Err(e)) => {
            return Err(ImapError::Protocol {
                command: "greeting",
                cause: e.into(),
            })
        }
        Ok(Ok(None)) => {
            return Err(ImapError::Protocol {
                command: "greeting",
                cause: async_imap::error::Error::ConnectionLost,
            })
        }
        Ok(Ok(Some(_))) => {}
    }
    if cfg.security == Security::Starttls {
        timed(
            timeout,
            "STARTTLS",
            client.run_command_and_check_ok("STARTTLS", None),
        )
        .await?;
        let Stream::Plain(tcp) = client.into_inner() else {
            unreachable!("STARTTLS runs on a plain stream")
        };
        client = async_imap::Client::new(tls_within(timeout, cfg, tcp).await?);
    }
    let mut session = match (&cfg.credential, oauth) {
        (Credential::Password(p), _) => password_login(client, cfg, p, timeout).await?,
        (Credential::OAuth2(_), Some((tokens, account))) => {
            oauth_login(client, cfg, account, tokens, timeout, used).await?
        }
        (Credential::OAuth2(_), None) => {
            return Err(ImapError::Auth {
                user: cfg.username.clone(),
                message: "OAuth2 without a token source".into(),
            })
        }
    };
    if used.mechanism.is_empty() {
        used.mechanism = "LOGIN";
    }
    let caps = timed(timeout, "CAPABILITY", session.capabilities()).await?;
    let selected = timed(timeout, "SELECT", session.select(&cfg.folder)).await?;
    let mailbox = Mailbox {
        uid_validity: selected.uid_validity.ok_or(ImapError::NoUidValidity)?,
        uid_next: selected.uid_next,
        idle: caps.has_str("IDLE"),
        // (The tests pretend a server without them with HILO_FAULTS.)
        moves: caps.has_str("MOVE") && !crate::fault::active("no-move"),
        uidplus: caps.has_str("UIDPLUS") && !crate::fault::active("no-uidplus"),
    };
    Ok((session, mailbox))
}

type Client = async_imap::Client<Stream>;

fn refused(user: &str, e: async_imap::error::Error, command: &'static str) -> ImapError {
    match e {
        async_imap::error::Error::No(m) | async_imap::error::Error::Bad(m) => ImapError::Auth {
            user: user.to_string(),
            message: m,
        },
        other => ImapError::Protocol {
            command,
            cause: other,
        },
    }
}

async fn password_login(
    client: Client,
    cfg: &ImapConfig,
    password: &crate::config::Secret,
    timeout: Duration,
) -> Result<Session, ImapError> {
    match tokio::time::timeout(timeout, client.login(&cfg.username, password.expose())).await {
        Err(_) => Err(ImapError::Timeout("LOGIN")),
        Ok(Err((e, _))) => Err(refused(&cfg.username, e, "LOGIN")),
        Ok(Ok(s)) => Ok(s),
    }
}

/// The server's capabilities before login (the greeting's may be stale
/// after STARTTLS, and Exchange sends none).
async fn capabilities(client: &mut Client, timeout: Duration) -> Result<Vec<String>, ImapError> {
    let (tx, rx) = async_channel::bounded(64);
    timed(
        timeout,
        "CAPABILITY",
        client.run_command_and_check_ok("CAPABILITY", Some(tx)),
    )
    .await?;
    let mut out = Vec::new();
    while let Ok(r) = rx.try_recv() {
        if let async_imap::types::UnsolicitedResponse::Other(data) = r {
            if let async_imap::imap_proto::Response::Capabilities(caps) = data.parsed() {
                for c in caps {
                    out.push(match c {
                        async_imap::imap_proto::Capability::Imap4rev1 => "IMAP4rev1".to_string(),
                        async_imap::imap_proto::Capability::Auth(a) => format!("AUTH={a}"),
                        async_imap::imap_proto::Capability::Atom(a) => a.to_string(),
                    });
                }
            }
        }
    }
    Ok(out)
}

/// Answers the server with the token, then with nothing (after a refusal
/// the server sends its reason as a challenge and waits for an empty line).
struct Bearer(Option<String>);

impl async_imap::Authenticator for Bearer {
    type Response = String;
    fn process(&mut self, _challenge: &[u8]) -> String {
        self.0.take().unwrap_or_default()
    }
}

/// Logs in with an OAuth2 token: OAUTHBEARER when the server offers it,
/// else XOAUTH2. A refused token is refreshed and tried once more on a new
/// connection's worth of state: the same client, if the server keeps it.
async fn oauth_login(
    mut client: Client,
    cfg: &ImapConfig,
    account: &crate::auth::Account,
    tokens: &crate::auth::Tokens,
    timeout: Duration,
    used: &mut LoginInfo,
) -> Result<Session, ImapError> {
    let caps = capabilities(&mut client, timeout).await?;
    let mech =
        crate::net::sasl::Mechanism::choose(caps.iter().map(String::as_str)).ok_or_else(|| {
            ImapError::Auth {
                user: account.user.clone(),
                message: "the server offers neither OAUTHBEARER nor XOAUTH2".into(),
            }
        })?;
    used.mechanism = mech.name();
    for fresh in [false, true] {
        let token = tokens
            .get(account, fresh)
            .await
            .map_err(|e| ImapError::Token {
                permanent: e.is_permanent(),
                message: crate::report(&e).to_string(),
            })?;
        used.token_expires = token.expires_at;
        let response = mech.response(&account.user, token.secret.expose(), &cfg.host, cfg.port);
        match tokio::time::timeout(
            timeout,
            client.authenticate(mech.name(), Bearer(Some(response))),
        )
        .await
        {
            Err(_) => return Err(ImapError::Timeout("AUTHENTICATE")),
            Ok(Ok(s)) => return Ok(s),
            Ok(Err((e, c))) => {
                let e = refused(&account.user, e, "AUTHENTICATE");
                if !e.is_auth() {
                    return Err(e);
                }
                client = c;
                if fresh {
                    if let ImapError::Auth { message, .. } = &e {
                        tokens.login_refused(account, message);
                    }
                    return Err(e);
                }
            }
        }
    }
    unreachable!("the loop returns on its second turn")
}
