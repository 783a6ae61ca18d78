"""A server-sent events client for the tests: a stream read on its own thread,
parsed as the HTML standard's "event stream interpretation" says (fields
``id``, ``event``, ``data``; a blank line dispatches; a line starting with
``:`` is a comment)."""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
from typing import Any

import httpx

EVENT_STREAM = "text/event-stream"


class EventStream:
    """``GET url`` with ``Accept: text/event-stream``. ``response`` is there once
    the answer's head arrived; what the stream carries arrives in ``items``:
    dicts of an event's fields, ``{"comment": ...}`` for a comment line, and
    ``None`` when the stream ended."""

    def __init__(
        self,
        client: httpx.Client,
        url: str,
        *,
        params: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.items: queue.Queue[dict[str, str] | None] = queue.Queue()
        self._context = client.stream(
            "GET",
            url,
            params=params,
            headers={"Accept": EVENT_STREAM, **(headers or {})},
            timeout=httpx.Timeout(30.0, read=None),
        )
        self.response = self._context.__enter__()
        self._thread: threading.Thread | None = None
        if self.response.status_code == 200:
            self._thread = threading.Thread(target=self._read, daemon=True, name="sse-reader")
            self._thread.start()
        else:
            self.response.read()

    def _read(self) -> None:
        fields: dict[str, str] = {}
        try:
            for line in self.response.iter_lines():
                if line == "":
                    if fields:
                        self.items.put(fields)
                    fields = {}
                elif line.startswith(":"):
                    self.items.put({"comment": line[1:].strip()})
                else:
                    name, _, value = line.partition(":")
                    value = value.removeprefix(" ")
                    if name == "data" and "data" in fields:  # data lines join with newlines
                        value = f"{fields['data']}\n{value}"
                    fields[name] = value
        except (httpx.HTTPError, OSError):
            pass  # closed by close(), or by the server
        finally:
            self.items.put(None)

    def next(self, timeout: float = 5.0) -> dict[str, str] | None:
        """The next event (comments skipped); None when the stream ended.
        AssertionError when nothing came within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                item = self.items.get(timeout=max(left, 0.0))
            except queue.Empty:
                raise AssertionError(f"no event within {timeout}s") from None
            if item is None or "comment" not in item:
                return item

    def events(self, count: int, timeout: float = 5.0) -> list[dict[str, str]]:
        out = []
        for _ in range(count):
            event = self.next(timeout)
            assert event is not None, f"the stream ended after {len(out)} events"
            out.append(event)
        return out

    def nothing_more(self, wait: float = 0.5) -> bool:
        """True when no event arrives within ``wait`` seconds."""
        try:
            self.next(wait)
        except AssertionError:
            return True
        return False

    def close(self) -> None:
        """Disconnect as a client would: the socket shut down under the reader."""
        if self._thread is not None:
            stream = self.response.extensions.get("network_stream")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if sock is not None:
                with contextlib.suppress(OSError):  # already closed by the server
                    sock.shutdown(socket.SHUT_RDWR)
            self._thread.join(timeout=10)
            assert not self._thread.is_alive(), "the reader did not stop"
        self._context.__exit__(None, None, None)

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
