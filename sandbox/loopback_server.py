"""Serving an emulator on 127.0.0.1 from a daemon thread: start, stop and ``with``.

The part of each emulator that has nothing to do with the API it plays: a subclass of
``LoopbackEmulator`` says which server to build, the server hands every request's handler
the emulator, and the emulator answers.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, TypeVar

_Emulator = TypeVar("_Emulator", bound="LoopbackEmulator")


class LoopbackServer(ThreadingHTTPServer):
    """An HTTP server on a free port of 127.0.0.1 whose handlers reach ``server.emulator``.

    A subclass annotates ``emulator`` with its emulator's class, for the handler's types.
    """

    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler], emulator: Any) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.emulator = emulator


class QuietHandler(BaseHTTPRequestHandler):
    """A handler that prints nothing and sends each reply the same way.

    A subclass implements ``_serve`` (GET, POST and PUT all come there) and adds any other
    method it answers.
    """

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def _serve(self) -> None:
        raise NotImplementedError

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: an emulator prints nothing."""

    def send_reply(
        self, status: int, content_type: str, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class LoopbackEmulator:
    """Start, stop and ``with`` for an emulator served by a ``LoopbackServer``."""

    thread_name = "loopback-emulator"

    def __init__(self) -> None:
        self.url = ""
        self._server: LoopbackServer | None = None
        self._thread: threading.Thread | None = None

    def _make_server(self) -> LoopbackServer:
        """A new server for this emulator; each subclass builds its own."""
        raise NotImplementedError

    def start(self) -> str:
        """Start serving; returns the base url with a trailing slash."""
        self._server = self._make_server()
        # a short poll interval so stop() (and every test's teardown) takes milliseconds
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True, name=self.thread_name
        )
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self: _Emulator) -> _Emulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
