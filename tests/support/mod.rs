//! Test harness for end-to-end tests against the real Dovecot and Postfix
//! started by `scripts/mailserver.sh`: unique mailboxes per test, sending
//! through Postfix, reading mailboxes over IMAP, running the `hilo` binary.
#![allow(dead_code)]

pub mod idp;
pub mod proxy;
pub mod threads;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Once;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use hilo::config::{TestConfig, TestDesk};
use lettre::address::Envelope;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::net::TcpStream;

pub const IMAP_PORT: u16 = 10143;
pub const SMTP_PORT: u16 = 10025;
pub const PASSWORD: &str = "secret";
/// How long a test waits for Postfix to deliver a mail.
pub const WAIT: Duration = Duration::from_secs(20);

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn state_dir() -> PathBuf {
    PathBuf::from(std::env::var("HILO_MAIL_STATE").unwrap_or_else(|_| "/tmp/hilo-mail".into()))
}

pub fn ca_file() -> PathBuf {
    state_dir().join("tls/ca.pem")
}

/// Runs `scripts/mailserver.sh ARG`, panicking with its output on failure.
pub fn mailserver(arg: &str) {
    let out = std::process::Command::new(repo().join("scripts/mailserver.sh"))
        .arg(arg)
        .output()
        .expect("run scripts/mailserver.sh");
    assert!(
        out.status.success(),
        "mailserver.sh {arg} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Makes sure Dovecot and Postfix run (idempotent; once per test binary).
pub fn servers() {
    static START: Once = Once::new();
    START.call_once(|| mailserver("start"));
}

/// A fresh, unique id for mailbox names.
pub fn uid() -> String {
    use rand::Rng;
    format!("{:08x}", rand::thread_rng().gen::<u32>())
}

/// One test's world: a desk address and mailbox, a database, a config file.
pub struct World {
    pub dir: tempfile::TempDir,
    pub desk: String,
    pub tag: String,
    pub config: PathBuf,
}

pub struct DeskSpec<'a> {
    pub name: &'a str,
    pub address: String,
    pub tag: &'a str,
    pub language: &'a str,
    pub password: &'a str,
}

impl World {
    /// One desk `soporte` at a unique address with a unique tag.
    pub fn new() -> World {
        servers();
        let id = uid();
        let tag = format!("T{}", &id[..5].to_uppercase());
        let desk = format!("soporte-{id}@example.test");
        let w = World::with_desks(&[DeskSpec {
            name: "soporte",
            address: desk.clone(),
            tag: &tag,
            language: "es",
            password: PASSWORD,
        }]);
        World { desk, tag, ..w }
    }

    pub fn with_desks(desks: &[DeskSpec<'_>]) -> World {
        servers();
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = TestConfig::new(&dir.path().join("hilo.db").display().to_string())
            .smtp_port(SMTP_PORT)
            .section(
                "[outbox]\nretry = [\"1s\"]\npoll_interval = \"1s\"\n\
                 [intake]\npoll_interval = \"1s\"\nbatch_size = 25\ncommand_timeout = \"10s\"",
            );
        for d in desks {
            config = config.desk(
                TestDesk::new(d.name, &d.address, d.tag, d.language)
                    .settings("display_name = \"Soporte\"")
                    .imap(IMAP_PORT, &d.address, d.password)
                    .imap_security(
                        "starttls",
                        &format!("ca_file = \"{}\"", ca_file().display()),
                    ),
            );
        }
        let text = config.render();
        let config = dir.path().join("hilo.toml");
        std::fs::write(&config, text).expect("write config");
        World {
            desk: desks[0].address.clone(),
            tag: desks[0].tag.to_string(),
            dir,
            config,
        }
    }

    /// The first start of hilo on the (empty) desk mailbox: with the default
    /// `start_from = "now"` only mail arriving after it is processed.
    pub async fn init(&self) {
        let out = self.ok(&["run", "--once"]).await;
        assert!(out.contains("0 fetched"), "{out}");
    }

    /// Rewrites the config file (e.g. to set a key of the first desk).
    pub fn edit_config(&self, f: impl FnOnce(String) -> String) {
        let text = std::fs::read_to_string(&self.config).expect("read config");
        std::fs::write(&self.config, f(text)).expect("write config");
    }

    /// Adds `lines` to the first `[[desk]]` table (before its `[desk.imap]`).
    pub fn desk_settings(&self, lines: &str) {
        self.edit_config(|t| t.replacen("\n[desk.imap]", &format!("\n{lines}\n[desk.imap]"), 1));
    }

    /// Replaces `key = ...` lines in the `[intake]` table.
    pub fn intake_setting(&self, key: &str, value: &str) {
        self.edit_config(|t| {
            t.lines()
                .map(|l| {
                    if l.starts_with(&format!("{key} =")) {
                        format!("{key} = {value}")
                    } else {
                        l.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        });
    }

    /// Runs `hilo ARGS` with this world's config; returns its output.
    pub async fn hilo(&self, args: &[&str]) -> Output {
        self.hilo_stdin(args, None).await
    }

    pub async fn hilo_stdin(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        self.hilo_with(args, stdin, &[]).await
    }

    /// `hilo ARGS` with extra environment variables (fault points, say).
    pub async fn hilo_with(
        &self,
        args: &[&str],
        stdin: Option<&[u8]>,
        env: &[(&str, &str)],
    ) -> Output {
        use tokio::io::AsyncWriteExt;
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_hilo"));
        cmd.envs(env.iter().copied());
        cmd.arg("--config")
            .arg(&self.config)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("spawn hilo");
        let mut pipe = child.stdin.take().expect("stdin");
        if let Some(bytes) = stdin {
            pipe.write_all(bytes).await.expect("write stdin");
        }
        drop(pipe);
        child.wait_with_output().await.expect("hilo output")
    }

    /// `hilo ARGS`, asserting exit 0; returns stdout.
    pub async fn ok(&self, args: &[&str]) -> String {
        let out = self.hilo(args).await;
        assert!(
            out.status.success(),
            "hilo {args:?} exited {:?}\nstdout:\n{}\nstderr:\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    pub async fn tickets(&self) -> Vec<serde_json::Value> {
        let out = self.ok(&["tickets", "list", "--json"]).await;
        serde_json::from_str::<Vec<serde_json::Value>>(&out).expect("tickets json")
    }

    pub async fn ticket(&self, number: i64) -> serde_json::Value {
        let out = self
            .ok(&["tickets", "show", &number.to_string(), "--json"])
            .await;
        serde_json::from_str(&out).expect("ticket json")
    }

    /// Sends `raw` from `from` to the desk, waits until it is in the desk's
    /// mailbox, and runs hilo once.
    pub async fn deliver(&self, from: &str, raw: &[u8]) {
        let before = mailbox(&self.desk).await.len();
        send(from, &[&self.desk], raw).await;
        wait_mailbox(&self.desk, before + 1, WAIT).await;
        self.ok(&["run", "--once"]).await;
    }

    pub async fn quarantine(&self) -> Vec<serde_json::Value> {
        let out = self.ok(&["quarantine", "list", "--json"]).await;
        serde_json::from_str(&out).expect("quarantine json")
    }

    pub async fn outbox(&self) -> Vec<serde_json::Value> {
        let out = self.ok(&["outbox", "list", "--json"]).await;
        serde_json::from_str(&out).expect("outbox json")
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("hilo.db")
    }

    /// Points `[smtp]` at another port (a fault proxy), with a timeout.
    pub fn smtp_via(&self, port: u16, timeout: &str) {
        self.edit_config(|t| {
            t.replacen(
                &format!("port = {SMTP_PORT}\nsecurity = \"none\""),
                &format!("port = {port}\nsecurity = \"none\"\ntimeout = \"{timeout}\""),
                1,
            )
        });
    }

    /// Points the first desk's IMAP at another port (a fault proxy).
    pub fn imap_via(&self, port: u16) {
        self.edit_config(|t| {
            t.replacen(&format!("port = {IMAP_PORT}"), &format!("port = {port}"), 1)
        });
    }

    /// Starts `hilo run` in the background.
    pub fn spawn_daemon(&self) -> tokio::process::Child {
        self.spawn_daemon_with(&[])
    }

    /// `hilo run` with extra environment variables (fault points, say).
    pub fn spawn_daemon_with(&self, env: &[(&str, &str)]) -> tokio::process::Child {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_hilo"))
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .arg("--config")
            .arg(&self.config)
            .arg("run")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(self.dir.path().join("daemon.log")).expect("log file"))
            .kill_on_drop(true)
            .spawn()
            .expect("spawn hilo run")
    }

    pub fn daemon_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("daemon.log")).unwrap_or_default()
    }
}

/// A simple customer mail.
pub fn mail(
    from: &str,
    to: &str,
    subject: &str,
    message_id: &str,
    extra_headers: &str,
    body: &str,
) -> Vec<u8> {
    format!(
        "From: Cliente <{from}>\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n\
         Date: Sun, 29 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n{extra_headers}\r\n{body}\r\n"
    )
    .into_bytes()
}

/// `from`'s reply to `to` about `original` (a mail they received), as a
/// mail client writes it: `Re:` subject, In-Reply-To, References.
pub fn reply_to(from: &str, to: &str, original: &[u8], body: &str) -> Vec<u8> {
    let p = parsed(original);
    let id = p.message_id.expect("the original has a Message-ID");
    let mut refs: Vec<String> = p.references.iter().map(|r| format!("<{r}>")).collect();
    refs.push(format!("<{id}>"));
    mail(
        from,
        to,
        &format!("Re: {}", p.subject),
        &format!("{}@cliente.test", uid()),
        &format!("In-Reply-To: <{id}>\r\nReferences: {}\r\n", refs.join(" ")),
        body,
    )
}

/// A simple customer mail with a fresh Message-ID.
pub fn customer_mail(from: &str, to: &str, subject: &str, body: &str) -> Vec<u8> {
    mail(
        from,
        to,
        subject,
        &format!("{}@cliente.test", uid()),
        "",
        body,
    )
}

/// Sends raw bytes through the test Postfix.
pub async fn send(from: &str, to: &[&str], raw: &[u8]) {
    send_from(Some(from), to, raw).await
}

/// Sends raw bytes through the test Postfix; `None` is the null sender `<>`.
pub async fn send_from(from: Option<&str>, to: &[&str], raw: &[u8]) {
    let t = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(SMTP_PORT)
        .build();
    let env = Envelope::new(
        from.map(|f| f.parse().expect("from")),
        to.iter().map(|a| a.parse().expect("to")).collect(),
    )
    .expect("envelope");
    t.send_raw(&env, raw)
        .await
        .expect("Postfix accepts the mail");
}

pub type Session = async_imap::Session<TcpStream>;

pub async fn login(user: &str) -> Session {
    let tcp = TcpStream::connect(("127.0.0.1", IMAP_PORT))
        .await
        .expect("connect IMAP");
    let mut client = async_imap::Client::new(tcp);
    client.read_response().await.expect("greeting");
    client
        .login(user, PASSWORD)
        .await
        .map_err(|(e, _)| e)
        .expect("login")
}

/// Every message in `user`'s INBOX, in UID order.
pub async fn mailbox(user: &str) -> Vec<Vec<u8>> {
    let mut s = login(user).await;
    let mb = s.select("INBOX").await.expect("select");
    let mut out = Vec::new();
    if mb.exists > 0 {
        let fetched: Vec<_> = s
            .uid_fetch("1:*", "(UID BODY.PEEK[])")
            .await
            .expect("fetch")
            .try_collect()
            .await
            .expect("fetch stream");
        let mut v: Vec<(u32, Vec<u8>)> = fetched
            .iter()
            .filter_map(|f| Some((f.uid?, f.body()?.to_vec())))
            .collect();
        v.sort_by_key(|(u, _)| *u);
        out = v.into_iter().map(|(_, b)| b).collect();
    }
    let _ = s.logout().await;
    out
}

/// Appends raw bytes to `user`'s INBOX, as another client or a delivery would.
pub async fn append(user: &str, raw: &[u8]) {
    let mut s = login(user).await;
    s.append("INBOX", None, None, raw).await.expect("append");
    let _ = s.logout().await;
}

/// Appends messages with their INTERNALDATE (`"01-Jan-2026 10:00:00 +0000"`),
/// as a restore that keeps dates (imapsync, doveadm backup) does.
pub async fn append_dated(user: &str, folder: &str, mails: &[(Vec<u8>, String)]) {
    let mut s = login(user).await;
    for (raw, date) in mails {
        s.append(folder, None, Some(date.as_str()), raw)
            .await
            .expect("append");
    }
    let _ = s.logout().await;
}

/// Appends many messages over one session, with optional flags such as `(\\Seen)`.
pub async fn append_all(user: &str, folder: &str, raws: &[Vec<u8>], flags: Option<&str>) {
    let mut s = login(user).await;
    for raw in raws {
        s.append(folder, flags, None, raw).await.expect("append");
    }
    let _ = s.logout().await;
}

pub async fn create_folder(user: &str, folder: &str) {
    let mut s = login(user).await;
    s.create(folder).await.expect("create folder");
    let _ = s.logout().await;
}

pub async fn delete_folder(user: &str, folder: &str) {
    let mut s = login(user).await;
    s.delete(folder).await.expect("delete folder");
    let _ = s.logout().await;
}

/// How many messages `folder` of `user` holds (0 if it does not exist).
pub async fn count(user: &str, folder: &str) -> u32 {
    let mut s = login(user).await;
    let n = s.select(folder).await.map(|m| m.exists).unwrap_or(0);
    let _ = s.logout().await;
    n
}

/// Waits until `user`'s INBOX holds at least `n` messages; returns them.
pub async fn wait_mailbox(user: &str, n: usize, timeout: Duration) -> Vec<Vec<u8>> {
    let start = Instant::now();
    loop {
        let m = mailbox(user).await;
        if m.len() >= n || start.elapsed() > timeout {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until nothing more can reach a mailbox from `worlds`' stores or
/// the test Postfix: every outbox row is final (a row that left
/// `pending` is never sent again, `OutboxStatus::may_become`), and Postfix
/// has handed everything it accepted to Dovecot. A mailbox counted after
/// this is counted for good: an "exactly once" or "nothing" is proven by
/// state, not by waiting a while.
pub async fn settled(worlds: &[&World]) {
    for w in worlds {
        let done = eventually(WAIT, || async {
            w.outbox().await.iter().all(|r| r["status"] != "pending")
        })
        .await;
        assert!(done, "outbox rows still pending: {:?}", w.outbox().await);
    }
    postfix_drained().await;
}

/// Waits until the test Postfix's queue is empty: every mail it accepted
/// is in Dovecot (delivered over LMTP) or bounced.
pub async fn postfix_drained() {
    let conf = state_dir().join("postfix/conf");
    let empty = || async {
        let out = tokio::process::Command::new("postqueue")
            .arg("-c")
            .arg(&conf)
            .arg("-p")
            .output()
            .await
            .expect("postqueue runs");
        String::from_utf8_lossy(&out.stdout).contains("Mail queue is empty")
    };
    assert!(
        eventually(WAIT, empty).await,
        "the test Postfix's queue never emptied"
    );
}

/// Polls `f` until it returns true or `timeout` passes.
pub async fn eventually<F, Fut>(timeout: Duration, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if f().await {
            return true;
        }
        if start.elapsed() > timeout {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A header of a raw message, unfolded, as text.
/// A desk with one agent, and Ana, a customer who has not written yet.
pub struct Desk {
    pub w: World,
    pub agent: String,
    pub ana: String,
}

/// [`Desk`] with `settings` added to the desk's config, initialised.
pub async fn desk(settings: &str) -> Desk {
    let w = World::new();
    let agent = format!("agente-{}@soporte.example.com", uid());
    w.desk_settings(&format!("agents = [\"{agent}\"]\n{settings}"));
    w.init().await;
    Desk {
        w,
        agent,
        ana: format!("ana-{}@cliente.test", uid()),
    }
}

impl Desk {
    /// The subject tag of ticket `n`: `[SOP-n]`.
    pub fn tag(&self, n: i64) -> String {
        format!("[{}-{n}]", self.w.tag)
    }
}

/// The kinds of a ticket's messages (`tickets show --json`), in order.
pub fn kinds(ticket: &serde_json::Value) -> Vec<String> {
    ticket["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["kind"].as_str().expect("kind").to_string())
        .collect()
}

pub fn header(raw: &[u8], name: &str) -> Option<String> {
    let msg = mail_parser::MessageParser::default().parse(raw)?;
    msg.header_raw(name)
        .map(|v| v.replace("\r\n", "").replace('\n', "").trim().to_string())
}

/// A mail's text as hilo reads it, with LF line ends.
pub fn text(raw: &[u8]) -> String {
    parsed(raw).text.replace("\r\n", "\n")
}

pub fn parsed(raw: &[u8]) -> hilo::mail::Inbound {
    hilo::mail::parse(raw).expect("parseable")
}

pub fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).expect("read file")
}

/// `hilo ingest` of one mail; returns what it says it did.
pub async fn ingest(w: &World, raw: &[u8]) -> String {
    let out = w
        .hilo_stdin(&["ingest", "--desk", "soporte", "-"], Some(raw))
        .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn mid() -> String {
    format!("{}@cliente.test", uid())
}

/// The messages of ticket `n` of a kind.
pub async fn of_kind(w: &World, n: i64, kind: &str) -> Vec<serde_json::Value> {
    w.ticket(n).await["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == kind)
        .cloned()
        .collect()
}
