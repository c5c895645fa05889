//! A message's own new text: what its author wrote, without the quoted
//! history, the signature and the mobile sign-off. Agents read it in every
//! notification; relays and acknowledgements quote it. The full text and
//! the raw bytes are always kept beside it.
//!
//! Each line is classified once: quoted (`>`), an attribution ("On … wrote:"
//! and its forms in many languages and layouts, also wrapped over two
//! lines), the start of an unquoted history (an Outlook/Hotmail header
//! block, "-----Original Message-----", Zoho's "---- On … wrote ----"), a
//! signature marker, blank, or text. Then:
//! - an unquoted history (and a signature) ends the new text, once some
//!   text came before it;
//! - quotes and attributions after the last text go (top-posting), and
//!   before the first text too (a quote with nothing above it);
//! - between texts, one quote block that an attribution introduced is the
//!   message answered (bottom-posting) and goes; several are an interleaved
//!   reply, and stay as the questions the answers belong to;
//! - attribution lines never stay;
//! - trailing blank lines and sign-offs ("Enviado desde mi iPhone", "Sent
//!   from Mail for Windows 10"…) go.
//!
//! Forwards keep what they forward, quoted or not: that is their content.
//! When nothing is left, the whole text is the new text: a message with
//! text never has an empty one.

use regex::Regex;
use std::sync::LazyLock;

/// "wrote" in the languages attributions are written in.
const WROTE: &[&str] = &[
    "wrote",
    "escribió",
    "escribio",
    "schrieb",
    "a écrit",
    "a ecrit",
    "ha scritto",
    "escreveu",
    "schreef",
    "geschreven",
    "skrev",
    "kirjoitti",
    "napsal",
    "napísal",
    "napisał",
    "pisze",
    "написал",
    "написав",
    "ha escrit",
    "va escriure",
    "a scris",
    "írta",
    "έγραψε",
    "yazdı",
    "작성",
    "のメッセージ",
    "写道",
    "寫道",
];

/// Words an attribution begins with when it names no address.
static LEAD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:on|el|am|le|il|in data|em|op|den|dne|dnia|w dniu|på|на|в|el día|the)\b")
        .expect("static regex")
});

/// A time or a year: attributions carry the date of the mail they quote.
static DATED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d{1,2}[:.]\d{2}|\b(?:19|20)\d{2}\b").expect("static regex"));

/// Separators that begin an unquoted copy of the message answered.
static SEPARATOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*-{2,}\s*(?:original message|reply message|mensaje original|ursprüngliche nachricht|antwort nachricht|message d'origine|messaggio originale|oorspronkelijk bericht|origineel bericht|mensagem original|wiadomość oryginalna|původní zpráva|исходное сообщение|ursprungligt meddelande|originalmeddelande|oprindelig meddelelse|oprindelig besked|opprinnelig melding|alkuperäinen viesti|eredeti üzenet|orijinal mesaj|αρχικό μήνυμα|원본 메시지|元のメッセージ|原始邮件)\s*-{2,}\s*$",
    )
    .expect("static regex")
});

/// The first lines of a forwarded message's copy.
static FORWARD_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(?:-{2,}\s*)?(?:forwarded message|begin forwarded message|mensaje reenviado|inicio del mensaje reenviado|weitergeleitete nachricht|anfang der weitergeleiteten nachricht|message transféré|début du message (?:réexpédié|transféré)|messaggio inoltrato|inizio messaggio inoltrato|mensagem encaminhada|início da mensagem reencaminhada|doorgestuurd bericht|wiadomość przekazana dalej|пересылаемое сообщение)\s*:?\s*(?:-{2,})?\s*$",
    )
    .expect("static regex")
});

/// Header lines of an Outlook-style block, by what they name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    From,
    Date,
    To,
    Subject,
    Cc,
}

static HEADER_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*\*?([^:：*]{1,25}?)\*?\s*[:：]").expect("static regex"));

fn field(line: &str) -> Option<Field> {
    let c = HEADER_LINE.captures(line)?;
    let name = c[1].trim().to_lowercase();
    Some(match name.as_str() {
        "from" | "de" | "von" | "da" | "van" | "od" | "från" | "fra" | "lähettäjä" | "от"
        | "feladó" | "kimden" | "发件人" | "寄件者" | "差出人" | "보낸 사람" => {
            Field::From
        }
        "sent"
        | "date"
        | "enviado"
        | "enviado el"
        | "enviada em"
        | "enviado em"
        | "fecha"
        | "gesendet"
        | "datum"
        | "envoyé"
        | "envoyé le"
        | "inviato"
        | "data"
        | "verzonden"
        | "wysłano"
        | "wysłane"
        | "skickat"
        | "sendt"
        | "отправлено"
        | "дата"
        | "发送时间"
        | "寄件日期"
        | "日付"
        | "送信日時"
        | "message du" => Field::Date,
        "to" | "para" | "an" | "à" | "a" | "aan" | "do" | "till" | "til" | "кому" | "收件人"
        | "宛先" | "címzett" => Field::To,
        "subject" | "asunto" | "betreff" | "objet" | "sujet" | "oggetto" | "onderwerp"
        | "temat" | "ämne" | "emne" | "тема" | "主题" | "主旨" | "件名" | "assunto" | "tárgy"
        | "konu" => Field::Subject,
        "cc" | "kopie" | "kopia" | "copie à" | "копия" | "抄送" => Field::Cc,
        _ => return None,
    })
}

/// Mobile and desktop sign-offs. "Sent from …" takes a few words and no
/// comma: "Sent from my desk, which is easier" is a sentence.
static SIGNOFF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^\s*(?:
            sent\s+(?:from|with|via|using)\s+(?:my\s+)?[^\s,.;:]+(?:[\ \t]+[^\s,;:]+){0,5}
          | enviado\s+(?:desde|con|do|a\s+partir\s+do|usando|de)\s+.{1,60}
          | enviada\s+(?:desde|do)\s+.{1,60}
          | envoyé\s+(?:de|depuis|à\s+partir\s+de|avec)\s+.{1,60}
          | inviato\s+(?:da|dal|con)\s+.{1,60}
          | von\s+meinem\s+.{1,60}\s+gesendet
          | gesendet\s+(?:von|mit|vom)\s+.{1,60}
          | (?:get|obtener|obtenha|télécharger|scarica|ottieni|hole\s+dir)\s+outlook\s+.{1,40}
          | outlook\s+für\s+.{1,30}\s+herunterladen
        )\s*\.?\s*$",
    )
    .expect("static regex")
});

/// What a line is, for the rules above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Blank,
    Text,
    Quote,
    /// "On … wrote:" (this line, or the first of two).
    Attribution,
    /// The second line of a wrapped attribution.
    AttributionTail,
    /// The first line of an unquoted copy of the history.
    History,
    /// `-- `.
    Signature,
}

/// Lines longer than this are text, whatever they hold: attributions and
/// header lines are short, and the regexes stay cheap.
const SHORT: usize = 300;

fn is_attribution(l: &str) -> bool {
    let t = l.trim();
    if t.len() > SHORT {
        return false;
    }
    // Zoho and Yahoo put dashes around it: "---- On … wrote ----".
    let t = t.trim_start_matches('-').trim();
    let core = t.trim_end_matches('-').trim_end();
    let dashed = core.len() < t.len();
    let lower = core.to_lowercase();
    let colon = core.ends_with(':') || core.ends_with('：');
    // "On … John <john@x> wrote" without its colon, as some clients write.
    let bare = !colon
        && LEAD.is_match(&lower)
        && WROTE.iter().any(|w| lower.ends_with(w))
        && (lower.contains('@') || DATED.is_match(&lower));
    if !(dashed || colon || bare) {
        return false;
    }
    if WROTE.iter().any(|w| lower.contains(w))
        || (lower.starts_with("on ") && lower.ends_with(" sent:"))
    {
        return LEAD.is_match(&lower) || lower.contains('@') || DATED.is_match(&lower);
    }
    // Gmail in languages without a verb in its attribution
    // ("ср, 30 апр. 2025 г. в 15:19, Ana <ana@x>:").
    lower.ends_with(">:") && lower.contains('@') && DATED.is_match(&lower)
}

fn is_quote(l: &str) -> bool {
    l.trim_start().starts_with('>')
}

/// An Outlook/Hotmail header block starts at line `i`: a From or Date
/// line with at least two more header lines among the next four.
fn header_block(lines: &[&str], i: usize) -> bool {
    let Some(first) = field(lines[i]) else {
        return false;
    };
    if !matches!(first, Field::From | Field::Date) {
        return false;
    }
    let more = lines[i + 1..]
        .iter()
        .take(8)
        .filter(|l| !l.trim().is_empty())
        .take(4)
        .filter_map(|l| field(l))
        .filter(|f| *f != first)
        .count();
    // Two lines do when the first names an address or a date ("Date: …
    // / To: …"); "De: mi parte" in a sentence names neither.
    let concrete = lines[i].contains('@') || lines[i].bytes().any(|b| b.is_ascii_digit());
    more >= 2 || (more == 1 && concrete)
}

/// A header block among the three non-blank lines after a rule at `i`
/// (a "Message du : …" line may come first).
fn rule_above_header(lines: &[&str], i: usize) -> bool {
    (i + 1..lines.len().min(i + 6))
        .filter(|&j| !lines[j].trim().is_empty())
        .take(3)
        .any(|j| header_block(lines, j))
}

/// A rule drawn with `_`, `-`, `=` or `*`.
fn is_rule(t: &str) -> bool {
    t.len() >= 10 && t.bytes().all(|b| matches!(b, b'_' | b'-' | b'=' | b'*'))
}

/// Does an unquoted copy of the history start at line `i` (trimmed `t`):
/// a separator, a header block, or the rule Outlook draws above one?
fn history_starts(lines: &[&str], i: usize, t: &str) -> bool {
    if t.len() > SHORT {
        return false;
    }
    (t.contains("--") && SEPARATOR.is_match(t))
        || ((t.contains(':') || t.contains('：')) && header_block(lines, i))
        || (is_rule(t) && rule_above_header(lines, i))
}

fn classify(lines: &[&str]) -> Vec<Kind> {
    let mut kinds = vec![Kind::Text; lines.len()];
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i].trim_start_matches('\u{feff}');
        let t = l.trim();
        kinds[i] = if t.is_empty() {
            Kind::Blank
        } else if is_quote(l) {
            Kind::Quote
        } else if is_signature(l, t) {
            Kind::Signature
        } else if history_starts(lines, i, t) {
            Kind::History
        } else if t.len() <= SHORT && is_attribution(t) {
            Kind::Attribution
        } else if let Some(n) = wrapped_attribution(lines, i, t) {
            kinds[i] = Kind::Attribution;
            for k in &mut kinds[i + 1..i + n] {
                *k = Kind::AttributionTail;
            }
            i += n;
            continue;
        } else {
            Kind::Text
        };
        i += 1;
    }
    kinds
}

/// The start of a signature: `-- `, `--Name`, a line of underscores (the
/// rule mailing lists draw above their footer), or a sign-off.
fn is_signature(l: &str, t: &str) -> bool {
    t == "--"
        || l == "-- "
        || (t.len() >= 2 && t.len() <= 40 && t.bytes().all(|b| b == b'_'))
        || t.strip_prefix("--").is_some_and(|rest| {
            t.len() <= 40
                && rest
                    .trim_start()
                    .chars()
                    .next()
                    .is_some_and(char::is_alphabetic)
        })
        || (t.len() <= SHORT && SIGNOFF.is_match(t))
}

/// An attribution wrapped over two or three lines (Gmail, Android, Apple
/// Mail): the number of lines, when line `i` starts one. Its first line
/// begins like one (a lead word or a date) and its last ends it.
fn wrapped_attribution(lines: &[&str], i: usize, t: &str) -> Option<usize> {
    if t.len() > SHORT
        || !(LEAD.is_match(&t.to_lowercase()) || t.starts_with(|c: char| c.is_ascii_digit()))
    {
        return None;
    }
    let mut joined = t.to_string();
    for n in 2..=3 {
        let next = lines.get(i + n - 1)?.trim();
        if next.is_empty() || is_quote(next) || joined.len() + next.len() > SHORT {
            return None;
        }
        joined.push(' ');
        joined.push_str(next);
        if is_attribution(&joined) {
            return Some(n);
        }
    }
    None
}

/// Most lines and characters of a signature kept (see [`split`]); longer
/// ones are cut there (a legal footer, a list's trailer).
pub const MAX_SIGNATURE_LINES: usize = 10;
pub const MAX_SIGNATURE_CHARS: usize = 1000;

/// A message's new text and the signature cut from it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Split {
    pub new_text: String,
    /// The author's signature below the new text (name, phone, company),
    /// without its `-- ` marker and sign-offs; at most
    /// [`MAX_SIGNATURE_LINES`] lines and [`MAX_SIGNATURE_CHARS`] characters.
    pub signature: Option<String>,
}

/// The new text of a message; `subject` tells a forward from a reply.
pub fn new_text(text: &str, subject: &str) -> String {
    split(text, subject).new_text
}

/// The new text and the signature below it. The signature is the lines
/// after the first signature marker that follows some text, up to quoted
/// history or another marker; a sign-off ("Enviado desde mi iPhone") is
/// no signature.
pub fn split(text: &str, subject: &str) -> Split {
    let lines: Vec<&str> = text.lines().collect();
    let kinds = classify(&lines);
    let signature = signature(&lines, &kinds);
    Split {
        new_text: new_text_of(text, subject, &lines, &kinds),
        signature,
    }
}

fn signature(lines: &[&str], kinds: &[Kind]) -> Option<String> {
    let first = kinds.iter().position(|k| *k == Kind::Text)?;
    // The first marker after some text, before any unquoted history
    // (quotes between: an interleaved reply).
    let start = (first + 1..kinds.len())
        .take_while(|&i| kinds[i] != Kind::History)
        .find(|&i| kinds[i] == Kind::Signature)?;
    // "--Ana Pérez" carries the first line itself.
    let marker = lines[start].trim().trim_start_matches(['-', '_']).trim();
    let own = (!marker.is_empty() && !SIGNOFF.is_match(marker)).then_some(marker);
    let mut out: Vec<&str> = own.into_iter().collect();
    for (l, k) in lines[start + 1..].iter().zip(&kinds[start + 1..]) {
        match k {
            Kind::Text if SIGNOFF.is_match(l.trim()) => {}
            Kind::Text | Kind::Blank => out.push(l.trim_end()),
            _ => break,
        }
        if out.len() > MAX_SIGNATURE_LINES + 1 {
            break;
        }
    }
    while out.first().is_some_and(|l| l.trim().is_empty()) {
        out.remove(0);
    }
    while out.last().is_some_and(|l| l.trim().is_empty()) {
        out.pop();
    }
    out.truncate(MAX_SIGNATURE_LINES);
    let sig = out.join("\n");
    let sig = match sig.char_indices().nth(MAX_SIGNATURE_CHARS) {
        Some((i, _)) => sig[..i].to_string(),
        None => sig,
    };
    (!sig.trim().is_empty()).then_some(sig)
}

fn new_text_of(text: &str, subject: &str, lines: &[&str], kinds: &[Kind]) -> String {
    // A header block or separator before any text: a copy of another
    // mail with nothing written above it. The copy is the content.
    let copy_on_top = kinds.iter().find(|k| **k != Kind::Blank) == Some(&Kind::History);
    let forward = is_forward(subject)
        || copy_on_top
        || lines
            .iter()
            .zip(kinds)
            .take_while(|(_, k)| !matches!(k, Kind::History | Kind::Attribution))
            .any(|(l, _)| l.len() <= SHORT && FORWARD_MARKER.is_match(l));
    let keep = if forward {
        forwarded(kinds)
    } else {
        replied(kinds)
    };
    let mut out: Vec<&str> = Vec::new();
    for (l, k) in lines.iter().zip(keep) {
        // One blank line where removed lines leave several.
        let blank = l.trim().is_empty();
        if k && !(blank && out.last().is_some_and(|p| p.trim().is_empty())) {
            out.push(l);
        }
    }
    // Trailing blank lines and sign-offs.
    while let Some(l) = out.last() {
        if l.trim().is_empty() || (l.len() <= SHORT && SIGNOFF.is_match(l)) {
            out.pop();
        } else {
            break;
        }
    }
    let out = out.join("\n").trim_matches('\n').to_string();
    if out.trim().is_empty() {
        text.trim_matches(['\n', '\r']).to_string()
    } else {
        out
    }
}

/// A forward: everything up to a signature that comes before the
/// forwarded part.
fn forwarded(kinds: &[Kind]) -> Vec<bool> {
    let end = kinds
        .iter()
        .position(|k| *k == Kind::Signature)
        .filter(|&i| kinds[..i].contains(&Kind::Text))
        .filter(|&i| {
            !kinds[..i]
                .iter()
                .any(|k| *k != Kind::Text && *k != Kind::Blank)
        })
        .unwrap_or(kinds.len());
    (0..kinds.len()).map(|i| i < end).collect()
}

/// A reply: the rules of the module's documentation. Linear: the
/// neighbours each rule looks at are found in one pass each way.
fn replied(kinds: &[Kind]) -> Vec<bool> {
    let n = kinds.len();
    let mut keep = vec![false; n];
    let Some(first) = kinds.iter().position(|k| *k == Kind::Text) else {
        return keep; // nothing of the author's: the caller falls back
    };
    // The next line that is not blank (nor an attribution's second line).
    let mut next = vec![None; n];
    let mut upcoming = None;
    for i in (0..n).rev() {
        next[i] = upcoming;
        if !matches!(kinds[i], Kind::Blank | Kind::AttributionTail) {
            upcoming = Some(kinds[i]);
        }
    }
    // An unquoted history or a signature after some text ends the new
    // text; so does an attribution followed by unquoted lines (some
    // webmails quote nothing).
    let end = (first + 1..n)
        .find(|&i| match kinds[i] {
            Kind::History | Kind::Signature => true,
            Kind::Attribution => matches!(next[i], Some(Kind::Text | Kind::History) | None),
            _ => false,
        })
        .unwrap_or(n);
    let Some(last) = kinds[..end].iter().rposition(|k| *k == Kind::Text) else {
        return keep;
    };
    // The quote blocks between the first and the last text, and whether an
    // attribution introduced each.
    let mut blocks = 0;
    let mut introduced = false;
    let mut before = None; // the last non-blank kind seen
    let mut in_block = false;
    for k in &kinds[first..=last] {
        match k {
            Kind::Quote if !in_block => {
                in_block = true;
                blocks += 1;
                introduced = matches!(before, Some(Kind::Attribution | Kind::AttributionTail));
            }
            Kind::Quote | Kind::Blank => {}
            _ => in_block = false,
        }
        if *k != Kind::Blank {
            before = Some(*k);
        }
    }
    let bottom_post = blocks == 1 && introduced;
    // An interleaved reply keeps its first question too: the quote right
    // above the first answer.
    let mut start = first;
    if blocks > 0 && !bottom_post {
        while start > 0 && matches!(kinds[start - 1], Kind::Quote | Kind::Blank) {
            start -= 1;
        }
    }
    for i in start..=last {
        keep[i] = match kinds[i] {
            Kind::Text | Kind::Blank => true,
            Kind::Quote => !bottom_post,
            _ => false,
        };
    }
    keep
}

/// A forward: its subject's first prefix says so. `RE: RV: x` is a
/// reply to a forward, and its history is history.
fn is_forward(subject: &str) -> bool {
    static FWD: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)^\s*(?:fwd?|rv|wg|tr|enc|doorst|i|rif|vb|vl|пересл|转发)\s*[:：]")
            .expect("static regex")
    });
    FWD.is_match(subject)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(path: &str) -> (String, String) {
        let raw = std::fs::read(format!(
            "{}/../../fixtures/{path}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let m = crate::parse(&raw).unwrap();
        (m.text, m.subject)
    }

    fn check(path: &str, keeps: &str, drops: &[&str]) {
        let (text, subject) = fixture(path);
        let n = new_text(&text, &subject);
        assert!(n.contains(keeps), "{path}: lost {keeps:?}:\n{n}");
        for d in drops {
            assert!(!n.contains(d), "{path}: kept {d:?}:\n{n}");
        }
    }

    #[test]
    fn replies_from_real_clients() {
        check(
            "clients/outlook365_es_reply.eml",
            "49,90 €",
            &["Enviado el", "Hemos recibido tu consulta"],
        );
        check(
            "clients/gmail_reply_with_pdf.eml",
            "dos cargos",
            &["escribió", "extracto\n> bancario", "Hemos abierto"],
        );
        check(
            "clients/thunderbird_en_reply_flowed.eml",
            "Windows 11",
            &["wrote:", "Acerca de"],
        );
        check(
            "clients/outlook_de_aw_reply.eml",
            "Papierstau",
            &["Gesendet", "bitte schalten"],
        );
        check(
            "clients/iphone_mail_reply.eml",
            "Ya funciona",
            &["Enviado desde mi iPhone", "Prueba a reiniciar"],
        );
        check(
            "clients/foxmail_fullwidth_colon_reply.eml",
            "jueves 6 de marzo",
            &["发件人", "¿Tenéis ya fecha"],
        );
        check(
            "clients/outlook_ios_reply_references_only.eml",
            "ya puedo entrar",
            &["Obtener Outlook", "____", "desbloqueado"],
        );
    }

    #[test]
    fn forwards_keep_what_they_forward() {
        check(
            "clients/outlook365_es_forward_rv.eml",
            "Hemos recibido tu consulta",
            &[],
        );
        // Quoted whole, as Apple Mail and IONOS forward.
        let t = "Mira esto.\n\nBegin forwarded message:\n\n> From: A <a@x.test>\n> Subject: Factura\n>\n> El importe es 40 €.";
        assert_eq!(new_text(t, "Fwd: Factura"), t);
        assert_eq!(new_text(t, "Factura"), t, "the marker alone tells");
    }

    #[test]
    fn separators_signatures_and_plain_text() {
        let t = "Gracias.\n\n-----Mensaje original-----\nDe: x\nhola";
        assert_eq!(new_text(t, "RE: x"), "Gracias.");
        let t = "Thanks!\n-- \nJohn Smith\nACME";
        assert_eq!(new_text(t, "x"), "Thanks!");
        let t = "Una línea.\nOtra línea: con dos puntos.";
        assert_eq!(new_text(t, "x"), t);
        // Nothing new: the whole text, never an empty one.
        let t = "> only a quote\n> nothing new";
        assert_eq!(new_text(t, "RE: x"), t);
        // Inline answers stay with their questions; the trailing quote goes.
        let t = "> ¿Versión?\n4.2.1\n> ¿Sistema?\nWindows 11\n\n> saludos";
        assert_eq!(
            new_text(t, "RE: x"),
            "> ¿Versión?\n4.2.1\n> ¿Sistema?\nWindows 11"
        );
    }

    #[test]
    fn answers_below_the_quote_are_kept() {
        let t = "Hi,\n\nOn Mon, 3 Mar 2025 at 10:00, Soporte <soporte@x.test> wrote:\n> Can you send the log?\n> Thanks\n\nHere it is: the error is 0x80.\n\nAna";
        assert_eq!(
            new_text(t, "Re: x"),
            "Hi,\n\nHere it is: the error is 0x80.\n\nAna"
        );
        // Interleaved: each answer with its question, the attribution gone.
        let t = "El lun, 3 mar 2025 a las 10:00, Soporte (<s@x.test>) escribió:\n> ¿Qué versión?\n4.2\n> ¿Qué sistema?\nWindows\n> Saludos";
        assert_eq!(
            new_text(t, "RE: x"),
            "> ¿Qué versión?\n4.2\n> ¿Qué sistema?\nWindows"
        );
    }

    #[test]
    fn attributions_in_more_languages_and_layouts() {
        for (attr, lines) in [
            ("Den 24. nov. 2025 kl. 10.00 skrev Soporte <s@x.test>:", 1),
            (
                "In data 24 novembre 2025 10:00, Soporte <s@x.test> ha scritto:",
                1,
            ),
            ("ср, 30 апр. 2025 г. в 15:19, Soporte <s@x.test>:", 1),
            (
                "30 апр. 2025 г., в 15:19, пользователь Soporte\n<s@x.test> написал:",
                2,
            ),
            (
                "---- On Wed, 04 Apr 2012 10:00:00 +0200 Soporte <s@x.test> wrote ----",
                1,
            ),
            ("--- On Wed, 4/4/12, Soporte <s@x.test> wrote:", 1),
        ] {
            let t =
                format!("Respuesta nueva.\n\n{attr}\nTexto viejo sin comillas.\nMás texto viejo.");
            assert_eq!(
                new_text(&t, "RE: x"),
                "Respuesta nueva.",
                "{attr} ({lines} lines)"
            );
            let q = format!("Respuesta nueva.\n\n{attr}\n> Texto viejo.");
            assert_eq!(new_text(&q, "RE: x"), "Respuesta nueva.", "{attr}, quoted");
        }
    }

    #[test]
    fn header_blocks_in_more_languages() {
        for block in [
            "Od: Soporte <s@x.test>\nWysłano: poniedziałek, 3 marca 2025 10:00\nDo: Ana\nTemat: Faktura",
            "От: Soporte <s@x.test>\nОтправлено: 3 марта 2025 г. 10:00\nКому: Ana\nТема: Счёт",
            "Date: Mon, 3 Mar 2025 10:00:00 +0100\nFrom: s@x.test\nTo: ana@y.test\nSubject: Factura",
            "________________________________\nFrom: Soporte <s@x.test>\nSent: Monday, March 3, 2025 10:00 AM\nTo: Ana\nSubject: Invoice",
        ] {
            let t = format!("Nuevo.\n\n{block}\n\nViejo.");
            assert_eq!(new_text(&t, "RE: x"), "Nuevo.", "{block}");
        }
        // A header block at the very top (nothing written above it): the
        // whole text is what there is.
        let t = "From: Soporte <s@x.test>\nSent: Monday\nTo: Ana\nSubject: x\n\nTexto.";
        assert_eq!(new_text(t, "x"), t);
        // "De: Juan" in a sentence is no header block.
        let t = "Hola,\nDe: mi parte, gracias.\nAna";
        assert_eq!(new_text(t, "x"), t);
    }

    #[test]
    fn sign_offs_in_six_languages() {
        for s in [
            "Sent from Mail for Windows 10",
            "Sent from my iPhone",
            "Sent from Yahoo Mail on Android",
            "Enviado desde mi Samsung Galaxy",
            "Enviado desde Correo para Windows",
            "Von meinem iPhone gesendet",
            "Gesendet von Mail für Windows",
            "Envoyé de mon iPhone",
            "Envoyé à partir de Courrier pour Windows",
            "Inviato da iPhone",
            "Enviado do meu iPhone",
            "Get Outlook for Android",
            "Obtener Outlook para iOS",
        ] {
            assert_eq!(
                new_text(&format!("Gracias.\n\n{s}"), "RE: x"),
                "Gracias.",
                "{s}"
            );
        }
    }

    #[test]
    fn signatures_footers_and_sign_offs_end_the_text() {
        let t = "Gracias.\n\n--Ana\n\n> viejo";
        assert_eq!(new_text(t, "RE: x"), "Gracias.");
        let t = "Thanks.\n\n___\nriak-users mailing list\nriak-users@lists.test";
        assert_eq!(new_text(t, "Re: x"), "Thanks.");
        // A sign-off with the answered mail below it, unquoted.
        let t = "Vale.\n\nSent from my Wiko RIDGE FAB 4G\n\nTexto viejo sin comillas.";
        assert_eq!(new_text(t, "Re: x"), "Vale.");
        // A sentence that starts like one is a sentence.
        let t = "Here it is.\n\nSent from my desk, which is easier than my phone.";
        assert_eq!(new_text(t, "Re: x"), t);
        // "--" inside a line is not a signature.
        let t = "Use --verbose to see more.\nThanks";
        assert_eq!(new_text(t, "x"), t);
    }

    #[test]
    fn attributions_without_colon_or_over_three_lines() {
        let t = "Listo.\n\nOn Wed, 14 Nov 2018 08:14:43 -0200 John Doe <john@doe.test> wrote\n\nWhen are you available?";
        assert_eq!(new_text(t, "Re: x"), "Listo.");
        let t = "Listo.\n\nOn Dec 16, 2011, at 12:47 PM, Corey\n<reply@reply.test>\nwrote:\n\n> Was this fixed?";
        assert_eq!(new_text(t, "Re: x"), "Listo.");
        // A short line above an attribution is not part of it.
        let t = "Test reply\nOn 04/19/2011 07:10 AM, Roman wrote:\n\n> Test";
        assert_eq!(new_text(t, "Re: x"), "Test reply");
        let t = "Lorem\nPå 14 september 2015 på 02:23:18, Valentino (valentino@rudy.test) skrev:\n\nVeniam laborum.";
        assert_eq!(new_text(t, "Re: x"), "Lorem");
    }

    #[test]
    fn short_header_blocks_and_rules_above_them() {
        let t = "Blah\n\nDate: Wed, 16 May 2012 00:15:02 -0600\nTo: k@example.test\n\nOld";
        assert_eq!(new_text(t, "Re: x"), "Blah");
        let t = "Merci.\n\n========================================\n\nMessage du : 12/12/2016 13:20\nDe : \"Q\" <q@x.test>\nA : m@y.test\nSujet : x\n\nVieux.";
        assert_eq!(new_text(t, "Re: x"), "Merci.");
        // "From: Madrid / To: Barcelona" names no address nor date.
        let t = "Billete:\nFrom: Madrid\nTo: Barcelona\nGracias";
        assert_eq!(new_text(t, "x"), t);
    }

    #[test]
    fn hostile_text_costs_linear_time() {
        let t = "On x wrote:\n".repeat(50_000) + &"> q\n".repeat(50_000) + "a";
        let n = new_text(&t, "RE: x");
        assert!(n.ends_with('a'));
        let colons = format!("De: {}\n", "x: ".repeat(100)).repeat(20_000);
        let _ = new_text(&colons, "RE: x");
    }

    #[test]
    fn the_signature_is_cut_and_kept_apart() {
        let s = split(
            "Hola.\n\n-- \nAna Pérez\nTel. 600\n\nEl lun escribió:\n> x",
            "Re: a",
        );
        assert_eq!(s.new_text, "Hola.");
        assert_eq!(s.signature.as_deref(), Some("Ana Pérez\nTel. 600"));
        // "--Name" carries the first line; a sign-off is no signature.
        let s = split("Hola.\n--Ana\nCliente SA", "x");
        assert_eq!(s.signature.as_deref(), Some("Ana\nCliente SA"));
        let s = split("Hola.\n\nEnviado desde mi iPhone", "x");
        assert_eq!((s.new_text.as_str(), s.signature), ("Hola.", None));
        assert_eq!(split("Sin firma.", "x").signature, None);
        // Interleaved answers, then the signature.
        let s = split("> ¿Modelo?\nHP 400\n> ¿Planta?\nSegunda\n-- \nAna", "Re: x");
        assert_eq!(s.signature.as_deref(), Some("Ana"));
        // A legal footer is cut at the cap.
        let long = format!("Hola.\n-- \n{}", "línea\n".repeat(50));
        let sig = split(&long, "x").signature.unwrap();
        assert_eq!(sig.lines().count(), MAX_SIGNATURE_LINES);
        let wide = format!("Hola.\n-- \n{}", "x".repeat(5000));
        assert_eq!(
            split(&wide, "x").signature.unwrap().chars().count(),
            MAX_SIGNATURE_CHARS
        );
    }
}
