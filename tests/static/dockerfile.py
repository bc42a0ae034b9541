"""A small Dockerfile parser, enough to check our own Dockerfiles without a
Docker daemon: logical lines (backslash continuations, comment lines inside
them), instructions, stages, COPY/ADD flags and sources, and .dockerignore
matching (Docker's rules: last matching pattern wins, `!` re-includes, a
pattern that matches a directory matches everything under it)."""
import json
import re
import shlex
from dataclasses import dataclass, field

INSTRUCTIONS = {
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
    "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
}


@dataclass
class Instruction:
    line: int  # 1-based line where it starts
    cmd: str  # upper case
    args: str  # the rest, continuations joined with a space


@dataclass
class Stage:
    index: int
    base: str
    name: str | None
    line: int
    instructions: list = field(default_factory=list)


class ParseError(Exception):
    pass


def logical_lines(text):
    """Yields (line number, text) of each instruction, as BuildKit joins them."""
    lines = text.split("\n")
    i = 0
    if any(re.match(r"#\s*escape\s*=", l) for l in lines[:5]):
        raise ParseError("an escape directive: this parser only knows the backslash")
    while i < len(lines):
        raw = lines[i]
        start = i + 1
        i += 1
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        parts = []
        while True:
            if raw.rstrip().endswith("\\"):
                parts.append(raw.rstrip()[:-1])
                # Comment and empty lines inside a continuation are dropped.
                while i < len(lines) and (lines[i].strip().startswith("#") or not lines[i].strip()):
                    i += 1
                if i >= len(lines):
                    raise ParseError(f"line {start}: continuation at end of file")
                raw = lines[i]
                i += 1
            else:
                parts.append(raw)
                break
        yield start, " ".join(p.strip() for p in parts)


def parse(text):
    """Returns (global ARG instructions, stages). Raises ParseError."""
    global_args, stages = [], []
    for line, joined in logical_lines(text):
        m = re.match(r"([A-Za-z]+)(\s+(.*))?$", joined)
        if not m:
            raise ParseError(f"line {line}: not an instruction: {joined[:40]!r}")
        cmd, args = m.group(1).upper(), (m.group(3) or "").strip()
        if cmd not in INSTRUCTIONS:
            raise ParseError(f"line {line}: unknown instruction {m.group(1)}")
        if not args:
            raise ParseError(f"line {line}: {cmd} without arguments")
        ins = Instruction(line, cmd, args)
        if cmd == "FROM":
            words = [w for w in args.split() if not w.startswith("--platform=")]
            if len(words) == 1:
                base, name = words[0], None
            elif len(words) == 3 and words[1].lower() == "as":
                base, name = words[0], words[2]
            else:
                raise ParseError(f"line {line}: FROM wants IMAGE [AS NAME]")
            stages.append(Stage(len(stages), base, name, line))
        elif not stages:
            if cmd != "ARG":
                raise ParseError(f"line {line}: only ARG may come before the first FROM")
            global_args.append(ins)
        else:
            stages[-1].instructions.append(ins)
    if not stages:
        raise ParseError("no FROM")
    return global_args, stages


def copy_parts(args):
    """COPY/ADD arguments -> (flags dict, sources, destination)."""
    words = shlex.split(args) if not args.lstrip().startswith("[") else None
    flags = {}
    if words is None:
        items = json.loads(args)
    else:
        while words and words[0].startswith("--"):
            k, _, v = words.pop(0)[2:].partition("=")
            flags[k] = v
        items = words
    if len(items) < 2:
        raise ParseError(f"COPY/ADD needs a source and a destination: {args!r}")
    return flags, items[:-1], items[-1]


def arg_names(instructions):
    names = set()
    for ins in instructions:
        if ins.cmd == "ARG":
            names.add(ins.args.split("=", 1)[0].strip())
        elif ins.cmd == "ENV":
            for w in shlex.split(ins.args):
                names.add(w.split("=", 1)[0])
    return names


def read_dockerignore(text):
    pats = []
    for l in text.splitlines():
        l = l.strip()
        if not l or l.startswith("#"):
            continue
        neg = l.startswith("!")
        p = l[1:].strip() if neg else l
        p = p.strip("/")
        pats.append((neg, p))
    return pats


def _match(pat, path):
    """Docker-style: `*` does not cross `/`, `**` does; a pattern matching a
    parent directory matches the path too."""
    rx = ""
    i = 0
    while i < len(pat):
        if pat.startswith("**/", i):
            rx += "(.*/)?"
            i += 3
        elif pat.startswith("**", i):
            rx += ".*"
            i += 2
        elif pat[i] == "*":
            rx += "[^/]*"
            i += 1
        elif pat[i] == "?":
            rx += "[^/]"
            i += 1
        else:
            rx += re.escape(pat[i])
            i += 1
    parts = path.split("/")
    return any(re.fullmatch(rx, "/".join(parts[:n])) for n in range(1, len(parts) + 1))


def ignored(patterns, path):
    """True when the build context leaves path (relative, no leading ./) out."""
    path = path.strip("/")
    out = False
    for neg, p in patterns:
        if _match(p, path):
            out = not neg
    return out

