"""The gunicorn worker of ``esimdesk web``: gunicorn's threaded worker (gthread), except that a
connection reaches a request thread only once its whole request has arrived.

gthread hands a connection to a thread as soon as it is readable, and the thread then blocks
until the rest of the request comes. A few clients that send part of a request and stop hold
every thread of every worker, and nothing else is answered (four such connections stalled
the embedded default). Here the worker's event loop reads requests without blocking, as
nginx does in front of an application server: a slow or silent client costs a file
descriptor and a small buffer, never a thread.

- The request head must arrive within ``HEAD_TIMEOUT`` of the connection opening (or of the
  first byte of the next request on a kept-alive connection), and may be at most
  ``MAX_HEAD_BYTES`` (larger heads are answered 431).
- A body of up to ``MAX_BUFFERED_BODY`` bytes is read here too, each piece within
  ``BODY_IDLE_TIMEOUT`` of the one before; the worker holds at most ``BUFFER_BUDGET`` bytes
  of such bodies at once. A bigger body is read by the request thread, so are bodies past the
  budget.
- In a request thread every read and write gives up after ``IO_TIMEOUT``: a client that
  stops reading its answer, or sends a big body slowly, frees its thread.
- Closing a connection after its answer (waiting briefly for the client to close first, so
  the answer is not cut off) happens in the event loop too, not blocking it.

Behind a TLS proxy with request buffering (deploy/nginx/esimdesk.conf) the proxy already does
all of this; the worker is what keeps the embedded default answering without one.
"""

from __future__ import annotations

import contextlib
import errno
import re
import selectors
import socket
import time
from functools import partial
from typing import Any

from gunicorn import util
from gunicorn.http.message import Request
from gunicorn.http.parser import RequestParser
from gunicorn.workers.gthread import TConn, ThreadWorker

HEAD_TIMEOUT = 20.0
BODY_IDLE_TIMEOUT = 20.0
IO_TIMEOUT = 30.0
MAX_HEAD_BYTES = 64 * 1024
MAX_BUFFERED_BODY = 1024 * 1024
BUFFER_BUDGET = 64 * 1024 * 1024
LINGER_SECONDS = 2.0
LINGER_MAX_BYTES = 64 * 1024
RECV_BYTES = 64 * 1024
# A chunk-size line longer than this is not one (extensions included); the request goes to
# gunicorn's parser, which refuses it.
MAX_CHUNK_LINE = 4096
SWEEP_INTERVAL = 0.5
CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")

READING, READY, HEAD_TOO_LARGE = "reading", "ready", "head_too_large"
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
TOO_LARGE = (b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n"
             b"Connection: close\r\n\r\n")


class RequestReader:
    """Finds where the first HTTP/1.x request in a growing buffer ends, resuming where it
    stopped on each call (a head sent a byte at a time is scanned once, not once per byte).

    It only frames requests; gunicorn's parser still validates them. A head it cannot frame
    (conflicting lengths, an odd transfer coding) is handed on whole, so that the parser
    answers it."""

    def __init__(self, max_body: int | None = None) -> None:
        self.max_body = MAX_BUFFERED_BODY if max_body is None else max_body
        self.head_end = 0  # offset just past the blank line ending the head, 0 until found
        self.expects_continue = False
        self.streamed = False  # the body is read by the request thread, not buffered
        self._start = 0
        self._search = 0
        self._length: int | None = None  # end offset of a body of known length
        self._chunked = False
        self._chunk_at = 0  # start of the next chunk-size line
        self._trailers_from = -1  # where the trailer section starts, once the last chunk seen
        self._ended = 0

    @property
    def end(self) -> int:
        """Offset just past the request, 0 until it is complete (or streamed)."""
        return self._ended

    def feed(self, data: bytes | bytearray) -> str:
        if self._ended:
            return READY
        if not self.head_end and not self._find_head(data):
            return HEAD_TOO_LARGE if len(data) > MAX_HEAD_BYTES else READING
        if self.streamed:
            return READY
        if self._length is not None:
            if len(data) >= self._length:
                self._ended = self._length
                return READY
            return READING
        if self._chunked:
            return self._chunks(data)
        self._ended = self.head_end
        return READY

    def _find_head(self, data: bytes | bytearray) -> bool:
        # RFC 9112 section 2.2: empty lines before the request line are ignored (they count
        # towards the head's size all the same).
        while data.startswith(b"\r\n", self._start):
            self._start += 2
        self._search = max(self._search, self._start)
        end = data.find(b"\r\n\r\n", self._search, MAX_HEAD_BYTES + 4)
        if end < 0:
            self._search = max(self._start, min(len(data), MAX_HEAD_BYTES + 4) - 3)
            return False
        self.head_end = end + 4
        self._frame(bytes(data[self._start:end]).split(b"\r\n"))
        return True

    def _frame(self, lines: list[bytes]) -> None:
        lengths: set[bytes] = set()
        codings: list[bytes] = []
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon:
                continue
            name, value = name.lower(), value.strip()
            if name == b"content-length":
                lengths.add(value)
            elif name == b"transfer-encoding":
                codings.extend(c.strip().lower() for c in value.split(b","))
            elif name == b"expect":
                self.expects_continue = (value.lower() == b"100-continue"
                                         and lines[0].endswith(b" HTTP/1.1"))
        if codings:
            if codings[-1] == b"chunked" and not lengths:
                self._chunked, self._chunk_at = True, self.head_end
            else:
                self.streamed = True  # the parser refuses it or reads it
        elif lengths:
            value = lengths.pop()
            # A length it cannot trust, or a body too big to hold: the thread reads it.
            if lengths or not value.isdigit() or len(value) > 18 or int(value) > self.max_body:
                self.streamed = True
            else:
                self._length = self.head_end + int(value)

    def _chunks(self, data: bytes | bytearray) -> str:
        while self._trailers_from < 0:
            line_end = data.find(b"\r\n", self._chunk_at, self._chunk_at + MAX_CHUNK_LINE)
            if line_end < 0:
                if len(data) - self._chunk_at >= MAX_CHUNK_LINE:
                    self.streamed = True
                    return READY
                return READING
            size_text = bytes(data[self._chunk_at:line_end]).split(b";", 1)[0].rstrip(b" \t")
            if not CHUNK_SIZE.fullmatch(size_text):  # no sign, no "0x", no "_": the parser's 400
                self.streamed = True
                return READY
            size = int(size_text, 16)
            if size == 0:
                self._trailers_from = self._search = line_end + 2
                break
            following = line_end + 2 + size + 2
            if following - self.head_end > self.max_body:
                self.streamed = True
                return READY
            if len(data) < following:
                return READING
            if data[following - 2:following] != b"\r\n":
                self.streamed = True
                return READY
            self._chunk_at = following
        if data.startswith(b"\r\n", self._trailers_from):
            self._ended = self._trailers_from + 2
            return READY
        if len(data) < self._trailers_from + 2:
            return READING
        end = data.find(b"\r\n\r\n", self._search)
        if end < 0:
            if len(data) - self._trailers_from > MAX_HEAD_BYTES:
                self.streamed = True
                return READY
            self._search = max(self._trailers_from, len(data) - 3)
            return READING
        self._ended = end + 4
        return READY


class _Request(Request):
    # The event loop answers "Expect: 100-continue" itself, before it reads the body.
    _policy_expect_continue = False


class _Parser(RequestParser):
    mesg_class = _Request


class _ThreadSocket:
    """A client socket as gunicorn's code uses it: set to blocking, a read or write that makes
    no progress for IO_TIMEOUT gives up instead of waiting for ever."""

    __slots__ = ("_sock",)

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def setblocking(self, flag: bool) -> None:
        self._sock.settimeout(IO_TIMEOUT if flag else 0.0)

    def sendall(self, data: bytes | bytearray | memoryview) -> None:
        # socket.sendall's timeout bounds the whole answer; a big one to a slow but steady
        # client may take longer. Each send waits at most the timeout for room to write.
        view = memoryview(data).cast("B")
        while view:
            view = view[self._sock.send(view):]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _Conn(TConn):
    def __init__(self, worker: BufferingWorker, cfg: Any, sock: socket.socket, client: Any,
                 server: Any) -> None:
        super().__init__(cfg, _ThreadSocket(sock), client, server)
        self.worker = worker
        self.buffer = bytearray()
        self.reader = RequestReader()
        self.deadline = 0.0
        self.continued = False
        self.drained = 0

    def close(self, graceful: bool = False) -> None:
        if graceful:
            self.worker.linger(self)
        else:
            super().close()


class BufferingWorker(ThreadWorker):
    """gthread, with requests read by the event loop (see the module's description)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reading: dict[_Conn, None] = {}
        self.lingering: dict[_Conn, None] = {}
        self.buffered = 0
        self.next_sweep = 0.0
        self.stop_by: float | None = None
        # TLS, uWSGI and HTTP/2 by prior knowledge keep gthread's own path: esimdesk web
        # serves plain HTTP/1.1 behind its proxy.
        self.buffering = (not self.cfg.is_ssl and self.cfg.protocol == "http"
                          and self.cfg.http2_cleartext not in ("prior-knowledge", "both"))

    def accept(self, listener: Any) -> None:
        if not self.buffering:
            super().accept(listener)
            return
        try:
            client_sock, client_addr = listener.accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = _Conn(self, self.cfg, client_sock, client_addr, listener.getsockname())
        conn.deadline = time.monotonic() + HEAD_TIMEOUT
        self.wait_for_more(conn)

    def on_client_socket_readable(self, conn: Any, client: Any) -> None:
        """A kept-alive connection sends its next request: read it here too."""
        if not isinstance(conn, _Conn):
            super().on_client_socket_readable(conn, client)
            return
        self.keepalived_conns.remove(conn)
        self.start_request(conn)
        self.reading[conn] = None
        self.poller.modify(conn.sock, selectors.EVENT_READ, partial(self.on_readable, conn))
        self.on_readable(conn, client)

    def start_request(self, conn: _Conn) -> None:
        conn.reader = RequestReader()
        conn.continued = False
        conn.deadline = time.monotonic() + HEAD_TIMEOUT

    def on_readable(self, conn: _Conn, _client: Any) -> None:
        try:
            data = conn.sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self.drop(conn)
            return
        conn.buffer += data
        self.buffered += len(data)
        self.advance(conn)

    def advance(self, conn: _Conn) -> None:
        """Hand the connection to a thread if its request is complete (or must be streamed),
        refuse an oversized head, or wait for more."""
        state = conn.reader.feed(conn.buffer)
        if state == HEAD_TOO_LARGE:
            self.stop_reading(conn)
            self.buffered -= len(conn.buffer)
            conn.buffer = bytearray()
            self.nr_conns -= 1
            with contextlib.suppress(OSError):
                conn.sock.send(TOO_LARGE)
            conn.close(graceful=True)
            return
        if state == READING and conn.reader.head_end:
            if conn.reader.expects_continue and not conn.continued:
                conn.continued = True
                with contextlib.suppress(OSError):  # else the client sends it after a wait
                    conn.sock.send(CONTINUE)
            if self.buffered <= BUFFER_BUDGET:
                conn.deadline = time.monotonic() + BODY_IDLE_TIMEOUT
                self.wait_for_more(conn)
                return
            state = READY  # over the budget: the request thread reads the rest
        if state == READING:
            self.wait_for_more(conn)
            return
        self.stop_reading(conn)
        data = bytes(conn.buffer)
        conn.buffer = bytearray()
        self.buffered -= len(data)
        if conn.parser is None:
            conn.parser = _Parser(self.cfg, conn.sock, conn.client)
        conn.parser.unreader.unread(data)
        conn.data_ready = True
        self.enqueue_req(conn)

    def wait_for_more(self, conn: _Conn) -> None:
        if conn not in self.reading:
            self.reading[conn] = None
            self.poller.register(conn.sock, selectors.EVENT_READ,
                                 partial(self.on_readable, conn))

    def stop_reading(self, conn: _Conn) -> None:
        if conn in self.reading:
            del self.reading[conn]
            self.poller.unregister(conn.sock)

    def drop(self, conn: _Conn) -> None:
        self.stop_reading(conn)
        self.buffered -= len(conn.buffer)
        conn.buffer = bytearray()
        self.nr_conns -= 1
        conn.close()

    def finish_request(self, conn: Any, fs: Any) -> None:
        """A kept-alive connection whose client already sent (part of) its next request: read
        the rest here, as for a new connection, rather than in a thread (gthread would hand
        it to one at once)."""
        if (isinstance(conn, _Conn) and not fs.cancelled() and fs.exception() is None
                and fs.result() is True and conn.parser is not None):
            pending = conn.parser.unreader.take_buffered()
            if pending:
                conn.sock.setblocking(False)
                self.start_request(conn)
                conn.buffer += pending
                self.buffered += len(pending)
                self.advance(conn)
                return
        super().finish_request(conn, fs)

    def linger(self, conn: _Conn) -> None:
        """Close after an answer without blocking the event loop: send FIN, then read and
        discard what the client still sends until it closes or LINGER_SECONDS pass (closing
        with unread data would reset the connection and cut the answer off)."""
        try:
            conn.sock.shutdown(socket.SHUT_WR)
            conn.sock.setblocking(False)
            self.poller.register(conn.sock, selectors.EVENT_READ,
                                 partial(self.on_lingering_readable, conn))
        except (OSError, ValueError, KeyError):
            util.close(conn.sock)
            return
        conn.deadline = time.monotonic() + LINGER_SECONDS
        conn.drained = 0
        self.lingering[conn] = None

    def on_lingering_readable(self, conn: _Conn, _client: Any) -> None:
        try:
            data = conn.sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        conn.drained += len(data)
        if not data or conn.drained >= LINGER_MAX_BYTES:
            self.end_linger(conn)

    def end_linger(self, conn: _Conn) -> None:
        del self.lingering[conn]
        with contextlib.suppress(OSError, ValueError, KeyError):
            self.poller.unregister(conn.sock)
        util.close(conn.sock)

    def murder_pending(self) -> None:
        """Besides gthread's own sweep: close connections whose request did not arrive in
        time and lingering ones whose time is up (at most every SWEEP_INTERVAL)."""
        super().murder_pending()
        now = time.monotonic()
        if now < self.next_sweep:
            return
        self.next_sweep = now + SWEEP_INTERVAL
        if not self.alive and self.stop_by is None:
            # A stopping worker answers requests already on their way, briefly.
            self.stop_by = now + LINGER_SECONDS
        for conn in [c for c in self.reading if c.deadline <= now
                     or (self.stop_by is not None and self.stop_by <= now)]:
            self.drop(conn)
        for conn in [c for c in self.lingering if c.deadline <= now]:
            self.end_linger(conn)
