//! Commands agents write on the first lines of a reply (`#cerrar`,
//! `#asignar ana@…`, `#nota`, …), in Spanish or English. They are taken out
//! of the text before it is relayed; unknown ones are reported back to the
//! agent and never break the reply.

use crate::model::{Priority, Status};

/// What the first lines of an agent's reply ask for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Commands {
    /// `#nota` / `#note`: record only, reach no one.
    pub internal: bool,
    pub status: Option<Status>,
    pub assign: Option<String>,
    /// `alta|normal|baja` / `high|normal|low`, stored in English.
    pub priority: Option<Priority>,
    /// `#añadir dirección` / `#add address`: a Cc participant to add.
    pub add: Vec<String>,
    /// `#quitar dirección` / `#remove address`: a Cc participant to remove.
    pub remove: Vec<String>,
    /// `#enviar` / `#send`, in answer to hilo's notice that an answer was
    /// not sent: send that answer as written.
    pub send: bool,
    /// `#fusionar SOP-41` / `#merge SOP-41`: merge this ticket into the
    /// one named (as written: the desk's tag decides what it names).
    pub merge: Option<String>,
    /// `#separar` / `#split`: the message answered starts a new ticket.
    pub split: bool,
    /// `#recordar 2d` / `#remind 2d`: a reminder to the agent after this
    /// long (a minute to a year).
    pub remind: Option<std::time::Duration>,
    /// Lines that looked like commands but were not understood.
    pub unknown: Vec<String>,
    /// The reply without its command lines.
    pub body: String,
}

/// Most command lines read, and most addresses added or removed; the rest
/// of a longer run of `#` lines is reported as not understood, up to the
/// same number.
pub const MAX_COMMANDS: usize = 20;

/// An address argument, without angle brackets, lowercase.
fn address(arg: &[&str]) -> Option<String> {
    match arg {
        [a] if a.contains('@') => Some(a.trim_matches(['<', '>']).to_ascii_lowercase()),
        _ => None,
    }
}

/// `#recordar`'s delay: a duration from a minute to a year.
fn remind_after(s: &str) -> Option<std::time::Duration> {
    humantime::parse_duration(s)
        .ok()
        .filter(|d| d.as_secs() >= 60 && d.as_secs() <= 366 * 86_400)
}

/// Splits the leading command lines (blank lines between them allowed) from
/// the reply's text.
pub fn parse(text: &str) -> Commands {
    let mut c = Commands::default();
    let mut lines = text.lines().peekable();
    let mut rest_first: Option<String> = None;
    while let Some(line) = lines.peek() {
        let t = line.trim();
        if t.is_empty() {
            lines.next();
            continue;
        }
        let Some(cmd) = t.strip_prefix('#') else {
            break;
        };
        let mut words = cmd.split_whitespace();
        let name = words.next().unwrap_or("").to_lowercase();
        let arg: Vec<&str> = words.collect();
        // The words of every language's phrase table (`[commands]`).
        match crate::phrases::command(&name).unwrap_or("") {
            "note" => {
                c.internal = true;
                // "#nota el cliente llamó": the rest of the line is the note.
                if !arg.is_empty() {
                    rest_first = Some(arg.join(" "));
                }
            }
            "close" if arg.is_empty() => c.status = Some(Status::Closed),
            "pending" if arg.is_empty() => c.status = Some(Status::Pending),
            "open" if arg.is_empty() => c.status = Some(Status::Open),
            "resolved" if arg.is_empty() => c.status = Some(Status::Resolved),
            "assign" if address(&arg).is_some() => c.assign = address(&arg),
            "add" if address(&arg).is_some() => {
                let room = MAX_COMMANDS.saturating_sub(c.add.len());
                c.add.extend(address(&arg).into_iter().take(room));
            }
            "remove" if address(&arg).is_some() => {
                let room = MAX_COMMANDS.saturating_sub(c.remove.len());
                c.remove.extend(address(&arg).into_iter().take(room));
            }
            "merge" if arg.len() == 1 => c.merge = Some(arg[0].to_string()),
            "split" if arg.is_empty() => c.split = true,
            "send" if arg.is_empty() => c.send = true,
            "remind" if arg.len() == 1 && remind_after(arg[0]).is_some() => {
                c.remind = remind_after(arg[0])
            }
            "priority" if arg.len() == 1 && crate::phrases::priority(arg[0]).is_some() => {
                c.priority = crate::phrases::priority(arg[0])
            }
            _ if c.unknown.len() < MAX_COMMANDS => c.unknown.push(t.to_string()),
            _ => {}
        }
        lines.next();
    }
    let mut body: Vec<String> = rest_first.into_iter().collect();
    body.extend(lines.map(str::to_string));
    c.body = body.join("\n").trim().to_string();
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_on_top_are_taken_out() {
        let c = parse("#cerrar\n#asignar <Ana@Example.com>\n\nYa está resuelto.\n#no es orden");
        assert_eq!(c.status, Some(Status::Closed));
        assert_eq!(c.assign.as_deref(), Some("ana@example.com"));
        assert_eq!(c.body, "Ya está resuelto.\n#no es orden");
        assert!(c.unknown.is_empty() && !c.internal);
    }

    #[test]
    fn notes_priority_english_and_unknown() {
        let c = parse("#note customer called\nsecond line");
        assert!(c.internal);
        assert_eq!(c.body, "customer called\nsecond line");
        let c = parse("#priority HIGH\n#pending\nOK");
        assert_eq!(
            (c.priority, c.status),
            (Some(Priority::High), Some(Status::Pending))
        );
        let c = parse("#cerar\n#prioridad máxima\nTexto");
        assert_eq!(c.unknown, vec!["#cerar", "#prioridad máxima"]);
        assert_eq!(c.body, "Texto");
        assert_eq!(parse("Sin órdenes").body, "Sin órdenes");
    }

    #[test]
    fn merge_and_split() {
        let c = parse("#fusionar [SOP-41]\nSon la misma consulta.");
        assert_eq!(c.merge.as_deref(), Some("[SOP-41]"));
        assert_eq!(c.body, "Son la misma consulta.");
        assert!(parse("#split\nx").split);
        assert_eq!(
            parse("#recordar 2d\nx").remind,
            Some(std::time::Duration::from_secs(2 * 86_400))
        );
        assert_eq!(
            parse("#remind 3h").remind,
            Some(std::time::Duration::from_secs(3 * 3600))
        );
        assert_eq!(parse("#recordar mañana").unknown, ["#recordar mañana"]);
        assert_eq!(
            parse("#remind 5s").unknown,
            ["#remind 5s"],
            "under a minute"
        );
        assert_eq!(parse("#merge\nx").unknown, ["#merge"]);
        assert_eq!(parse("#separar ya\nx").unknown, ["#separar ya"]);
    }

    #[test]
    fn participants_are_added_and_removed_by_address() {
        let c = parse("#añadir <Jefe@Cliente.test>\n#quitar otro@cliente.test\n#add x\nHola");
        assert_eq!(c.add, ["jefe@cliente.test"]);
        assert_eq!(c.remove, ["otro@cliente.test"]);
        assert_eq!(c.unknown, ["#add x"]);
        assert_eq!(c.body, "Hola");
    }

    #[test]
    fn a_flood_of_command_lines_is_bounded() {
        let text = "#bailar\n#add a@b.test\n".repeat(10_000) + "Hola";
        let c = parse(&text);
        assert_eq!(c.unknown.len(), MAX_COMMANDS);
        assert_eq!(c.add.len(), MAX_COMMANDS);
        assert_eq!(c.body, "Hola");
    }
}
