"""`openchannels export-schema`: the SDL as served, to a file or stdout."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from openchannels.cli.console import note
from openchannels.cli.failures import CommandError
from infrastructure.settings import Settings
from schema import schema


def schema_sdl() -> str:
    return str(schema).rstrip("\n") + "\n"


def command_export_schema(args: argparse.Namespace, settings: Settings) -> int:
    sdl = schema_sdl()
    if args.output == "-":
        sys.stdout.write(sdl)
        sys.stdout.flush()
        return 0
    path = Path(args.output)
    try:
        path.write_text(sdl, encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror or exc}") from exc
    note(f"wrote {path} ({len(sdl.splitlines())} lines)")
    return 0
