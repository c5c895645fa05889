//! The OAuth2 flows with a provider, through the `oauth2` crate: the
//! refresh grant (RFC 6749 §6) and the device authorization grant (RFC
//! 8628). Blocking: callers run them on a blocking thread. HTTP goes
//! through ureq with hilo's TLS settings (system roots and `ca_file`,
//! always verified) and no redirects.

use std::time::Duration;

use chrono::{DateTime, Utc};
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthType, ClientId, ClientSecret, DeviceAuthorizationUrl, HttpRequest, HttpResponse,
    RefreshToken, RequestTokenError, Scope, StandardDeviceAuthorizationResponse, TokenResponse,
    TokenUrl,
};

use super::AuthError;
use crate::config::ProviderConfig;

/// How long one request to a token endpoint may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// An HTTP client for `oauth2` that keeps the provider's error answers
/// (ureq 2 turns a 400 into an error and would lose `invalid_grant`).
pub(super) struct Http(ureq::Agent);

impl Http {
    pub(super) fn new() -> Result<Http, AuthError> {
        let tls = crate::net::tls::client_config(None).map_err(AuthError::Tls)?;
        Ok(Http(
            ureq::AgentBuilder::new()
                .tls_config(tls)
                .redirects(0)
                .timeout(REQUEST_TIMEOUT)
                .build(),
        ))
    }
}

/// What went wrong on the way to a token endpoint, with its cause kept.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("header {0} is not text")]
    Header(String),
    #[error("cannot reach {url}")]
    Request {
        url: String,
        #[source]
        cause: Box<ureq::Error>,
    },
    #[error("cannot read the answer")]
    Read(#[source] std::io::Error),
    #[error("cannot build the answer")]
    Answer(#[source] oauth2::http::Error),
}

impl oauth2::SyncHttpClient for Http {
    type Error = HttpError;

    fn call(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let uri = request.uri().to_string();
        let mut req = if request.method() == oauth2::http::Method::POST {
            self.0.post(&uri)
        } else {
            self.0.get(&uri)
        };
        for (name, value) in request.headers() {
            let v = value
                .to_str()
                .map_err(|_| HttpError::Header(name.to_string()))?;
            req = req.set(name.as_ref(), v);
        }
        let response = match if request.method() == oauth2::http::Method::POST {
            req.send_bytes(request.body())
        } else {
            req.call()
        } {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => {
                return Err(HttpError::Request {
                    url: uri,
                    cause: Box::new(e),
                })
            }
        };
        let status = response.status();
        let ctype = response.header("content-type").map(str::to_string);
        let mut body = Vec::new();
        // A token answer is small: read at most 1 MiB of it.
        std::io::Read::read_to_end(
            &mut std::io::Read::take(response.into_reader(), 1 << 20),
            &mut body,
        )
        .map_err(HttpError::Read)?;
        let mut b = oauth2::http::Response::builder().status(status);
        if let Some(c) = ctype {
            b = b.header(oauth2::http::header::CONTENT_TYPE, c);
        }
        b.body(body).map_err(HttpError::Answer)
    }
}

/// A token endpoint's answer.
pub(super) struct Granted {
    pub access: String,
    pub expires_at: Option<DateTime<Utc>>,
    /// A new refresh token, when the provider rotates them.
    pub refresh: Option<String>,
}

/// A client with its token and device authorization endpoints set.
type Client = oauth2::Client<
    oauth2::basic::BasicErrorResponse,
    oauth2::basic::BasicTokenResponse,
    oauth2::basic::BasicTokenIntrospectionResponse,
    oauth2::StandardRevocableToken,
    oauth2::basic::BasicRevocationErrorResponse,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

fn client(cfg: &ProviderConfig) -> Result<Client, AuthError> {
    let bad = |what: &str, e: oauth2::url::ParseError| AuthError::Config(format!("{what}: {e}"));
    let mut c = BasicClient::new(ClientId::new(cfg.client_id.clone()))
        .set_device_authorization_url(
            DeviceAuthorizationUrl::new(cfg.device_authorization_url.clone())
                .map_err(|e| bad("device_authorization_url", e))?,
        )
        .set_token_uri(TokenUrl::new(cfg.token_url.clone()).map_err(|e| bad("token_url", e))?);
    // A public client (no secret) names itself in the request body.
    match &cfg.client_secret {
        Some(s) => c = c.set_client_secret(ClientSecret::new(s.expose().to_string())),
        None => c = c.set_auth_type(AuthType::RequestBody),
    }
    Ok(c)
}

fn granted(t: &oauth2::basic::BasicTokenResponse) -> Granted {
    Granted {
        access: t.access_token().secret().clone(),
        expires_at: t
            .expires_in()
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .map(|d| Utc::now() + d),
        refresh: t.refresh_token().map(|r| r.secret().clone()),
    }
}

/// What a failed token request means: the provider's refusal (permanent:
/// the grant is gone; or temporary: `temporarily_unavailable`), or no
/// answer at all (temporary).
fn failure<T: oauth2::ErrorResponse + 'static>(
    e: RequestTokenError<HttpError, T>,
    code_of: impl Fn(&T) -> (String, Option<String>),
) -> AuthError {
    match e {
        RequestTokenError::ServerResponse(r) => {
            let (code, description) = code_of(&r);
            super::words::refusal(&code, description.as_deref())
        }
        RequestTokenError::Request(e) => AuthError::NoAnswer(e),
        RequestTokenError::Parse(_, body) => AuthError::NotAToken { bytes: body.len() },
        RequestTokenError::Other(m) => AuthError::Protocol(m),
    }
}

fn basic_code(r: &oauth2::basic::BasicErrorResponse) -> (String, Option<String>) {
    let code = match r.error() {
        BasicErrorResponseType::InvalidRequest => "invalid_request".to_string(),
        BasicErrorResponseType::InvalidClient => "invalid_client".to_string(),
        BasicErrorResponseType::InvalidGrant => "invalid_grant".to_string(),
        BasicErrorResponseType::UnauthorizedClient => "unauthorized_client".to_string(),
        BasicErrorResponseType::UnsupportedGrantType => "unsupported_grant_type".to_string(),
        BasicErrorResponseType::InvalidScope => "invalid_scope".to_string(),
        BasicErrorResponseType::Extension(s) => s.clone(),
    };
    (code, r.error_description().cloned())
}

/// Exchanges a refresh token for an access token.
pub(super) fn refresh(cfg: &ProviderConfig, refresh_token: &str) -> Result<Granted, AuthError> {
    let http = Http::new()?;
    let c = client(cfg)?;
    let rt = RefreshToken::new(refresh_token.to_string());
    let t = c
        .exchange_refresh_token(&rt)
        .add_scopes(cfg.scopes.iter().cloned().map(Scope::new))
        .request(&http)
        .map_err(|e| failure(e, basic_code))?;
    Ok(granted(&t))
}

/// The device authorization grant: asks for a code, shows it through
/// `show(verification_uri, user_code, verification_uri_complete)`, then
/// polls until the user confirms (or the code expires).
pub(super) fn device_login(
    cfg: &ProviderConfig,
    show: &mut dyn FnMut(&str, &str, Option<&str>),
) -> Result<Granted, AuthError> {
    let http = Http::new()?;
    let c = client(cfg)?;
    let details: StandardDeviceAuthorizationResponse = c
        .exchange_device_code()
        .add_scopes(cfg.scopes.iter().cloned().map(Scope::new))
        .request(&http)
        .map_err(|e| failure(e, basic_code))?;
    show(
        details.verification_uri().as_str(),
        details.user_code().secret(),
        details
            .verification_uri_complete()
            .map(|u| u.secret().as_str()),
    );
    let t = c
        .exchange_device_access_token(&details)
        .request(&http, std::thread::sleep, None)
        .map_err(|e| {
            failure(e, |r: &oauth2::DeviceCodeErrorResponse| {
                (
                    r.error().as_ref().to_string(),
                    r.error_description().cloned(),
                )
            })
        })?;
    Ok(granted(&t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Provider;

    /// A token endpoint that does not answer is a temporary failure whose
    /// chain names the operation, the address and the cause.
    #[test]
    fn no_answer_keeps_the_address_and_the_cause() {
        // Port 1 on loopback: nothing listens, the connection is refused.
        let cfg = ProviderConfig {
            provider: Provider::Microsoft,
            client_id: "hilo".into(),
            client_secret: None,
            token_url: "https://127.0.0.1:1/token".into(),
            device_authorization_url: "https://127.0.0.1:1/device".into(),
            scopes: vec![],
        };
        let Err(e) = refresh(&cfg, "refresh-token") else {
            panic!("nothing listens on port 1");
        };
        assert!(matches!(e, AuthError::NoAnswer(_)), "{e:?}");
        assert!(!e.is_permanent());
        let chain = crate::report(&e).to_string();
        assert!(
            chain.starts_with(
                "no answer from the token endpoint: cannot reach https://127.0.0.1:1/token: "
            ),
            "{chain}"
        );
        assert!(!chain.contains("refresh-token"), "{chain}");
    }
}
