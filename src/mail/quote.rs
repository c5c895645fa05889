//! A message's own new text: the quoted history and the signature removed,
//! for display and for notifications. The full text and raw bytes are
//! always kept beside it.
//!
//! Recognised: attribution lines ("On … wrote:", "El … escribió:", "Am …
//! schrieb:", "Le … a écrit :", "Il … ha scritto:", also wrapped over two
//! lines as Gmail does), Outlook header blocks ("De: / Enviado el: / Para: /
//! Asunto:" and their English, German, Italian, Dutch, Polish, Nordic and
//! Chinese forms, after an optional "_____" rule), "-----Mensaje original-----"
//! style separators, trailing `>` quotes, the "-- " signature marker and
//! mobile sign-offs ("Enviado desde mi iPhone"). Forwards keep what they
//! forward: that is the content.

use regex::Regex;
use std::sync::LazyLock;

static ATTRIBUTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^ \s* (?:>\s*)? (?:
            on \b .* \b wrote \s* :
          | el \b .* \b escribió \s* :
          | am \b .* \b schrieb \b .* :
          | le \b .* \b a \s+ écrit \s* :
          | il \b .* \b ha \s+ scritto \s* :
          | em \b .* \b escreveu \s* :
          | op \b .* \b schreef \s* :
        ) \s* $",
    )
    .expect("static regex")
});

static SEPARATOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*-{2,}\s*(?:original message|mensaje original|ursprüngliche nachricht|message d'origine|messaggio originale|oorspronkelijk bericht|mensagem original)\s*-{2,}\s*$",
    )
    .expect("static regex")
});

static FROM_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*\*?(?:de|from|von|da|van|od|från|fra|lähettäjä|发件人|寄件者)\*?\s*[:：]\s*\S",
    )
    .expect("static regex")
});

static SENT_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*\*?(?:enviado(?: el)?|sent|gesendet|inviato|verzonden|wysłano|skickat|sendt|fecha|date|datum|envoyé|发送时间|寄件日期|para|to|an|a|aan|do|till|til|asunto|subject|betreff|oggetto|onderwerp|temat|ämne|emne|objet|收件人|主题)\*?\s*[:：]",
    )
    .expect("static regex")
});

static RULE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*_{10,}\s*$").expect("static regex"));

static SIGNOFF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(?:enviado desde mi .+|sent from my .+|von meinem .+ gesendet|envoyé de mon .+|inviato da .+|obtener outlook para .+|get outlook for .+|enviado con .+ mail)\s*$",
    )
    .expect("static regex")
});

/// The new text of a message; `subject` tells a forward from a reply.
pub fn new_text(text: &str, subject: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut end = lines.len();
    if !is_forward(subject) {
        end = history_start(&lines).unwrap_or(end);
    }
    // The signature marker ("-- "), after some content.
    if let Some(i) = lines[..end]
        .iter()
        .position(|l| l.trim_end() == "--" || *l == "-- ")
        .filter(|i| lines[..*i].iter().any(|l| !l.trim().is_empty()))
    {
        end = i;
    }
    // Trailing quotes, blank lines and mobile sign-offs.
    while end > 0 {
        let l = lines[end - 1].trim_start_matches('\u{feff}');
        if l.trim().is_empty() || l.trim_start().starts_with('>') || SIGNOFF.is_match(l) {
            end -= 1;
        } else {
            break;
        }
    }
    let out = lines[..end].join("\n");
    out.trim_matches('\n').to_string()
}

fn is_forward(subject: &str) -> bool {
    static FWD: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)^\s*(?:(?:re|aw|sv|vs)\s*[:：]\s*)*(?:fwd?|rv|wg|tr|enc|doorst|i|rif|vb|vl)\s*[:：]")
            .expect("static regex")
    });
    FWD.is_match(subject)
}

/// Where the quoted history begins, if anywhere.
fn history_start(lines: &[&str]) -> Option<usize> {
    // Cheap tests first: most lines have no colon and no dashes, and the
    // regexes (with the joined two-line test) are most of the cost.
    let ends_colon = |l: &str| l.trim_end().ends_with(':');
    let has_colon = |l: &str| l.contains(':') || l.contains('：');
    for i in 0..lines.len() {
        let l = lines[i];
        if (l.contains("--") && SEPARATOR.is_match(l)) || (ends_colon(l) && ATTRIBUTION.is_match(l))
        {
            return Some(i);
        }
        // Attributions that the client wrapped over two lines.
        if let Some(next) = lines.get(i + 1) {
            if !l.trim().is_empty()
                && ends_colon(next)
                && ATTRIBUTION.is_match(&format!("{} {}", l.trim_end(), next.trim()))
            {
                return Some(i);
            }
        }
        // An Outlook header block: From, then Sent/To/Subject within 3 lines.
        if has_colon(l)
            && FROM_LINE.is_match(l)
            && lines[i + 1..]
                .iter()
                .filter(|n| !n.trim().is_empty())
                .take(3)
                .any(|n| SENT_LINE.is_match(n))
        {
            // Include the rule line Outlook draws above it.
            let mut start = i;
            while start > 0
                && (lines[start - 1].trim().is_empty() || RULE.is_match(lines[start - 1]))
            {
                start -= 1;
                if RULE.is_match(lines[start]) {
                    return Some(start);
                }
            }
            return Some(i);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(path: &str) -> (String, String) {
        let raw = std::fs::read(format!("{}/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let m = crate::mail::parse(&raw).unwrap();
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
    }

    #[test]
    fn separators_signatures_and_plain_text() {
        let t = "Gracias.\n\n-----Mensaje original-----\nDe: x\nhola";
        assert_eq!(new_text(t, "RE: x"), "Gracias.");
        let t = "Thanks!\n-- \nJohn Smith\nACME";
        assert_eq!(new_text(t, "x"), "Thanks!");
        let t = "Una línea.\nOtra línea: con dos puntos.";
        assert_eq!(new_text(t, "x"), t);
        let t = "> only a quote\n> nothing new";
        assert_eq!(new_text(t, "RE: x"), "");
        // Inline answers stay; only the trailing quote goes.
        let t = "> ¿Versión?\n4.2.1\n> ¿Sistema?\nWindows 11\n\n> saludos";
        assert_eq!(
            new_text(t, "RE: x"),
            "> ¿Versión?\n4.2.1\n> ¿Sistema?\nWindows 11"
        );
    }
}
