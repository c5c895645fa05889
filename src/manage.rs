//! What happens to tickets outside the flow of mail: an administrator's
//! actions from the command line (close, reopen, assign, note, reply,
//! participants, merge, unmerge, split), decided by
//! `decide::command_line` and written by `apply` like an agent's mail, and
//! the housekeeping that closes resolved tickets. Each in one transaction.

use crate::mail::Mailbox;
use crate::pipeline::apply::{Done, Writer};
use crate::pipeline::decide::command_line::command_line;
pub use crate::pipeline::decide::command_line::Action;
use crate::pipeline::{Intake, Lookup};
use crate::store::StoreError;
use hilo_domain::Refusal;

impl Intake {
    /// Applies `action` to `ticket` on behalf of `actor` (an address):
    /// what it did, or why it is refused.
    pub fn act(
        &self,
        ticket: i64,
        actor: &Mailbox,
        action: Action,
    ) -> Result<Result<Done, Refusal>, StoreError> {
        let settings = self.settings();
        self.store().write(|tx| {
            let Some(t) = tx.ticket(ticket)? else {
                return Ok(Err(Refusal::NoSuchTicket(ticket)));
            };
            let desk = settings.desk(&t.desk).ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "ticket {ticket} belongs to unknown desk {}",
                    t.desk
                ))
            })?;
            let info = tx.ticket_info(ticket)?;
            let act = match command_line(&desk.cfg, ticket, Some(&info), action) {
                Ok(act) => act,
                Err(why) => return Ok(Err(why)),
            };
            let writer = Writer {
                tx,
                settings: &settings,
                signer: self.store().signer(),
                now: self.store().now(),
            };
            writer.act(desk, ticket, actor, act)
        })
    }

    /// Closes every desk's resolved tickets older than its close_after.
    pub fn close_resolved(&self) -> Result<usize, StoreError> {
        self.store().write(|tx| {
            let mut n = 0;
            for d in &self.settings().desks {
                let age = chrono::Duration::from_std(d.cfg.close_after)
                    .unwrap_or(chrono::Duration::days(7));
                n += tx.close_resolved(&d.cfg.name, &crate::store::ts(self.store().now() - age))?;
            }
            Ok(n)
        })
    }
}
