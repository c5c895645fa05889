#!/usr/bin/env bash
# Installs the Debian packages that hilo's demo and tests need: Dovecot (IMAP,
# LMTP, Sieve), Postfix, curl, systemd (for systemd-analyze verify) and the
# DejaVu font (the weekly report's chart labels).
# Idempotent: does nothing when all are there.
# The packages' own services are not started: our scripts run private instances.
set -euo pipefail

pkgs=(dovecot-imapd dovecot-lmtpd dovecot-sieve dovecot-managesieved postfix curl ca-certificates openssl systemd fonts-dejavu-core)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections
echo "postfix postfix/mailname string localhost.localdomain" | $sudo debconf-set-selections
# Keep the packages' init scripts from starting system-wide daemons on ports 25/143.
policy=/usr/sbin/policy-rc.d
created_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod +x "$policy"
  created_policy=1
fi
trap '[ -n "$created_policy" ] && $sudo rm -f "$policy"' EXIT
# An apt index older than a day (or none) is refreshed first.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -1)" ]; then
  $sudo apt-get update -q
fi
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
