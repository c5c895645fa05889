//! A small OAuth2 identity provider for the tests, standing in for
//! Microsoft's and Google's endpoints, which these machines cannot reach.
//! One per test binary, on 127.0.0.1:10080, where the test Dovecot checks
//! tokens (RFC 7662 introspection). It implements the token endpoint (the
//! refresh grant, rotating refresh tokens, and the device code grant) and
//! the device authorization endpoint (RFC 8628), and lets a test expire
//! access tokens, revoke a refresh token, approve a device code or make
//! the token endpoint answer 500.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

pub const IDP_PORT: u16 = 10080;

#[derive(Default)]
struct State {
    /// access token → (username, valid until)
    access: HashMap<String, (String, Instant)>,
    /// refresh token → username
    refresh: HashMap<String, String>,
    /// device code → (user code, username once approved)
    devices: HashMap<String, (String, Option<String>)>,
    ttl: Option<Duration>,
    fail: bool,
    /// Refresh grants answered, per username.
    refreshes: HashMap<String, usize>,
    /// Device-code polls answered "authorization_pending", per user code.
    pending: HashMap<String, usize>,
    counter: u64,
}

impl State {
    fn fresh(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}-{}-{:08x}", self.counter, rand::random::<u32>())
    }

    fn issue_access(&mut self, user: &str) -> (String, u64) {
        let ttl = self.ttl.unwrap_or(Duration::from_secs(3600));
        let t = self.fresh("at");
        self.access
            .insert(t.clone(), (user.to_string(), Instant::now() + ttl));
        (t, ttl.as_secs())
    }
}

/// The shared provider; started on first use.
pub struct Idp {
    state: Arc<Mutex<State>>,
}

pub fn idp() -> &'static Idp {
    static IDP: OnceLock<Idp> = OnceLock::new();
    IDP.get_or_init(|| {
        let state = Arc::new(Mutex::new(State::default()));
        let s = state.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        // Its own thread and runtime: it outlives each test's runtime.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("idp runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", IDP_PORT))
                    .await
                    .expect("idp port 10080 free");
                ready_tx.send(()).ok();
                loop {
                    let Ok((conn, _)) = listener.accept().await else {
                        continue;
                    };
                    tokio::spawn(serve(conn, s.clone()));
                }
            });
        });
        ready_rx.recv().expect("idp started");
        Idp { state }
    })
}

impl Idp {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    /// A refresh token for `user`, as `hilo auth login` would have kept.
    pub fn refresh_token(&self, user: &str) -> String {
        self.with(|s| {
            let t = s.fresh("rt");
            s.refresh.insert(t.clone(), user.to_string());
            t
        })
    }

    /// An access token for `user`, as a `token_command` would print.
    pub fn access_token(&self, user: &str) -> String {
        self.with(|s| s.issue_access(user).0)
    }

    /// Access tokens from now on live this long.
    pub fn set_ttl(&self, ttl: Duration) {
        self.with(|s| s.ttl = Some(ttl));
    }

    /// Every access token of `user` stops working now.
    pub fn expire_access(&self, user: &str) {
        self.with(|s| s.access.retain(|_, (u, _)| u != user));
    }

    /// `user`'s refresh tokens are revoked (a password change, an admin).
    pub fn revoke(&self, user: &str) {
        self.with(|s| s.refresh.retain(|_, u| u != user));
    }

    /// The token endpoint answers 500 while set.
    pub fn fail(&self, on: bool) {
        self.with(|s| s.fail = on);
    }

    /// The user confirms the device code `user_code` in their browser.
    pub fn approve(&self, user_code: &str, user: &str) -> bool {
        self.with(|s| {
            let mut found = false;
            for (code, who) in s.devices.values_mut() {
                if code == user_code {
                    *who = Some(user.to_string());
                    found = true;
                }
            }
            found
        })
    }

    /// How many polls for `user_code` were told to wait.
    pub fn pending_polls(&self, user_code: &str) -> usize {
        self.with(|s| s.pending.get(user_code).copied().unwrap_or(0))
    }

    /// How many refresh grants `user` got.
    pub fn refreshes(&self, user: &str) -> usize {
        self.with(|s| s.refreshes.get(user).copied().unwrap_or(0))
    }
}

fn form(body: &str) -> HashMap<String, String> {
    body.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 3 <= b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn serve(conn: tokio::net::TcpStream, state: Arc<Mutex<State>>) {
    let (r, mut w) = conn.into_split();
    let mut r = BufReader::new(r);
    let mut request_line = String::new();
    if r.read_line(&mut request_line).await.unwrap_or(0) == 0 {
        return;
    }
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).await.unwrap_or(0) == 0 {
            return;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0u8; length.min(1 << 16)];
    if r.read_exact(&mut body).await.is_err() {
        return;
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    let f = form(&String::from_utf8_lossy(&body));
    let (status, json) = answer(&path, &f, &state);
    let reply = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
        json.len()
    );
    let _ = w.write_all(reply.as_bytes()).await;
    let _ = w.shutdown().await;
}

fn answer(path: &str, f: &HashMap<String, String>, state: &Mutex<State>) -> (&'static str, String) {
    let mut s = state.lock().unwrap();
    let err = |code: &str, desc: &str| {
        (
            "400 Bad Request",
            serde_json::json!({"error": code, "error_description": desc}).to_string(),
        )
    };
    match path {
        "/introspect" => {
            let token = f.get("token").cloned().unwrap_or_default();
            let active = s
                .access
                .get(&token)
                .filter(|(_, until)| *until > Instant::now())
                .map(|(u, _)| u.clone());
            let body = match active {
                Some(u) => serde_json::json!({"active": "true", "username": u}),
                None => serde_json::json!({"active": "false"}),
            };
            ("200 OK", body.to_string())
        }
        "/device" => {
            let device = s.fresh("dc");
            let user_code = format!(
                "{:04X}-{:04X}",
                rand::random::<u16>(),
                rand::random::<u16>()
            );
            s.devices.insert(device.clone(), (user_code.clone(), None));
            (
                "200 OK",
                serde_json::json!({
                    "device_code": device,
                    "user_code": user_code,
                    "verification_uri": format!("http://127.0.0.1:{IDP_PORT}/verify"),
                    "expires_in": 600,
                    "interval": 1,
                })
                .to_string(),
            )
        }
        "/token" => {
            if s.fail {
                return ("500 Internal Server Error", "{}".to_string());
            }
            let user = match f.get("grant_type").map(String::as_str) {
                Some("refresh_token") => {
                    let rt = f.get("refresh_token").cloned().unwrap_or_default();
                    match s.refresh.remove(&rt) {
                        Some(u) => u,
                        None => {
                            return err(
                                "invalid_grant",
                                "AADSTS70008: The provided authorization code or refresh token has expired due to inactivity.",
                            )
                        }
                    }
                }
                Some("urn:ietf:params:oauth:grant-type:device_code") => {
                    let dc = f.get("device_code").cloned().unwrap_or_default();
                    match s.devices.get(&dc) {
                        Some((_, Some(u))) => {
                            let u = u.clone();
                            s.devices.remove(&dc);
                            u
                        }
                        Some((code, None)) => {
                            let code = code.clone();
                            *s.pending.entry(code).or_default() += 1;
                            return err("authorization_pending", "waiting");
                        }
                        None => return err("expired_token", "no such code"),
                    }
                }
                _ => return err("unsupported_grant_type", "?"),
            };
            *s.refreshes.entry(user.clone()).or_default() += 1;
            let (access, ttl) = s.issue_access(&user);
            // Every refresh token is used once: the answer rotates it.
            let rt = s.fresh("rt");
            s.refresh.insert(rt.clone(), user);
            (
                "200 OK",
                serde_json::json!({
                    "access_token": access,
                    "token_type": "Bearer",
                    "expires_in": ttl,
                    "refresh_token": rt,
                })
                .to_string(),
            )
        }
        _ => ("404 Not Found", "{}".to_string()),
    }
}
