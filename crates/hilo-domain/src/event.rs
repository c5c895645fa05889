//! What happened to a ticket, as recorded in `events.kind`.

stored_text! {
    /// An event on a ticket. The text is what `hilo tickets show` prints
    /// and what older databases hold, so a name never changes.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
    #[serde(rename_all = "snake_case")]
    pub enum EventKind {
        /// The ticket was opened.
        Created = "created",
        Status = "status",
        Priority = "priority",
        Assign = "assign",
        ParticipantAdded = "participant_added",
        ParticipantRemoved = "participant_removed",
        /// A pending participant joined: the requester's proven mail named them.
        ParticipantConfirmed = "participant_confirmed",
        /// Mail from an agent's address that nothing proves the agent wrote.
        UnverifiedAgentMail = "unverified_agent_mail",
        /// A first mail's Cc list was longer than the cap.
        ParticipantsCapped = "participants_capped",
        /// The acknowledgement's rate limit was reached.
        AckSuppressed = "ack_suppressed",
        /// The acknowledgement could not be composed.
        AckSkipped = "ack_skipped",
        MergeRefused = "merge_refused",
        /// A customer asked for a merge that needs an agent's `#fusionar`.
        MergeAsked = "merge_asked",
        /// A delivery report for the ticket's mail.
        Bounce = "bounce",
        ReceiptSuppressed = "receipt_suppressed",
        ReceiptFailed = "receipt_failed",
        /// The loop breaker held a relay back.
        LoopBreaker = "loop_breaker",
        RelayFailed = "relay_failed",
        /// An agent's `#enviar` sent an answer that was held.
        HeldAnswerSent = "held_answer_sent",
        NoticeSuppressed = "notice_suppressed",
        NoticeFailed = "notice_failed",
        NotifySuppressed = "notify_suppressed",
        NotifyFailed = "notify_failed",
        Merged = "merged",
        MergedFrom = "merged_from",
        Unmerged = "unmerged",
        Split = "split",
        SplitFrom = "split_from",
        /// A note written with `hilo tickets note`.
        Note = "note",
        /// An answer written with `hilo tickets reply`.
        Reply = "agent",
        /// A service-level clock reached its warning point; the detail
        /// names the clock (`first_response 2026-…Z`: which, and since when).
        SlaWarning = "sla_warning",
        /// A service-level clock went past its target; detail as above.
        SlaBreach = "sla_breach",
        /// A step of a ticket waiting on its customer: a reminder, or the
        /// close (`remind 1 <since>`, `close <since>`).
        PendingStep = "pending_step",
        /// An agent's `#recordar`: the detail is when and for whom
        /// (`2026-12-03T10:00:00.000Z eva@example.com`).
        ReminderSet = "reminder_set",
        /// That reminder went out; the same detail.
        ReminderSent = "reminder_sent",
    }
}

#[cfg(test)]
mod tests {
    use super::EventKind;

    #[test]
    fn every_event_kind_round_trips_and_no_two_share_a_text() {
        let mut seen = std::collections::HashSet::new();
        for &k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
            assert!(seen.insert(k.as_str()), "{k} twice");
        }
    }
}
