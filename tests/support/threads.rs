//! Threads as a mail client builds them (the JWZ algorithm that mutt,
//! Thunderbird and most clients follow): each message's References, in
//! order, link parent to child; its last reference (else In-Reply-To) is
//! its parent. Tests use it to see what a customer or an agent sees.

use std::collections::HashMap;

/// One message as the threader needs it.
#[derive(Debug, Clone)]
pub struct Node {
    pub id: String,
    pub refs: Vec<String>,
}

impl Node {
    /// From raw bytes: Message-ID, References, then In-Reply-To if it is
    /// not already the last reference.
    pub fn of(raw: &[u8]) -> Node {
        let m = hilo::mail::parse(raw).expect("parseable");
        let mut refs = m.references.clone();
        for id in &m.in_reply_to {
            if refs.last() != Some(id) {
                refs.retain(|r| r != id);
                refs.push(id.clone());
            }
        }
        Node {
            id: m.message_id.expect("a Message-ID"),
            refs,
        }
    }
}

/// The threads `nodes` form: each thread is the ids of the given messages
/// in it (ids only referenced, never seen, link but are not listed).
pub fn threads(nodes: &[Node]) -> Vec<Vec<String>> {
    let mut parent: HashMap<String, String> = HashMap::new();
    let root_of = |parent: &HashMap<String, String>, id: &str| {
        let mut cur = id.to_string();
        let mut steps = 0;
        while let Some(p) = parent.get(&cur) {
            cur = p.clone();
            steps += 1;
            assert!(steps < 10_000, "a cycle in the thread");
        }
        cur
    };
    for n in nodes {
        // Consecutive references: parent, child (unless the child has one
        // already, or the link would make a loop).
        for w in n.refs.windows(2) {
            if !parent.contains_key(&w[1]) && root_of(&parent, &w[0]) != w[1] {
                parent.insert(w[1].clone(), w[0].clone());
            }
        }
        if let Some(last) = n.refs.last() {
            if root_of(&parent, last) != n.id {
                parent.insert(n.id.clone(), last.clone());
            }
        }
    }
    let mut by_root: Vec<(String, Vec<String>)> = Vec::new();
    for n in nodes {
        let r = root_of(&parent, &n.id);
        match by_root.iter_mut().find(|(x, _)| *x == r) {
            Some((_, v)) => v.push(n.id.clone()),
            None => by_root.push((r, vec![n.id.clone()])),
        }
    }
    by_root.into_iter().map(|(_, v)| v).collect()
}
