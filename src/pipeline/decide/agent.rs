//! An agent's mail: proof of origin, commands and their refusals, the
//! answer's relay, the loop breaker's hold and the notice of an answer
//! not sent.

use super::*;

/// An agent's mail. `None` when it concerns no ticket. A From header can
/// be forged: only a reply to our signed mail to the agents, or (with
/// `agent_trust = "authenticated"`) the receiving server's verdict for the
/// agent's domain, lets it speak for the desk.
pub(super) fn agent<L: Lookup>(i: &Input<'_>, lookup: &L) -> Result<Option<Step>, L::Error> {
    let (msg, d) = (i.msg, &i.desk.cfg);
    let authenticated = d.agent_trust == AgentTrust::Authenticated
        && crate::pipeline::agent::authenticated(msg, trusted(d), &msg.from.address);
    let number = match i.thread {
        Thread::Existing { ticket, .. } => ticket.number,
        // A ticket the mail names by its tag (agents are seldom participants).
        Thread::New { .. } => match named_ticket(i, lookup)? {
            Some(n) => n,
            None => return Ok(None),
        },
    };
    // A signed id proves only for whom it was sent to: the agent it was
    // addressed to, or any agent when it went to a list or alias the desk
    // names in `notify_lists`.
    let mut signed_reply = false;
    for id in msg.referenced_ids() {
        // Ours, and (below) stored on this ticket now: a merge or split
        // moves our notifications with the messages they are about.
        if i.signer.verify(id).is_none() {
            continue;
        }
        if let Some(rcpts) = lookup.agent_mail_recipients(number, id)? {
            if rcpts
                .iter()
                .any(|r| *r == msg.from.address || d.notify_lists.contains(r))
            {
                signed_reply = true;
                break;
            }
        }
    }
    if !(signed_reply || authenticated) {
        // Never silently: the agent is told at the From address, which is
        // an agent's (a forger never reads it), and may confirm.
        let notice = notice(i, lookup, Unheard::NoProof)?;
        return Ok(Some(Step::Unverified {
            ticket: number,
            notice,
        }));
    }

    let cmds = commands::parse(i.new_text);
    let recipients = || msg.to.iter().chain(&msg.cc);
    let to_comment = d
        .comment_address
        .as_deref()
        .is_some_and(|c| recipients().any(|m| m.address == c));
    let internal = cmds.internal || to_comment;
    // Written to the customer directly, with the desk in Cc: they have it already.
    let customers = lookup.customer_addresses(number)?;
    let direct = recipients().any(|m| customers.contains(&m.address));
    // Those the agent left out of a group reply still get the answer, once.
    let addressed: Vec<&str> = recipients().map(|m| m.address.as_str()).collect();
    let left_out: Vec<String> = if direct {
        customers
            .iter()
            .filter(|c| !addressed.contains(&c.as_str()))
            .cloned()
            .collect()
    } else {
        Vec::new()
    };
    let direct_to: Vec<String> = if direct {
        customers
            .iter()
            .filter(|c| addressed.contains(&c.as_str()))
            .cloned()
            .collect()
    } else {
        Vec::new()
    };
    let note = match (internal, direct, left_out.is_empty()) {
        (true, _, _) => Some("internal note"),
        (false, true, true) => Some("written to the customer directly: not relayed again"),
        (false, true, false) => {
            Some("written to some participants directly: relayed to the others only")
        }
        _ => None,
    };
    let status = answer_status(cmds.status, internal);
    let confirm = cmds.internal
        || cmds.merge.is_some()
        || cmds.split
        || cmds.status.is_some()
        || cmds.assign.is_some()
        || cmds.priority.is_some()
        || cmds.remind.is_some()
        || !cmds.add.is_empty()
        || !cmds.remove.is_empty()
        || !cmds.unknown.is_empty()
        || cmds.send
        || (direct && !internal);
    let partial = direct && !left_out.is_empty();
    let mut relay =
        (!internal && (!direct || partial) && !cmds.body.is_empty()).then_some(cmds.body);
    let mut held = None;
    if relay.is_some() {
        // The loop breaker: answers this fast are a machine's, whatever
        // their headers say (two out-of-office replies answering each other
        // through us).
        let from = since(i.now, d.loop_window);
        let recent = lookup.relays_since(number, from)?;
        if recent >= d.loop_max_relays {
            relay = None;
            held = Some(Held {
                why: format!(
                    "loop breaker: {recent} relays on this ticket within {}; not relayed",
                    humantime::format_duration(d.loop_window)
                ),
                alert: !lookup.event_since(number, EventKind::LoopBreaker, from)?,
            });
        }
    }
    let notice = match held {
        Some(_) => notice(i, lookup, Unheard::LoopBreaker)?,
        None => Notice::No,
    };
    let mut refused = Vec::new();
    // `#enviar` in answer to our notice: the answer held then, as written,
    // once (the agent's word is proof and the loop breaker's hold lifted).
    let mut release = None;
    let mut only = if partial { left_out } else { Vec::new() };
    if cmds.send {
        match lookup.held_answer(number, &msg.referenced_ids())? {
            Some(h) => {
                let body = commands::parse(&h.text).body;
                if body.is_empty() {
                    refused.push("#enviar: the answer held has no text to send".to_string());
                } else {
                    relay = Some(body);
                    release = Some(h.message);
                    only.clear();
                }
            }
            None => refused.push(
                "#enviar: reply to hilo's notice of an answer not sent (this one was sent already, or the notice went to someone else)"
                    .to_string(),
            ),
        }
    }
    // The answer goes to the author of the message answered (a colleague
    // the customer forwarded our mail to, say), who joins the ticket: the
    // agent chose to answer them. Never to an agent or to ourselves.
    let mut answering = None;
    let mut join = false;
    let answered = if relay.is_some() || cmds.split {
        lookup.answered(number, &msg.referenced_ids())?
    } else {
        None
    };
    let split = match (&answered, cmds.split, &cmds.merge) {
        (_, false, _) => None,
        (_, true, Some(_)) => {
            refused.push("#separar: one of #fusionar and #separar at a time".to_string());
            None
        }
        (Some(a), true, None) => Some(a.message),
        (None, true, None) => {
            refused.push(
                "#separar: reply to the notification of the customer's message that starts the new topic"
                    .to_string(),
            );
            None
        }
    };
    if relay.is_some() && release.is_none() {
        answering = answered.filter(|a| {
            !d.is_agent(&a.author.address)
                && !crate::mail::is_own(i.own_addresses, &a.author.address)
        });
        join = answering
            .as_ref()
            .is_some_and(|a| !customers.contains(&a.author.address));
    }
    let merge_into = match &cmds.merge {
        None => None,
        Some(arg) => match merge_target(i, lookup, number, arg)? {
            Ok(n) => Some(n),
            Err(why) => {
                refused.push(format!("#fusionar {arg}: {why}"));
                None
            }
        },
    };
    // Never one of our own addresses (a relay to ourselves is a loop), and
    // no more Cc participants than `max_participants` allows.
    let mut add = Vec::new();
    let mut room = (d.max_participants as usize)
        .saturating_sub(lookup.cc_participants(number)? as usize)
        .saturating_sub(usize::from(join))
        + cmds.remove.len();
    for a in cmds.add {
        if crate::mail::is_own(i.own_addresses, &a) {
            refused.push(format!("#añadir {a}: an address of this desk"));
        } else if customers.contains(&a) {
            continue; // already receives the answers
        } else if room == 0 {
            refused.push(format!(
                "#añadir {a}: the ticket has its {} Cc participants (max_participants)",
                d.max_participants
            ));
        } else {
            room -= 1;
            add.push(a);
        }
    }
    let signature = relay
        .as_ref()
        .and_then(|_| relay_signature(d, msg.signature.as_deref()));
    Ok(Some(Step::Answer(Box::new(Answer {
        ticket: number,
        internal,
        note,
        assign: cmds.assign,
        priority: cmds.priority,
        status,
        relay,
        held,
        add,
        remove: cmds.remove,
        unknown: cmds.unknown,
        answering,
        join,
        signature,
        confirm,
        merge_into,
        split,
        remind: cmds
            .remind
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .map(|d| i.now + d),
        refused,
        notice,
        release,
        only,
        direct_to,
    }))))
}

/// Where our receiving server's verdicts may be read, for desk `d`.
pub(super) fn trusted(d: &crate::config::DeskConfig) -> crate::pipeline::agent::Trusted<'_> {
    crate::pipeline::agent::Trusted {
        authserv_ids: &d.authserv_ids,
        receiving_hosts: &d.receiving_hosts,
    }
}

/// Whether the agent who wrote this mail hears that it was not sent: not
/// for old mail, and at most `max_notifications` notices per address and
/// `notify_window`.
pub(super) fn notice<L: Lookup>(
    i: &Input<'_>,
    lookup: &L,
    why: Unheard,
) -> Result<Notice, L::Error> {
    let d = &i.desk.cfg;
    if i.backlog {
        return Ok(Notice::No);
    }
    let (max, window) = (d.max_notifications, d.notify_window);
    Ok(
        match over_limit(i, lookup, MessageKind::Notice, max, window, "notices to")? {
            Some(why) => Notice::Limited { why },
            None => Notice::Send(why),
        },
    )
}

/// The ticket `#fusionar ARG` names: `SOP-41`, `[SOP-41]` or `41`, of this
/// desk, now (a merged one stands for its target), other than `number`.
pub(super) fn merge_target<L: Lookup>(
    i: &Input<'_>,
    lookup: &L,
    number: i64,
    arg: &str,
) -> Result<Result<i64, String>, L::Error> {
    let bare = arg.trim_matches(['[', ']', '#']);
    let named = match bare.parse::<i64>() {
        Ok(n) => Some(n),
        Err(_) => i.desk.tags.find(&format!("[{bare}]")),
    };
    let Some(n) = named else {
        return Ok(Err(format!(
            "not a ticket of this desk (write {})",
            i.desk.tags.format(41)
        )));
    };
    // The target a merge leads to, by the one rule of what may merge.
    let (Some(from), Some(into)) = (
        lookup.ticket(number)?,
        crate::pipeline::thread::current(lookup, n)?,
    ) else {
        return Ok(Err(hilo_domain::Refusal::NoSuchTicket(n).to_string()));
    };
    Ok(match hilo_domain::may_merge(&from, &into) {
        Ok(()) => Ok(into.number),
        Err(why) => Err(why.to_string()),
    })
}

/// The status an agent's answer leaves the ticket in: the one commanded,
/// else waiting for the customer; a note changes nothing. The same for a
/// mail reply and `hilo tickets reply`.
pub fn answer_status(commanded: Option<Status>, internal: bool) -> Option<Status> {
    match (commanded, internal) {
        (Some(s), _) => Some(s),
        (None, false) => Some(Status::Pending),
        (None, true) => None,
    }
}

/// The signature relayed below an answer (`relay_signature`): the agent's
/// own (`agent`, none for an answer typed at the command line) or the
/// desk's.
pub fn relay_signature(d: &crate::config::DeskConfig, agents: Option<&str>) -> Option<String> {
    match d.relay_signature {
        RelaySignature::Agent => agents.map(str::to_string),
        RelaySignature::Desk => Some(d.signature.trim().to_string()).filter(|s| !s.is_empty()),
    }
}
