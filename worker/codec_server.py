"""A Temporal codec server: lets the Web UI and `temporal --codec-endpoint` show decrypted payloads.

    python -m worker.codec_server --port 8234 --web-origin http://127.0.0.1:8233
    temporal workflow show -w RUN_ID --codec-endpoint http://127.0.0.1:8234

It implements Temporal's codec-server protocol: POST `.../encode` and `.../decode` with a `Payloads`
message as protobuf JSON (`{"payloads": [{"metadata": {...}, "data": "<base64>"}]}`), answered in
kind; only the last path segment matters, so it can be mounted under any prefix. The Web UI calls it
from the browser, hence CORS for the origins given with --web-origin.

Whoever reaches it can decrypt, so it listens on 127.0.0.1 unless told otherwise, and with
AGENT_CODEC_SERVER_TOKEN set it answers only requests carrying `Authorization: Bearer <token>`
(`temporal --codec-auth "Bearer <token>"`; the Web UI forwards its user's token when so configured).
Keys come from AGENT_CODEC_KEYS / AGENT_CODEC_KEYS_FILE, as for the worker.
"""

from __future__ import annotations

import hmac
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payloads

from activities.keyring import KeyRing, KeyRingError
from worker import cli
from worker.codec import EncryptionCodec, keyring_from_env

TOKEN_ENV = "AGENT_CODEC_SERVER_TOKEN"
_MAX_BODY = 8 << 20  # a history page of payloads; Temporal's own limit per payload is 2 MB


def make_handler(codec: EncryptionCodec, web_origins: frozenset[str], token: str | None) -> type:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _cors(self) -> None:
            origin = self.headers.get("Origin")
            if origin and origin in web_origins:
                self.send_header("Access-Control-Allow-Origin", origin)
                self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
                self.send_header("Access-Control-Allow-Headers", "Content-Type, X-Namespace, Authorization")
                self.send_header("Access-Control-Allow-Credentials", "true")
                self.send_header("Vary", "Origin")

        def _reply(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> None:
            self.send_response(status)
            self._cors()
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_OPTIONS(self) -> None:  # the browser's CORS preflight carries no credentials
            self._reply(200, b"")

        def do_POST(self) -> None:
            operation = self.path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
            if operation not in ("encode", "decode"):
                return self._reply(404, b"POST .../encode or .../decode\n")
            if token is not None and not hmac.compare_digest(
                self.headers.get("Authorization", "").encode(), f"Bearer {token}".encode()
            ):
                return self._reply(401, b"missing or wrong bearer token\n")
            length = int(self.headers.get("Content-Length") or 0)
            if length > _MAX_BODY:
                return self._reply(413, b"request too large\n")
            try:
                payloads = json_format.Parse(self.rfile.read(length), Payloads())
                convert = codec.encode_sync if operation == "encode" else codec.decode_sync
                result = Payloads(payloads=convert(payloads.payloads))
            except (json_format.ParseError, DecodeError, UnicodeDecodeError) as e:
                return self._reply(400, f"not a Payloads JSON message: {e}\n".encode())
            except KeyRingError as e:  # unknown key id or wrong key: the message names the key id only
                return self._reply(400, f"{e}\n".encode())
            self._reply(200, json_format.MessageToJson(result).encode(), "application/json")

        def log_message(self, format: str, *args: object) -> None:
            pass  # request lines carry no secrets, but also nothing an operator needs on every call

    return Handler


class CodecServer:
    """The server on a background thread (for `up` and the tests); `serve_forever` for the CLI."""

    def __init__(self, keys: KeyRing, host: str = "127.0.0.1", port: int = 0,
                 web_origins: list[str] | tuple[str, ...] = (), token: str | None = None) -> None:
        handler = make_handler(EncryptionCodec(keys), frozenset(web_origins), token)
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        if isinstance(host, bytes):  # typeshed allows it for AF_UNIX; this server binds AF_INET, a str
            host = host.decode()
        return f"http://{host}:{port}"

    def start(self) -> CodecServer:
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="codec-server", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = cli.Parser(prog="python -m worker.codec_server", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8234)
    parser.add_argument("--web-origin", action="append", default=[],
                        help="a Web UI origin allowed to call from the browser, e.g. http://127.0.0.1:8233")
    args = parser.parse_args(argv)
    try:
        keys = keyring_from_env()
    except KeyRingError as e:
        print(f"codec server: {e}", file=sys.stderr)
        return 2
    if keys is None:
        print("codec server: no keys; set AGENT_CODEC_KEYS_FILE or AGENT_CODEC_KEYS", file=sys.stderr)
        return 2
    server = CodecServer(keys, args.host, args.port, args.web_origin, os.environ.get(TOKEN_ENV) or None)
    print(f"codec server at {server.url} (keys: {', '.join(keys.keys)}; active {keys.active})", flush=True)
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
