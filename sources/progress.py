"""Progress lines for long reads: at most one every `every_seconds`, plus one at the end."""

from __future__ import annotations

import logging
import time

log = logging.getLogger("retail.progress")


class ProgressLog:
    """Count pages and records of one read and log how far it got, without flooding the log."""

    def __init__(self, source: str, what: str, every_seconds: float = 10.0) -> None:
        self.source, self.what, self.every = source, what, every_seconds
        self.pages = self.records = 0
        self.started = self._last = time.monotonic()

    def page(self, records: int) -> None:
        self.pages += 1
        self.records += records
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            log.info(
                "%s: %d pages, %d %s so far (%.0f/s)",
                self.source,
                self.pages,
                self.records,
                self.what,
                self.records / max(now - self.started, 1e-6),
            )

    def done(self) -> None:
        log.info(
            "%s: read %d %s in %d pages (%.1fs)",
            self.source,
            self.records,
            self.what,
            self.pages,
            time.monotonic() - self.started,
        )
