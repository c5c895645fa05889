#!/usr/bin/env python3
"""The code's shape at a git revision (default: the working tree), for the
before/after table in ARCHITECTURE.md: largest files and functions, upward
module arrows (against tests/arrows.rs's table), state passed as string
literals, and the tests' fixed sleeps.

    scripts/shape.py [REV]
"""
import re
import subprocess
import sys

REV = sys.argv[1] if len(sys.argv) > 1 else None


def files():
    if REV:
        out = subprocess.run(["git", "ls-tree", "-r", "--name-only", REV], capture_output=True, text=True, check=True).stdout
    else:
        out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], capture_output=True, text=True, check=True).stdout
    import os
    return [
        f
        for f in out.split()
        if f.endswith(".rs") and not f.startswith("fuzz/target") and (REV or os.path.exists(f))
    ]


def read(path):
    if REV:
        return subprocess.run(["git", "show", f"{REV}:{path}"], capture_output=True, text=True, check=True).stdout
    return open(path, encoding="utf-8").read()


def functions(text):
    """(name, lines) of each fn, from its signature to its closing brace at
    the same indentation."""
    lines = text.split("\n")
    out = []
    for i, l in enumerate(lines):
        m = re.match(r"^(\s*)(pub(\([a-z]+\))? )?(async )?fn ([a-z_0-9]+)", l)
        if not m or l.rstrip().endswith(";"):
            continue
        indent = m.group(1)
        for j in range(i + 1, len(lines)):
            if lines[j] == indent + "}":
                out.append((m.group(5), j - i + 1))
                break
    return out


code = [f for f in files() if not f.startswith(("tests/", "benches/", "fuzz/"))]
texts = {f: read(f) for f in code}

print("largest files (lines):")
for f, n in sorted(((f, t.count("\n")) for f, t in texts.items()), key=lambda x: -x[1])[:5]:
    print(f"  {n:5}  {f}")

print("largest functions (lines):")
fns = [(n, name, f) for f, t in texts.items() for name, n in functions(t)]
for n, name, f in sorted(fns, reverse=True)[:5]:
    print(f"  {n:5}  {f}::{name}")

# The module table of tests/arrows.rs (bottom first); names the hilo crate
# re-exports from the crates below it count as the floor.
arrows = read("tests/arrows.rs") if "tests/arrows.rs" in files() else open("tests/arrows.rs").read()
table = {}
for m, allowed in re.findall(r'\(\s*"([a-z_]+)",\s*&\[([^\]]*)\]', arrows.split("const MODULES")[1]):
    table[m] = set(re.findall(r'"([a-z_]+)"', allowed))
floor = {"domain", "clock", "fault", "model", "mail", "store", "report", "Report", "panic_message"}
upward = set()
for f, t in texts.items():
    if not f.startswith("src/"):
        continue
    top = f[4:].split("/")[0].removesuffix(".rs")
    if top not in table:
        continue
    for line in t.split("\n"):
        for n in re.findall(r"crate::([A-Za-z_]+)", line.split("//")[0]):
            if n != top and n not in floor and n not in table[top]:
                upward.add(f"{top} → {n}")
print(f"module arrows not in the layer table: {len(upward)} {sorted(upward)}")

state = 0
patterns = [
    r'add_event\(\s*[^,]+,\s*[^,]+,\s*"[a-z_]+"',  # event kinds
    r'add_participant\((?:[^;()]|\([^()]*\))*?,\s*"(requester|cc|pending|agent)"',  # roles
    r'event_since\([^)]*"[a-z_]+"',
    r'Some\("(high|normal|low)"\)',  # priorities
    r'SetAside \{\s*kind: "',
    r'\n\s+"(ack_skipped|receipt_failed|notify_failed)",',  # events passed down
    r'=> "(agent|pending|cc)",',  # role matches
]
for t in texts.values():
    for p in patterns:
        state += len(re.findall(p, t, flags=re.S))
print(f"state passed as string literals: {state}")

total = 0.0
count = 0
for f in files():
    if not f.startswith("tests/"):
        continue
    for unit, n in re.findall(r"sleep\(\s*(?:std::time::)?Duration::from_(secs|millis)\((\d+)\)\)", read(f)):
        total += int(n) * (1.0 if unit == "secs" else 0.001)
        count += 1
print(f"fixed sleeps in tests: {count}, {total:.1f} s in all")
