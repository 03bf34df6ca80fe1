"""The `openchannels` command: serve, migrate, create-operator, export-schema.

Every failure a user can cause or meet (a domain error, an unreachable database, a bad
argument or environment value) ends as ONE line on stderr, `openchannels: error: ...`, and a
non-zero exit; the traceback goes to the log at LOG_LEVEL=debug only.
"""
from __future__ import annotations

import os
import sys
from typing import Sequence

from openchannels.cli.configuration import configure_logging, load_settings
from openchannels.cli.console import PROG
from openchannels.cli.failures import EXIT_ERROR, explain, log
from openchannels.cli.parser import build_parser
from infrastructure.settings import Settings

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings: Settings | None = None
    try:
        settings = load_settings()
        configure_logging(settings.log_level)
        return args.handler(args, settings)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        configure_logging(os.environ.get("LOG_LEVEL", "info").lower())
        log.debug("%s %s failed", PROG, args.command, exc_info=True)
        print(f"{PROG}: error: {explain(exc, settings)}", file=sys.stderr, flush=True)
        return EXIT_ERROR
