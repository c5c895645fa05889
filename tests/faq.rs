//! Answers from the FAQ (issue 15, part 5), end to end through the real
//! Postfix and Dovecot, with the shipped example knowledge file: the
//! acknowledgement carries the answer, the agents hear which, and the
//! customer's "#resuelto" resolves the ticket.

mod support;

use support::*;

#[tokio::test]
async fn an_answer_in_the_acknowledgement_and_resuelto_resolves() {
    let w = World::new();
    let agent = format!("agente-{}@soporte.example.com", uid());
    let faq = repo().join("config/faq/ctaima.example.toml");
    w.desk_settings(&format!(
        "agents = [\"{agent}\"]\nfaq = \"{}\"",
        faq.display()
    ));
    w.init().await;
    let ana = format!("ana-{}@cliente.test", uid());
    let raw = customer_mail(
        &ana,
        &w.desk,
        "No puedo entrar",
        "Hola, he olvidado mi contraseña y no puedo acceder a la plataforma.",
    );
    w.deliver(&ana, &raw).await;

    let ack = wait_mailbox(&ana, 1, WAIT).await;
    let a = text(&ack[0]);
    assert!(a.contains("Quizá esto le ayude"), "{a}");
    assert!(a.contains("* He olvidado mi contraseña"), "{a}");
    assert!(a.contains("servicio de olvido de contraseña"), "{a}");
    assert!(!a.contains("Cómo cambiar la contraseña"), "one answer: {a}");
    let n = text(&wait_mailbox(&agent, 1, WAIT).await[0]);
    assert!(
        n.contains("Respuestas de la FAQ enviadas en el acuse de recibo:\n  «He olvidado mi contraseña» (contrasena-olvidada;"),
        "{n}"
    );

    // "#resuelto" in answer to that acknowledgement resolves the ticket.
    let reply = reply_to(&ana, &w.desk, &ack[0], "#resuelto, gracias");
    w.deliver(&ana, &reply).await;
    assert_eq!(w.ticket(1).await["status"], "resolved");
    let n = text(&wait_mailbox(&agent, 2, WAIT).await[1]);
    assert!(
        n.contains("El cliente dice que la respuesta de la FAQ"),
        "{n}"
    );

    // A question the file does not answer gets a plain acknowledgement.
    let raw = customer_mail(
        &ana,
        &w.desk,
        "Factura duplicada",
        "Nos han cobrado dos veces la cuota de noviembre.",
    );
    w.deliver(&ana, &raw).await;
    let acks = wait_mailbox(&ana, 2, WAIT).await;
    assert!(!text(&acks[1]).contains("Quizá esto le ayude"));
}

#[tokio::test]
async fn a_reply_that_is_not_a_resolution_leaves_the_ticket_open() {
    let w = World::new();
    let faq = repo().join("config/faq/ctaima.example.toml");
    w.desk_settings(&format!("faq = \"{}\"", faq.display()));
    w.init().await;
    let ana = format!("ana-{}@cliente.test", uid());
    let raw = customer_mail(
        &ana,
        &w.desk,
        "Navegador",
        "¿Qué navegador recomiendan? Uso Internet Explorer.",
    );
    w.deliver(&ana, &raw).await;
    let ack = wait_mailbox(&ana, 1, WAIT).await;
    assert!(text(&ack[0]).contains("Navegadores recomendados"));
    let reply = reply_to(
        &ana,
        &w.desk,
        &ack[0],
        "Ya está resuelto lo del navegador, pero sigo sin ver los informes.",
    );
    w.deliver(&ana, &reply).await;
    assert_eq!(w.ticket(1).await["status"], "new");
}

#[test]
fn hilo_faq_eval_prints_precision_and_recall() {
    // The CLI over the example config, with passwords that exist.
    let dir = tempfile::tempdir().unwrap();
    let config = std::fs::read_to_string(repo().join("config/hilo.example.toml"))
        .unwrap()
        .replace(
            "password_file = \"/etc/hilo/soporte.pass\"",
            "password = \"x\"",
        )
        .replace(
            "password_command = \"cat /etc/hilo/helpdesk.pass\"",
            "password = \"y\"",
        )
        .replace(
            "faq = \"config/faq/",
            &format!("faq = \"{}/config/faq/", repo().display()),
        );
    let path = dir.path().join("hilo.toml");
    std::fs::write(&path, config).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hilo"))
        .args(["--config", path.to_str().unwrap(), "faq", "eval"])
        .arg(repo().join("fixtures/faq/heldout.toml"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        stdout.contains("14 questions: 6 answers offered, 6 right: precision 1.00; 9 with an entry, 6 got it: recall 0.67"),
        "{stdout}"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hilo"))
        .args([
            "--config",
            path.to_str().unwrap(),
            "faq",
            "match",
            "--desk",
            "helpdesk",
        ])
        .arg("¿Quién valida los documentos? Me rechazaron uno.")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("validacion-documentos"), "{stdout}");
}

/// The shipped knowledge file on the labelled questions (the set the
/// rules were tuned on) and on the held-out ones: the figures the
/// README reports, which must be these.
#[test]
fn the_example_knowledge_file_on_the_labelled_questions() {
    let config =
        hilo::config::Config::from_toml(&hilo::config::example_config(), Vec::new()).unwrap();
    let readme = include_str!("../README.md");
    for (file, min) in [("questions.toml", 30), ("heldout.toml", 10)] {
        let path = format!("{}/fixtures/faq/{file}", env!("CARGO_MANIFEST_DIR"));
        let q = hilo::faq::questions(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert!(
            q.len() >= min,
            "at least {min} labelled questions in {file}"
        );
        let e = hilo::faq::evaluate(&q, |name| {
            let d = config.desk(name)?;
            Some((
                d.faq.as_deref()?,
                d.faq_threshold,
                d.faq_max_answers as usize,
            ))
        });
        for m in &e.misses {
            println!("{file}: miss: {m}");
        }
        let line = format!(
            "`{file}`: {} questions ({} with an entry): precision {:.2} ({} of {} answers offered right), recall {:.2} ({} of {})",
            e.questions,
            e.labelled,
            e.precision(),
            e.right,
            e.offered,
            e.recall(),
            e.found,
            e.labelled
        );
        println!("{line}");
        assert!(readme.contains(&line), "README.md must report: {line}");
    }
}
