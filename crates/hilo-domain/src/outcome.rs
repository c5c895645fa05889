//! What became of received mail: one message as fetched, its outcome, and
//! a batch's tally.

/// One received message, as fetched.
#[derive(Debug, Clone)]
pub struct Received {
    pub uid: Option<u32>,
    pub raw: Vec<u8>,
    /// Old mail being imported: tickets, but no acknowledgements.
    pub backlog: bool,
    /// Why `raw` is not the whole message (e.g. only the headers of an
    /// oversized one); recorded with it.
    pub note: Option<String>,
}

impl Received {
    pub fn new(uid: Option<u32>, raw: Vec<u8>) -> Received {
        Received {
            uid,
            raw,
            backlog: false,
            note: None,
        }
    }
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Opened {
        ticket: i64,
        acknowledged: bool,
    },
    Appended {
        ticket: i64,
    },
    SetAside {
        kind: crate::MessageKind,
        reason: &'static str,
    },
    Duplicate,
    Quarantined {
        id: i64,
        reason: String,
    },
}

/// Counts of outcomes, for logs and summaries.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub fetched: usize,
    pub opened: usize,
    pub appended: usize,
    pub set_aside: usize,
    pub duplicates: usize,
    pub quarantined: usize,
}

impl Tally {
    pub fn add(&mut self, o: &Outcome) {
        self.fetched += 1;
        match o {
            Outcome::Opened { .. } => self.opened += 1,
            Outcome::Appended { .. } => self.appended += 1,
            Outcome::SetAside { .. } => self.set_aside += 1,
            Outcome::Duplicate => self.duplicates += 1,
            Outcome::Quarantined { .. } => self.quarantined += 1,
        }
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} fetched, {} new tickets, {} added to tickets, {} set aside, {} already stored, {} quarantined",
            self.fetched, self.opened, self.appended, self.set_aside, self.duplicates, self.quarantined
        )
    }
}
