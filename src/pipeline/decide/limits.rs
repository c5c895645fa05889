//! The rate limits: acknowledgements, knowledge-file answers,
//! notifications and receipts per person and window.

use super::*;

/// May this sender's acknowledgement carry answers? Always when their
/// mail is verified; else at most [`crate::faq::UNVERIFIED_ANSWERS_PER_DAY`]
/// such acknowledgements per 24 hours.
pub(super) fn answers_allowed<L: Lookup>(
    i: &Input<'_>,
    lookup: &L,
    verified: bool,
) -> Result<bool, L::Error> {
    if verified {
        return Ok(true);
    }
    let day = since(i.now, std::time::Duration::from_secs(24 * 3600));
    let key = crate::mail::rate_key(&i.msg.from.address);
    Ok(lookup.faq_acks_caused_since(&i.desk.cfg.name, &key, day)?
        < crate::faq::UNVERIFIED_ANSWERS_PER_DAY)
}

/// Mail of `kind` this message's sender (by rate key) caused within `window`.
pub(super) fn caused<L: Lookup>(
    i: &Input<'_>,
    lookup: &L,
    kind: MessageKind,
    window: std::time::Duration,
) -> Result<u32, L::Error> {
    lookup.caused_since(
        &i.desk.cfg.name,
        kind,
        &crate::mail::rate_key(&i.msg.from.address),
        since(i.now, window),
    )
}

/// `now` less `window`, saturating.
pub(super) fn since(now: DateTime<Utc>, window: std::time::Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(window)
        .ok()
        .and_then(|w| now.checked_sub_signed(w))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Customers' new mail is notified to the desk's agents, except old mail,
/// and at most `max_notifications` per sender and `notify_window`.
pub(super) fn notifies<L: Lookup>(i: &Input<'_>, lookup: &L) -> Result<Notify, L::Error> {
    let d = &i.desk.cfg;
    if i.backlog || d.notify.is_empty() {
        return Ok(Notify::No);
    }
    let (max, window) = (d.max_notifications, d.notify_window);
    let what = "notifications about mail from";
    Ok(
        match over_limit(i, lookup, MessageKind::Notification, max, window, what)? {
            Some(why) => Notify::Limited { why },
            None => Notify::Yes,
        },
    )
}

/// Why the sender's limit of `max` mails of `kind` per `window` is
/// reached, if it is.
pub(super) fn over_limit<L: Lookup>(
    i: &Input<'_>,
    lookup: &L,
    kind: MessageKind,
    max: u32,
    window: std::time::Duration,
    what: &str,
) -> Result<Option<String>, L::Error> {
    let recent = caused(i, lookup, kind, window)?;
    Ok((recent >= max).then(|| {
        format!(
            "rate limit: {recent} {what} {} within {}",
            crate::mail::rate_key(&i.msg.from.address),
            humantime::format_duration(window)
        )
    }))
}
