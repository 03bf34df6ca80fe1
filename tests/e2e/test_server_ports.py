"""The test servers' ports (bench/ports.free_port, Deployment.start_server): a server started
for a test comes up even when its port is taken between the pick and its bind (seen in CI: "address
already in use", when an outgoing connection of the other test worker got the port the kernel had
just given out)."""
from __future__ import annotations

import socket
from pathlib import Path

import httpx

from bench.ports import free_port
from tests.e2e import server as e2e_server
from tests.e2e.server import Deployment

EPHEMERAL_PORTS = Path("/proc/sys/net/ipv4/ip_local_port_range")


def test_a_servers_port_is_free_and_below_the_ports_of_outgoing_connections() -> None:
    low = int(EPHEMERAL_PORTS.read_text().split()[0])
    ports = {free_port() for _ in range(20)}
    assert all(port < low for port in ports) and len(ports) > 1  # picked at random, not one port for all
    for port in ports:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", port))


async def test_a_server_whose_port_was_taken_meanwhile_starts_on_another(deployment: Deployment,
                                                                         monkeypatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", free_port()))
        taken.listen()
        picks = iter([taken.getsockname()[1]])  # the first pick is the taken port, as in the race
        monkeypatch.setattr(e2e_server, "free_port", lambda: next(picks, None) or free_port())
        server = await deployment.start_server()
        try:
            assert server.port != taken.getsockname()[1]
            async with httpx.AsyncClient() as client:
                assert (await client.get(f"{server.base_url}/healthz")).json() == {"status": "ok"}
        finally:
            deployment.stop_server(server)
