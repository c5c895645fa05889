#!/usr/bin/env bash
# hilo's main job on this machine, end to end: starts the private Dovecot and
# Postfix, starts `hilo run` on them, sends a sample customer mail through
# Postfix to soporte@example.test, waits for the acknowledgement in the
# customer's mailbox, has the customer reply in the thread, and shows the
# ticket and the acknowledgement. State stays in $HILO_DEMO_DIR (default
# /tmp/hilo-demo) so that running it again adds one more ticket.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
DEMO=${HILO_DEMO_DIR:-/tmp/hilo-demo}
PASSWORD=${HILO_MAIL_PASSWORD:-secret}
CUSTOMER=ana@cliente.test
DESK=soporte@example.test

scripts/install-deps.sh
scripts/mailserver.sh start
cargo build --locked --quiet
HILO="$repo/target/debug/hilo"

mkdir -p "$DEMO"
cat > "$DEMO/hilo.toml" <<TOML
[store]
path = "$DEMO/hilo.db"

[smtp]
host = "127.0.0.1"
port = 10025
security = "none"

[intake]
poll_interval = "1s"

[[desk]]
name = "soporte"
address = "$DESK"
display_name = "Soporte"
tag = "SOP"
language = "es"

[desk.imap]
host = "127.0.0.1"
port = 10143
security = "starttls"
ca_file = "${HILO_MAIL_STATE:-/tmp/hilo-mail}/tls/ca.pem"
username = "$DESK"
password = "$PASSWORD"
TOML
export HILO_CONFIG="$DEMO/hilo.toml"

imap_find() { # user, header, value: UID of the first matching message in INBOX
  curl -s --user "$1:$PASSWORD" "imap://127.0.0.1:10143/INBOX" -X "UID SEARCH HEADER $2 \"$3\"" \
    | tr -d '\r' | sed -n 's/^\* SEARCH//p' | tr ' ' '\n' | grep . | head -1 || true
}
imap_fetch() { # user, uid
  curl -s --user "$1:$PASSWORD" "imap://127.0.0.1:10143/INBOX;UID=$2"
}
wait_for() { # user, header, value: waits for such a message, prints its UID
  local uid
  for _ in $(seq 1 100); do
    uid=$(imap_find "$@")
    [ -n "$uid" ] && { echo "$uid"; return 0; }
    sleep 0.2
  done
  echo "demo: timed out waiting for mail to $1 with $2: $3" >&2; return 1
}

"$HILO" run 2>"$DEMO/hilo.log" &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null; wait $daemon 2>/dev/null || true' EXIT
# hilo handles mail that arrives once it watches the mailbox (start_from = "now").
for _ in $(seq 1 100); do grep -q "connected" "$DEMO/hilo.log" && break; sleep 0.1; done

id="demo-$(date +%s%N)@cliente.test"
printf 'From: Ana Pérez <%s>\r\nTo: Soporte <%s>\r\nSubject: No puedo acceder a mi cuenta\r\nMessage-ID: <%s>\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nHola:\r\n\r\nDesde ayer la contraseña no funciona y no puedo entrar.\r\n\r\nGracias,\r\nAna\r\n' \
  "$CUSTOMER" "$DESK" "$id" "$(date -R)" > "$DEMO/customer.eml"
echo "== the customer writes to $DESK (through Postfix)"
curl -s smtp://127.0.0.1:10025 --mail-from "$CUSTOMER" --mail-rcpt "$DESK" --upload-file "$DEMO/customer.eml"
ack=$(imap_fetch "$CUSTOMER" "$(wait_for "$CUSTOMER" In-Reply-To "<$id>")" | tr -d '\r')
echo
echo "== the acknowledgement in the customer's mailbox"
printf '%s\n' "$ack" | grep -E '^(From|To|Subject|In-Reply-To|Auto-Submitted|Message-ID):'
number=$(printf '%s\n' "$ack" | sed -n 's/^Subject: \[SOP-\([0-9]*\)\].*/\1/p')
tag="[SOP-$number]"
echo
echo "== the customer replies in the thread"
printf 'From: Ana Pérez <%s>\r\nTo: %s\r\nSubject: RE: %s No puedo acceder a mi cuenta\r\nMessage-ID: <re-%s>\r\nIn-Reply-To: %s\r\nDate: %s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nOlvidé decir que uso el móvil.\r\n' \
  "$CUSTOMER" "$DESK" "$tag" "$id" "$(printf '%s\n' "$ack" | sed -n 's/^Message-ID: //p')" "$(date -R)" > "$DEMO/reply.eml"
curl -s smtp://127.0.0.1:10025 --mail-from "$CUSTOMER" --mail-rcpt "$DESK" --upload-file "$DEMO/reply.eml"
for _ in $(seq 1 50); do
  "$HILO" tickets show "$number" --json | grep -q 'móvil' && break; sleep 0.2
done

echo
echo "== hilo tickets list"
"$HILO" tickets list
echo
echo "== hilo tickets show $number"
"$HILO" tickets show "$number"
echo
echo "(hilo's log: $DEMO/hilo.log; config: $DEMO/hilo.toml)"
