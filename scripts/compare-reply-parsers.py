#!/usr/bin/env python3
"""New text, hilo against other reply parsers: each library's exact-match rate
on the cases that are not from its own suite (nor the suite it was ported
from), and hilo's on the same cases.

    scripts/compare-reply-parsers.py CORPUS [HILO]

CORPUS holds <suite>/<name>.eml with <name>.expect.toml (`class` = the
suite, `new_text`), as `hilo corpus` reads; suites named talon, zapier, erp
(github/email_reply_parser), php (willdurand/EmailReplyParser) and crisp.
Needs python3 with `pip install talon email_reply_parser` and node with
`npm install email-reply-parser` in the current directory. Libraries are
compared after line ends, trailing blanks and surrounding empty lines are
normalised, hilo's too (`hilo corpus` alone is strict).
"""
import glob, json, os, re, subprocess, sys, tomllib
import email
from email import policy
from email_reply_parser import EmailReplyParser
from talon import quotations

ROOT = sys.argv[1]
HILO = sys.argv[2] if len(sys.argv) > 2 else "hilo"
CRISP = """
const EmailReplyParser = require("email-reply-parser").default;
const texts = JSON.parse(require("fs").readFileSync(0, "utf8"));
const out = texts.map(t => {
  try { return new EmailReplyParser().read(t).getVisibleText(); } catch (e) { return null; }
});
process.stdout.write(JSON.stringify(out));
"""

def norm(s):
    if s is None:
        return None
    s = s.replace("\r\n", "\n").replace("\r", "\n")
    lines = [l.rstrip() for l in s.split("\n")]
    return "\n".join(lines).strip("\n")

cases = []
for eml in sorted(glob.glob(f"{ROOT}/*/*.eml")):
    exp = eml[:-4] + ".expect.toml"
    if not os.path.exists(exp):
        continue
    t = tomllib.load(open(exp, "rb"))
    if "new_text" not in t:
        continue
    msg = email.message_from_bytes(open(eml, "rb").read(), policy=policy.default)
    body = msg.get_body(preferencelist=("plain",)).get_content()
    cases.append(dict(path=eml, suite=t.get("class", os.path.basename(os.path.dirname(eml))),
                      body=body, expected=norm(t["new_text"])))

# hilo's misses, with what it got: `--- PATH (class)`, `expected:`, `got:`.
out = subprocess.run([HILO, "corpus", ROOT, "--misses"], capture_output=True, text=True, check=True).stdout
out = out.split("\nCLASS ")[0]
got = {}
for block in re.split(r"^--- ", out, flags=re.M)[1:]:
    path = block.split(" (", 1)[0]
    got[path] = norm(block.split("\ngot:\n", 1)[1])

crisp = json.loads(subprocess.run(["node", "-e", CRISP], input=json.dumps([c["body"] for c in cases]),
                                  capture_output=True, text=True, check=True).stdout)
for c, cr in zip(cases, crisp):
    c["hilo"] = c["path"] not in got or got[c["path"]] == c["expected"]
    c["crisp"] = norm(cr) == c["expected"]
    try:
        c["zapier"] = norm(EmailReplyParser.parse_reply(c["body"])) == c["expected"]
    except Exception:
        c["zapier"] = False
    try:
        c["talon"] = norm(quotations.extract_from_plain(c["body"])) == c["expected"]
    except Exception:
        c["talon"] = False

own = {"talon": {"talon"}, "zapier": {"zapier", "erp"}, "crisp": {"crisp", "php"}}
print(f"{'library':8} {'on the cases of':24} {'n':>4} {'library':>9} {'hilo':>9}")
for lib, mine in own.items():
    rest = [c for c in cases if c["suite"] not in mine]
    a = sum(c[lib] for c in rest); h = sum(c["hilo"] for c in rest)
    others = ", ".join(sorted({c["suite"] for c in rest}))
    print(f"{lib:8} {others:24} {len(rest):4} {a:4} {a/len(rest):4.0%} {h:4} {h/len(rest):4.0%}")
print()
print(f"{'suite':8} {'n':>4} " + " ".join(f"{k:>7}" for k in ["hilo", "talon", "zapier", "crisp"]))
for s in sorted({c["suite"] for c in cases}):
    cs = [c for c in cases if c["suite"] == s]
    print(f"{s:8} {len(cs):4} " + " ".join(f"{sum(c[k] for c in cs):7}" for k in ["hilo", "talon", "zapier", "crisp"]))
cs = cases
print(f"{'all':8} {len(cs):4} " + " ".join(f"{sum(c[k] for c in cs):7}" for k in ["hilo", "talon", "zapier", "crisp"]))
