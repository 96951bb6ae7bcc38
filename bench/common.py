"""What the bench scripts share: a simulator server in its own process, child processes timed with
their peak RSS, and the server's control path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS = Path(os.environ.get("BENCH_RESULTS_DIR") or REPO / "bench" / "results")


@contextmanager
def bench_server(module: str, *args: str) -> Iterator[dict[str, Any]]:
    """Start `python -m <module> <args>`, yield the JSON line it prints first, stop it on exit."""
    proc = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield json.loads(proc.stdout.readline())
    finally:
        if proc.stdin:
            proc.stdin.close()  # the server runs until its stdin closes
        proc.wait(timeout=60)


def timed_child(args: list[str], env: dict[str, str], what: str) -> tuple[float, float, str]:
    """Run a child process from the repo; return (wall seconds, peak RSS in MB, stdout); fail loudly."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench: {what} failed:\n{out}\n{err}")
    return seconds, usage.ru_maxrss / 1024, out


def cli_env(work: Path, **settings: str) -> dict[str, str]:
    """The environment the benches run the CLI in: the repo's config, dlt's data under `work`, `settings`."""
    return {
        **os.environ,
        **settings,
        "PYTHONPATH": str(REPO),
        "DLT_PROJECT_DIR": str(REPO),
        "DLT_DATA_DIR": str(work / "dlt"),
        "RUNTIME__DLTHUB_TELEMETRY": "false",
    }


def load_command(db: Path, *options: str) -> list[str]:
    """The argv of a quiet `python -m pipelines run --db DB --skip-models [options]` (load only)."""
    quiet = ["--log-level", "WARNING"]
    return [sys.executable, "-m", "pipelines", *quiet, "run", "--db", str(db), "--skip-models", *options]


def write_results(results_dir: Path, name: str, data: Any) -> None:
    """Write `<results_dir>/<name>.json`, the figures a bench script measured."""
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")


def control(url: str, path: str) -> dict[str, Any]:
    """Call a bench server's control path (`/_bench/stats`, `/_bench/mutate?percent=1`)."""
    with urllib.request.urlopen(f"{url}{path}", timeout=600) as reply:
        return json.loads(reply.read())
