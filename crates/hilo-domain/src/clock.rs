//! The time hilo goes by. Everything that compares times (the reopen
//! window, the acknowledgement rate limit, retries, leases, expiry,
//! closing resolved tickets) reads the [`Clock`] the store holds, so tests
//! can move time instead of sleeping or rewriting timestamps in SQL.
//!
//! `HILO_NOW` (an RFC 3339 instant) starts the binary's clock at that
//! instant, running on at the wall clock's pace: end-to-end tests of
//! service levels, reminders and digests run the real binary at chosen
//! instants instead of waiting for them.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Utc};

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that moves only when told.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> ManualClock {
        ManualClock(Mutex::new(at))
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }

    pub fn advance(&self, by: std::time::Duration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A clock that starts at a chosen instant and runs on from there at the
/// pace of the machine's monotonic clock.
#[derive(Debug)]
pub struct StartedClock {
    at: DateTime<Utc>,
    since: Instant,
}

impl StartedClock {
    pub fn new(at: DateTime<Utc>) -> StartedClock {
        StartedClock {
            at,
            since: Instant::now(),
        }
    }
}

impl Clock for StartedClock {
    fn now(&self) -> DateTime<Utc> {
        let run = chrono::Duration::from_std(self.since.elapsed()).unwrap_or(chrono::Duration::MAX);
        self.at.checked_add_signed(run).unwrap_or(self.at)
    }
}

/// `HILO_NOW` holds no instant hilo can start its clock at.
#[derive(Debug, thiserror::Error)]
#[error("HILO_NOW={value:?} is not an RFC 3339 instant such as 2026-03-02T09:00:00Z or 2026-03-02T10:00:00+01:00: {why}")]
pub struct NowError {
    pub value: String,
    pub why: String,
}

/// The clock the binary goes by: the system's, or one started at
/// `HILO_NOW` when that is set.
pub fn from_env() -> Result<Arc<dyn Clock>, NowError> {
    match std::env::var("HILO_NOW") {
        Err(std::env::VarError::NotPresent) => Ok(Arc::new(SystemClock)),
        Err(std::env::VarError::NotUnicode(v)) => Err(NowError {
            value: v.to_string_lossy().into_owned(),
            why: "not UTF-8".into(),
        }),
        Ok(v) => starting_at(&v).map(|c| Arc::new(c) as Arc<dyn Clock>),
    }
}

/// A clock started at `value` (RFC 3339).
pub fn starting_at(value: &str) -> Result<StartedClock, NowError> {
    DateTime::parse_from_rfc3339(value.trim())
        .map(|t| StartedClock::new(t.with_timezone(&Utc)))
        .map_err(|e| NowError {
            value: value.into(),
            why: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_started_clock_begins_at_its_instant_and_runs_on() {
        let c = starting_at("2026-10-25T02:30:00+02:00").unwrap();
        let t0 = DateTime::parse_from_rfc3339("2026-10-25T00:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let a = c.now();
        assert!(a >= t0 && a - t0 < chrono::Duration::seconds(5), "{a}");
        assert!(c.now() >= a, "never backwards");
        let e = starting_at("mañana").unwrap_err().to_string();
        assert!(
            e.starts_with("HILO_NOW=\"mañana\" is not an RFC 3339 instant"),
            "{e}"
        );
    }
}
