"""A nightly run that kills itself with SIGKILL at a chosen point.

Usage: `python -m tests.crash_run DB SOURCE PHASE`. SOURCE is a registry name (`pinogy`, `pinnacle_cart`,
`plugivery`, `pinmeto`); PHASE is `extract` (mid-extract, after two batches were read), `normalize`
(extracted, mid-normalize) or `load` (every table job loaded, the package not yet marked complete). The
source is configured from the environment, as the CLI would be.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from dlt.load.load import Load
from dlt.normalize.normalize import Normalize

from pipelines.nightly import make_pipeline
from pipelines.registry import SOURCES

REPO = Path(__file__).resolve().parent.parent


def crash(db: Path, source_name: str, phase: str) -> None:
    """Run `source_name` into `db` in a child process that SIGKILLs itself during `phase`; assert it died."""
    crashed = subprocess.run(
        [sys.executable, "-m", "tests.crash_run", str(db), source_name, phase],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr


def die(*_: Any, **__: Any) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    db, source_name, phase = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    pipeline = make_pipeline(source_name, db)
    source = SOURCES[source_name].build(False)
    if phase == "extract":
        batches = 0

        def count_then_die(item: Any) -> Any:
            nonlocal batches
            batches += 1
            if batches > 2:
                die()
            return item

        for resource in source.resources.values():
            resource.add_map(count_then_die)
        pipeline.extract(source)
    elif phase == "normalize":
        pipeline.extract(source)
        Normalize.spool_files = die  # type: ignore[method-assign]
        pipeline.normalize()
    elif phase == "load":
        pipeline.extract(source)
        pipeline.normalize()
        Load.complete_package = die  # type: ignore[method-assign]
        pipeline.load()
    raise SystemExit(f"crash_run: reached the end of {phase} without dying")


if __name__ == "__main__":
    main()
