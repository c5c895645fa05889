//! Splits an mbox file into messages (mboxrd, which also reads mboxo and
//! mboxcl files written by common clients): a message starts at a line
//! beginning with `From ` at the start of the file or after a blank line,
//! and `>From ` lines inside have one `>` removed.

/// The messages of an mbox, as raw bytes with the separator line removed.
pub fn split(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut cur: Option<Vec<u8>> = None;
    let mut prev_blank = true;
    for line in data.split_inclusive(|b| *b == b'\n') {
        if line.starts_with(b"From ") && prev_blank {
            if let Some(m) = cur.take() {
                out.push(trim_separator_blank(m));
            }
            cur = Some(Vec::new());
            prev_blank = false;
            continue;
        }
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        prev_blank = content.is_empty();
        let Some(m) = cur.as_mut() else {
            continue; // bytes before the first separator: not a message
        };
        let gts = line.iter().take_while(|b| **b == b'>').count();
        if gts > 0 && line[gts..].starts_with(b"From ") {
            m.extend_from_slice(&line[1..]);
        } else {
            m.extend_from_slice(line);
        }
    }
    if let Some(m) = cur {
        out.push(trim_separator_blank(m));
    }
    out
}

/// The blank line before the next `From ` belongs to the format, not the message.
fn trim_separator_blank(mut m: Vec<u8>) -> Vec<u8> {
    if m.ends_with(b"\r\n\r\n") {
        m.truncate(m.len() - 2);
    } else if m.ends_with(b"\n\n") {
        m.truncate(m.len() - 1);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_unescapes() {
        let mbox = b"From a@b Sat Jan  3 01:05:34 1996\nFrom: a@b\nSubject: one\n\nhello\n>From here\n>>From there\n\nFrom c@d Sat Jan  3 01:05:34 1996\nFrom: c@d\nSubject: two\n\nbye\n";
        let m = split(mbox);
        assert_eq!(m.len(), 2);
        assert_eq!(
            m[0],
            b"From: a@b\nSubject: one\n\nhello\nFrom here\n>From there\n"
        );
        assert_eq!(m[1], b"From: c@d\nSubject: two\n\nbye\n");
        assert!(split(b"").is_empty());
        assert!(split(b"no separator at all\n").is_empty());
    }
}
