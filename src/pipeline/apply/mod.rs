//! The one place that turns a [`Plan`] into store writes, inside the
//! batch's transaction: the message row with its attachments, the ticket's
//! changes and events, and the outgoing mail that [`crate::outgoing`]
//! drafts, queued in the outbox in the same transaction. It decides
//! nothing: what to write is the plan's; only a mail that cannot be
//! composed becomes an event instead.

mod command_line;
pub use command_line::Done;

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use super::decide::{Ack, Answer, Append, Notice, Notify, Open, Plan, Receipt, Step};
use super::settings::{DeskRuntime, Settings};
use super::{Outcome, Received};
use crate::config::DeskConfig;
use crate::mail::compose::{ComposeError, Outgoing};
use crate::mail::msgid::Signer;
use crate::mail::{Inbound, Mailbox};
use crate::model::{Direction, MessageKind, Role};
use crate::outgoing::ack::{acknowledgement, AckInput};
use crate::outgoing::{notify, relay, About};
use crate::store::{NewMessage, People, StoreError, Tx};
use hilo_domain::EventKind;

/// A received message as it is recorded.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pub desk: &'a DeskRuntime,
    pub msg: &'a Inbound,
    pub item: &'a Received,
    /// Its key for duplicates (the Message-ID, or a digest).
    pub key: &'a str,
    /// The text recorded (the fetch note for a mail fetched headers-only).
    pub text: &'a str,
    pub new_text: &'a str,
    pub folder: Option<&'a str>,
    pub kind: MessageKind,
}

/// Writes through one transaction.
pub struct Writer<'a, 'c> {
    pub tx: &'a Tx<'c>,
    pub settings: &'a Settings,
    pub signer: &'a Signer,
    pub now: DateTime<Utc>,
}

impl Writer<'_, '_> {
    /// What mail about `info`'s ticket is written from.
    fn about<'b>(&'b self, m: &Message<'b>, info: &'b crate::store::TicketInfo) -> About<'b> {
        About {
            desk: &m.desk.cfg,
            tags: &m.desk.tags,
            templates: &self.settings.templates,
            signer: self.signer,
            ticket: info,
        }
    }

    /// Carries out `plan` for `m`.
    pub fn apply(&self, m: &Message<'_>, plan: Plan) -> Result<Outcome, StoreError> {
        let tx = self.tx;
        if let Some(b) = &plan.undeliverable {
            let n =
                tx.mark_undeliverable(&m.desk.cfg.name, &b.reported, &b.recipients, &b.reason)?;
            if n > 0 {
                info!(reported = ?b.reported, reason = %b.reason, "bounce: outgoing mail marked undeliverable");
            }
        }
        Ok(match plan.step {
            Step::OtherDesk { note } => {
                self.record(m, None, MessageKind::Customer, Some(&note))?;
                Outcome::SetAside {
                    kind: MessageKind::Customer,
                    reason: "also sent to a desk listed before this one, which handles it",
                }
            }
            Step::Open(o) => self.open(m, o)?,
            Step::Append(a) => self.append(m, a)?,
            Step::SetAside { kind, reason, note } => {
                self.record(m, None, kind, Some(&note))?;
                Outcome::SetAside { kind, reason }
            }
            Step::Unverified { ticket, notice } => {
                let agent = &m.msg.from.address;
                warn!(ticket, from = %agent, "agent mail without proof of origin: recorded, relayed to no one");
                let row = self.record(
                    m,
                    Some(ticket),
                    MessageKind::Unverified,
                    Some("unverified sender: recorded, relayed to no one"),
                )?;
                tx.add_event(ticket, agent, EventKind::UnverifiedAgentMail, None)?;
                self.notice(m, ticket, row, &notice)?;
                Outcome::Appended { ticket }
            }
            Step::Answer(a) => self.answer(m, *a)?,
            Step::DigestReply { lines } => self.digest_reply(m, &lines)?,
        })
    }

    /// Carries out each line of an agent's reply to the digest on the
    /// ticket it names (of this desk), and confirms every line to them.
    fn digest_reply(
        &self,
        m: &Message<'_>,
        lines: &[super::decide::DigestLine],
    ) -> Result<Outcome, StoreError> {
        use crate::outgoing::{priority_word, status_word};
        use hilo_domain::Lookup;
        let (tx, d) = (self.tx, &m.desk.cfg);
        let (agent, lang) = (m.msg.from.address.as_str(), d.language);
        self.record(
            m,
            None,
            MessageKind::Agent,
            Some("a reply to the daily digest"),
        )?;
        let mut said = Vec::new();
        for l in lines {
            let mut ticket = None;
            if let Some(n) = l.ticket {
                if tx
                    .ticket(n)?
                    .is_some_and(|t| t.desk == d.name && t.merged_into.is_none())
                {
                    ticket = Some(n);
                }
            }
            let Some(n) = ticket else {
                said.push(lang.say("digest.no_ticket", &[("line", &l.line)]));
                continue;
            };
            let mut done = Vec::new();
            if let Some(s) = l.status {
                tx.set_status(n, s, agent)?;
                done.push(lang.say("report.status", &[("status", &status_word(s, lang))]));
            }
            if let Some(who) = &l.assign {
                tx.set_assignee(n, who, agent)?;
                done.push(lang.say("report.assigned", &[("who", who)]));
            }
            if let Some(p) = l.priority {
                tx.set_priority(n, p, agent)?;
                done.push(lang.say("report.priority", &[("priority", &priority_word(p, lang))]));
            }
            for u in &l.unknown {
                done.push(lang.say("digest.not_understood", &[("what", u)]));
            }
            if done.is_empty() {
                done.push(lang.say("digest.nothing_done", &[]));
            }
            said.push(format!("{}: {}", m.desk.tags.format(n), done.join("; ")));
        }
        info!(from = %agent, lines = lines.len(), "reply to the digest");
        let out = crate::outgoing::digest::confirmation(crate::outgoing::digest::ConfirmInput {
            desk: d,
            signer: self.signer,
            to: &m.msg.from,
            in_reply_to: m.msg.message_id.as_deref(),
            subject: &m.msg.subject,
            lines: &said,
        });
        match out {
            Ok(out) => {
                let q = crate::store::Queued::on_no_ticket(
                    &d.name,
                    &out.draft.from.address,
                    MessageKind::Report,
                    self.settings.expire_after,
                );
                tx.queue_outgoing(&q, &out)?;
            }
            Err(e) => warn!(error = %crate::report(&e), "no confirmation of the digest reply"),
        }
        Ok(Outcome::SetAside {
            kind: MessageKind::Agent,
            reason: "a reply to the daily digest: its lines were carried out and confirmed",
        })
    }

    fn open(&self, m: &Message<'_>, o: Open) -> Result<Outcome, StoreError> {
        let (tx, msg, d) = (self.tx, m.msg, &m.desk.cfg);
        let number = tx.create_ticket(
            &d.name,
            Some(&o.address),
            &o.subject,
            &msg.from,
            o.linked_to,
        )?;
        let row = self.record(m, Some(number), m.kind, None)?;
        for cc in &o.cc {
            if o.pending.contains(&cc.address) {
                let why = "in To/Cc of a first message that proves nothing of its sender: gets no answer until an agent adds them";
                tx.add_participant(number, cc, Role::Pending, why)?;
            } else {
                tx.add_participant(number, cc, Role::Cc, "in To/Cc of the first message")?;
            }
        }
        if o.cc_left_out > 0 {
            let why = format!(
                "{} more addresses in To/Cc not added: at most {} Cc participants",
                o.cc_left_out, d.max_participants
            );
            tx.add_event(number, "hilo", EventKind::ParticipantsCapped, Some(&why))?;
        }
        let acknowledged = match o.ack {
            Ack::No => false,
            Ack::Limited { why } => {
                info!(ticket = number, "{why}; not acknowledged");
                tx.add_event(number, "hilo", EventKind::AckSuppressed, Some(&why))?;
                false
            }
            Ack::Send { closed_before } => {
                let out = acknowledgement(AckInput {
                    desk: d,
                    tags: &m.desk.tags,
                    templates: &self.settings.templates,
                    signer: self.signer,
                    number,
                    address: &o.address,
                    ticket_subject: &o.subject,
                    msg,
                    new_text: m.new_text,
                    quote: o.quote,
                    now: self.now,
                    closed_before,
                    related: &o.related,
                    answers: &o.answers,
                    faq: d.faq.as_deref(),
                });
                let row = self.queue_or_event(
                    d,
                    number,
                    MessageKind::Ack,
                    out,
                    EventKind::AckSkipped,
                    Some(&msg.from.address),
                )?;
                if let Some(row) = row.filter(|_| !o.answers.is_empty()) {
                    let ids: Vec<&str> = o.answers.iter().map(|a| a.id.as_str()).collect();
                    tx.set_faq_sent(row, &ids)?;
                }
                row.is_some()
            }
        };
        let answers: &[crate::faq::Match] = if acknowledged { &o.answers } else { &[] };
        let how = notify::How::Opened {
            related: &o.related,
            answers,
        };
        self.notify(m, number, row, &o.notify, o.cc_left_out, how)?;
        Ok(Outcome::Opened {
            ticket: number,
            acknowledged,
        })
    }

    fn append(&self, m: &Message<'_>, a: Append) -> Result<Outcome, StoreError> {
        let tx = self.tx;
        let ticket = a.ticket;
        if let Some(from) = a.merge_from {
            // As the acknowledgement offered: the customer's word merges.
            match tx.merge(from, ticket, &m.msg.from.address, People::Stay)? {
                Ok(r) => info!(
                    from,
                    into = ticket,
                    messages = r.messages,
                    "merged at the customer's word"
                ),
                // Decided on what the store said a moment ago: only a
                // change in between refuses; the mail still lands here.
                Err(why) => {
                    warn!(from, into = ticket, "{why}");
                    tx.add_event(
                        ticket,
                        "hilo",
                        EventKind::MergeRefused,
                        Some(&why.to_string()),
                    )?;
                }
            }
        }
        let row = self.record(m, Some(ticket), a.kind, a.note.as_deref())?;
        if let Some(reason) = &a.bounce {
            tx.add_event(ticket, &m.msg.from.address, EventKind::Bounce, Some(reason))?;
        }
        tx.touch_ticket(ticket)?;
        if let Some(s) = a.status {
            tx.set_status(ticket, s, &m.msg.from.address)?;
        }
        if !a.confirm_pending.is_empty() {
            let pending = tx.ticket_info(ticket)?.pending;
            for who in a.confirm_pending.iter().filter(|w| pending.contains(w)) {
                let joined = "named by the requester's verified mail";
                if tx.add_participant(ticket, &Mailbox::new(who, None), Role::Cc, joined)? {
                    tx.add_event(
                        ticket,
                        &m.msg.from.address,
                        EventKind::ParticipantConfirmed,
                        Some(who),
                    )?;
                }
            }
        }
        if let Some(into) = a.merge_asked {
            let why =
                format!("asks to merge into ticket {into}: not authenticated, an agent confirms");
            tx.add_event(
                ticket,
                &m.msg.from.address,
                EventKind::MergeAsked,
                Some(&why),
            )?;
        }
        match a.receipt {
            Receipt::No => {}
            Receipt::Limited { why } => {
                info!(ticket, "{why}; no receipt");
                tx.add_event(ticket, "hilo", EventKind::ReceiptSuppressed, Some(&why))?;
            }
            Receipt::Send => {
                let d = &m.desk.cfg;
                let info = tx.ticket_info_for(ticket, std::slice::from_ref(&m.msg.from.address))?;
                let what = match a.merge_from {
                    _ if a.solved_by_faq => notify::ReceiptKind::Resolved,
                    Some(from) => notify::ReceiptKind::Merged { from },
                    None => notify::ReceiptKind::Added,
                };
                let out = notify::receipt(notify::ReceiptInput {
                    about: self.about(m, &info),
                    msg: m.msg,
                    what,
                });
                self.queue_or_event(
                    d,
                    ticket,
                    MessageKind::Receipt,
                    out,
                    EventKind::ReceiptFailed,
                    Some(&m.msg.from.address),
                )?;
            }
        }
        let how = match (&a.auto_linked, a.merge_from) {
            _ if a.solved_by_faq => notify::How::Solved,
            _ if a.merge_asked.is_some() => notify::How::MergeAsked {
                into: a.merge_asked.unwrap_or_default(),
            },
            (Some(r), _) => notify::How::AutoLinked(r),
            (None, Some(from)) => notify::How::Merged { from },
            (None, None) => notify::How::Reply,
        };
        self.notify(m, ticket, row, &a.notify, 0, how)?;
        Ok(Outcome::Appended { ticket })
    }

    fn answer(&self, m: &Message<'_>, a: Answer) -> Result<Outcome, StoreError> {
        let (tx, msg, d) = (self.tx, m.msg, &m.desk.cfg);
        let (mut ticket, agent) = (a.ticket, msg.from.address.as_str());
        // A merge or split first: the answer belongs where it leads.
        let mut moved = Vec::new();
        if let Some(into) = a.merge_into {
            match tx.merge(ticket, into, agent, People::Move)? {
                Ok(r) => {
                    info!(
                        from = ticket,
                        into,
                        messages = r.messages,
                        "merged by {agent}"
                    );
                    moved.push(relay::Moved::Merged {
                        from: ticket,
                        into,
                        messages: r.messages,
                        participants: r.participants,
                    });
                    self.tell_moved(m, ticket, into, notify::Moved::Merged { from: ticket })?;
                    ticket = into;
                }
                Err(why) => moved.push(relay::Moved::Refused(why.to_string())),
            }
        }
        if let Some(row) = a.split {
            let clean = |s: &str| m.desk.tags.clean_subject(s).into_owned();
            match tx.split(ticket, row, &clean, agent)? {
                Ok(r) => {
                    info!(
                        from = ticket,
                        into = r.into,
                        messages = r.messages,
                        "split by {agent}"
                    );
                    moved.push(relay::Moved::Split {
                        from: ticket,
                        into: r.into,
                        messages: r.messages,
                    });
                    let subject = tx.ticket_info(r.into)?.subject;
                    let what = notify::Moved::Split {
                        from: ticket,
                        subject: &subject,
                    };
                    self.tell_moved(m, ticket, r.into, what)?;
                    ticket = r.into;
                }
                Err(why) => moved.push(relay::Moved::Refused(why.to_string())),
            }
        }
        let kind = if a.internal {
            MessageKind::Note
        } else {
            MessageKind::Agent
        };
        let row = self.record(m, Some(ticket), kind, a.note)?;
        tx.add_participant(ticket, &msg.from, Role::Agent, "answered as an agent")?;
        tx.touch_ticket(ticket)?;
        if let Some(who) = a.answering.as_ref().filter(|_| a.join) {
            let joined = format!("wrote the message {agent} answered");
            if tx.add_participant(ticket, &who.author, Role::Cc, &joined)? {
                tx.add_event(
                    ticket,
                    agent,
                    EventKind::ParticipantAdded,
                    Some(&who.author.address),
                )?;
            }
        }
        for who in &a.add {
            let joined = format!("added by {agent}");
            if tx.add_participant(ticket, &Mailbox::new(who, None), Role::Cc, &joined)? {
                tx.add_event(ticket, agent, EventKind::ParticipantAdded, Some(who))?;
            }
        }
        for who in &a.remove {
            if tx.remove_participant(ticket, who)? {
                tx.add_event(ticket, agent, EventKind::ParticipantRemoved, Some(who))?;
            }
        }
        if let Some(held) = &a.held {
            warn!(ticket, "{}", held.why);
            tx.add_event(ticket, "hilo", EventKind::LoopBreaker, Some(&held.why))?;
            if held.alert {
                let info = tx.ticket_info(ticket)?;
                for to in &d.notify {
                    let out = notify::alert(self.about(m, &info), to, &held.why);
                    self.queue_or_event(
                        d,
                        ticket,
                        MessageKind::Notification,
                        out,
                        EventKind::NotifyFailed,
                        None,
                    )?;
                }
            }
        }
        self.notice(m, ticket, row, &a.notice)?;
        if let Some(who) = &a.assign {
            tx.set_assignee(ticket, who, agent)?;
        }
        if let Some(p) = &a.priority {
            tx.set_priority(ticket, *p, agent)?;
        }
        if let Some(due) = a.remind {
            let detail = format!("{} {agent}", crate::store::ts(due));
            tx.add_event(ticket, agent, EventKind::ReminderSet, Some(&detail))?;
        }
        if let Some(s) = a.status {
            tx.set_status(ticket, s, agent)?;
        }
        if a.relay.is_none() && !a.confirm {
            return Ok(Outcome::Appended { ticket });
        }
        let info = tx.ticket_info(ticket)?;
        if let Some(body) = &a.relay {
            self.relay(m, &a, &info, body)?;
        }
        if a.confirm {
            let out = relay::report(relay::ReportInput {
                about: self.about(m, &info),
                agent: &msg.from,
                answer: &a,
                moved: &moved,
            });
            // A report that cannot be composed is not worth an event.
            if let Ok(out) = out {
                self.queue(d, ticket, MessageKind::Report, &out, None)?;
            }
        }
        Ok(Outcome::Appended { ticket })
    }

    /// Tells the customer of an agent's merge (`old` into `now`) or split
    /// (`old` into the new `now`), once, in the thread they have: the
    /// merged ticket's requester, or the split message's author, who is
    /// the new ticket's requester.
    fn tell_moved(
        &self,
        m: &Message<'_>,
        old: i64,
        now: i64,
        what: notify::Moved<'_>,
    ) -> Result<(), StoreError> {
        let tx = self.tx;
        let who = match what {
            notify::Moved::Merged { .. } => tx.ticket_info(old)?.requester,
            notify::Moved::Split { .. } => tx.ticket_info(now)?.requester,
        };
        if m.desk.cfg.is_agent(&who.address) {
            return Ok(());
        }
        let rcpt = std::slice::from_ref(&who.address);
        let seen = tx.ticket_info_for(now, rcpt)?;
        let (in_reply_to, references) = match what {
            notify::Moved::Merged { .. } => {
                (seen.last_customer_id.clone(), seen.thread_refs.clone())
            }
            // Under the message split off, after the old thread.
            notify::Moved::Split { .. } => {
                let mut refs = tx.ticket_info_for(old, rcpt)?.thread_refs;
                refs.extend(seen.thread_refs.iter().take(1).cloned());
                (seen.thread_refs.first().cloned(), refs)
            }
        };
        let out = notify::moved(notify::MovedInput {
            about: self.about(m, &seen),
            to: &who,
            what,
            in_reply_to,
            references,
        });
        self.queue_or_event(
            &m.desk.cfg,
            now,
            MessageKind::Receipt,
            out,
            EventKind::ReceiptFailed,
            None,
        )?;
        Ok(())
    }

    /// Queues an agent's answer to its recipients. Each gets it threaded
    /// under the mail of the ticket they have: recipients who have seen the
    /// same mail (most tickets: everyone) share one copy; after a merge or
    /// split of other people's tickets, each view gets its own, with the
    /// same To and Cc, sent to that view's addresses only.
    fn relay(
        &self,
        m: &Message<'_>,
        a: &Answer,
        info: &crate::store::TicketInfo,
        body: &str,
    ) -> Result<(), StoreError> {
        let (tx, d) = (self.tx, &m.desk.cfg);
        let (ticket, agent) = (info.number, m.msg.from.address.as_str());
        let to = a
            .only
            .first()
            .cloned()
            .or_else(|| a.answering.as_ref().map(|w| w.author.address.clone()))
            .unwrap_or_else(|| info.requester.address.clone());
        let mut all = vec![to];
        if a.only.is_empty() {
            all.push(info.requester.address.clone());
            all.extend(info.cc.iter().filter(|c| !d.is_agent(c)).cloned());
        } else {
            all.extend(a.only.iter().cloned());
        }
        let mut unique: Vec<String> = Vec::new();
        for r in all {
            if !unique.contains(&r) {
                unique.push(r);
            }
        }
        // One copy under the mail they all have; when they have none in
        // common (other people's tickets merged, someone just added), one
        // per view, the addressee's first.
        let mut views: Vec<(crate::store::TicketInfo, Vec<String>)> = Vec::new();
        let shared = tx.ticket_info_for(ticket, &unique)?;
        if !shared.thread_refs.is_empty() || unique.len() == 1 {
            views.push((shared, unique.clone()));
        } else {
            for r in &unique {
                let seen = tx.ticket_info_for(ticket, std::slice::from_ref(r))?;
                match views
                    .iter_mut()
                    .find(|(v, _)| v.thread_refs == seen.thread_refs)
                {
                    Some((_, who)) => who.push(r.clone()),
                    None => views.push((seen, vec![r.clone()])),
                }
            }
        }
        let whole = views.len() == 1;
        for (seen, who) in &views {
            let out = relay::relay(relay::RelayInput {
                about: self.about(m, seen),
                agent: &m.msg.from,
                body,
                signature: a.signature.as_deref(),
                answering: a.answering.as_ref(),
                only: &a.only,
                // A held answer goes without this mail's attachments.
                attachments: if a.release.is_some() {
                    &[]
                } else {
                    &m.msg.attachments
                },
            });
            let out = match out {
                Ok(out) => out,
                Err(e) => {
                    let why = crate::report(&e).to_string();
                    warn!(ticket, error = %why, "no relay");
                    tx.add_event(ticket, "hilo", EventKind::RelayFailed, Some(&why))?;
                    return Ok(());
                }
            };
            let q = crate::store::Queued {
                desk: &d.name,
                envelope_from: &out.draft.from.address,
                ticket: Some(ticket),
                kind: MessageKind::Relay,
                expire_after: self.settings.expire_after,
                rate_key: None,
                about: None,
                envelope: (!whole).then_some(who.as_slice()),
            };
            tx.queue_outgoing(&q, &out)?;
        }
        info!(ticket, agent = %agent, copies = views.len(), "agent reply relayed to the customer");
        if let Some(held) = a.release {
            tx.release(held)?;
            tx.add_event(
                ticket,
                agent,
                EventKind::HeldAnswerSent,
                Some(&format!("message {held}")),
            )?;
        }
        Ok(())
    }

    /// Tells the agent who wrote `m` (stored as row `about`) that their
    /// answer was not sent, as the plan says.
    fn notice(
        &self,
        m: &Message<'_>,
        ticket: i64,
        about: i64,
        notice: &Notice,
    ) -> Result<(), StoreError> {
        let why = match notice {
            Notice::No => return Ok(()),
            Notice::Limited { why } => {
                info!(ticket, "{why}; the agent is not told");
                return self
                    .tx
                    .add_event(ticket, "hilo", EventKind::NoticeSuppressed, Some(why));
            }
            Notice::Send(why) => *why,
        };
        let info = self.tx.ticket_info(ticket)?;
        let out = relay::notice(relay::NoticeInput {
            about: self.about(m, &info),
            agent: &m.msg.from,
            why,
            text: m.new_text,
            their_id: m.msg.message_id.as_deref(),
        });
        let d = &m.desk.cfg;
        match out {
            Ok(out) => {
                let cause = Some(m.msg.from.address.as_str());
                self.queue_about(d, ticket, MessageKind::Notice, &out, cause, Some(about))?;
            }
            Err(e) => {
                let why = crate::report(&e).to_string();
                self.tx
                    .add_event(ticket, "hilo", EventKind::NoticeFailed, Some(&why))?;
            }
        }
        Ok(())
    }

    /// Notifies the desk's agents of a customer's message (stored as row
    /// `about`) on `ticket`, as the plan says; `cc_left_out` recipients
    /// were not made participants.
    fn notify(
        &self,
        m: &Message<'_>,
        ticket: i64,
        about: i64,
        notify: &Notify,
        cc_left_out: usize,
        how: notify::How<'_>,
    ) -> Result<(), StoreError> {
        let d = &m.desk.cfg;
        match notify {
            Notify::No => return Ok(()),
            Notify::Limited { why } => {
                info!(ticket, "{why}; agents not notified");
                return self
                    .tx
                    .add_event(ticket, "hilo", EventKind::NotifySuppressed, Some(why));
            }
            Notify::Yes => {}
        }
        let info = self.tx.ticket_info(ticket)?;
        // One copy per notify address, each with its own signed id: an
        // agent's reply proves only the recipient its copy went to. Only
        // the first counts against the sender's notification limit.
        for (k, to) in d.notify.iter().enumerate() {
            let out = notify::notification(notify::NotifyInput {
                about: self.about(m, &info),
                from: &m.msg.from,
                subject: &m.msg.subject,
                new_text: m.new_text,
                signature: m.msg.signature.as_deref(),
                attachments: &m.msg.attachments,
                cc_left_out,
                to,
                how,
            });
            match out {
                Ok(out) => {
                    let cause = Some(m.msg.from.address.as_str()).filter(|_| k == 0);
                    let kind = MessageKind::Notification;
                    self.queue_about(d, ticket, kind, &out, cause, Some(about))?;
                }
                Err(e) => {
                    let why = crate::report(&e).to_string();
                    warn!(ticket, error = %why, "no notification");
                    self.tx
                        .add_event(ticket, "hilo", EventKind::NotifyFailed, Some(&why))?;
                    break;
                }
            }
        }
        Ok(())
    }

    /// Queues a composed mail (see [`Writer::queue`]); one that could not
    /// be composed is an event (`event`) on the ticket instead. True when
    /// queued.
    pub(crate) fn queue_or_event(
        &self,
        d: &DeskConfig,
        ticket: i64,
        kind: MessageKind,
        out: Result<Outgoing, ComposeError>,
        event: EventKind,
        cause: Option<&str>,
    ) -> Result<Option<i64>, StoreError> {
        match out {
            Ok(out) => Ok(Some(self.queue_about(d, ticket, kind, &out, cause, None)?)),
            Err(e) => {
                let why = crate::report(&e).to_string();
                warn!(ticket, error = %why, "no {}", kind.as_str());
                self.tx.add_event(ticket, "hilo", event, Some(&why))?;
                Ok(None)
            }
        }
    }

    /// Stores an outgoing mail on its ticket and queues it for sending;
    /// without bytes yet, its draft is stored for the sender to compose.
    /// `cause` is the address of the person whose mail caused it (the
    /// customer an acknowledgement answers or a notification is about):
    /// rate limits count per person.
    pub fn queue(
        &self,
        d: &DeskConfig,
        ticket: i64,
        kind: MessageKind,
        out: &Outgoing,
        cause: Option<&str>,
    ) -> Result<(), StoreError> {
        self.queue_about(d, ticket, kind, out, cause, None)
            .map(drop)
    }

    /// [`Writer::queue`], for a mail about the received message `about`;
    /// returns the stored message's row.
    fn queue_about(
        &self,
        d: &DeskConfig,
        ticket: i64,
        kind: MessageKind,
        out: &Outgoing,
        cause: Option<&str>,
        about: Option<i64>,
    ) -> Result<i64, StoreError> {
        let rate_key = cause.map(crate::mail::rate_key);
        let q = crate::store::Queued {
            desk: &d.name,
            envelope_from: &out.draft.from.address,
            ticket: Some(ticket),
            kind,
            expire_after: self.settings.expire_after,
            rate_key: rate_key.as_deref(),
            about,
            envelope: None,
        };
        self.tx.queue_outgoing(&q, out)
    }

    /// Stores the received message with the kind and note the plan gives it.
    fn record(
        &self,
        m: &Message<'_>,
        ticket: Option<i64>,
        kind: MessageKind,
        note: Option<&str>,
    ) -> Result<i64, StoreError> {
        let (tx, msg) = (self.tx, m.msg);
        let note = note.or(m.item.note.as_deref()).or(msg.from_note.as_deref());
        let id = tx.insert_message(&NewMessage {
            ticket,
            desk: &m.desk.cfg.name,
            direction: Direction::In,
            kind,
            dedup_key: m.key.to_string(),
            message_id: msg.message_id.as_deref(),
            in_reply_to: &msg.in_reply_to,
            references: &msg.references,
            from: &msg.from,
            to: msg.to.iter().map(|m| m.address.as_str()).collect(),
            cc: msg.cc.iter().map(|m| m.address.as_str()).collect(),
            subject: &msg.subject,
            date: msg.date.map(crate::store::ts),
            text: m.text,
            new_text: Some(m.new_text),
            thread_root: msg.thread_root.as_deref(),
            note,
            raw: &m.item.raw,
            draft: None,
            folder: m.folder,
            uid: m.item.uid,
            about: None,
        })?;
        for a in &msg.attachments {
            tx.insert_attachment(id, a)?;
        }
        Ok(id)
    }
}
