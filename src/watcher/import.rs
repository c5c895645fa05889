//! `hilo import`: a folder read as backlog, the watcher's checkpoint left alone.

use super::fetch::batches;
use super::session::{timed, ImapError};
use super::Watcher;
use crate::pipeline::Tally;

impl Watcher {
    /// `hilo import`: every message of the watcher's folder (received since
    /// `since`) as backlog: tickets without acknowledgements. The watcher's
    /// checkpoint is left alone; what is already stored is skipped.
    pub async fn import(
        &self,
        since: Option<chrono::NaiveDate>,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<Tally, ImapError> {
        let t = self.tuning.command_timeout;
        let (mut session, _) = self.open(t).await?;
        let query = since.map_or_else(
            || "ALL".to_string(),
            |d| format!("SINCE {}", d.format("%d-%b-%Y")),
        );
        let mut uids: Vec<u32> = timed(t, "UID SEARCH", session.uid_search(&query))
            .await?
            .into_iter()
            .collect();
        uids.sort_unstable();
        let total = uids.len() as u64;
        progress(0, total);
        let (sizes, _) = self.sizes(&mut session, &uids, false).await?;
        let mut tally = Tally::default();
        for batch in batches(
            &uids,
            &sizes,
            self.tuning.batch_size,
            self.tuning.batch_bytes,
        ) {
            let (mut items, missing) = self.fetch(&mut session, &batch, &sizes).await?;
            for it in &mut items {
                it.backlog = true;
            }
            let (intake, rt, f) = (
                self.intake.clone(),
                self.desk.clone(),
                self.imap().folder.clone(),
            );
            let outcomes =
                crate::store::blocking(move || intake.process(&rt, Some(&f), &items, None)).await?;
            for o in &outcomes {
                tally.add(o);
            }
            progress(tally.fetched as u64, total);
            if let Some(uid) = missing {
                return Err(ImapError::Missing(uid));
            }
        }
        let _ = timed(t, "LOGOUT", session.logout()).await;
        Ok(tally)
    }
}
