"""The gettext catalogs of the system texts (services/chats/system_texts.py): `locale/<language>/
LC_MESSAGES/openchannels.po` are the sources, compiled into `.mo` files when the package is built
(setup.py's build_py, also for `pip install -e .`); gettext reads the `.mo` files.

Standard library only: setup.py loads this file by its path before anything is installed.
"""
from __future__ import annotations

import ast
import struct
from pathlib import Path

DOMAIN = "openchannels"


def parse_po(text: str) -> dict[str, str]:
    """msgid -> msgstr of a .po file (the header is the entry of msgid ""); fuzzy and obsolete
    entries are left out, as msgfmt does."""
    messages: dict[str, str] = {}
    fuzzy = False
    key: str | None = None
    parts: dict[str, str] = {}

    def flush() -> None:
        nonlocal fuzzy, key, parts
        if "msgid" in parts and "msgstr" in parts and not fuzzy:
            messages[parts["msgid"]] = parts["msgstr"]
        fuzzy, key, parts = False, None, {}

    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
        if not line or line.startswith("#"):
            if not line and "msgstr" in parts:
                flush()
            continue
        for keyword in ("msgid", "msgstr"):
            if line.startswith(keyword + " "):
                if keyword == "msgid" and "msgstr" in parts:
                    flush()
                key, line = keyword, line[len(keyword):].strip()
                parts[key] = ""
                break
        if key is None or not line.startswith('"'):
            raise ValueError(f"not a .po line: {line!r}")
        parts[key] += ast.literal_eval(line)
    flush()
    return messages


def mo_bytes(messages: dict[str, str]) -> bytes:
    """The GNU .mo form of these messages (little-endian, no hash table), as msgfmt writes it."""
    keys = sorted(messages)
    encoded = [(k.encode(), messages[k].encode()) for k in keys]
    ids = b"".join(k + b"\0" for k, _ in encoded)
    strs = b"".join(v + b"\0" for _, v in encoded)
    start = 7 * 4 + 16 * len(keys)  # the header, then the two tables of (length, offset)
    table: list[int] = []
    offset = start
    for k, _ in encoded:
        table += [len(k), offset]
        offset += len(k) + 1
    for _, v in encoded:
        table += [len(v), offset]
        offset += len(v) + 1
    header = struct.pack("<7I", 0x950412DE, 0, len(keys), 7 * 4, 7 * 4 + 8 * len(keys), 0, 0)
    return header + struct.pack(f"<{len(table)}I", *table) + ids + strs


def compile_all(source: Path, target: Path) -> list[Path]:
    """Compile every `<language>/LC_MESSAGES/*.po` under `source` into the same place under `target`."""
    written = []
    for po in sorted(source.glob("*/LC_MESSAGES/*.po")):
        mo = target / po.relative_to(source).with_suffix(".mo")
        mo.parent.mkdir(parents=True, exist_ok=True)
        mo.write_bytes(mo_bytes(parse_po(po.read_text(encoding="utf-8"))))
        written.append(mo)
    return written
