"""The sources the nightly job knows, by the name of the DuckDB schema each loads into.

Each source describes itself in its own `sources/<name>/spec.py`; adding a source is one new package and
one line here.
"""

from __future__ import annotations

from sources.pinmeto.spec import SPEC as PINMETO
from sources.pinnacle_cart.spec import SPEC as PINNACLE_CART
from sources.pinogy.spec import SPEC as PINOGY
from sources.plugivery.spec import SPEC as PLUGIVERY
from sources.spec import ShrinkArgs, SourceSpec, shrink_args

SOURCES: dict[str, SourceSpec] = {spec.name: spec for spec in (PINOGY, PINNACLE_CART, PINMETO, PLUGIVERY)}

__all__ = ["SOURCES", "ShrinkArgs", "SourceSpec", "shrink_args"]
