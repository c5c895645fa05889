//! Passwords from `password`, `password_file` or `password_command`; a
//! command runs with a deadline and is killed with its process group.

use std::path::PathBuf;
use std::time::Duration;

use super::raw::{RawOAuth2, RawPassword};
use super::types::{AuthKind, Credential, Provider, ProviderConfig, Secret, TokenSource};
use super::ConfigError;

/// How the account at `key` logs in: a password source or OAuth2 tokens,
/// as `auth` says; `None` when nothing is configured and nothing is
/// `required`.
pub(super) fn credential(
    key: &str,
    auth: AuthKind,
    password: RawPassword,
    oauth2: Option<RawOAuth2>,
    required: bool,
) -> Result<Option<Credential>, ConfigError> {
    match auth {
        AuthKind::Password => {
            if oauth2.is_some() {
                return Err(ConfigError::invalid(
                    format!("{key}.oauth2"),
                    "only used with auth = \"oauth2\"",
                ));
            }
            Ok(password.resolve(key, required)?.map(Credential::Password))
        }
        AuthKind::OAuth2 => {
            if password.is_given() {
                return Err(ConfigError::invalid(
                    format!("{key}.password"),
                    "auth = \"oauth2\" takes no password",
                ));
            }
            let Some(o) = oauth2 else {
                return Err(ConfigError::invalid(
                    format!("{key}.oauth2"),
                    "auth = \"oauth2\" needs an [oauth2] table: token_command, or provider and client_id",
                ));
            };
            Ok(Some(Credential::OAuth2(
                o.resolve(&format!("{key}.oauth2"))?,
            )))
        }
    }
}

impl RawOAuth2 {
    fn resolve(self, key: &str) -> Result<TokenSource, ConfigError> {
        match (self.token_command, self.provider) {
            (Some(_), Some(_)) => Err(ConfigError::invalid(
                key,
                "give token_command or provider, not both",
            )),
            (None, None) => Err(ConfigError::invalid(
                key,
                "give token_command, or provider with client_id",
            )),
            (Some(cmd), None) => {
                if cmd.trim().is_empty() {
                    return Err(ConfigError::invalid(
                        format!("{key}.token_command"),
                        "is empty",
                    ));
                }
                Ok(TokenSource::Command(cmd))
            }
            (None, Some(provider)) => {
                let client_id =
                    self.client_id
                        .filter(|c| !c.trim().is_empty())
                        .ok_or_else(|| {
                            ConfigError::invalid(
                                format!("{key}.client_id"),
                                "is required with provider",
                            )
                        })?;
                let client_secret = RawPassword {
                    password: self.client_secret,
                    password_file: self.client_secret_file,
                    password_command: self.client_secret_command,
                }
                .resolve(&format!("{key}.client_secret"), false)?;
                let tenant = self.tenant.unwrap_or_else(|| "organizations".into());
                let (token, device, scopes): (String, String, &[&str]) = match provider {
                    Provider::Microsoft => (
                        format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"),
                        format!(
                            "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/devicecode"
                        ),
                        &[
                            "https://outlook.office.com/IMAP.AccessAsUser.All",
                            "https://outlook.office.com/SMTP.Send",
                            "offline_access",
                        ],
                    ),
                    Provider::Google => (
                        "https://oauth2.googleapis.com/token".into(),
                        "https://oauth2.googleapis.com/device/code".into(),
                        &["https://mail.google.com/"],
                    ),
                    Provider::Custom => (String::new(), String::new(), &[]),
                };
                let token_url = self.token_url.unwrap_or(token);
                let device_authorization_url = self.device_authorization_url.unwrap_or(device);
                for (k, v) in [
                    ("token_url", &token_url),
                    ("device_authorization_url", &device_authorization_url),
                ] {
                    if let Err(why) = token_endpoint(v) {
                        return Err(ConfigError::invalid(format!("{key}.{k}"), why));
                    }
                }
                let scopes = if self.scopes.is_empty() {
                    scopes.iter().map(|s| s.to_string()).collect()
                } else {
                    self.scopes
                };
                Ok(TokenSource::Provider(ProviderConfig {
                    provider,
                    client_id,
                    client_secret,
                    token_url,
                    device_authorization_url,
                    scopes,
                }))
            }
        }
    }
}

impl RawPassword {
    fn is_given(&self) -> bool {
        self.password.is_some() || self.password_file.is_some() || self.password_command.is_some()
    }

    /// Resolves the one configured source, naming `key` on error.
    pub(super) fn resolve(self, key: &str, required: bool) -> Result<Option<Secret>, ConfigError> {
        let given = [
            self.password.is_some(),
            self.password_file.is_some(),
            self.password_command.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if given > 1 {
            return Err(ConfigError::invalid(
                key,
                "give only one of password, password_file, password_command",
            ));
        }
        if let Some(p) = self.password {
            return Ok(Some(Secret::new(p)));
        }
        if let Some(path) = self.password_file {
            // systemd's LoadCredential= puts secrets in $CREDENTIALS_DIRECTORY.
            let path = match path.to_str().and_then(|p| p.strip_prefix("$CREDENTIALS_DIRECTORY/")) {
                Some(rest) => match std::env::var_os("CREDENTIALS_DIRECTORY") {
                    Some(dir) => PathBuf::from(dir).join(rest),
                    None => {
                        return Err(ConfigError::invalid(
                            format!("{key}.password_file"),
                            "uses $CREDENTIALS_DIRECTORY, which is not set (LoadCredential= in the unit)",
                        ))
                    }
                },
                None => path,
            };
            let text = std::fs::read_to_string(&path).map_err(|e| {
                ConfigError::invalid(
                    format!("{key}.password_file"),
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            return Ok(Some(Secret::new(first_line(&text))));
        }
        if let Some(cmd) = self.password_command {
            let text = secret_command(&cmd, SECRET_COMMAND_TIMEOUT)
                .map_err(|e| ConfigError::invalid(format!("{key}.password_command"), e))?;
            return Ok(Some(Secret::new(first_line(&text))));
        }
        if required {
            return Err(ConfigError::invalid(
                key,
                "missing password: give password, password_file or password_command",
            ));
        }
        Ok(None)
    }
}

/// How long a `password_command` may take before it is killed and the
/// configuration refused.
pub const SECRET_COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `sh -c cmd` for a secret: stdin closed, stderr dropped (it could
/// echo the secret), stdout read up to 64 KiB, killed past `timeout`.
pub fn secret_command(cmd: &str, timeout: Duration) -> Result<String, String> {
    use std::io::Read;
    use std::os::unix::process::CommandExt;
    // Its own process group, so that a timeout kills what it started too.
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .process_group(0)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = (&mut stdout).take(64 * 1024).read_to_end(&mut buf);
        buf
    });
    let deadline = std::time::Instant::now() + timeout;
    let status = loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(st) => break st,
            None if std::time::Instant::now() >= deadline => {
                // SAFETY: signals the process group we created above.
                unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("did not finish within {timeout:?}; killed"));
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    if !status.success() {
        return Err(format!("command failed with {status}"));
    }
    let out = reader
        .join()
        .map_err(|_| "cannot read its output".to_string())?;
    String::from_utf8(out).map_err(|_| "output is not UTF-8".to_string())
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

/// Whether `v` may receive a refresh token and the client secret: an
/// `https://` URL, or `http://` to this machine only. The URL is parsed
/// (WHATWG rules, as the HTTP client reads it), so that userinfo
/// (`http://127.0.0.1@host/`) or a look-alike name (`localhost.evil.test`)
/// cannot pass for loopback.
pub(crate) fn token_endpoint(v: &str) -> Result<(), &'static str> {
    let url = url::Url::parse(v).map_err(|_| "must be an absolute https:// URL")?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a user name or password in the URL");
    }
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" => match url.host() {
            Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => Ok(()),
            Some(url::Host::Ipv4(ip)) if ip.is_loopback() => Ok(()),
            Some(url::Host::Ipv6(ip)) if ip.is_loopback() => Ok(()),
            _ => Err("must be an https:// URL (http only to localhost, 127.0.0.0/8 or [::1])"),
        },
        _ => Err("must be an https:// URL (http only to localhost)"),
    }
}

#[cfg(test)]
mod tests {
    use super::token_endpoint;

    #[test]
    fn token_endpoints_are_https_or_really_loopback() {
        for ok in [
            "https://login.microsoftonline.com/common/oauth2/v2.0/token",
            "http://127.0.0.1:8080/token",
            "http://127.1.2.3/token",
            "http://localhost/token",
            "http://LOCALHOST:9/t",
            "http://[::1]:8080/token",
        ] {
            assert_eq!(token_endpoint(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://127.0.0.1@192.0.2.2/token",
            "http://127.0.0.1.evil.test/token",
            "http://localhost.evil.test/token",
            "http://localhost@evil.test/token",
            "http://192.0.2.2/token",
            "http://[::ffff:192.0.2.2]/token",
            "https://user:pw@idp.example/token",
            "ftp://127.0.0.1/token",
            "file:///etc/passwd",
            "/token",
            "",
        ] {
            assert!(token_endpoint(bad).is_err(), "{bad} accepted");
        }
    }
}
