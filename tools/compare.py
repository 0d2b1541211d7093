#!/usr/bin/env python3
"""Compare two qjob transcripts the way scenarios/README.md defines it.

usage: tools/compare.py [--all] A B

A transcript is split into windows, each from one '>' line up to the next ('~' and '!' lines before
the first '>' form a window of their own). Two transcripts agree when they have the same number of
windows and, window by window:
  - the '>' line is the same;
  - the '<' lines (replies) are the same, in order;
  - the '~' lines (directives, WAIT TIMEOUT) are the same, in order;
  - for each job, the '!' event lines are the same, in order. An event belongs to the job named by
    its data's "id", else its "device"; events with neither form one more group.
Where replies, directives and events of different jobs fall relative to each other is free.
Node names QEMU generates ('#block' and digits, two of them random) compare equal, as QEMU's own
iotests filter them.
Exit status 0 when they agree; otherwise the first difference is printed (every difference with
--all) and the status is 1 (2 on bad usage or unreadable files).
Python 3 standard library only.
"""

import json
import re
import sys

GENERATED = re.compile(r"#block[0-9]+")


def generated_names(line):
    """A line with QEMU's generated node names ('#block123') as '#block'."""
    return GENERATED.sub("#block", line)


def windows(lines):
    wins = []
    cur = None
    for no, line in enumerate(lines, 1):
        if line.startswith("> ") or line == ">":
            cur = {"cmd": line, "line": no, "replies": [], "directives": [], "events": {}}
            wins.append(cur)
            continue
        if cur is None:
            cur = {"cmd": None, "line": no, "replies": [], "directives": [], "events": {}}
            wins.append(cur)
        if line.startswith("<") or line.startswith("!"):
            line = generated_names(line)
        if line.startswith("<"):
            cur["replies"].append(line)
        elif line.startswith("~"):
            cur["directives"].append(line)
        elif line.startswith("!"):
            key = ""
            parts = line.split(" ", 2)
            if len(parts) == 3:
                try:
                    data = json.loads(parts[2])
                except ValueError:
                    data = None
                if isinstance(data, dict):
                    k = data.get("id", data.get("device"))
                    key = "" if k is None else json.dumps(k, sort_keys=True)
            cur["events"].setdefault(key, []).append(line)
        else:
            cur["directives"].append(line)   # unknown kinds of line must match exactly as well
    return wins


def show(seq):
    return "\n".join("    " + s for s in seq) if seq else "    (nothing)"


def differences(a_lines, b_lines, a_name="A", b_name="B"):
    """Yield every difference, window by window (replies, directives, then each job's events);
    stop where the windows stop pairing up (a window only one side has, or different commands)."""
    wa, wb = windows(a_lines), windows(b_lines)
    for i in range(max(len(wa), len(wb))):
        if i >= len(wa) or i >= len(wb):
            extra = wb[i] if i >= len(wa) else wa[i]
            who = b_name if i >= len(wa) else a_name
            yield "only %s has window %d (line %d): %s" % (who, i + 1, extra["line"], extra["cmd"])
            return
        x, y = wa[i], wb[i]
        where = "window %d (%s line %d, %s line %d)" % (i + 1, a_name, x["line"], b_name, y["line"])
        if x["cmd"] != y["cmd"]:
            yield "%s: commands differ\n  %s: %s\n  %s: %s" % (where, a_name, x["cmd"], b_name, y["cmd"])
            return
        ctx = "\n  after: %s" % x["cmd"] if x["cmd"] else ""
        if x["replies"] != y["replies"]:
            yield "%s: replies differ%s\n  %s:\n%s\n  %s:\n%s" % (
                where, ctx, a_name, show(x["replies"]), b_name, show(y["replies"]))
        if x["directives"] != y["directives"]:
            yield "%s: directive lines differ%s\n  %s:\n%s\n  %s:\n%s" % (
                where, ctx, a_name, show(x["directives"]), b_name, show(y["directives"]))
        for key in sorted(set(x["events"]) | set(y["events"])):
            ex, ey = x["events"].get(key, []), y["events"].get(key, [])
            if ex != ey:
                yield "%s: events of job %s differ%s\n  %s:\n%s\n  %s:\n%s" % (
                    where, key or "(none)", ctx, a_name, show(ex), b_name, show(ey))


def compare(a_lines, b_lines, a_name="A", b_name="B"):
    """The first difference between two transcripts, or None when they agree."""
    return next(differences(a_lines, b_lines, a_name, b_name), None)


def main():
    args = sys.argv[1:]
    every = bool(args) and args[0] == "--all"
    if every:
        args = args[1:]
    if len(args) != 2 or args[0] in ("-h", "--help"):
        help_asked = len(args) == 1 and args[0] in ("-h", "--help")
        print(__doc__.strip(), file=sys.stdout if help_asked else sys.stderr)
        sys.exit(0 if help_asked else 2)
    try:
        texts = []
        for p in args:
            with open(p, encoding="utf-8") as f:
                texts.append(f.read().splitlines())
    except OSError as e:
        print(e, file=sys.stderr)
        sys.exit(2)
    if every:
        diffs = list(differences(texts[0], texts[1], args[0], args[1]))
    else:
        diffs = [d for d in [compare(texts[0], texts[1], args[0], args[1])] if d]
    if diffs:
        print("\n".join(diffs))
        sys.exit(1)
    sys.exit(0)


if __name__ == "__main__":
    main()
