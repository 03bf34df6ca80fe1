"""The open-file limit a server needs: a socket per connection, and a contact center holds thousands.

Most systems start a process with a soft RLIMIT_NOFILE of 1,024 and a much higher hard limit
(systemd: 524,288): at about a thousand WebSockets a process could accept no more ("Too many open
files"). As Go's runtime does for every program, `openchannels serve` raises the soft limit to the
hard one before uvicorn starts; its workers inherit it. The server's sockets go through epoll (uvloop,
asyncio), which has no FD_SETSIZE ceiling.
"""
from __future__ import annotations

import resource

#: the soft limit taken when the hard one is unlimited (Linux's default fs.nr_open)
UNLIMITED_TARGET = 1_048_576


def raise_open_files_limit() -> tuple[int, int]:
    """Soft RLIMIT_NOFILE up to the hard limit (child processes inherit it): (before, after)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, UNLIMITED_TARGET)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):  # e.g. above fs.nr_open: keep what there is
            pass
    return soft, resource.getrlimit(resource.RLIMIT_NOFILE)[0]
