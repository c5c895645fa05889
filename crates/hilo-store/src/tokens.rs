//! OAuth2 refresh tokens and each account's login health.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{ts, Store, StoreError, Tx};

/// One account's row.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TokenRow {
    pub account: String,
    #[serde(skip)]
    pub refresh_token: Option<String>,
    #[serde(serialize_with = "crate::serialize_ts_opt")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::serialize_ts")]
    pub updated_at: DateTime<Utc>,
    pub error: Option<String>,
    #[serde(serialize_with = "crate::serialize_ts_opt")]
    pub failing_since: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::serialize_ts_opt")]
    pub alerted_at: Option<DateTime<Utc>>,
}

impl TokenRow {
    pub fn logged_in(&self) -> bool {
        self.refresh_token.is_some()
    }
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRow> {
    Ok(TokenRow {
        account: r.get(0)?,
        refresh_token: r.get(1)?,
        expires_at: crate::time_opt_at(r, 2)?,
        updated_at: crate::time_at(r, 3)?,
        error: r.get(4)?,
        failing_since: crate::time_opt_at(r, 5)?,
        alerted_at: crate::time_opt_at(r, 6)?,
    })
}

const COLUMNS: &str =
    "account, refresh_token, expires_at, updated_at, error, failing_since, alerted_at";

impl Store {
    pub fn token(&self, account: &str) -> Result<Option<TokenRow>, StoreError> {
        self.read(|c| {
            Ok(c.query_row(
                &format!("SELECT {COLUMNS} FROM oauth_tokens WHERE account = ?1"),
                [account],
                row,
            )
            .optional()?)
        })
    }

    pub fn tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        self.read(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {COLUMNS} FROM oauth_tokens ORDER BY account"
            ))?;
            let rows = st.query_map([], row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// A working token: the refresh token to keep (a rotated one, or the
    /// one from `hilo auth login`; `None` keeps the stored one) and when the
    /// access token expires. Clears the error.
    pub fn token_ok(
        &self,
        account: &str,
        refresh_token: Option<&str>,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<(), StoreError> {
        let now = ts(self.now());
        self.write(|tx| {
            tx.execute(
                "INSERT INTO oauth_tokens (account, refresh_token, expires_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (account) DO UPDATE SET
                    refresh_token = coalesce(?2, refresh_token), expires_at = ?3,
                    updated_at = ?4, error = NULL, failing_since = NULL, alerted_at = NULL",
                params![account, refresh_token, expires_at.map(ts), now],
            )?;
            Ok(())
        })
    }
}

impl Tx<'_> {
    /// Records a failure to get a token; returns whether the admins should
    /// hear of it now (not told within `quiet`), and marks them told.
    pub fn token_failed(
        &self,
        account: &str,
        error: &str,
        quiet: chrono::Duration,
    ) -> Result<bool, StoreError> {
        let now = self.now();
        let stamp = ts(now);
        self.execute(
            "INSERT INTO oauth_tokens (account, updated_at, error, failing_since)
             VALUES (?1, ?2, ?3, ?2)
             ON CONFLICT (account) DO UPDATE SET
                updated_at = ?2, error = ?3, failing_since = coalesce(failing_since, ?2)",
            params![account, stamp, error],
        )?;
        let last: Option<String> = self.query_row(
            "SELECT alerted_at FROM oauth_tokens WHERE account = ?1",
            [account],
            |r| r.get(0),
        )?;
        let due = last
            .and_then(|l| chrono::DateTime::parse_from_rfc3339(&l).ok())
            .is_none_or(|l| now.signed_duration_since(l) >= quiet);
        if due {
            self.execute(
                "UPDATE oauth_tokens SET alerted_at = ?2 WHERE account = ?1",
                params![account, stamp],
            )?;
        }
        Ok(due)
    }
}
