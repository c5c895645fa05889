//! A customer's mail: open or append, related tickets, the reopen window,
//! merges a customer asks for, receipts for mail outside the thread.

use super::*;

/// The requester's open tickets on this desk, most similar to this mail
/// first (ties: the most recent), at most [`MAX_RELATED`].
pub(super) fn related<L: Lookup>(i: &Input<'_>, lookup: &L) -> Result<Vec<Related>, L::Error> {
    let open = lookup.open_tickets(&i.desk.cfg.name, &i.msg.from.address)?;
    if open.is_empty() {
        return Ok(Vec::new());
    }
    let subject = i.desk.tags.clean_subject(&i.msg.subject);
    let mine = crate::text::stems(&format!("{subject}\n{}", i.new_text));
    let mut out: Vec<Related> = open
        .into_iter()
        .map(|t| {
            let theirs = crate::text::stems(&format!("{}\n{}", t.subject, t.text));
            Related {
                number: t.number,
                subject: t.subject,
                status: t.status,
                created_at: t.created_at,
                score: (crate::text::jaccard(&mine, &theirs) * 1000.0).round() as u32,
            }
        })
        .collect();
    out.sort_by(|a, b| b.score.cmp(&a.score).then(b.number.cmp(&a.number)));
    out.truncate(MAX_RELATED);
    Ok(out)
}

/// With `auto_link_duplicates`, the open ticket a new mail joins: the most
/// similar, when at least `auto_link_threshold` and changed within
/// `auto_link_window`. Never for old mail being imported.
pub(super) fn auto_link(i: &Input<'_>, related: &[Related]) -> Option<Related> {
    let d = &i.desk.cfg;
    if !d.auto_link_duplicates || i.backlog {
        return None;
    }
    let best = related.first()?;
    let threshold = (d.auto_link_threshold * 1000.0).round() as u32;
    (best.score >= threshold && changed_within(best, i, d.auto_link_window)).then(|| best.clone())
}

/// Whether `t` was opened within `window` of now: a ticket opened long ago
/// and still open is no fresh duplicate.
pub(super) fn changed_within(t: &Related, i: &Input<'_>, window: std::time::Duration) -> bool {
    t.created_at >= since(i.now, window)
}

/// A short reply saying it is solved (`resolved_phrases`) to an
/// acknowledgement that carried knowledge-file answers, on a ticket no
/// agent has answered yet (new or open).
pub(super) fn solved_by_faq<L: Lookup>(
    i: &Input<'_>,
    lookup: &L,
    ticket: &TicketRef,
    via: Via,
) -> Result<bool, L::Error> {
    if via != Via::SignedHeader
        || !matches!(ticket.status, Status::New | Status::Open)
        || !crate::faq::says_resolved(i.new_text, &i.desk.cfg.resolved_phrases)
    {
        return Ok(false);
    }
    // Only the requester (agents resolve with their own commands): a Cc
    // participant may not close someone else's request.
    let open = lookup.open_tickets(&i.desk.cfg.name, &i.msg.from.address)?;
    if !open.iter().any(|t| t.number == ticket.number) {
        return Ok(false);
    }
    let acks = lookup.faq_acks(ticket.number)?;
    Ok(i.msg
        .referenced_ids()
        .iter()
        .any(|id| acks.iter().any(|a| a == id)))
}

/// The requester of a new ticket answering its acknowledgement and naming
/// another of their open tickets ("es sobre SOP-41"), as the
/// acknowledgement invites: that ticket, which this one merges into.
/// Only while nobody has acted on the new ticket (status `new`).
pub(super) fn customer_merge<L: Lookup>(
    i: &Input<'_>,
    lookup: &L,
    ticket: &TicketRef,
    via: Via,
) -> Result<Option<Related>, L::Error> {
    if via != Via::SignedHeader || ticket.status != Status::New || i.backlog {
        return Ok(None);
    }
    let named = i.desk.tags.find_in_text(i.new_text);
    if named.iter().all(|n| *n == ticket.number) {
        return Ok(None);
    }
    let open = lookup.open_tickets(&i.desk.cfg.name, &i.msg.from.address)?;
    if !open.iter().any(|t| t.number == ticket.number) {
        return Ok(None); // not the requester of the new ticket
    }
    Ok(named.iter().find_map(|n| {
        open.iter()
            .find(|t| t.number == *n && t.number != ticket.number)
            .map(|t| Related {
                number: t.number,
                subject: t.subject.clone(),
                status: t.status,
                created_at: t.created_at,
                score: 0,
            })
    }))
}

/// A new ticket; `closed_before` is the long-closed one it follows.
pub(super) fn open<L: Lookup>(
    i: &Input<'_>,
    lookup: &L,
    linked_to: Option<i64>,
    closed_before: Option<i64>,
    related: Vec<Related>,
) -> Result<Step, L::Error> {
    let (msg, d) = (i.msg, &i.desk.cfg);
    let cleaned = i.desk.tags.clean_subject(&msg.subject);
    let subject = match cleaned.as_ref() {
        "" => "(no subject)".to_string(),
        s => s.to_string(),
    };
    let mut cc: Vec<Mailbox> = Vec::new();
    let mut cc_left_out = 0;
    for m in msg.to.iter().chain(&msg.cc) {
        let ours = crate::mail::is_own(i.own_addresses, &m.address)
            || d.comment_address.as_deref() == Some(&m.address);
        if ours || m.address == msg.from.address || cc.iter().any(|c| c.address == m.address) {
            continue;
        }
        if cc.len() < d.max_participants as usize {
            cc.push(m.clone());
        } else {
            cc_left_out += 1;
        }
    }
    let verified = verified_sender(i);
    let domain = |a: &str| a.rsplit_once('@').map(|(_, d)| d.to_string());
    let pending = cc
        .iter()
        .filter(|m| !verified && domain(&m.address) != domain(&msg.from.address))
        .map(|m| m.address.clone())
        .collect();
    let ack = if !i.class.may_autoreply || i.backlog {
        Ack::No
    } else {
        let (max, window) = (d.max_autoreplies, d.autoreply_window);
        match over_limit(
            i,
            lookup,
            MessageKind::Ack,
            max,
            window,
            "acknowledgements to",
        )? {
            Some(why) => Ack::Limited { why },
            None => Ack::Send { closed_before },
        }
    };
    let address = d
        .address_for(msg.to.iter().chain(&msg.cc).map(|m| m.address.as_str()))
        .to_string();
    // Answers from the knowledge file ride on the acknowledgement only,
    // within a size, and a few a day to a sender nothing proves.
    let answers = match (&d.faq, &ack) {
        (Some(faq), Ack::Send { .. }) if answers_allowed(i, lookup, verified)? => {
            let mut m = faq.matches(
                &format!("{cleaned}\n{}", i.new_text),
                d.faq_threshold,
                d.faq_max_answers as usize,
            );
            let mut total = 0;
            m.retain(|a| {
                let n = faq.entry(&a.id).map_or(0, |e| e.answer.chars().count());
                total += n;
                total == n || total <= crate::faq::MAX_ACK_ANSWER_CHARS
            });
            m
        }
        _ => Vec::new(),
    };
    Ok(Step::Open(Open {
        subject,
        address,
        linked_to,
        cc,
        cc_left_out,
        pending,
        quote: match d.ack_quote {
            AckQuote::Always => true,
            AckQuote::Never => false,
            AckQuote::Known => verified || lookup.wrote_before(&d.name, &msg.from.address)?,
        },
        related,
        answers,
        ack,
        notify: notifies(i, lookup)?,
    }))
}

/// A customer's mail that joined a ticket other than the one its thread
/// leads to (by the ticket's tag, by similarity, by naming it in answer to
/// an acknowledgement): they were told a new mail opens a new ticket, so
/// they hear where it went.
/// At most `max_autoreplies` per sender and `autoreply_window`.
pub(super) fn receipt<L: Lookup>(
    i: &Input<'_>,
    lookup: &L,
    outside: bool,
) -> Result<Receipt, L::Error> {
    let d = &i.desk.cfg;
    if !outside || !i.class.may_autoreply || i.backlog {
        return Ok(Receipt::No);
    }
    let (max, window) = (d.max_autoreplies, d.autoreply_window);
    Ok(
        match over_limit(i, lookup, MessageKind::Receipt, max, window, "receipts to")? {
            Some(why) => Receipt::Limited { why },
            None => Receipt::Send,
        },
    )
}

pub(super) fn reopenable(t: &TicketRef, i: &Input<'_>) -> bool {
    let Some(closed) = t.closed_at else {
        return true; // closed before hilo recorded when: give the customer the benefit
    };
    let age = i.now.signed_duration_since(closed);
    age.to_std()
        .map_or(true, |a| a <= i.desk.cfg.reopen_after_close)
}

/// A customer writing again puts the ticket back in the agents' court.
pub(super) fn customer_reply_status(s: Status) -> Option<Status> {
    match s {
        Status::New | Status::Open => None,
        Status::Pending | Status::Resolved | Status::Closed => Some(Status::Open),
    }
}

/// Does our receiving server's verdict prove the From address's domain
/// wrote this mail (DKIM or DMARC, see [`super::agent`])? Without
/// `authserv_ids`, nothing is ever verified.
pub(super) fn verified_sender(i: &Input<'_>) -> bool {
    crate::pipeline::agent::authenticated(i.msg, trusted(&i.desk.cfg), &i.msg.from.address)
}

/// The first ticket of this desk that the subject, else the body, names.
pub(super) fn named_ticket<L: Lookup>(i: &Input<'_>, lookup: &L) -> Result<Option<i64>, L::Error> {
    let tags = &i.desk.tags;
    let named = tags
        .find(&i.msg.subject)
        .into_iter()
        .chain(tags.find_in_text(&i.msg.text));
    for n in named {
        if let Some(t) =
            crate::pipeline::thread::current(lookup, n)?.filter(|t| t.desk == i.desk.cfg.name)
        {
            return Ok(Some(t.number));
        }
    }
    Ok(None)
}
