"""The Web UI screenshot script: the page it opens, and (where Chromium is installed) a real capture
over the DevTools pipe of a page that shows the run id (where Chromium is missing, the capture skips)."""

from __future__ import annotations

import http.server
import shutil
import threading

import pytest

from worker import screenshot


def test_run_page_names_the_run_and_tab():
    """Ids are quoted into the path; a run id selects the run and a tab."""
    assert screenshot.run_page("http://127.0.0.1:8233/", "demo 1") == \
        "http://127.0.0.1:8233/namespaces/default/workflows/demo%201"
    assert screenshot.run_page("http://ui", "w", "ns", "r1", "user-metadata") == \
        "http://ui/namespaces/ns/workflows/w/r1/user-metadata"


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Chromium is not installed (apt-get install chromium)")
def test_capture_writes_a_png_once_the_page_shows_the_run(tmp_path):
    """A page that never stops loading (like a running workflow's) is captured once its text is there."""
    (tmp_path / "index.html").write_text("<html><body><h1>demo-42</h1><script>setInterval(() => fetch('/'), 200)"
                                         "</script></body></html>")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    out = tmp_path / "shot.png"
    try:
        screenshot.capture(shutil.which("chromium"), f"http://127.0.0.1:{server.server_port}/", out, "demo-42",
                           width=400, height=300, timeout_s=30, settle_s=0)
    finally:
        server.shutdown()
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 1000
