"""`python -m pipelines report --out FILE`: one self-contained HTML page a store manager can read.

The header says when each source was last loaded (from the run history, `ops.run_sources`). Sections:
purchase spend per store per month (small multiples on one scale, partial months marked) and each store's
top supplier; top products by margin (USD and %); MAP violations; stock cover with reorder points; store
opening hours with closed stores and special hours. Every figure names its currency or unit and its period.
Charts are inline SVG (no script, no CDN, no network); a section whose mart is missing says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipelines.report.page import CSS, CURRENCY, esc
from pipelines.report.sections import hours_section, map_section, margin_section, stock_section
from pipelines.report.spend import spend_section
from pipelines.warehouse import Connection, Warehouse, as_warehouse, engine_errors, is_missing_relation

# A source loaded longer ago than this is flagged stale: a nightly run plus slack (as `status` defaults).
STALE_AFTER_HOURS = 26.0
SOURCE_LABELS = {
    "pinogy": "Pinogy (purchase orders)",
    "pinnacle_cart": "Pinnacle Cart (web shop)",
    "pinmeto": "PinMeTo (store listings)",
    "plugivery": "Plugivery (catalogue)",
}


@dataclass(frozen=True)
class SourceFreshness:
    source: str
    last_loaded_at: datetime | None  # last run that succeeded or was deferred
    last_status: str  # of the latest run
    last_run_at: datetime


def source_freshness(con: Connection) -> list[SourceFreshness]:
    """Return each source's last load and latest run from `ops.run_sources`, [] without a run history."""
    # Only the columns named here are read, so columns added to the history later change nothing; a run
    # still under way (no end yet, should the history record starts) does not count.
    try:
        loaded = dict(
            con.fetchall(
                "select source, max(ended_at) from ops.run_sources where ended_at is not null "
                "and status in ('succeeded', 'deferred') group by source"
            )
        )
        latest = con.fetchall(
            "select source, status, ended_at from (select source, status, ended_at, row_number() over "
            "(partition by source order by ended_at desc) as attempt from ops.run_sources "
            "where ended_at is not null) as attempts where attempt = 1 order by source"
        )
    except engine_errors() as exc:
        if is_missing_relation(exc, columns=True):
            return []
        raise
    # DuckDB hands timestamptz back in the session's time zone; the header speaks UTC.
    return [
        SourceFreshness(
            source,
            loaded[source].astimezone(UTC) if loaded.get(source) else None,
            status,
            last.astimezone(UTC),
        )
        for source, status, last in latest
    ]


def _ago(then: datetime, now: datetime) -> str:
    hours = (now - then).total_seconds() / 3600
    if hours < 1:
        return f"{max(hours * 60, 1):.0f} min ago"
    return f"{hours:.0f} h ago" if hours < 48 else f"{hours / 24:.0f} days ago"


def freshness_header(rows: list[SourceFreshness], now: datetime) -> str:
    if not rows:
        return '<p class="sub">Freshness unknown: no run history (ops.run_sources) to read.</p>'
    items = []
    for r in rows:
        name = esc(SOURCE_LABELS.get(r.source, r.source))
        loaded = r.last_loaded_at
        when = f"{loaded:%d %b %Y %H:%M} UTC ({_ago(loaded, now)})" if loaded else "never loaded"
        if r.last_status == "failed":
            data = f"data from {when}" if loaded else "never loaded"
            state, text = "is-failed", f"last run failed {r.last_run_at:%d %b %H:%M} UTC; {data}"
        elif loaded is None or (now - loaded).total_seconds() > STALE_AFTER_HOURS * 3600:
            state, text = "is-stale", f"stale: loaded {when}"
        else:
            state, text = "is-fresh", f"loaded {when}"
        items.append(f'<li class="{state}" data-source="{esc(r.source)}"><b>{name}</b>{esc(text)}</li>')
    return f'<ul class="fresh" aria-label="data freshness per source">{"".join(items)}</ul>'


def build_report(warehouse: Warehouse | Path) -> str:
    """Return the whole report as one HTML document."""
    warehouse = as_warehouse(warehouse)
    now = datetime.now(UTC)
    with warehouse.connect(read_only=True) as con:
        header = freshness_header(source_freshness(con), now)
        sections = [
            spend_section(con),
            margin_section(con),
            map_section(con),
            stock_section(con),
            hours_section(con),
        ]
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Retail report</title><style>{CSS}</style></head><body>"
        f'<header><h1>Retail report</h1><p class="sub">Built {now:%d %b %Y %H:%M} UTC from '
        f"{esc(_name(warehouse))}. All amounts in US dollars ({CURRENCY}).</p>{header}</header>"
        f"{''.join(sections)}</body></html>"
    )


def _name(warehouse: Warehouse) -> str:
    return warehouse.path.name if warehouse.is_file and warehouse.path else warehouse.label


def write_report(warehouse: Warehouse | Path, out: Path) -> Path:
    """Write the report to `out` (atomically) and return it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    partial.write_text(build_report(warehouse), encoding="utf-8")
    partial.replace(out)
    return out
