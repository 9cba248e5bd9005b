"""Things a page draws or asks that change seldom, kept a short while in the process.

Each key must name everything the kept value depends on (who asks, the language, the
page): a value is only ever handed back for its own key. Kept at most `ttl` seconds,
at most `size` of them, the least recently used dropped first; a bounded dict, so a
gunicorn worker's memory does not grow with the accounts it serves.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any


class Kept:
    every: weakref.WeakSet[Kept] = weakref.WeakSet()

    def __init__(self, ttl: float, size: int):
        self.ttl, self.size = ttl, size
        self._kept: OrderedDict[tuple, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        Kept.every.add(self)

    @classmethod
    def forget_all(cls) -> None:
        """Drop everything every Kept holds (the tests, whose database is rolled back
        after each one, so what a test's pages kept must not outlive it)."""
        for kept in list(cls.every):
            kept.clear()

    def get(self, key: tuple, make: Callable[[], Any], keep: Callable[[Any], bool] = bool):
        """The value kept for `key`, else `make()` (kept if `keep(value)`)."""
        now = time.monotonic()
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None and now - kept[0] < self.ttl:
                self._kept.move_to_end(key)
                return kept[1]
        value = make()
        if keep(value):
            self.put(key, value, now)
        return value

    def put(self, key: tuple, value, now: float | None = None) -> None:
        with self._lock:
            self._kept[key] = (time.monotonic() if now is None else now, value)
            self._kept.move_to_end(key)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
