"""What every simulator shares: a threaded HTTP server on 127.0.0.1, a log of calls, fault switches.

A simulator subclasses `Simulator` and implements `handle(request) -> Reply`. Tests start one with
`with PinogySimulator(...) as sim:` and point a source at `sim.url`. Faults are queued with
`sim.faults.add(...)` and consumed by the next matching requests, before `handle` sees them:

- `status`: answer with an HTTP status (and optional body/headers), e.g. 503 or 429 + Retry-After;
- `reset`: close the connection without answering (a connection reset);
- `delay`: sleep before answering (drives read timeouts);
- `truncate`: answer normally but cut the body in half (a malformed page);
- `cut`: send the status line, the headers (with the full Content-Length) and half of the body, then
  close the connection: the server dying mid-read;
- `down`: stop listening and close this connection unanswered; every later request is refused (the
  server went away mid-run; the listening port is closed, so new connections get "connection refused");
- `action`: run `action()` first (e.g. delete records between two page requests), then answer normally.
- `repeat`: answer with the reply served to the previous request for the same path (and `call`): a page
  identical to the one just read;
- API-specific kinds (`short`, `ignore_offset`, `self_link`, ...) go to the simulator's `misbehave`;
  `short` answers 200 with only the first `keep` records (0: none) while the API's total stays true.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

# Every credential a simulator hands out (session tokens, access tokens), so tests can prove that none
# of them ever reaches a log line, a file or a table.
ISSUED_SECRETS: set[str] = set()


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]  # query string, and for POST the form fields too
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    cut: bool = False  # send only half of the body, then close the connection


@dataclass
class Fault:
    kind: str  # status | reset | delay | truncate | cut | down | action | repeat | a simulator's own
    times: int = 1
    path_contains: str = ""
    status: int = 503
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    after: int = 0  # let this many matching requests through first
    when: Callable[[Request], bool] | None = None
    action: Callable[[], None] | None = None
    keep: int = 0  # `short`: records left in the page
    total: int | None = None  # `ignore_offset`: the total to announce


class FaultQueue:
    """Faults waiting for matching requests; thread-safe."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, kind: str, **kwargs: Any) -> Fault:
        fault = Fault(kind=kind, **kwargs)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, request: Request) -> Fault | None:
        """Return the first fault that applies to `request`, consuming one of its uses."""
        with self._lock:
            for fault in self._faults:
                if fault.path_contains not in request.path + "?" + _query_text(request.params):
                    continue
                if fault.when is not None and not fault.when(request):
                    continue
                if fault.after > 0:
                    fault.after -= 1
                    continue
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None


def _query_text(params: dict[str, str]) -> str:
    return "&".join(f"{k}={v}" for k, v in params.items())


class Simulator:
    """Base of the four API stand-ins: serve `handle` over HTTP on 127.0.0.1 at an ephemeral port."""

    name = "simulator"

    def __init__(self, port: int = 0) -> None:
        self.faults = FaultQueue()
        self.calls: list[Request] = []
        self.connections = 0  # TCP connections accepted, also those that never became a request (TLS)
        self.down = False
        self._open_connections: set[socket.socket] = set()
        self._calls_lock = threading.Lock()
        self._lock = threading.RLock()  # guards the simulated data against concurrent handlers
        self._previous: dict[str, Reply] = {}  # the last reply per path and `call`, for `repeat`
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._make_handler())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Simulator:
        # A short poll: `stop` and `go_down` wait for the serving loop to notice, once per poll.
        serve = partial(self._server.serve_forever, poll_interval=0.05)
        self._thread = threading.Thread(target=serve, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def calls_to(self, path_contains: str) -> list[Request]:
        with self._calls_lock:
            return [c for c in self.calls if path_contains in c.path]

    def reset_calls(self) -> None:
        with self._calls_lock:
            self.calls.clear()

    # --- to implement ----------------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:  # pragma: no cover - abstract
        raise NotImplementedError

    def misbehave(self, fault: Fault, request: Request, reply: Reply) -> Reply:
        """Return `reply` changed the way fault `fault.kind` says; each simulator knows its own kinds."""
        raise ValueError(f"{self.name} simulator has no fault {fault.kind!r}")

    # --- plumbing --------------------------------------------------------------------------------
    def _dispatch(self, request: Request) -> Reply | None:
        with self._calls_lock:
            self.calls.append(request)
        if self.down:
            return None
        fault = self.faults.take(request)
        if fault is not None:
            if fault.kind == "down":
                self.go_down()
                return None
            if fault.kind == "reset":
                return None
            if fault.kind == "action" and fault.action is not None:
                fault.action()
            if fault.kind == "delay":
                time.sleep(fault.seconds)
            elif fault.kind == "status":
                return Reply(fault.status, fault.body, dict(fault.headers))
        reply = self.handle(request)
        key = f"{request.path}?call={request.params.get('call', '')}"
        if fault is not None and fault.kind == "truncate":
            reply = Reply(reply.status, reply.body[: len(reply.body) // 2], reply.headers, reply.content_type)
        elif fault is not None and fault.kind == "cut":
            reply.cut = True
        elif fault is not None and fault.kind == "repeat":
            reply = self._previous.get(key, reply)
        elif fault is not None and fault.kind not in ("action", "delay"):
            reply = self.misbehave(fault, request, reply)
        self._previous[key] = reply
        return reply

    def serve_tls(self, certfile: str, keyfile: str) -> Simulator:
        """Speak https with this certificate (call before `start`); `url` still says http://."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certfile, keyfile)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        return self

    def go_down(self) -> None:
        """Stop accepting connections and answer nothing more: later connections are refused."""
        self.down = True
        self._server.shutdown()  # called from a handler thread, never serve_forever's own
        self._server.server_close()
        with self._calls_lock:  # a dying server drops its kept-alive connections too
            open_connections = list(self._open_connections)
        for connection in open_connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def _make_handler(self) -> type[BaseHTTPRequestHandler]:
        simulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes; without TCP_NODELAY each small reply waits
            # ~40 ms for a delayed ACK, which made every simulator call cost that much.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep stderr quiet
                pass

            def setup(self) -> None:
                with simulator._calls_lock:
                    simulator.connections += 1
                    simulator._open_connections.add(self.request)
                super().setup()

            def finish(self) -> None:
                with simulator._calls_lock:
                    simulator._open_connections.discard(self.request)
                super().finish()

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                params = dict(parse_qsl(parts.query, keep_blank_values=True))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if body and "form-urlencoded" in (self.headers.get("Content-Type") or ""):
                    params.update(parse_qsl(body.decode(), keep_blank_values=True))
                request = Request(self.command, parts.path, params, dict(self.headers.items()), body)
                reply = simulator._dispatch(request)
                if reply is None:  # connection reset: close without a word
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                if reply.cut:
                    self.wfile.write(reply.body[: len(reply.body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(reply.body)

            do_GET = do_POST = do_DELETE = do_PUT = _serve

        return Handler
