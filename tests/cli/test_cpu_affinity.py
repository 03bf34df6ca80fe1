"""WORKER_CPU_AFFINITY=auto: each process of `openchannels serve --workers N` keeps to a CPU of its
own (openchannels/cpu_affinity.py); off, the default, leaves them to the kernel."""
from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest

from bench.ports import free_port
from bench.processes import cpus_allowed, process_tree, role
from openchannels.cpu_affinity import claim_cpu, claims_file, device_interrupts, release_cpu
from tests.cli.running import COMMAND, assert_one_line_error, cli_env, run, sqlite_url
from tests.cli.test_serve import stop
from tests.resources import TEST_REDIS_URL

TWO_CPUS = hasattr(os, "sched_getaffinity") and len(os.sched_getaffinity(0)) >= 2


def _dead_pid() -> int:
    """The pid of a process that has just exited (and been reaped)."""
    probe = subprocess.Popen(["true"])
    probe.wait()
    return probe.pid


def test_processes_of_one_server_claim_different_cpus_and_share_them_out_evenly(tmp_path: Path):
    claims = tmp_path / "claims.json"
    mine = os.getpid()
    parent = os.getppid()  # alive: another process of the same server, say
    assert claim_cpu(claims, mine, [0, 1]) == 0
    assert claim_cpu(claims, parent, [0, 1]) == 1
    assert claim_cpu(claims, mine, [0, 1]) == 0  # claiming again gives up its own claim first
    with subprocess.Popen(["sleep", "30"]) as third:
        try:
            assert claim_cpu(claims, third.pid, [0, 1]) == 0  # more processes than CPUs: the least taken
        finally:
            third.kill()


#: /proc/interrupts as the bench's machine showed it (shortened): its disk's interrupts all on CPU 1
INTERRUPTS = """\
           CPU0       CPU1
 24:          1          0  IO-APIC   5-edge      ACPI:Ged
 36:          0     337732 PCI-MSIX-0000:00:02.0   1-edge      virtio1-req.0
 38:          0       5768 PCI-MSIX-0000:00:03.0   1-edge      virtio2-input.0
 39:       4002          0 PCI-MSIX-0000:00:03.0   2-edge      virtio2-output.0
NMI:          0          0   Non-maskable interrupts
LOC:     108629     107778   Local timer interrupts
CAL:     224221     141727   Function call interrupts
ERR:          0
"""


def test_device_interrupts_count_the_numbered_lines_only():
    assert device_interrupts(INTERRUPTS) == {0: 4003, 1: 343500}  # not the timer's, nor the function calls'
    assert device_interrupts("") == {}


def test_among_cpus_claimed_alike_the_one_with_fewer_device_interrupts_goes_first(tmp_path: Path):
    claims = tmp_path / "claims.json"
    busy_disk_on_0 = {0: 343500, 1: 4003}
    assert claim_cpu(claims, os.getpid(), [0, 1], busy_disk_on_0) == 1  # CPU 0 serves the disk
    assert claim_cpu(claims, os.getppid(), [0, 1], busy_disk_on_0) == 0  # fewer claims first, still
    assert claim_cpu(tmp_path / "other.json", os.getpid(), [0, 1], device_interrupts(INTERRUPTS)) == 0


def test_a_claim_of_a_process_that_is_gone_is_dropped(tmp_path: Path):
    claims = tmp_path / "claims.json"
    gone = _dead_pid()
    assert claim_cpu(claims, gone, [0, 1]) == 0
    assert claim_cpu(claims, os.getpid(), [0, 1]) == 0  # the dead process's CPU is free again


def test_a_damaged_claims_file_is_started_afresh(tmp_path: Path):
    claims = tmp_path / "claims.json"
    claims.write_text("[not a claim")
    assert claim_cpu(claims, os.getpid(), [2, 3]) == 2


def test_a_released_claim_frees_its_cpu_and_the_last_removes_the_file(tmp_path: Path):
    claims = tmp_path / "claims.json"
    assert claim_cpu(claims, os.getpid(), [0, 1]) == 0
    assert claim_cpu(claims, os.getppid(), [0, 1]) == 1
    release_cpu(claims, os.getpid())
    with subprocess.Popen(["sleep", "30"]) as third:
        try:
            assert claim_cpu(claims, third.pid, [0, 1]) == 0  # the released CPU is the least taken again
            release_cpu(claims, third.pid)
        finally:
            third.kill()
    release_cpu(claims, os.getppid())
    assert not claims.exists()
    release_cpu(claims, os.getpid())  # nothing left to give up: no error


def test_the_app_refuses_an_unknown_mode_before_it_starts(monkeypatch):
    from infrastructure.settings import Settings
    from openchannels.app import create_app

    monkeypatch.setenv("WORKER_CPU_AFFINITY", "always")
    with pytest.raises(ValueError, match="WORKER_CPU_AFFINITY must be off or auto, not 'always'"):
        create_app(Settings())


def test_serve_refuses_an_unknown_mode_in_one_line(tmp_path: Path):
    with socket.socket() as taken:  # its port in use as well: the setting is what is wrong, and is named
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = run(tmp_path, "serve", "--port", str(taken.getsockname()[1]), WORKER_CPU_AFFINITY="pinned")
    assert_one_line_error(result, "WORKER_CPU_AFFINITY", "off or auto", "'pinned'")


def _serve_two_workers(workdir: Path, affinity: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = cli_env(sqlite_url(workdir), OPENCHANNELS_PORT=str(port), OPENCHANNELS_WORKERS="2",
                  REDIS_URL=TEST_REDIS_URL, REDIS_CHANNEL=f"openchannels-test-affinity:{uuid.uuid4().hex}",
                  SCHEDULER_INTERVAL_SECONDS="0", WORKER_CPU_AFFINITY=affinity)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = (workdir / "serve.log").open("w")
    process = subprocess.Popen([*COMMAND, "serve"], cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=log,
                               stderr=subprocess.STDOUT)
    return process, port


def _started_workers(process: subprocess.Popen, port: int, log: Path) -> list[int]:
    """The two workers' pids once both have run their start-up (their lifespan, where they pin)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            healthy = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            healthy = False
        if healthy and log.read_text().count("Open Channels ready") >= 2:
            workers = [pid for pid in process_tree(process.pid)[1:] if role(pid, process.pid) == "worker"]
            if len(workers) == 2:
                return workers
        time.sleep(0.2)  # polling for start-up, bounded
    raise AssertionError(log.read_text())


@pytest.mark.skipif(not TWO_CPUS, reason="needs two CPUs")
def test_each_worker_of_serve_keeps_to_a_cpu_of_its_own(tmp_path: Path):
    process, port = _serve_two_workers(tmp_path, "auto")
    try:
        workers = _started_workers(process, port, tmp_path / "serve.log")
        deadline = time.monotonic() + 20
        while True:  # a worker pins itself after announcing it is ready: bounded wait for both
            cpus = sorted(cpus_allowed(pid) for pid in workers)
            if all(cpu.isdigit() for cpu in cpus) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert all(cpu.isdigit() for cpu in cpus), cpus  # one CPU each ("0", not "0-1")
        assert len(set(cpus)) == 2, cpus  # not the same one
        assert httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": "{ __typename }"},
                          timeout=10).json() == {"data": {"__typename": "Query"}}
    finally:
        stop(process)
    assert "keeps to CPU" in (tmp_path / "serve.log").read_text()
    assert not claims_file(process.pid).exists()  # the workers gave their claims up as they stopped


@pytest.mark.skipif(not TWO_CPUS, reason="needs two CPUs")
def test_by_default_the_workers_may_run_on_any_cpu(tmp_path: Path):
    process, port = _serve_two_workers(tmp_path, "off")
    try:
        workers = _started_workers(process, port, tmp_path / "serve.log")
        expected = cpus_allowed(process.pid)
        assert expected, f"no Cpus_allowed_list for {process.pid}"
        assert [cpus_allowed(pid) for pid in workers] == [expected, expected]
    finally:
        stop(process)
