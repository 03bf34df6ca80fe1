"""Loopback ports for the servers the bench and the tests start (`free_port`)."""
from __future__ import annotations

import random
import socket
from pathlib import Path

#: where the kernel takes the local ports of outgoing connections (Linux); a server's port is picked below it
_EPHEMERAL_PORTS = Path("/proc/sys/net/ipv4/ip_local_port_range")
#: the lowest port picked
_LOWEST_PORT = 10000


def free_port() -> int:
    """A loopback port free now, for a server started next. Picked below the kernel's range of ephemeral
    ports where there is one: a port the kernel gave (bind to 0) may be given again to any outgoing
    connection (the load driver's, another test worker's) before the server binds it ("address already
    in use", seen in CI); a port below the range is taken only by another server that picked it too."""
    try:
        low = int(_EPHEMERAL_PORTS.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 0
    candidates = random.sample(range(_LOWEST_PORT, low), min(50, low - _LOWEST_PORT)) if low > _LOWEST_PORT else []
    for port in [*candidates, 0]:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise AssertionError("no free loopback port")
