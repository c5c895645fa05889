//! Reading mail: sizes (and INTERNALDATE) first, then batches cut by count
//! and bytes, fetched whole or, past max_message_bytes, headers only; a UID
//! the server does not return is reported, never skipped.

use std::collections::HashMap;

use futures::TryStreamExt;
use tracing::warn;

use super::session::{timed, ImapError, Session};
use super::Watcher;
use crate::pipeline::Received;

/// Compact UID set text: `3:5,9`.
pub(super) fn uid_set(uids: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end + 1 {
            i += 1;
            end = uids[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

/// Splits `uids` into batches of at most `count` messages and (unless a
/// single message is larger) `bytes` bytes.
pub(super) fn batches(
    uids: &[u32],
    sizes: &HashMap<u32, u64>,
    count: usize,
    bytes: u64,
) -> Vec<Vec<u32>> {
    let mut out = Vec::new();
    let mut cur: Vec<u32> = Vec::new();
    let mut cur_bytes = 0;
    for &u in uids {
        let sz = sizes.get(&u).copied().unwrap_or(0);
        if !cur.is_empty() && (cur.len() >= count || cur_bytes + sz > bytes) {
            out.push(std::mem::take(&mut cur));
            cur_bytes = 0;
        }
        cur.push(u);
        cur_bytes += sz;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

impl Watcher {
    /// RFC822.SIZE of each UID.
    /// The size of each of `uids`, and with `dates` their INTERNALDATE.
    pub(super) async fn sizes(
        &self,
        session: &mut Session,
        uids: &[u32],
        dates: bool,
    ) -> Result<
        (
            HashMap<u32, u64>,
            HashMap<u32, chrono::DateTime<chrono::Utc>>,
        ),
        ImapError,
    > {
        let t = self.tuning.command_timeout;
        let mut sizes = HashMap::with_capacity(uids.len());
        let mut when = HashMap::new();
        let query = if dates {
            "(UID RFC822.SIZE INTERNALDATE)"
        } else {
            "(UID RFC822.SIZE)"
        };
        for chunk in uids.chunks(2000) {
            let mut stream =
                timed(t, "UID FETCH", session.uid_fetch(uid_set(chunk), query)).await?;
            while let Some(f) = timed(t, "UID FETCH", stream.try_next()).await? {
                if let (Some(uid), Some(size)) = (f.uid, f.size) {
                    sizes.insert(uid, u64::from(size));
                    if let Some(d) = f.internal_date() {
                        when.insert(uid, d.with_timezone(&chrono::Utc));
                    }
                }
            }
        }
        Ok((sizes, when))
    }

    /// Fetches `uids` (headers only for oversized ones). Returns the messages
    /// up to (not including) the first UID the server failed to return, and
    /// that UID if any: async-imap ends the stream silently on a tagged NO,
    /// so absence is the only signal.
    pub(super) async fn fetch(
        &self,
        session: &mut Session,
        uids: &[u32],
        sizes: &HashMap<u32, u64>,
    ) -> Result<(Vec<Received>, Option<u32>), ImapError> {
        let max = self.desk.cfg.max_message_bytes;
        let (big, small): (Vec<u32>, Vec<u32>) = uids
            .iter()
            .partition(|u| sizes.get(u).is_some_and(|s| *s > max));
        let mut got = self
            .fetch_part(session, &small, "(UID BODY.PEEK[])", false)
            .await?;
        got.extend(
            self.fetch_part(session, &big, "(UID BODY.PEEK[HEADER])", true)
                .await?,
        );
        let mut out = Vec::with_capacity(uids.len());
        for &uid in uids {
            match got.remove(&uid) {
                Some(raw) => {
                    let mut r = Received::new(Some(uid), raw);
                    if big.contains(&uid) {
                        let size = sizes.get(&uid).copied().unwrap_or(0);
                        warn!(
                            uid,
                            size, max, "message too large: storing its headers only"
                        );
                        r.note = Some(format!(
                            "This message is {size} bytes, more than max_message_bytes ({max}): only its headers were stored. The whole message stays in the mailbox."
                        ));
                    }
                    out.push(r)
                }
                None => return Ok((out, Some(uid))),
            }
        }
        Ok((out, None))
    }

    pub(super) async fn fetch_part(
        &self,
        session: &mut Session,
        uids: &[u32],
        query: &str,
        header_only: bool,
    ) -> Result<HashMap<u32, Vec<u8>>, ImapError> {
        let t = self.tuning.command_timeout;
        let mut got = HashMap::with_capacity(uids.len());
        if uids.is_empty() {
            return Ok(got);
        }
        let mut stream = timed(t, "UID FETCH", session.uid_fetch(uid_set(uids), query)).await?;
        // Drain the whole stream before the next command.
        while let Some(fetch) = timed(t, "UID FETCH", stream.try_next()).await? {
            let body = if header_only {
                fetch.header()
            } else {
                fetch.body()
            };
            if let (Some(uid), Some(body)) = (fetch.uid, body) {
                // (The tests pretend a server that never returns a UID.)
                if crate::fault::active(&format!("drop-uid-{uid}")) {
                    continue;
                }
                got.insert(uid, body.to_vec());
            }
        }
        Ok(got)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_are_compact() {
        assert_eq!(uid_set(&[1, 2, 3, 5, 7, 8]), "1:3,5,7:8");
        assert_eq!(uid_set(&[4]), "4");
    }

    #[test]
    fn batches_cut_by_count_and_bytes() {
        let sizes: HashMap<u32, u64> = [(1, 10), (2, 10), (3, 50), (4, 10), (5, 10)].into();
        let b = batches(&[1, 2, 3, 4, 5], &sizes, 3, 30);
        assert_eq!(b, vec![vec![1, 2], vec![3], vec![4, 5]]);
        let b = batches(&[1, 2, 3, 4, 5], &sizes, 2, 1000);
        assert_eq!(b, vec![vec![1, 2], vec![3, 4], vec![5]]);
    }
}
