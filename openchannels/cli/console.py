"""What the command prints: results on stdout, notes on stderr, never a password."""
from __future__ import annotations

import re
import sys

PROG = "openchannels"


def redact(url: str) -> str:
    """A database or Redis URL without its password, for messages."""
    return re.sub(r"(//[^:/@]*:)[^@/]*@", r"\1***@", url)


def say(line: str = "") -> None:
    print(line, flush=True)


def note(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
