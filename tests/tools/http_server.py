"""A small HTTP server on 127.0.0.1 for the HTTP tool's tests: redirects, big and hanging bodies, writes."""

from __future__ import annotations

import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LocalHttpServer:
    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.bodies: list[tuple[str, bytes, str | None]] = []
        self.release = threading.Event()
        self.redirect_to = ""  # set by the test: an absolute URL outside the allow-list
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, code: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                server.hits[self.path] += 1
                if self.path == "/hello":
                    self._send(200, b"hello", {"Content-Type": "text/plain; charset=utf-8"})
                elif self.path == "/redirect-inside":
                    self._send(302, headers={"Location": "/hello"})
                elif self.path == "/redirect-outside":
                    self._send(302, headers={"Location": server.redirect_to})
                elif self.path == "/loop":
                    self._send(302, headers={"Location": "/loop"})
                elif self.path == "/big":
                    self.send_response(200)
                    self.end_headers()  # no length: the body ends when the connection does
                    try:
                        while not server.release.is_set():
                            self.wfile.write(b"x" * 65536)
                    except OSError:
                        pass  # the client stopped reading: expected
                elif self.path == "/hang":
                    server.release.wait(60)
                else:
                    self._send(404)

            def _write(self) -> None:
                server.hits[f"{self.command} {self.path}"] += 1
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.bodies.append((self.command, body, self.headers.get("Idempotency-Key")))
                if self.path == "/redirect":
                    self._send(307, headers={"Location": "/echo"})
                elif self.path == "/hang":
                    server.release.wait(60)
                else:
                    self._send(201, body, {"Content-Type": "application/json"})

            do_POST = do_PUT = do_DELETE = _write

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> LocalHttpServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
