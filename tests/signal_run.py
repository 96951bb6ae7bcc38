"""A real nightly run that sends itself a stop signal at a chosen point: `python -m tests.signal_run PHASE
SIGNAL CLI-ARGS...`, e.g. `python -m tests.signal_run load SIGTERM run --sources pinogy --db w.duckdb`.

PHASE: `normalize` (the source extracted, its package not yet normalized) or `load` (the package
normalized, none of its table jobs started). The signal arrives as from outside (systemd, Ctrl-C); the
run goes on as the CLI would, so the exit status and the history are the real ones.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from dlt.load.load import Load
from dlt.normalize.normalize import Normalize

from pipelines.cli import main


def signal_first(original: Callable[..., Any], sig: signal.Signals) -> Callable[..., Any]:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        os.kill(os.getpid(), sig)
        return original(*args, **kwargs)

    return wrapped


if __name__ == "__main__":
    phase, sig = sys.argv[1], signal.Signals[sys.argv[2]]
    if phase == "normalize":
        Normalize.spool_files = signal_first(Normalize.spool_files, sig)  # type: ignore[method-assign]
    else:
        Load.initialize_package = signal_first(Load.initialize_package, sig)  # type: ignore[method-assign]
    sys.exit(main(sys.argv[3:]))
