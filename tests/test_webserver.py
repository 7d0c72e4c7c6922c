"""The web worker (esimdesk.webserver): requests are read by the worker's event loop, so a
client that sends part of a request and stops, or never reads its answer, holds no thread.

The framing is tested directly; the worker under a real gunicorn with one worker and one
thread (so a held thread shows at once) serving tests/webserver_app.py, with its limits
shortened by a gunicorn config file."""

from __future__ import annotations

import hashlib
import http.client
import os
import queue
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from esimdesk import webserver
from esimdesk.webserver import HEAD_TOO_LARGE, READING, READY, RequestReader

ROOT = Path(__file__).resolve().parent.parent
PROBE_TIMEOUT = 1.0

GET = b"GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n"
POST = (b"POST /echo HTTP/1.1\r\nHost: example.com\r\nContent-Type: application/json\r\n"
        b"Content-Length: 16\r\n\r\n" + b'{"a": "\r\n\r\nbcd"}')
CHUNKED = (b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n")
TRAILERS = (b"POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: gzip, chunked\r\n"
            b"\r\n3\r\n\r\n\r\r\n0\r\nX-Checksum: 1\r\nX-Other: 2\r\n\r\n")
FRAMED = [GET, b"\r\n\r\n" + GET, POST, CHUNKED, TRAILERS]


def _feed_in_pieces(request: bytes, cuts: list[int]) -> None:
    reader, data = RequestReader(), b""
    following = b"GET /next HTTP/1.1\r\n"  # a pipelined next request is not part of it
    stream = request + following
    for cut in [*sorted(set(cuts)), len(stream)]:
        data = stream[:cut]
        state = reader.feed(data)
        assert state == (READY if len(data) >= len(request) else READING), (data, state)
    assert reader.end == len(request)


@pytest.mark.parametrize("request_bytes", FRAMED)
def test_reader_frames_a_request_fed_a_byte_at_a_time(request_bytes: bytes) -> None:
    _feed_in_pieces(request_bytes, list(range(1, len(request_bytes) + 20)))


@settings(max_examples=60, deadline=None)
@given(index=st.integers(0, len(FRAMED) - 1), cuts=st.lists(st.integers(1, 200), max_size=8))
def test_reader_frames_a_request_however_it_is_cut(index: int, cuts: list[int]) -> None:
    _feed_in_pieces(FRAMED[index], cuts)


@settings(max_examples=300, deadline=None)
@given(head=st.sampled_from([b"", b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                             b"POST / HTTP/1.1\r\nContent-Length: 7\r\n\r\n"]),
       rest=st.binary(max_size=400) | st.lists(st.sampled_from(
           [b"\r\n", b"0", b"5", b"-", b"a", b";x", b":", b"\r\n\r\n", b"Expect: 100-continue"]),
           max_size=40).map(b"".join),
       cuts=st.lists(st.integers(1, 500), max_size=6))
def test_reader_takes_any_bytes(head: bytes, rest: bytes, cuts: list[int]) -> None:
    """Whatever arrives, in whatever pieces, the reader answers a state (the event loop
    never raises or spins on a client's bytes), and once ready it stays ready."""
    reader, ready, data = RequestReader(), False, head + rest
    for cut in [*sorted(set(cuts)), len(data)]:
        state = reader.feed(data[:cut])
        assert state in (READING, READY, HEAD_TOO_LARGE)
        assert not ready or state == READY
        ready = state == READY
        if ready:
            assert reader.streamed or 0 < reader.end <= len(data[:cut])


@pytest.mark.parametrize("head", [
    b"POST / HTTP/1.1\r\nContent-Length: 10000000\r\n\r\n",  # too big to hold: streamed
    b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
    b"POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
    b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
    b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
    b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
    b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    *(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + size + b"\r\nabcdef\r\n\r\n"
      for size in (b"-2", b"-4", b"-6", b"+4", b"0x4", b"1_0", b" 4", b"", b"4" * 17)),
    b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY",
    b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1" * 5000,
])
def test_reader_hands_on_at_once_what_it_cannot_frame(head: bytes) -> None:
    """The request thread (gunicorn's parser) refuses these or reads them; none waits here
    for a body the reader cannot delimit."""
    reader = RequestReader()
    assert reader.feed(head) == READY
    assert reader.streamed


def test_reader_refuses_an_oversized_head() -> None:
    head = b"GET / HTTP/1.1\r\n" + b"X-Filler: " + b"a" * webserver.MAX_HEAD_BYTES
    reader = RequestReader()
    for size in range(1000, len(head), 1000):
        assert reader.feed(head[:size]) == (HEAD_TOO_LARGE if size > webserver.MAX_HEAD_BYTES
                                            else READING)
    assert RequestReader().feed(b"\r\n" * webserver.MAX_HEAD_BYTES) == HEAD_TOO_LARGE


def test_reader_sees_an_expectation_of_100_continue_only_in_http_1_1() -> None:
    for request, expected in [
        (b"POST / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n", True),
        (b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n", False),
        (b"POST / HTTP/1.1\r\nExpect: 200-ok\r\nContent-Length: 3\r\n\r\n", False),
    ]:
        reader = RequestReader()
        assert reader.feed(request) == READING
        assert reader.expects_continue is expected


# The worker under gunicorn.

class Server:
    def __init__(self, port: int, process: subprocess.Popen[str], log: list[str]) -> None:
        self.port, self.process, self.log = port, process, log
        self.sockets: list[socket.socket] = []

    def connect(self, data: bytes = b"", rcvbuf: int | None = None) -> socket.socket:
        sock = socket.socket()
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(10)
        sock.connect(("127.0.0.1", self.port))
        if data:
            sock.sendall(data)
        self.sockets.append(sock)
        return sock

    def get(self, path: str = "/", timeout: float = PROBE_TIMEOUT,
            body: bytes | None = None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("POST" if body is not None else "GET", path, body=body)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()


_unread: dict[socket.socket, bytes] = {}


def _read_response(sock: socket.socket) -> tuple[bytes, bytes]:
    """The next answer (with a Content-Length) on a socket: (head, body). Bytes of a
    following answer that arrive with it are kept for the next call."""
    data = _unread.pop(sock, b"")
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        assert piece, data
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"Content-Length: (\d+)", head, re.I).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        piece = sock.recv(65536)
        assert piece
        body += piece
    if len(body) > length:
        _unread[sock] = body[length:]
    return head, body[:length]


def _read_until_closed(sock: socket.socket) -> bytes:
    data = b""
    while piece := sock.recv(65536):
        data += piece
    return data


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(threads: int = 1, **limits: float) -> Server:
        # A gunicorn config file runs in the master before it forks the worker.
        conf = tmp_path / f"conf{len(servers)}.py"
        conf.write_text("\n".join(["import esimdesk.webserver as w",
                                    *(f"w.{name} = {value!r}" for name, value in limits.items())]))
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "tests.webserver_app:app", "-c",
             str(conf), "--worker-class",
             "esimdesk.webserver.BufferingWorker", "--workers", "1", "--threads",
             str(threads), "--bind", "127.0.0.1:0", "--graceful-timeout", "20",
             "--no-control-socket"],
            cwd=ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        lines: queue.Queue[str] = queue.Queue()
        log: list[str] = []

        def pump() -> None:
            assert process.stderr is not None
            for line in process.stderr:
                log.append(line)
                lines.put(line)

        threading.Thread(target=pump, daemon=True).start()
        port = 0
        while True:
            line = lines.get(timeout=60)
            if found := re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", line):
                port = int(found.group(1))
            if "Booting worker" in line and port:
                break
        server = Server(port, process, log)
        servers.append(server)
        return server

    yield start
    _unread.clear()
    for server in servers:
        for sock in server.sockets:
            sock.close()
        server.process.terminate()
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


def _probes_answer(server: Server, count: int = 20) -> None:
    for n in range(count):
        status, body = server.get("/" if n % 2 else f"/probe/{n}")
        assert (status, body) == (200, b"ok")


def test_clients_that_stop_mid_request_hold_no_thread(serve: Callable[..., Server]) -> None:
    server = serve()
    for _ in range(8):
        server.connect(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        server.connect(b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n12345")
        server.connect(b"POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                       b"a\r\n0123")
        server.connect()  # connected, silent
    _probes_answer(server)
    # The stalled requests are served once they are complete.
    body = b"12345" + b"6" * 95
    server.sockets[1].sendall(b"6" * 95)
    assert _read_response(server.sockets[1])[1] == (
        f"100 {hashlib.sha256(body).hexdigest()}".encode())
    server.sockets[2].sendall(b"456789\r\n0\r\n\r\n")
    assert _read_response(server.sockets[2])[1].startswith(b"10 ")


def test_requests_that_do_not_arrive_in_time_are_closed(serve: Callable[..., Server]) -> None:
    server = serve(HEAD_TIMEOUT=1.0, BODY_IDLE_TIMEOUT=1.0)
    silent = server.connect()
    head = server.connect(b"GET / HTTP/1.1\r\nHost: h\r\n")
    body = server.connect(b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n1")
    kept = server.connect(GET.replace(b"/a?b=c", b"/"))
    assert _read_response(kept)[1] == b"ok"
    kept.sendall(b"GET / HTTP/1.1\r\n")  # the next request on a kept-alive connection
    for sock in (silent, head, body, kept):
        assert _read_until_closed(sock) == b""  # closed by the server; 10 s socket timeout
    _probes_answer(server, 4)


def test_expect_100_continue_is_answered_once_before_the_body(
        serve: Callable[..., Server]) -> None:
    server = serve()
    sock = server.connect(b"POST /echo HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
                          b"Content-Length: 5\r\n\r\n")
    assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
    sock.sendall(b"hello")
    head, body = _read_response(sock)
    assert head.startswith(b"HTTP/1.1 200 ") and b"100 Continue" not in head
    assert body == f"5 {hashlib.sha256(b'hello').hexdigest()}".encode()


def test_pipelined_requests_and_a_partial_next_one(serve: Callable[..., Server]) -> None:
    server = serve()
    sock = server.connect(POST + GET.replace(b"/a?b=c", b"/") + b"POST /echo HTTP/1.1\r\nHo")
    assert _read_response(sock)[1].startswith(b"16 ")
    assert _read_response(sock)[1] == b"ok"
    _probes_answer(server, 6)  # the partial third request holds no thread
    sock.sendall(b"st: h\r\nContent-Length: 2\r\n\r\nhi")
    assert _read_response(sock)[1].startswith(b"2 ")


def test_an_oversized_head_is_answered_431(serve: Callable[..., Server]) -> None:
    server = serve()
    sock = server.connect(b"GET / HTTP/1.1\r\nX-Filler: " + b"a" * (70 * 1024))
    answer = _read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 431 ")
    _probes_answer(server, 4)


def test_bodies_too_big_to_hold_are_read_by_the_thread(serve: Callable[..., Server]) -> None:
    server = serve(MAX_BUFFERED_BODY=1024, BUFFER_BUDGET=4096)
    big = os.urandom(300 * 1024)
    assert server.get("/echo", timeout=10, body=big) == (
        200, f"{len(big)} {hashlib.sha256(big).hexdigest()}".encode())
    sock = server.connect(b"POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                          + b"".join(b"400\r\n" + big[n:n + 1024] + b"\r\n"
                                     for n in range(0, len(big), 1024)) + b"0\r\n\r\n")
    assert _read_response(sock)[1].startswith(f"{len(big)} ".encode())
    # Past the worker's budget of held bodies, the next one goes to the thread too.
    first = server.connect(b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n"
                           + b"a" * 500)
    second = server.connect(b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n"
                            + b"b" * 500)
    third = server.connect(b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n"
                           + b"c" * 500)
    for sock, letter in ((first, b"a"), (second, b"b"), (third, b"c")):
        sock.sendall(letter * 500)
    for sock, letter in ((first, b"a"), (second, b"b"), (third, b"c")):
        expected = hashlib.sha256(letter * 1000).hexdigest().encode()
        assert _read_response(sock)[1] == b"1000 " + expected


def test_a_thread_gives_up_on_a_client_that_stops(serve: Callable[..., Server]) -> None:
    """A client that does not read its answer, or sends a body too big to hold and stops,
    frees the thread after IO_TIMEOUT."""
    server = serve(IO_TIMEOUT=1.0, MAX_BUFFERED_BODY=1024)
    server.connect(b"GET /big HTTP/1.1\r\nHost: h\r\n\r\n", rcvbuf=4096)
    assert server.get("/", timeout=10) == (200, b"ok")
    server.connect(b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5000\r\n\r\n" + b"x" * 10)
    assert server.get("/", timeout=10) == (200, b"ok")


def test_closing_after_an_answer_does_not_block_the_worker(
        serve: Callable[..., Server]) -> None:
    """A client asks for the connection to be closed after the answer, then neither reads
    nor closes: the worker waits for it (to not cut the answer off) without blocking."""
    server = serve()
    lingering = [server.connect(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
                 for _ in range(8)]
    _probes_answer(server)
    for sock in lingering:
        answer = _read_until_closed(sock)
        assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"\r\n\r\nok")


def test_a_stopping_worker_does_not_wait_for_slow_clients(
        serve: Callable[..., Server]) -> None:
    server = serve()
    server.connect(b"GET / HTTP/1.1\r\nHost: h\r\n")
    server.connect()
    assert server.get("/") == (200, b"ok")
    server.process.terminate()
    assert server.process.wait(timeout=10) == 0
