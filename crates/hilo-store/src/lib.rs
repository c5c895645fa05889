//! SQLite persistence: the only module that speaks SQL.
//!
//! One connection behind a mutex, WAL mode, `synchronous = FULL` (a message
//! moved away on the server after commit must never be lost to a power cut),
//! and `IMMEDIATE` write transactions. Callers on async threads go through
//! `spawn_blocking`. Migrations are embedded and run by [`Store::open`].

mod digests;
mod merge;
mod messages;
mod outbox;
mod tickets;
mod timeline;
mod tokens;

pub use digests::{DigestTicket, MAX_DIGEST_TICKETS};
pub use merge::{Merged, People, Split, Unmerged};
pub use messages::{Checkpoint, NewMessage, QuarantineRow};
pub use outbox::{OutboxJob, OutboxRow, Queued};
pub use tickets::{
    AsideView, AttachmentView, MessageView, ParticipantView, TicketFilter, TicketInfo, TicketView,
};
pub use timeline::{Reported, ToMeasure};
pub use tokens::TokenRow;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior};

use hilo_domain::clock::{Clock, SystemClock};
use hilo_mail::msgid::Signer;

/// One schema step: SQL, or code for what SQL alone cannot do.
enum Migration {
    Sql(&'static str),
    Code(fn(&rusqlite::Transaction<'_>) -> Result<(), StoreError>),
}

/// Prepared statements kept per connection: more than the hot path uses.
const STATEMENT_CACHE: usize = 128;

/// Embedded migrations, applied in order; `PRAGMA user_version` counts them.
const MIGRATIONS: &[Migration] = &[
    Migration::Sql(include_str!("migrations/0001_init.sql")),
    Migration::Sql(include_str!("migrations/0002_intake.sql")),
    Migration::Sql(include_str!("migrations/0003_threading.sql")),
    Migration::Sql(include_str!("migrations/0004_agents.sql")),
    Migration::Sql(include_str!("migrations/0005_ack_rate_index.sql")),
    Migration::Sql(include_str!("migrations/0006_outbox.sql")),
    Migration::Code(checks_without_in_lists),
    Migration::Sql(include_str!("migrations/0007_resync.sql")),
    Migration::Sql(include_str!("migrations/0008_security.sql")),
    Migration::Sql(include_str!("migrations/0009_oauth.sql")),
    Migration::Sql(include_str!("migrations/0010_about.sql")),
    Migration::Sql(include_str!("migrations/0011_address.sql")),
    Migration::Sql(include_str!("migrations/0012_merge.sql")),
    Migration::Sql(include_str!("migrations/0013_requester.sql")),
    Migration::Sql(include_str!("migrations/0014_faq.sql")),
    Migration::Code(pending_participants),
    Migration::Sql(include_str!("migrations/0015_released.sql")),
    Migration::Sql(include_str!("migrations/0016_timers.sql")),
    Migration::Sql(include_str!("migrations/0017_digests.sql")),
    Migration::Sql(include_str!("migrations/0018_weekly.sql")),
];

/// Issue 21: a participant may be `pending`, in Cc of a first mail that
/// proves nothing of its sender, until an agent confirms them. Widening a
/// CHECK accepts every row it accepted before, so it is rewritten in place
/// like [`checks_without_in_lists`].
fn pending_participants(tx: &rusqlite::Transaction<'_>) -> Result<(), StoreError> {
    let version: i64 = tx.query_row("PRAGMA schema_version", [], |r| r.get(0))?;
    tx.pragma_update(None, "writable_schema", true)?;
    let old = "CHECK (role = 'requester' OR role = 'cc' OR role = 'agent')";
    let new = "CHECK (role = 'requester' OR role = 'cc' OR role = 'agent' OR role = 'pending')";
    let n = tx.execute(
        "UPDATE sqlite_schema SET sql = replace(sql, ?1, ?2)
         WHERE type = 'table' AND name = 'participants' AND instr(sql, ?1) > 0",
        [old, new],
    )?;
    if n != 1 {
        return Err(StoreError::Corrupt(format!(
            "table participants: constraint `{old}` not found"
        )));
    }
    tx.pragma_update(None, "schema_version", version + 1)?;
    tx.pragma_update(None, "writable_schema", false)?;
    Ok(())
}

/// The CHECK constraints of 0001 written as `x IN ('a','b','c')`: SQLite
/// evaluates an IN list of three or more with a temporary b-tree, built
/// for every row written (measured: a tenth of intake's instructions). The
/// same constraints as ORs need none. A CHECK that does not change what it
/// accepts can be rewritten in place (sqlite.org/lang_altertable.html,
/// "making other kinds of table schema changes"), without copying tables.
fn checks_without_in_lists(tx: &rusqlite::Transaction<'_>) -> Result<(), StoreError> {
    const CHECKS: &[(&str, &str, &[&str])] = &[
        (
            "tickets",
            "status",
            &["new", "open", "pending", "resolved", "closed"],
        ),
        ("participants", "role", &["requester", "cc", "agent"]),
        (
            "outbox",
            "status",
            &["pending", "sent", "failed", "undeliverable"],
        ),
    ];
    let version: i64 = tx.query_row("PRAGMA schema_version", [], |r| r.get(0))?;
    tx.pragma_update(None, "writable_schema", true)?;
    for (table, column, values) in CHECKS {
        let quoted: Vec<String> = values.iter().map(|v| format!("'{v}'")).collect();
        let old = format!("CHECK ({column} IN ({}))", quoted.join(","));
        let ors: Vec<String> = quoted.iter().map(|v| format!("{column} = {v}")).collect();
        let new = format!("CHECK ({})", ors.join(" OR "));
        let n = tx.execute(
            "UPDATE sqlite_schema SET sql = replace(sql, ?2, ?3)
             WHERE type = 'table' AND name = ?1 AND instr(sql, ?2) > 0",
            [table, old.as_str(), new.as_str()],
        )?;
        if n != 1 {
            return Err(StoreError::Corrupt(format!(
                "table {table}: constraint `{old}` not found"
            )));
        }
    }
    tx.pragma_update(None, "schema_version", version + 1)?;
    tx.pragma_update(None, "writable_schema", false)?;
    Ok(())
}

/// The value stored as `s` in a column of `T`'s; text no mapping knows is
/// a corrupt database, named.
pub(crate) fn stored<T: hilo_domain::model::StoredText>(s: &str) -> Result<T, StoreError> {
    T::from_text(s).ok_or_else(|| StoreError::Corrupt(format!("unknown {} {s:?}", T::NAME)))
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot open database {path}")]
    Open {
        path: String,
        #[source]
        cause: rusqlite::Error,
    },
    #[error("database schema version {found} is newer than this hilo knows ({known})")]
    TooNew { found: i64, known: i64 },
    #[error("bad data in database: {0}")]
    Corrupt(String),
    /// A write named a ticket that is not there: callers look it up first
    /// (a missing ticket asked for is a [`hilo_domain::Refusal`]).
    #[error("ticket {0} does not exist")]
    NoSuchTicket(i64),
    /// An outgoing mail could not be composed (a CLI reply, say).
    #[error("cannot compose the mail")]
    Compose(#[from] hilo_mail::compose::ComposeError),
    /// The work on one message panicked; contained, so the message is
    /// quarantined with this reason and the rest goes on.
    #[error("processing panicked: {0}")]
    Panicked(String),
}

impl StoreError {
    /// Busy, locked, full or I/O trouble: trying again later may work.
    pub fn is_temporary(&self) -> bool {
        let e = match self {
            StoreError::Sqlite(e) | StoreError::Open { cause: e, .. } => e,
            _ => return false,
        };
        matches!(
            e.sqlite_error_code(),
            Some(
                ErrorCode::DatabaseBusy
                    | ErrorCode::DatabaseLocked
                    | ErrorCode::DiskFull
                    | ErrorCode::SystemIoFailure
                    | ErrorCode::CannotOpen
                    | ErrorCode::OutOfMemory
            )
        )
    }
}

/// A cheap handle to the database; clone it into tasks.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    /// For the sender's bookkeeping (claims, sent/retry marks): a second
    /// connection with `synchronous = NORMAL`, durable against a crash of
    /// hilo but not of the machine. Losing a "sent" mark to a power cut
    /// means one acknowledgement sent twice; a full fsync per mail would
    /// halve the send rate. Intake commits keep `FULL`.
    quick: Arc<Mutex<Connection>>,
    signer: Signer,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

/// A write transaction (BEGIN IMMEDIATE); committed by [`Store::write`].
/// Its SQL is the store's own: nothing outside this module reaches the
/// connection.
pub struct Tx<'a> {
    tx: rusqlite::Transaction<'a>,
    clock: &'a dyn Clock,
}

impl Tx<'_> {
    /// Now, by the store's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Now, as stored.
    fn stamp(&self) -> String {
        ts(self.clock.now())
    }

    fn prepare_cached(&self, sql: &str) -> rusqlite::Result<rusqlite::CachedStatement<'_>> {
        self.tx.prepare_cached(sql)
    }

    fn execute(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
        self.tx.execute(sql, params)
    }

    fn last_insert_rowid(&self) -> i64 {
        self.tx.last_insert_rowid()
    }

    fn query_row<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.tx.query_row(sql, params, f)
    }
}

/// A timestamp as stored: RFC 3339, UTC, milliseconds, `Z`.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Column `i` of a row, a stored timestamp ([`ts`]), as a time.
pub(crate) fn time_at(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<DateTime<Utc>> {
    let s: String = r.get(i)?;
    time(&s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            e.to_string().into(),
        )
    })
}

/// Column `i` of a row, one of the floor's stored texts, as its enum.
pub(crate) fn text_at<T: hilo_domain::model::StoredText>(
    r: &rusqlite::Row<'_>,
    i: usize,
) -> rusqlite::Result<T> {
    let s: String = r.get(i)?;
    T::from_text(&s).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("unknown {} {s:?}", T::NAME).into(),
        )
    })
}

/// A nullable stored timestamp column as an optional time.
pub(crate) fn time_opt_at(
    r: &rusqlite::Row<'_>,
    i: usize,
) -> rusqlite::Result<Option<DateTime<Utc>>> {
    match r.get::<_, Option<String>>(i)? {
        None => Ok(None),
        Some(_) => time_at(r, i).map(Some),
    }
}

/// Serializes a time as it is stored ([`ts`]), so that the JSON views show
/// the database's own spelling.
pub fn serialize_ts<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&ts(*t))
}

/// [`serialize_ts`] for an optional time (`null` when absent).
pub fn serialize_ts_opt<S: serde::Serializer>(
    t: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&ts(*t)),
        None => s.serialize_none(),
    }
}

/// A stored timestamp ([`ts`]) read back; text that is no time is a
/// corrupt database.
pub(crate) fn time(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt(format!("not a stored time: {s:?}")))
}

impl Store {
    /// Opens (creating if needed) and migrates the database.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        private_file(path).map_err(|e| StoreError::Open {
            path: path.display().to_string(),
            cause: io_cause(e),
        })?;
        let open = || {
            Connection::open(path).map_err(|cause| StoreError::Open {
                path: path.display().to_string(),
                cause,
            })
        };
        let mut store = Self::setup(open()?)?;
        let quick = open()?;
        quick.busy_timeout(Duration::from_secs(10))?;
        quick.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        quick.pragma_update(None, "synchronous", "NORMAL")?;
        quick.pragma_update(None, "foreign_keys", "ON")?;
        store.quick = Arc::new(Mutex::new(quick));
        Ok(store)
    }

    /// A private in-memory database, for tests and benchmarks.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Self::setup(Connection::open_in_memory()?)
    }

    fn setup(mut conn: Connection) -> Result<Store, StoreError> {
        conn.busy_timeout(Duration::from_secs(10))?;
        // One message's path prepares more distinct statements than
        // rusqlite's default cache of 16 holds: past it, statements were
        // compiled again for every message.
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // Messages are kept whole (a few KB each): with 16 KiB pages most fit
        // without overflow chains (measured: ~15 % faster intake). Only takes
        // effect on a new database, so it must come before WAL mode.
        conn.pragma_update(None, "page_size", 16384)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        migrate(&mut conn)?;
        let key = {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let key: Option<Vec<u8>> = tx
                .query_row("SELECT value FROM meta WHERE key = 'msgid_key'", [], |r| {
                    r.get(0)
                })
                .optional()?;
            let key = match key {
                Some(k) => k,
                None => {
                    let k = Signer::generate_key();
                    tx.execute(
                        "INSERT INTO meta (key, value) VALUES ('msgid_key', ?1)",
                        [&k],
                    )?;
                    k
                }
            };
            tx.commit()?;
            key
        };
        let conn = Arc::new(Mutex::new(conn));
        Ok(Store {
            quick: conn.clone(),
            conn,
            signer: Signer::new(&key),
            clock: Arc::new(SystemClock),
        })
    }

    /// A consistent copy of the database in `dest`, taken online with
    /// SQLite's backup API while others keep writing. `dest` must not exist.
    pub fn backup(path: &Path, dest: &Path) -> Result<(), StoreError> {
        if dest.exists() {
            return Err(StoreError::Corrupt(format!(
                "{} already exists",
                dest.display()
            )));
        }
        let src = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|cause| StoreError::Open {
                path: path.display().to_string(),
                cause,
            })?;
        src.busy_timeout(Duration::from_secs(10))?;
        private_file(dest).map_err(|e| StoreError::Open {
            path: dest.display().to_string(),
            cause: io_cause(e),
        })?;
        let mut dst = Connection::open(dest).map_err(|cause| StoreError::Open {
            path: dest.display().to_string(),
            cause,
        })?;
        {
            let b = rusqlite::backup::Backup::new(&src, &mut dst)?;
            // 1024 pages per step, no pause: others may write between steps.
            b.run_to_completion(1024, Duration::ZERO, None)?;
        }
        let ok: String = dst.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if ok != "ok" {
            return Err(StoreError::Corrupt(format!(
                "backup failed its integrity check: {ok}"
            )));
        }
        Ok(())
    }

    /// This store with `clock` as its time (tests move a [`ManualClock`](hilo_domain::clock::ManualClock)).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Store {
        self.clock = clock;
        self
    }

    /// Now, by the store's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Signs and verifies our Message-IDs with this installation's key.
    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (the
        // transaction rolls back on drop), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` in one IMMEDIATE transaction; commits if it returns `Ok`.
    pub fn write<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        let tx = Tx {
            tx,
            clock: &*self.clock,
        };
        let out = f(&tx)?;
        tx.tx.commit().map_err(StoreError::from)?;
        Ok(out)
    }

    /// Like [`Store::write`], on the sender's `synchronous = NORMAL` connection.
    pub(crate) fn write_quick<T>(
        &self,
        f: impl FnOnce(&Tx<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.quick.lock().unwrap_or_else(|p| p.into_inner());
        let tx = Tx {
            tx: conn.transaction_with_behavior(TransactionBehavior::Immediate)?,
            clock: &*self.clock,
        };
        let out = f(&tx)?;
        tx.tx.commit()?;
        Ok(out)
    }

    /// Runs `f` with the connection, outside any explicit transaction.
    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        f(&self.lock())
    }

    /// Does the database answer? (The watchdog asks.)
    pub fn ping(&self) -> Result<(), StoreError> {
        self.read(|c| {
            Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                .map(drop)?)
        })
    }
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let known = MIGRATIONS.len() as i64;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > known {
        return Err(StoreError::TooNew {
            found: version,
            known,
        });
    }
    for (i, step) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        match step {
            Migration::Sql(sql) => tx.execute_batch(sql)?,
            Migration::Code(f) => f(&tx)?,
        }
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tracing::info!(version = i + 1, "applied database migration");
    }
    tx.commit()?;
    Ok(())
}

/// Creates the database file with mode 0600 (it holds the mail and the key
/// that signs our Message-IDs), or takes an existing one, and its WAL and
/// shared-memory files, down to 0600. SQLite gives the files it creates
/// next to a database the database file's mode, whatever the umask.
fn private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if !path.exists() {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
    }
    let mut all = vec![path.to_path_buf()];
    for suffix in ["-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        all.push(p.into());
    }
    for p in all {
        if let Ok(m) = std::fs::metadata(&p) {
            if m.permissions().mode() & 0o077 != 0 {
                // Only the owner may change the mode; someone else reading
                // the database (an admin's `hilo tickets list`) leaves it be.
                let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600));
            }
        }
    }
    Ok(())
}

/// An I/O error as the rusqlite error `StoreError::Open` carries.
fn io_cause(e: std::io::Error) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
        Some(e.to_string()),
    )
}

/// Runs blocking store work off the async worker threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    joined(tokio::task::spawn_blocking(f)).await
}

/// The result of store work already spawned on the blocking pool (a panic
/// there is carried over).
pub async fn joined<T>(
    task: tokio::task::JoinHandle<Result<T, StoreError>>,
) -> Result<T, StoreError> {
    match task.await {
        Ok(r) => r,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// JSON array text of addresses.
fn json_list<S: AsRef<str>>(items: &[S]) -> String {
    serde_json::to_string(&items.iter().map(AsRef::as_ref).collect::<Vec<_>>())
        .expect("strings serialize")
}

fn parse_json_list(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_migrates_and_keeps_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.db");
        let s = Store::open(&p).unwrap();
        let id = s.signer().new_id(1, "x.test");
        drop(s);
        let s = Store::open(&p).unwrap();
        assert_eq!(s.signer().verify(&id), Some(1), "key survives a restart");
        let v: i64 = s
            .read(|c| Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(v, MIGRATIONS.len() as i64);
        let mode: String = s
            .read(|c| Ok(c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(mode, "wal");
        let page: i64 = s
            .read(|c| Ok(c.query_row("PRAGMA page_size", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(page, 16384);
    }

    #[test]
    fn constraints_hold_without_temporary_btrees() {
        let s = Store::open_in_memory().unwrap();
        s.read(|c| {
            for sql in [
                "INSERT INTO tickets (desk, status, subject, requester, created_at, updated_at)
                 VALUES ('d', 'new', 's', 'r', 't', 't')",
                "INSERT INTO participants (ticket_id, address, role) VALUES (1, 'a', 'cc')",
                "INSERT INTO outbox (message_id, envelope_from, recipients, status,
                    next_attempt_at, expires_at, created_at) VALUES (1, 'f', '[]', 'sent', 't', 't', 't')",
            ] {
                let mut st = c.prepare(&format!("EXPLAIN {sql}"))?;
                let ops: Vec<String> = st
                    .query_map([], |r| r.get(1))?
                    .collect::<Result<_, _>>()?;
                assert!(!ops.iter().any(|o| o == "OpenEphemeral"), "{sql}");
            }
            let bad = c.execute(
                "INSERT INTO tickets (desk, status, subject, requester, created_at, updated_at)
                 VALUES ('d', 'bogus', 's', 'r', 't', 't')",
                [],
            );
            assert!(bad.unwrap_err().to_string().contains("CHECK"));
            c.execute(
                "INSERT INTO tickets (desk, status, subject, requester, created_at, updated_at)
                 VALUES ('d', 'closed', 's', 'r', 't', 't')",
                [],
            )?;
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn database_and_backup_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("h.db");
        let store = Store::open(&db).unwrap();
        store
            .read(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
            .unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&db), 0o600);
        let wal = dir.path().join("h.db-wal");
        assert!(wal.exists());
        assert_eq!(mode(&wal), 0o600);
        let backup = dir.path().join("b.db");
        Store::backup(&db, &backup).unwrap();
        assert_eq!(mode(&backup), 0o600);
        // An older, world-readable database is tightened when opened.
        drop(store);
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        Store::open(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
    }

    #[test]
    fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.db");
        drop(Store::open(&p).unwrap());
        Connection::open(&p)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        assert!(matches!(Store::open(&p), Err(StoreError::TooNew { .. })));
    }
}
