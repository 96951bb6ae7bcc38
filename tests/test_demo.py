"""The demo is the simulators composed with the nightly run path, under one run lock held throughout."""

from __future__ import annotations

import subprocess
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from simulators import demo
from tests.conftest import cli


class CompetitorTried(Exception):
    """Raised by the test once the second run has been tried: the demo need not go on."""


def test_a_run_started_while_the_demo_starts_its_simulators_is_refused(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between wiping the warehouse and loading it, the demo still holds the lock: no run slips in."""
    competitor: list[subprocess.CompletedProcess[str]] = []

    def compete_instead_of_starting(stack: ExitStack) -> dict[str, Any]:
        competitor.append(cli("run", "--sources", "pinmeto", "--skip-models", "--db", str(db)))
        raise CompetitorTried

    monkeypatch.setattr(demo, "start_simulators", compete_instead_of_starting)
    with pytest.raises(CompetitorTried):
        demo.run_demo(db)
    out = competitor[0]
    assert out.returncode == 3, out.stdout + out.stderr
    assert "another run (pid" in out.stderr
    assert not db.exists()  # the competitor loaded nothing
