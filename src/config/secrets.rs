//! Passwords from `password`, `password_file` or `password_command`; a
//! command runs with a deadline and is killed with its process group.

use std::path::PathBuf;
use std::time::Duration;

use super::raw::RawPassword;
use super::types::Secret;
use super::ConfigError;

impl RawPassword {
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
pub(super) fn secret_command(cmd: &str, timeout: Duration) -> Result<String, String> {
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
