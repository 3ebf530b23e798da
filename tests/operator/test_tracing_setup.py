"""Tracing is off unless configured, and with OTEL_EXPORTER_OTLP_ENDPOINT spans go out over OTLP/HTTP.
Each case runs in a fresh process: OpenTelemetry's global tracer provider can be set only once."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading

from worker.settings import REPO_ROOT

SCRIPT = """
import sys
from opentelemetry import trace
from worker.tracing import configure_tracing, shutdown_tracing
plugins = configure_tracing()
with trace.get_tracer("t").start_as_current_span("agent.test-span"):
    pass
shutdown_tracing()
print(len(plugins), type(trace.get_tracer_provider()).__name__)
"""


def run(env: dict[str, str]) -> str:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AGENT_TRACE"))}
    done = subprocess.run([sys.executable, "-c", SCRIPT], env={**environ, "PYTHONPATH": str(REPO_ROOT), **env},
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_without_configuration_nothing_is_installed():
    """No plugin, the API's default (proxy) provider: spans are no-ops."""
    assert run({}) == "0 ProxyTracerProvider"


def test_an_otlp_endpoint_receives_the_spans():
    """A real HTTP receiver gets a protobuf POST on /v1/traces that holds the span's name."""
    received: list[tuple[str, bytes]] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            received.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        shown = run({"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{server.server_port}"})
    finally:
        server.shutdown()
    assert shown == "1 ReplaySafeTracerProvider"
    assert any(path == "/v1/traces" and b"agent.test-span" in body for path, body in received), received
