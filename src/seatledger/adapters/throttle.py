"""Counting failed attempts with the ``limits`` library: in this process's
memory by default, in Redis with a ``redis://`` storage URL (several API
processes then share one count)."""

from __future__ import annotations

import math
import time

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from seatledger.domain.errors import RateLimited


class FailureThrottle:
    """At most ``rate`` failures ("5/minute") per key in any moving window;
    past it, every attempt is refused until the window has room again."""

    def __init__(self, rate: str, *, storage_url: str = "memory://") -> None:
        self._item = parse(rate)
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_url))

    def check(self, key: str) -> None:
        if self._limiter.test(self._item, key):
            return
        reset_at = self._limiter.get_window_stats(self._item, key).reset_time
        raise RateLimited(
            f"more than {self._item} failed attempts; retry later",
            retry_after=max(1, math.ceil(reset_at - time.time())),
        )

    def failed(self, key: str) -> None:
        self._limiter.hit(self._item, key)

    def succeeded(self, key: str) -> None:
        self._limiter.clear(self._item, key)
