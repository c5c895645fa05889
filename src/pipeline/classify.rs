//! Who sent a message and what it is: a person, an auto-responder, a bounce,
//! a mailing list, or ourselves. Pure function over the parsed headers.
//!
//! The rules follow RFC 3834 and what mature helpdesks learned: anything a
//! machine sent is never acknowledged, and never opens a ticket.

use crate::mail::msgid::Signer;
use crate::mail::Inbound;
use crate::model::MessageKind;

/// The verdict on one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    pub kind: MessageKind,
    /// May we send an automatic answer? False for every machine, and for
    /// people who asked not to get one (`X-Auto-Response-Suppress`, no-reply).
    pub may_autoreply: bool,
    /// Why, for the log and the record.
    pub reason: &'static str,
}

/// What classification needs to know about this installation.
pub struct Context<'a> {
    /// Every desk address (and alias) of this installation, lowercase;
    /// their plus-addressed spellings are ours too.
    pub own_addresses: &'a [String],
    pub signer: &'a Signer,
}

fn verdict(kind: MessageKind, reason: &'static str) -> Classification {
    Classification {
        kind,
        may_autoreply: false,
        reason,
    }
}

fn local_part(addr: &str) -> &str {
    addr.split('@').next().unwrap_or(addr)
}

fn is_noreply(addr: &str) -> bool {
    let l = local_part(addr).replace(['-', '_', '.'], "");
    matches!(
        l.as_str(),
        "noreply" | "donotreply" | "noresponder" | "nepasrepondre"
    ) || l.starts_with("noreply")
}

/// How non-delivery reports begin their subject (lowercase), in the MTAs
/// sisimai documents and the languages hilo's users write.
const BOUNCE_SUBJECTS: &[&str] = &[
    "undelivered mail returned to sender",
    "undeliverable:",
    "undeliverable mail",
    "undeliverable message",
    "mail delivery failed",
    "mail delivery failure",
    "delivery status notification (failure)",
    "delivery failure",
    "delivery failed",
    "failure notice",
    "returned mail:",
    "message not delivered",
    "mail system error - returned mail",
    "warning: could not send message",
    "could not send message",
    "non remis :",
    "non remis:",
    "non distribuable",
    "impossible de remettre",
    "unzustellbar:",
    "nicht zustellbar",
    "no se puede entregar:",
    "no se pudo entregar",
    "mensaje no entregado",
    "no entregado:",
    "non recapitabile",
    "impossibile recapitare",
    "não entregue",
    "mensagem não entregue",
    "notificação de falha na entrega",
    "返送されたメール",
    "配信不能",
    "退信",
    "系统退信",
];

/// What mail systems write first in a non-delivery report (lowercase).
const BOUNCE_TEXTS: &[&str] = &[
    "this is the mail system at host",
    "i'm afraid i wasn't able to deliver your message",
    "this message was created automatically by mail delivery software",
    "hi. this is the qmail-send program",
    "delivery to the following recipient failed permanently",
    "delivery to the following recipients failed",
    "the following addresses had permanent fatal errors",
    "your message did not reach some or all of the intended recipients",
    "your message couldn't be delivered",
    "message delivery to the following recipients failed",
    "unable to deliver message to the following",
    "sorry, we were unable to deliver your message",
    "the original message was received at",
    "could not be delivered to one or more recipients",
    "error occurred while trying to deliver this message",
];

fn bounce_subject(subject: &str) -> bool {
    let s = subject.trim_start().to_lowercase();
    BOUNCE_SUBJECTS.iter().any(|p| s.starts_with(p))
}

/// Only the first three lines (mail systems begin with these words): a
/// person quoting a report below their question is still a person.
fn bounce_text(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(3)
        .filter(|l| !l.starts_with('>') && l.len() < 400)
        .any(|l| {
            let l = l.to_lowercase();
            BOUNCE_TEXTS.iter().any(|p| l.contains(p))
        })
}

/// Subject prefixes auto-responders write before the original subject,
/// es/en/de/fr/it/pt (lowercase; a `:` follows, after optional spaces).
const OOO_PREFIXES: &[&str] = &[
    "automatic reply",
    "auto reply",
    "auto-reply",
    "autoreply",
    "auto response",
    "auto-response",
    "autoresponse",
    "out of office",
    "out of the office",
    "vacation reply",
    "respuesta automática",
    "respuesta automatica",
    "fuera de la oficina",
    "fuera de oficina",
    "abwesenheitsnotiz",
    "automatische antwort",
    "réponse automatique",
    "reponse automatique",
    "absence du bureau",
    "risposta automatica",
    "fuori sede",
    "fuori ufficio",
    "resposta automática",
    "resposta automatica",
    "fora do escritório",
    "ausente do escritório",
];

/// Opening words of out-of-office texts, es/en/de/fr/it/pt (lowercase).
const OOO_PHRASES: &[&str] = &[
    "i am out of the office",
    "i'm out of the office",
    "i am currently out of the office",
    "i will be out of the office",
    "i am away from the office",
    "this is an automatic reply",
    "this is an automated response",
    "this is an auto-reply",
    "estoy fuera de la oficina",
    "me encuentro fuera de la oficina",
    "estaré fuera de la oficina",
    "estoy de vacaciones",
    "esta es una respuesta automática",
    "este es un mensaje automático",
    "ich bin derzeit nicht im büro",
    "ich bin zurzeit nicht im büro",
    "ich bin außer haus",
    "dies ist eine automatische antwort",
    "je suis absent",
    "je suis actuellement absent",
    "ceci est une réponse automatique",
    "sono fuori ufficio",
    "sono assente",
    "questa è una risposta automatica",
    "estou fora do escritório",
    "estou ausente",
    "esta é uma resposta automática",
];

/// Does the subject begin like an auto-responder's (`Automatic reply:`,
/// `Respuesta automática:`…)? Only as a prefix with its colon: a customer
/// may well write about their vacation.
fn ooo_subject(subject: &str) -> bool {
    let s = subject.trim_start().to_lowercase();
    OOO_PREFIXES.iter().any(|p| {
        s.strip_prefix(p)
            .is_some_and(|rest| rest.trim_start().starts_with(':'))
    })
}

/// Does a reply's text open like an out-of-office note? Only the first
/// 300 characters are read, and only short texts count: a person who
/// writes at length is answering, whatever their first words.
fn ooo_body(new_text: &str) -> bool {
    if new_text.len() > 3000 {
        return false;
    }
    let head: String = new_text
        .chars()
        .take(300)
        .collect::<String>()
        .to_lowercase();
    let head = head.replace('’', "'");
    OOO_PHRASES.iter().any(|p| head.contains(p))
}

pub fn classify(msg: &Inbound, ctx: &Context<'_>) -> Classification {
    let a = &msg.auto;
    let from = msg.from.address.as_str();
    let lower = |v: &Option<String>| v.as_deref().map(str::to_ascii_lowercase);

    // Our own mail first: whatever else it looks like, it must never loop.
    if crate::mail::is_own(ctx.own_addresses, from) {
        return verdict(MessageKind::Own, "sent from a desk address");
    }
    if a.loop_marker.is_some() {
        return verdict(MessageKind::Own, "carries our loop marker");
    }
    if let Some(id) = &msg.message_id {
        if ctx.signer.verify(id).is_some() {
            return verdict(MessageKind::Own, "has one of our Message-IDs");
        }
    }

    // Delivery reports.
    if a.content_type == "multipart/report" && a.report_type.as_deref() == Some("delivery-status") {
        return verdict(MessageKind::Bounce, "delivery status notification");
    }
    let local = local_part(from).to_ascii_lowercase();
    if local == "mailer-daemon" || local == "postmaster" {
        return verdict(MessageKind::Bounce, "sent by a mailer daemon");
    }
    // Reports without multipart/report (qmail, older Exim and Sendmail,
    // Apache James, mobile carriers): by their well-known subjects, and by
    // the first words mail systems write.
    if bounce_subject(&msg.subject) {
        return verdict(MessageKind::Bounce, "a mail system's non-delivery subject");
    }
    if bounce_text(&msg.text) {
        return verdict(MessageKind::Bounce, "a mail system's non-delivery text");
    }

    // Auto-responders (RFC 3834 and the de-facto headers).
    if let Some(v) = lower(&a.auto_submitted) {
        if v.split(';').next().map(str::trim) != Some("no") {
            return verdict(MessageKind::AutoReply, "Auto-Submitted");
        }
    }
    if a.x_autoreply.is_some() || a.x_autorespond.is_some() {
        return verdict(MessageKind::AutoReply, "X-Autoreply/X-Autorespond");
    }
    if lower(&a.x_apple_action).is_some_and(|v| v.contains("vacation")) {
        return verdict(MessageKind::AutoReply, "X-Apple-Action: VACATION");
    }
    if a.x_loop.is_some() {
        return verdict(MessageKind::AutoReply, "X-Loop: sent on by a machine");
    }
    let precedence = lower(&a.precedence);
    if matches!(precedence.as_deref(), Some("auto_reply" | "auto-reply")) {
        return verdict(MessageKind::AutoReply, "Precedence: auto_reply");
    }
    if a.content_type == "multipart/report" {
        return verdict(
            MessageKind::AutoReply,
            "machine report (read receipt or other)",
        );
    }

    // Lists and bulk mail.
    if a.list_id.is_some() || a.list_unsubscribe.is_some() || a.x_mailing_list.is_some() {
        return verdict(MessageKind::List, "List-Id/List-Unsubscribe/X-Mailing-List");
    }
    if matches!(precedence.as_deref(), Some("bulk" | "list" | "junk")) {
        return verdict(MessageKind::List, "Precedence: bulk/list/junk");
    }

    // Out-of-office replies that carry none of the headers above (Outlook
    // to the outside, many webmails): by their subject, and for replies by
    // their opening words.
    if ooo_subject(&msg.subject) {
        return verdict(MessageKind::AutoReply, "out-of-office subject");
    }
    let is_reply = !msg.in_reply_to.is_empty()
        || !msg.references.is_empty()
        || crate::mail::subject::strip_prefixes(&msg.subject).len() < msg.subject.len();
    if is_reply && ooo_body(&msg.new_text) {
        return verdict(MessageKind::AutoReply, "out-of-office text in a reply");
    }

    // The null reverse path with no other marker: a non-delivery notice from
    // an MTA that does not write DSNs (RFC 5321 4.5.5). Auto-responders that
    // use it also say Auto-Submitted, which matched above.
    if a.return_path.as_deref() == Some("") {
        return verdict(MessageKind::Bounce, "null Return-Path <>");
    }

    // A person; but some ask not to be answered automatically.
    let suppress = lower(&a.x_auto_response_suppress).is_some_and(|v| {
        v.split(',')
            .map(str::trim)
            .any(|t| matches!(t, "all" | "oof" | "autoreply"))
    });
    if suppress {
        return Classification {
            kind: MessageKind::Customer,
            may_autoreply: false,
            reason: "X-Auto-Response-Suppress",
        };
    }
    if is_noreply(from) {
        return Classification {
            kind: MessageKind::Customer,
            may_autoreply: false,
            reason: "no-reply sender",
        };
    }
    Classification {
        kind: MessageKind::Customer,
        may_autoreply: true,
        reason: "a person's mail",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify_raw(raw: &str) -> Classification {
        let signer = Signer::new(b"k");
        let own = vec!["soporte@example.test".to_string()];
        let ctx = Context {
            own_addresses: &own,
            signer: &signer,
        };
        classify(&crate::mail::parse(raw.as_bytes()).unwrap(), &ctx)
    }

    #[test]
    fn people_and_machines() {
        let base = "From: Ana <ana@cliente.test>\r\nSubject: hola\r\n";
        let c = classify_raw(&format!("{base}\r\nbody"));
        assert_eq!((c.kind, c.may_autoreply), (MessageKind::Customer, true));
        let c = classify_raw(&format!("{base}Auto-Submitted: no\r\n\r\nbody"));
        assert_eq!(c.kind, MessageKind::Customer);
        for h in [
            "Auto-Submitted: auto-replied",
            "Auto-Submitted: auto-replied (vacation)",
            "X-Autoreply: yes",
            "X-Autorespond: x",
            "Precedence: auto_reply",
        ] {
            let c = classify_raw(&format!("{base}{h}\r\n\r\nbody"));
            assert_eq!(c.kind, MessageKind::AutoReply, "{h}");
            assert!(!c.may_autoreply);
        }
        for h in [
            "List-Id: <x.lists.test>",
            "List-Unsubscribe: <mailto:u@x>",
            "Precedence: bulk",
            "Precedence: junk",
        ] {
            assert_eq!(
                classify_raw(&format!("{base}{h}\r\n\r\nb")).kind,
                MessageKind::List,
                "{h}"
            );
        }
        let c = classify_raw(&format!(
            "{base}X-Auto-Response-Suppress: DR, OOF, AutoReply\r\n\r\nb"
        ));
        assert_eq!((c.kind, c.may_autoreply), (MessageKind::Customer, false));
        let c = classify_raw("From: no-reply@shop.test\r\nSubject: x\r\n\r\nb");
        assert_eq!((c.kind, c.may_autoreply), (MessageKind::Customer, false));
    }

    #[test]
    fn out_of_office_without_headers() {
        for s in [
            "Automatic reply: [SOP-4] Factura",
            "Respuesta automática: [SOP-4] Factura",
            "Abwesenheitsnotiz: Rechnung",
            "Réponse automatique : facture",
            "Risposta automatica: fattura",
            "Resposta automática: fatura",
            "Out of Office: invoice",
            "AUTO REPLY: x",
        ] {
            let c = classify_raw(&format!("From: ana@cliente.test\r\nSubject: {s}\r\n\r\nb"));
            assert_eq!(c.kind, MessageKind::AutoReply, "{s}");
        }
        // A customer may write about their vacation or their office.
        for s in [
            "Vacaciones: no puedo reservar",
            "Out of office hours support?",
            "Automatic reply settings",
        ] {
            let c = classify_raw(&format!("From: ana@cliente.test\r\nSubject: {s}\r\n\r\nb"));
            assert_eq!(c.kind, MessageKind::Customer, "{s}");
        }
        // The opening words count in a reply only.
        let body = "Estoy fuera de la oficina hasta el lunes. Para urgencias llame al 600 000 000.";
        let reply = format!(
            "From: ana@cliente.test\r\nIn-Reply-To: <x@y>\r\nSubject: RE: Factura\r\n\r\n{body}"
        );
        assert_eq!(classify_raw(&reply).kind, MessageKind::AutoReply);
        let fresh = format!("From: ana@cliente.test\r\nSubject: Factura\r\n\r\n{body}");
        assert_eq!(classify_raw(&fresh).kind, MessageKind::Customer);
        // Apple's vacation, X-Loop, X-Mailing-List.
        let c = classify_raw(
            "From: a@icloud.test\r\nX-Apple-Action: VACATION\r\nSubject: Re: x\r\n\r\nb",
        );
        assert_eq!(c.kind, MessageKind::AutoReply);
        let c = classify_raw("From: a@b.test\r\nX-Loop: a@b.test\r\nSubject: x\r\n\r\nb");
        assert_eq!(c.kind, MessageKind::AutoReply);
        let c = classify_raw("From: a@b.test\r\nX-Mailing-List: <l@b.test>\r\nSubject: x\r\n\r\nb");
        assert_eq!(c.kind, MessageKind::List);
    }

    #[test]
    fn reports_without_multipart_report_are_bounces() {
        for raw in [
            "From: mailer-daemon@mx.test\r\nSubject: x\r\n\r\nb".to_string(),
            "From: Mail Delivery System <mail@mx.test>\r\nSubject: Mail delivery failed: returning message to sender\r\n\r\nb".to_string(),
            "From: James <james@mx.test>\r\nSubject: x\r\n\r\nHi. This is the qmail-send program at mx.test.\nI'm afraid I wasn't able to deliver your message.".to_string(),
            "From: postmaster@carrier.test\r\nSubject: 返送されたメール\r\n\r\nb".to_string(),
            "From: sistema@mx.test\r\nSubject: No se puede entregar: Factura\r\n\r\nb".to_string(),
        ] {
            assert_eq!(classify_raw(&raw).kind, MessageKind::Bounce, "{raw}");
        }
        // A person forwarding a report, or quoting one below their question.
        for raw in [
            "From: ana@cliente.test\r\nSubject: Fwd: Undelivered Mail Returned to Sender\r\n\r\nb",
            "From: ana@cliente.test\r\nSubject: ayuda\r\n\r\n¿Qué significa esto? Me llegó este aviso al escribiros ayer por la tarde desde la oficina, y no entiendo si el pedido se ha registrado o no, ni si tengo que volver a enviarlo. Gracias de antemano por la ayuda, y perdonad la molestia, pero es urgente porque el plazo acaba el viernes y no quiero perder la reserva que hicimos en septiembre para todo el equipo.\n\n> This is the mail system at host mx.test.",
        ] {
            assert_eq!(classify_raw(raw).kind, MessageKind::Customer, "{raw}");
        }
    }

    #[test]
    fn bounces_and_own_mail() {
        let c = classify_raw("From: MAILER-DAEMON@mx.test\r\nSubject: Undelivered\r\n\r\nb");
        assert_eq!(c.kind, MessageKind::Bounce);
        let c = classify_raw("Return-Path: <>\r\nFrom: x@mx.test\r\nSubject: failed\r\n\r\nb");
        assert_eq!(c.kind, MessageKind::Bounce);
        let c = classify_raw(
            "From: postmaster@mx.test\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n--x--\r\n",
        );
        assert_eq!(c.kind, MessageKind::Bounce);
        let c = classify_raw("From: Soporte <SOPORTE@example.test>\r\nSubject: x\r\n\r\nb");
        assert_eq!(c.kind, MessageKind::Own);
        let c = classify_raw("From: a@b.test\r\nX-Hilo-Loop: otro@example.test\r\n\r\nb");
        assert_eq!(c.kind, MessageKind::Own);
    }
}
