"""Logging for the CLI: readable lines on stderr, every one passed through `redact`."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

from pipelines.registry import SOURCES
from sources.http import RedactingFilter

FORMAT = "%(asctime)s %(levelname)-7s %(message)s"


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first line of an exception's text, capped: an expected failure is one readable line."""
    return (str(exc).strip().splitlines() or [""])[0][:limit]


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors (the message is already redacted by the filter)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        source = record.getMessage().split(":", 1)[0]
        if source in SOURCES:
            entry["source"] = source
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Send our and dlt's log records to stderr, redacted; dlt's own chatter only from WARNING up."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(FORMAT, "%H:%M:%S"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("retail").setLevel(level.upper())
    logging.getLogger("dlt").setLevel(logging.DEBUG if level.upper() == "DEBUG" else logging.WARNING)
    protect_dlt_logger()


def protect_dlt_logger() -> None:
    """Make sure every handler dlt attached to its logger redacts too (dlt adds them lazily)."""
    for handler in logging.getLogger("dlt").handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


def warn_if_secrets_readable(project_dir: Path | None = None) -> bool:
    """Warn when `.dlt/secrets.toml` can be read by group or others; return True when it can."""
    base = project_dir or Path(os.environ.get("DLT_PROJECT_DIR") or Path.cwd())
    secrets = base / ".dlt" / "secrets.toml"
    if secrets.exists() and secrets.stat().st_mode & 0o077:
        logging.getLogger("retail").warning(
            "%s is readable by other users (mode %o); run: chmod 600 %s",
            secrets,
            secrets.stat().st_mode & 0o777,
            secrets,
        )
        return True
    return False
