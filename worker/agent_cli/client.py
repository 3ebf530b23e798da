"""HTTP to the run API (docs/api.md): requests whose errors become `ApiError` or `Unreachable`, and
the run's event stream read as Server-Sent Events.

`follow` is the one place that knows the stream's resumption contract: the API numbers each event
with its offset in the run's stream and, given `Last-Event-ID: N`, sends every later event exactly
once. So a follower that remembers the last id it printed can lose its connection, or the API can be
restarted or replaced by another replica, and the follower prints each event once, in order.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from worker.agent_cli.errors import ApiError, Unreachable

REQUEST_TIMEOUT_S = 30.0  # an approval waits for the run's update to complete
# The API sends a ping comment every 15 s on an open stream: three missed pings mean the connection is
# dead even when no FIN arrived (a host that vanished, a NAT that forgot us).
STREAM_READ_TIMEOUT_S = 45.0
RECONNECT_DELAYS_S = (0.2, 0.5, 1.0, 2.0, 5.0)  # then 5 s between tries


@dataclass(frozen=True)
class Event:
    """One SSE message of the run's stream: `offset` (the SSE id), `kind` (the SSE event) and the
    event itself as the API sent it (docs/events.md): unknown kinds and fields are kept, not refused."""

    offset: int
    kind: str
    data: dict[str, Any]


class StreamQuiet(Exception):
    """No event (nor ping) for the read timeout that the caller chose."""


class RunApi:
    def __init__(self, url: str, key: str | None) -> None:
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.http = httpx.Client(headers=headers, timeout=REQUEST_TIMEOUT_S)

    def call(self, method: str, path: str, *, body: Any = None, params: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None) -> Any:
        """The answer's JSON; an error status raises `ApiError` with the API's detail."""
        try:
            response = self.http.request(method, self.url + path, json=body, params=params, headers=headers)
        except httpx.TransportError as e:
            raise Unreachable(self.url, e) from None
        if response.is_error:
            raise ApiError.of(response)
        return response.json()

    @contextmanager
    def events(self, run_id: str, after: int | None, read_timeout_s: float) -> Iterator[Iterator[Event]]:
        """One connection to the run's stream, opened (or refused with `ApiError`) on entry; its events
        after offset `after`. Reading raises `Unreachable` when the connection drops and `StreamQuiet`
        when nothing arrives for `read_timeout_s`."""
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if after is not None:
            headers["Last-Event-ID"] = str(after)
        timeout = httpx.Timeout(REQUEST_TIMEOUT_S, read=read_timeout_s)
        try:
            with self.http.stream("GET", f"{self.url}/v1/runs/{quote(run_id, safe='')}/events", headers=headers,
                                  timeout=timeout) as response:
                if response.is_error:
                    response.read()
                    raise ApiError.of(response)
                yield parse_sse(response.iter_lines())
        except httpx.ReadTimeout:
            raise StreamQuiet() from None
        except httpx.TransportError as e:  # refused, reset, or cut off in the middle of a chunk
            raise Unreachable(self.url, e) from None

    def close(self) -> None:
        self.http.close()


def parse_sse(lines: Iterable[str]) -> Iterator[Event]:
    """Server-Sent Events as an EventSource reads them: `field: value` lines, a blank line ends a
    message, `:` lines are comments (the API's pings). Only messages with an id and data are events."""
    fields: dict[str, str] = {}
    data: list[str] = []
    for line in lines:
        if not line:
            if data and fields.get("id", "").isdigit():
                yield Event(int(fields["id"]), fields.get("event", "message"), json.loads("\n".join(data)))
            fields, data = {}, []
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                data.append(value)
            else:
                fields[name] = value


def follow(api: RunApi, run_id: str, after: int | None = None, retry_for_s: float = 300.0,
           idle_s: float | None = None) -> Iterator[Event]:
    """The run's events after offset `after`, each once, in order, up to its `result` event.

    A connection that drops once the stream was open is reopened from the last event seen, for up to
    `retry_for_s` of trying (the API restarting, a 503 while Temporal is away). The first connection is
    not retried: a wrong URL or key is reported at once. With `idle_s`, reading stops quietly once no
    event has come for that long: what the run has published so far.
    """
    opened = False
    lost_at: float | None = None
    tries = 0
    while True:
        try:
            with api.events(run_id, after, idle_s if idle_s is not None else STREAM_READ_TIMEOUT_S) as events:
                if lost_at is not None:
                    _note(f"reconnected; resuming {_resume_point(after)}")
                opened, lost_at, tries = True, None, 0
                for event in events:
                    after = event.offset
                    yield event
                    if event.kind == "result":
                        return
            reason = "the stream ended before the run's result"
        except StreamQuiet:
            if idle_s is not None:
                return
            reason = f"no event nor ping for {STREAM_READ_TIMEOUT_S:g} s"
        except Unreachable as e:
            if not opened:
                raise
            reason = e.why
        except ApiError as e:
            if not opened or e.status != 503:
                raise
            reason = e.detail
        now = time.monotonic()
        if lost_at is None:
            lost_at = now
            _note(f"connection lost ({reason}); reconnecting, to resume {_resume_point(after)}")
        elif now - lost_at > retry_for_s:
            raise Unreachable(api.url, TimeoutError(f"gave up reconnecting after {retry_for_s:g} s: {reason}"))
        time.sleep(RECONNECT_DELAYS_S[min(tries, len(RECONNECT_DELAYS_S) - 1)])
        tries += 1


def _resume_point(after: int | None) -> str:
    return f"after event {after}" if after is not None else "from the first event"


def _note(message: str) -> None:
    """Progress a person should see, kept off stdout so `--json` output stays one object per line."""
    print(f"agent: {message}", file=sys.stderr, flush=True)
