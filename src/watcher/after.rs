//! After commit: the configured server-side step (`\Seen`, or a move, with
//! the COPY + \Deleted + EXPUNGE fallback), and the crash sweep that redoes a
//! lost step for mail hilo stored.

use futures::TryStreamExt;
use tracing::info;

use super::fetch::uid_set;
use super::session::{timed, ImapError, Mailbox, Session};
use super::Watcher;
use crate::config::After;

impl Watcher {
    /// The configured server-side step for committed messages.
    pub(super) async fn after(
        &self,
        session: &mut Session,
        mb: &Mailbox,
        done: &[u32],
        aside: &[u32],
    ) -> Result<(), ImapError> {
        match &self.desk.cfg.after {
            After::Keep => Ok(()),
            After::Seen => {
                self.store_flags(session, done, "+FLAGS.SILENT (\\Seen)")
                    .await
            }
            After::Move(folder) => {
                self.move_to(session, mb, done, folder).await?;
                let q = self.desk.cfg.quarantine_to.clone();
                self.move_to(session, mb, aside, &q).await
            }
        }
    }

    pub(super) async fn store_flags(
        &self,
        session: &mut Session,
        uids: &[u32],
        flags: &str,
    ) -> Result<(), ImapError> {
        if uids.is_empty() {
            return Ok(());
        }
        let t = self.tuning.command_timeout;
        let mut stream = timed(t, "UID STORE", session.uid_store(uid_set(uids), flags)).await?;
        while timed(t, "UID STORE", stream.try_next()).await?.is_some() {}
        Ok(())
    }

    pub(super) async fn move_to(
        &self,
        session: &mut Session,
        mb: &Mailbox,
        uids: &[u32],
        folder: &str,
    ) -> Result<(), ImapError> {
        if uids.is_empty() {
            return Ok(());
        }
        let t = self.tuning.command_timeout;
        let set = uid_set(uids);
        if mb.moves {
            return timed(t, "UID MOVE", session.uid_mv(&set, folder)).await;
        }
        timed(t, "UID COPY", session.uid_copy(&set, folder)).await?;
        self.store_flags(session, uids, "+FLAGS.SILENT (\\Deleted)")
            .await?;
        if mb.uidplus {
            let stream = timed(t, "UID EXPUNGE", session.uid_expunge(&set)).await?;
            let mut stream = std::pin::pin!(stream);
            while timed(t, "UID EXPUNGE", stream.try_next()).await?.is_some() {}
            return Ok(());
        }
        // Without UIDPLUS, EXPUNGE removes every \Deleted message: others'
        // marks are taken off for the moment and put back after (as mutt
        // and isync do), so only ours go.
        let deleted = timed(t, "UID SEARCH", session.uid_search("DELETED")).await?;
        let theirs: Vec<u32> = deleted.into_iter().filter(|u| !uids.contains(u)).collect();
        self.store_flags(session, &theirs, "-FLAGS.SILENT (\\Deleted)")
            .await?;
        {
            let stream = timed(t, "EXPUNGE", session.expunge()).await?;
            let mut stream = std::pin::pin!(stream);
            while timed(t, "EXPUNGE", stream.try_next()).await?.is_some() {}
        }
        self.store_flags(session, &theirs, "+FLAGS.SILENT (\\Deleted)")
            .await
    }

    /// With `after = "move"`: creates the folders, and moves what a crash
    /// left behind (committed, below the checkpoint, still in the folder).
    pub(super) async fn prepare_moves(
        &self,
        session: &mut Session,
        mb: &Mailbox,
    ) -> Result<(), ImapError> {
        let After::Move(folder) = &self.desk.cfg.after else {
            return Ok(());
        };
        let t = self.tuning.command_timeout;
        for f in [folder.as_str(), self.desk.cfg.quarantine_to.as_str()] {
            // Fails with ALREADYEXISTS when it is there: fine.
            let _ = timed(t, "CREATE", session.create(f)).await;
        }
        let store = self.intake.store().clone();
        let (d, f) = (self.name().to_string(), self.imap().folder.clone());
        let (cp, quarantined) = crate::store::blocking(move || {
            Ok((store.checkpoint(&d, &f)?, store.quarantined_uids(&d, &f)?))
        })
        .await?;
        let Some(cp) = cp.filter(|c| c.uid_validity == mb.uid_validity && c.last_uid > 0) else {
            return Ok(());
        };
        let left = timed(
            t,
            "UID SEARCH",
            session.uid_search(format!("UID 1:{}", cp.last_uid)),
        )
        .await?;
        let mut left: Vec<u32> = left.into_iter().filter(|u| *u <= cp.last_uid).collect();
        if left.is_empty() {
            return Ok(());
        }
        left.sort_unstable();
        // Only what hilo stored: mail below the checkpoint that it left
        // alone (start_from = "now", or older than a reset) stays.
        let store = self.intake.store().clone();
        let (d, f) = (self.name().to_string(), self.imap().folder.clone());
        let candidates = left.clone();
        let stored = crate::store::blocking(move || store.stored_uids(&d, &f, &candidates)).await?;
        left.retain(|u| stored.contains(u));
        if left.is_empty() {
            return Ok(());
        }
        let (aside, done): (Vec<u32>, Vec<u32>) =
            left.iter().partition(|u| quarantined.contains(u));
        info!(
            count = left.len(),
            "moving mail processed before an interruption"
        );
        self.after(session, mb, &done, &aside).await
    }
}
