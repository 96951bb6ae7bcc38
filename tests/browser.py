"""Headless Chromium driven over the DevTools protocol on a pipe: render a page, collect console errors, DOM.

Why the protocol rather than `chromium --dump-dom --enable-logging`: the log prints console.log and
console.error alike and leaves out failed loads ("Failed to load resource"), which are exactly the errors
a self-contained page must not have. `--remote-debugging-pipe` needs no port, no websocket library and
no extra package: Chromium reads commands on fd 3 and writes replies on fd 4, as NUL-terminated JSON.

Also a tool: `python -m tests.browser demo.html docs/report-screenshot.png` takes a full-page screenshot.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
]
# Only a guard against a hung browser; nothing asserts on how long rendering takes.
HANG_SECONDS = 60.0


class BrowserError(RuntimeError):
    pass


def chromium_binary() -> str:
    """Return the path of Debian's `chromium`, or raise with the line that installs it."""
    found = shutil.which("chromium")
    if not found:
        raise BrowserError(
            "chromium not found: the report's browser test needs Debian's chromium package; "
            "run `make test` as root (it installs it) or `sudo apt-get install -y chromium`"
        )
    return found


@dataclass
class Rendered:
    dom: str  # document.documentElement.outerHTML after load
    values: list[Any]  # what each expression passed to render() returned, as JSON values
    errors: list[str] = field(default_factory=list)  # console errors, exceptions, failed loads
    screenshot: bytes | None = None


def _lift(fd: int) -> int:
    """Return a copy of `fd` numbered 10 or above; close the original."""
    lifted = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return lifted


class _Pipe:
    def __init__(self, binary: str, profile: str) -> None:
        self._log = open(Path(profile) / "chromium.log", "wb")  # noqa: SIM115 (closed in close())
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # Chromium wants the pipe on fds 3 and 4 exactly: bash moves them there (thread-safe, unlike a
        # preexec_fn; bash, not sh, as dash refuses fd numbers above 9).
        # First lift the child's ends above 9, so that moving one onto 3 cannot overwrite the other.
        to_browser_r, from_browser_w = (_lift(fd) for fd in (to_browser_r, from_browser_w))
        script = f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w}'
        self.proc = subprocess.Popen(
            ["bash", "-c", script, binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            pass_fds=(to_browser_r, from_browser_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> Any:
        """Send one command and return its result, keeping the events that arrive meanwhile."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str) -> dict[str, Any]:
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            event = self._read()
            self.events.append(event)
            if event.get("method") == method:
                return event

    def _read(self) -> dict[str, Any]:
        deadline = time.monotonic() + HANG_SECONDS
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._from_browser], [], [], max(deadline - time.monotonic(), 0))
            if not ready:
                raise BrowserError(f"chromium did not answer within {HANG_SECONDS:.0f} s")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserError(
                    f"chromium closed the DevTools pipe (exit status {self.proc.poll()}); its log ends: "
                    + self._log_tail()
                )
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)  # type: ignore[no-any-return]

    def _log_tail(self) -> str:
        self._log.flush()
        lines = Path(self._log.name).read_text(errors="replace").splitlines()
        return " | ".join(line for line in lines[-5:] if "dbus" not in line)

    def close(self) -> None:
        with contextlib.suppress(BrowserError, BrokenPipeError):
            self.send("Browser.close")
        try:
            self.proc.wait(timeout=HANG_SECONDS)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)
        self._log.close()


def _errors(events: list[dict[str, Any]]) -> list[str]:
    out = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            out.append(
                "console: " + " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
            )
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            out.append(f"exception: {details.get('exception', {}).get('description') or details.get('text')}")
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            entry = params["entry"]
            out.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}".strip())
    return out


def _evaluate(pipe: _Pipe, session: str, expression: str) -> Any:
    reply = pipe.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session)
    if "exceptionDetails" in reply:
        raise BrowserError(
            f"{expression[:60]}: {reply['exceptionDetails'].get('exception', {}).get('description')}"
        )
    return reply["result"].get("value")


def render(
    page: Path, expressions: Sequence[str] = (), width: int = 1280, screenshot: bool = False
) -> Rendered:
    """Load `page` in a fresh headless Chromium; return its DOM, the values of `expressions` (JavaScript
    evaluated in the loaded page, so layout is the browser's own), its errors and a full-page screenshot."""
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    pipe = _Pipe(chromium_binary(), profile)
    try:
        target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            pipe.send(f"{domain}.enable", session=session)
        pipe.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        pipe.send("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
        pipe.wait_for("Page.loadEventFired")
        values = [
            _evaluate(pipe, session, expression)
            for expression in ("document.documentElement.outerHTML", *expressions)
        ]
        image = None
        if screenshot:
            size = pipe.send("Page.getLayoutMetrics", session=session)["cssContentSize"]
            shot = pipe.send(
                "Page.captureScreenshot",
                {
                    "format": "png",
                    "captureBeyondViewport": True,
                    "clip": {"x": 0, "y": 0, "width": width, "height": size["height"], "scale": 1},
                },
                session=session,
            )
            image = base64.b64decode(shot["data"])
        return Rendered(values[0], values[1:], _errors(pipe.events), image)
    finally:
        pipe.close()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    source, target = Path(sys.argv[1]), Path(sys.argv[2])
    rendered = render(source, screenshot=True)
    if rendered.errors:
        sys.exit("\n".join(rendered.errors))
    assert rendered.screenshot is not None
    target.write_bytes(rendered.screenshot)
    print(f"{target}: full-page screenshot of {source}")
