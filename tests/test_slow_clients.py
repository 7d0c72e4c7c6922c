"""The embedded default keeps answering while clients that never finish their request are
attached: ``esimdesk run`` as an operator starts it (a real subprocess on a fresh data
directory), eight connections that stop in the middle of their request line or headers, and
every health probe and API read must still be answered within a second."""

from __future__ import annotations

import contextlib
import http.client
import os
import queue
import random
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

PROBE_TIMEOUT = 1.0
START_TIMEOUT = 240.0  # migrations and the demo data on a loaded two-core machine


def _two_free_ports() -> int:
    """A port whose successor is free too: ``esimdesk run`` serves pages on the port and
    WebSockets on the next one. Both lie below the range the kernel hands out to outgoing
    connections (32768 and up on Linux), which could otherwise take the second one before
    the server binds it."""
    for port in random.sample(range(10000, 32000), 50):
        try:
            with socket.socket() as first, socket.socket() as second:
                first.bind(("127.0.0.1", port))
                second.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return port
    raise AssertionError("no two consecutive free ports")


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    data_dir = tmp_path_factory.mktemp("run")
    port = _two_free_ports()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ESIMDESK_") and k != "DJANGO_SETTINGS_MODULE"}
    env.update({"ESIMDESK_DATA_DIR": str(data_dir),
                "DJANGO_SETTINGS_MODULE": "esimdesk.settings"})
    process = subprocess.Popen([sys.executable, "-m", "esimdesk.cli", "run", "--port", str(port)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    lines: queue.Queue[str] = queue.Queue()
    log: list[str] = []

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            log.append(line)
            lines.put(line)
        lines.put("")

    threading.Thread(target=pump, daemon=True).start()
    try:
        booted = listening = 0
        while not (listening and booted >= 2):
            try:
                line = lines.get(timeout=START_TIMEOUT)
            except queue.Empty:
                raise AssertionError("esimdesk run did not start:\n" + "".join(log)) from None
            assert line, "esimdesk run exited:\n" + "".join(log)
            listening += bool(re.search(rf"Listening at: http://127\.0\.0\.1:{port}\b", line))
            booted += "Booting worker" in line
        # The first answers of a fresh worker may take longer than the probes allow.
        for path in ("/healthz", "/api/v1/plans?country=JP") * 4:
            assert _get(port, path, timeout=30)[0] == 200
        yield port
    finally:
        process.send_signal(signal.SIGINT)  # the supervisor stops its children
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _get(port: int, path: str, timeout: float = PROBE_TIMEOUT) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@contextlib.contextmanager
def _stalled_clients(port: int) -> Iterator[list[socket.socket]]:
    starts = [b"GET /healthz HT", b"GET /api/v1/plans HTTP/1.1\r\nHost: 127.0.0.1\r\n",
              b"POST /api/v1/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/js",
              b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow\r\nAccept: "]
    sockets = []
    try:
        for n in range(8):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sockets.append(sock)
            sock.sendall(starts[n % len(starts)])
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def test_eight_stalled_clients_do_not_stop_the_answers(running: int) -> None:
    with _stalled_clients(running):
        for n in range(20):
            status, body = _get(running, "/healthz")
            assert (status, body) == (200, b'{"status": "ok"}'), n
            if n % 4 == 0:
                status, body = _get(running, "/api/v1/plans?country=JP")
                assert status == 200 and b'"items"' in body
