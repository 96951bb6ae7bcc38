"""What a source tells the rest of the job about itself: one `SourceSpec` in each source's `spec.py`.

`pipelines/registry.py` lists the specs; the CLI, the runner, the models, the logs, the demo and the tests
read them from there. Nothing here imports `simulators/`: a spec names its simulator as "module:factory",
imported only when the demo or a test starts one.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict

import dlt
from dlt.common.configuration import resolve_configuration
from dlt.common.configuration.inject import get_fun_spec
from dlt.sources import DltSource

from sources.http import CallCounter


@dataclass(frozen=True)
class SourceSpec:
    name: str  # also the dataset (DuckDB schema) name
    config_keys: tuple[str, ...]  # what a user must set, for --help and error lines
    # (full_refresh, allow_shrink=False, counter=None) -> a configured dlt source whose HTTP session counts
    # its calls in `counter` (a `CallCounter`): the run's `api_calls`, failed runs included.
    build: Callable[..., DltSource]
    # After a successful load: notes for the run summary (e.g. the API's counts against the warehouse).
    reconcile: Callable[[dlt.Pipeline], list[str]] | None = None
    # `run --dry-run`: one cheap call with the source's own config; returns what it saw.
    check: Callable[[], str] | None = None
    simulator: str = ""  # "module:factory" of the local stand-in (started by the demo and the tests)
    demo_world: Mapping[str, Any] = field(default_factory=dict)  # the demo's arguments to the factory
    # The SOURCES__* env vars that point this source at a running simulator (its URL and secrets).
    env_for: Callable[[Any], dict[str, str]] | None = None
    # The names of the dlt resources `build` returns, known without building it (building may call the
    # API and needs the settings): Dagster names its assets from them when the code location loads.
    resources: tuple[str, ...] = ()

    def start_simulator(self, **kwargs: Any) -> Any:
        """A new (not yet started) simulator of this source; use it as a context manager."""
        return _imported(self.simulator)(**kwargs)

    def env(self, sim: Any) -> dict[str, str]:
        """The SOURCES__* env vars pointing this source at `sim`, a running simulator of it."""
        return self.env_for(sim) if self.env_for else {}

    def missing_config_line(self, fields: Iterable[str]) -> str:
        """One line naming the missing keys and where to set them."""
        keys = ", ".join(f"SOURCES__{self.name.upper()}__{name.upper()}" for name in fields)
        return (
            f"{self.name}: config: missing {keys} (fix: set it in .dlt/secrets.toml under "
            f"[sources.{self.name}] or as an environment variable)"
        )


class ShrinkArgs(TypedDict, total=False):
    allow_shrink: bool


def shrink_args(allow_shrink: bool) -> ShrinkArgs:
    """`--allow-shrink` overrides the config; without it, `allow_shrink` comes from the config."""
    return {"allow_shrink": True} if allow_shrink else {}


def source_builder(function: str, reads_incrementally: bool = True) -> Callable[..., DltSource]:
    """Return a spec's `build` for the dlt source function named "module:function".

    The module is imported on the first build, not with the registry. A source that reads everything
    every run (`reads_incrementally=False`) takes no `full_refresh`: a full refresh changes nothing.
    """

    def build(
        full_refresh: bool, allow_shrink: bool = False, counter: CallCounter | None = None
    ) -> DltSource:
        source: Any = _imported(function)
        if reads_incrementally:
            return source(full_refresh=full_refresh, counter=counter, **shrink_args(allow_shrink))
        return source(counter=counter, **shrink_args(allow_shrink))

    return build


def source_config(function: str, name: str) -> Any:
    """Return the config of the dlt source function "module:function", resolved as a run resolves it.

    The dry-run check reads the same keys with the same defaults as the run, and fails the same way
    (`ConfigFieldMissingException` naming the missing keys).
    """
    return resolve_configuration(get_fun_spec(_imported(function))(), sections=("sources", name))


def env_mapping(name: str, *same_names: str, **attributes: str) -> Callable[[Any], dict[str, str]]:
    """Return a spec's `env_for`: `SOURCES__<NAME>__<KEY>` from the simulator's attribute of that name, or
    of the name given (`api_host="url"`)."""
    attributes = {**{key: key for key in same_names}, **attributes}

    def env_for(sim: Any) -> dict[str, str]:
        return {
            f"SOURCES__{name.upper()}__{key.upper()}": str(getattr(sim, attr))
            for key, attr in attributes.items()
        }

    return env_for


def _imported(function: str) -> Any:
    module, _, attribute = function.partition(":")
    return getattr(importlib.import_module(module), attribute)
