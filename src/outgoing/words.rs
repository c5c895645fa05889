//! The small words of mail to customers, written as a person would: a
//! greeting by given name (or none, rather than a form letter's full name
//! or an address), a date in the desk's language and time zone ("el lunes
//! 7 de diciembre"), and a short summary of what the customer wrote (its
//! first paragraph, without the greeting).

use chrono::{DateTime, Datelike, Utc};

use crate::config::Language;
use crate::mail::Mailbox;

/// Words that open a display name but name no person: a role, a team, a
/// title ("Sr. Ruiz" is greeted neutrally rather than as "Sr.").
const NOT_A_NAME: &[&str] = &[
    "admin",
    "administracion",
    "administración",
    "atencion",
    "atención",
    "billing",
    "cliente",
    "clientes",
    "compras",
    "contabilidad",
    "contact",
    "contacto",
    "customer",
    "departamento",
    "don",
    "doña",
    "dpto",
    "dr",
    "dra",
    "dña",
    "equipo",
    "facturacion",
    "facturación",
    "hello",
    "help",
    "helpdesk",
    "hola",
    "info",
    "information",
    "informacion",
    "información",
    "it",
    "mr",
    "mrs",
    "ms",
    "miss",
    "noreply",
    "no-reply",
    "office",
    "oficina",
    "rrhh",
    "sales",
    "service",
    "servicio",
    "sr",
    "sra",
    "srta",
    "soporte",
    "support",
    "team",
    "the",
    "ventas",
    "webmaster",
    "el",
    "la",
    "los",
    "las",
];

/// The given name to greet `who` by, when one can be told apart: the first
/// word of the display name (the word after the comma in "Ruiz, Carmen"),
/// letters only, 2 to 20 of them, not a role or a title. All capitals
/// become "Carmen". `None` for an address, an initial, a company.
pub fn given_name(who: &Mailbox) -> Option<String> {
    let name = who.name.as_deref()?.trim().trim_matches(['"', '\'']).trim();
    if name.is_empty() || name.contains('@') || is_company(name) {
        return None;
    }
    let name = match name.split_once(',') {
        Some((_, first)) if !first.trim().is_empty() => first.trim(),
        _ => name,
    };
    let word = name.split_whitespace().next()?;
    let word = word.trim_end_matches(['.', ',', ':', ';']);
    let letters = word.chars().count();
    let is_name_char = |c: char| c.is_alphabetic() || c == '-' || c == '\'';
    if !(2..=20).contains(&letters)
        || !word.chars().all(is_name_char)
        || !word.chars().next().is_some_and(char::is_alphabetic)
        || NOT_A_NAME.contains(&word.to_lowercase().as_str())
    {
        return None;
    }
    let first_upper = word.chars().next().is_some_and(char::is_uppercase);
    let all_upper = word
        .chars()
        .filter(|c| c.is_alphabetic())
        .all(char::is_uppercase);
    if all_upper && letters > 1 {
        // "CARMEN" → "Carmen"; "JOSÉ-LUIS" → "José-Luis".
        let mut out = String::new();
        let mut start = true;
        for c in word.chars() {
            if start {
                out.extend(c.to_uppercase());
            } else {
                out.extend(c.to_lowercase());
            }
            start = c == '-' || c == '\'';
        }
        return Some(out);
    }
    // "carmen" is someone's way of writing; "iPhone" is a device.
    first_upper.then(|| word.to_string())
}

/// Does the display name end like a company's ("ACME S.L.", "Foo Ltd")?
fn is_company(name: &str) -> bool {
    const FORMS: &[&str] = &[
        "sl", "sa", "slu", "sll", "sc", "scp", "cb", "ltd", "llc", "inc", "gmbh", "ag", "bv", "nv",
        "srl", "spa", "sas", "sarl", "plc", "corp", "co", "lda", "oy", "ab", "as",
    ];
    let last = name
        .split_whitespace()
        .last()
        .unwrap_or("")
        .replace(['.', ','], "")
        .to_lowercase();
    name.split_whitespace().count() > 1 && FORMS.contains(&last.as_str())
}

/// "Hola, Carmen:" or "Hola:"; "Hello Carmen," or "Hello,".
pub fn greeting(lang: Language, who: &Mailbox) -> String {
    match given_name(who) {
        Some(n) => lang.say("greeting.named", &[("name", &n)]),
        None => lang.say("greeting.anonymous", &[]),
    }
}

/// A day as running text says it, in `tz`: "el lunes 7 de diciembre"
/// ("… de 2025" in another year than `now`'s), "on Monday 7 December".
pub fn day(lang: Language, tz: chrono_tz::Tz, at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let local = at.with_timezone(&tz);
    let wd = local.weekday().num_days_from_monday() as usize;
    let (d, m) = (local.day(), local.month0() as usize);
    let key = if local.year() != now.with_timezone(&tz).year() {
        "date.other_year"
    } else {
        "date.this_year"
    };
    let name = |list: &str, i: usize| lang.list(list).get(i).cloned().unwrap_or_default();
    lang.say(
        key,
        &[
            ("weekday", &name("date.weekdays", wd)),
            ("day", &d.to_string()),
            ("month", &name("date.months", m)),
            ("year", &local.year().to_string()),
        ],
    )
}

/// An instant in a subject or a list: "11:00" on `now`'s local day,
/// else "mar 8 11:00" (the weekday's short name, the day, the time).
pub fn short_when(
    lang: Language,
    tz: chrono_tz::Tz,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> String {
    let local = at.with_timezone(&tz);
    let time = local.format("%H:%M").to_string();
    if local.date_naive() == now.with_timezone(&tz).date_naive() {
        return time;
    }
    let wd = lang
        .list("escalation.weekdays_short")
        .get(local.weekday().num_days_from_monday() as usize)
        .cloned()
        .unwrap_or_default();
    format!("{wd} {} {time}", local.day())
}

/// Words that open a greeting line ("Hola,", "Buenos días, Ana:", "Dear
/// team,"): the summary starts after it.
const GREETINGS: &[&str] = &[
    "hola",
    "buenas",
    "buenos",
    "buen",
    "estimado",
    "estimada",
    "estimados",
    "estimadas",
    "querido",
    "querida",
    "saludos",
    "hello",
    "hi",
    "hey",
    "dear",
    "good",
    "greetings",
    "bonjour",
    "hallo",
    "olá",
    "ola",
    "bon",
    "bona",
];

/// Most lines and characters of a summary.
const SUMMARY_LINES: usize = 3;
const SUMMARY_CHARS: usize = 300;

/// What the customer wrote, in short: the first paragraph of `new_text`
/// (its new text, without quoted history, signature or sign-off) after a
/// greeting line, at most 3 lines and 300 characters, cut at a word.
/// Empty when nothing is left.
pub fn summary(new_text: &str) -> String {
    let mut lines = new_text.lines().map(str::trim).skip_while(|l| l.is_empty());
    let mut first: Vec<String> = Vec::new();
    for l in lines.by_ref() {
        if first.is_empty() && is_greeting(l) {
            continue;
        }
        if first.is_empty() {
            // "Hola, he olvidado…": the text after the greeting.
            if let Some(rest) = after_greeting(l) {
                first.push(rest);
                continue;
            }
        }
        if l.is_empty() {
            if first.is_empty() {
                continue;
            }
            break;
        }
        first.push(l.to_string());
        if first.len() == SUMMARY_LINES {
            break;
        }
    }
    let joined = first.join("\n");
    match joined.char_indices().nth(SUMMARY_CHARS) {
        None => joined,
        Some((cut, _)) => {
            let head = &joined[..cut];
            let at = head.rfind(char::is_whitespace).unwrap_or(cut);
            format!("{}…", head[..at].trim_end())
        }
    }
}

/// `text` with the line breaks inside paragraphs taken out (a knowledge
/// file written at 72 columns reads as ragged lines in a phone's mail
/// client); blank lines and list items ("- ", "* ", "1. ") stay.
pub fn reflow(text: &str) -> String {
    let item = |l: &str| {
        let l = l.trim_start();
        l.starts_with("- ")
            || l.starts_with("* ")
            || l.starts_with("• ")
            || l.split_once(". ")
                .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    };
    let mut out = String::with_capacity(text.len());
    let mut prev_blank = true;
    for line in text.lines().map(str::trim_end) {
        if line.trim().is_empty() {
            out.push('\n');
            prev_blank = true;
            continue;
        }
        if !prev_blank {
            out.push(if item(line) { '\n' } else { ' ' });
        } else if !out.is_empty() && !out.ends_with("\n\n") {
            out.push('\n');
        }
        out.push_str(line.trim_start_matches(|c: char| c == ' ' && !item(line)));
        prev_blank = false;
    }
    out.trim_end().to_string()
}

/// The text of a line that opens with a greeting and goes on ("Hola, he
/// olvidado mi contraseña" → "He olvidado mi contraseña"), capitalised.
fn after_greeting(line: &str) -> Option<String> {
    const OPENINGS: &[&str] = &[
        "hola",
        "buenos días",
        "buenos dias",
        "buenas tardes",
        "buenas noches",
        "buenas",
        "hello",
        "hi",
        "good morning",
        "good afternoon",
    ];
    let lower = line.to_lowercase();
    let open = OPENINGS.iter().find(|o| lower.starts_with(*o))?;
    let rest = line.get(open.len()..)?;
    let rest = rest.strip_prefix([',', '!', ':'])?.trim_start();
    let rest = rest.trim_start_matches(|c: char| c == ',' || c == ':' || c.is_whitespace());
    if rest.chars().count() < 15 {
        return None;
    }
    let mut c = rest.chars();
    let first = c.next()?;
    Some(first.to_uppercase().chain(c).collect())
}

/// A short line that only greets: "Hola,", "Buenos días, Ana:", "Hi team".
fn is_greeting(line: &str) -> bool {
    let first = line
        .split(|c: char| !c.is_alphabetic())
        .find(|w| !w.is_empty())
        .unwrap_or("")
        .to_lowercase();
    line.chars().count() <= 40
        && GREETINGS.contains(&first.as_str())
        && (line.ends_with([',', ':', '!']) || line.split_whitespace().count() <= 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(name: Option<&str>) -> Mailbox {
        Mailbox::new("x@cliente.test", name.map(str::to_string))
    }

    #[test]
    fn a_given_name_or_a_neutral_greeting() {
        let g = |n: Option<&str>| greeting(Language::ES, &who(n));
        assert_eq!(g(Some("Carmen Ruiz")), "Hola, Carmen:");
        assert_eq!(g(Some("Ruiz, Carmen")), "Hola, Carmen:");
        assert_eq!(g(Some("CARMEN RUIZ")), "Hola, Carmen:");
        assert_eq!(g(Some("José-Luis Pérez")), "Hola, José-Luis:");
        assert_eq!(g(Some("\"Ángela\"")), "Hola, Ángela:");
        for neutral in [
            None,
            Some(""),
            Some("carmen@cliente.test"),
            Some("Soporte Técnico"),
            Some("Sr. Ruiz"),
            Some("Dpto. Compras"),
            Some("J. Ruiz"),
            Some("ACME S.L."),
            Some("info"),
            Some("iPhone de Carmen"),
            Some("12345"),
        ] {
            assert_eq!(g(neutral), "Hola:", "{neutral:?}");
        }
        assert_eq!(
            greeting(Language::EN, &who(Some("Hugo Navarro"))),
            "Hello Hugo,"
        );
        assert_eq!(greeting(Language::EN, &who(None)), "Hello,");
    }

    #[test]
    fn days_as_people_write_them() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let now = at("2026-12-07T12:00:00Z");
        let madrid = chrono_tz::Europe::Madrid;
        assert_eq!(
            day(Language::ES, madrid, at("2026-12-07T10:00:00Z"), now),
            "el lunes 7 de diciembre"
        );
        // 23:30 UTC is already Tuesday in Madrid.
        assert_eq!(
            day(Language::ES, madrid, at("2026-12-07T23:30:00Z"), now),
            "el martes 8 de diciembre"
        );
        assert_eq!(
            day(Language::ES, madrid, at("2025-03-01T10:00:00Z"), now),
            "el sábado 1 de marzo de 2025"
        );
        assert_eq!(
            day(
                Language::EN,
                chrono_tz::UTC,
                at("2026-12-07T10:00:00Z"),
                now
            ),
            "on Monday 7 December"
        );
    }

    #[test]
    fn paragraphs_are_reflowed_and_lists_kept() {
        assert_eq!(
            reflow("Entre en el servicio\nde olvido.\n\nPasos:\n- uno\n- dos\n1. tres"),
            "Entre en el servicio de olvido.\n\nPasos:\n- uno\n- dos\n1. tres"
        );
        assert_eq!(reflow("a\n\n\nb"), "a\n\nb");
    }

    #[test]
    fn the_summary_is_the_first_paragraph_without_the_greeting() {
        let t = "Hola, buenos días:\n\nNo puedo descargar la factura de noviembre.\nMe da un error 500.\n\nOtra cosa: ¿cambiaron la tarifa?\n";
        assert_eq!(
            summary(t),
            "No puedo descargar la factura de noviembre.\nMe da un error 500."
        );
        assert_eq!(summary("Hi team,\nThe VPN is down."), "The VPN is down.");
        assert_eq!(
            summary("Hola, he olvidado mi contraseña y no puedo entrar."),
            "He olvidado mi contraseña y no puedo entrar."
        );
        // The greeting goes, the text that follows it stays.
        assert_eq!(
            summary("Hola, desde ayer no funciona la impresora de la segunda planta."),
            "Desde ayer no funciona la impresora de la segunda planta."
        );
        // "Holanda" is no greeting.
        assert_eq!(
            summary("Holanda, Bélgica y Francia."),
            "Holanda, Bélgica y Francia."
        );
        let long = "palabra ".repeat(100);
        let s = summary(&long);
        assert!(s.chars().count() <= 301 && s.ends_with('…'), "{s}");
        assert_eq!(summary("a\nb\nc\nd\ne"), "a\nb\nc");
        assert_eq!(summary("\n\n"), "");
    }
}
