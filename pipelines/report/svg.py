"""The report's charts as inline SVG: a store's monthly bars, a cover bar with its reorder point, data bars.

No script and no fonts fetched: every chart is plain SVG the browser draws as the page loads. Each bar
carries a <title>, so hovering shows the exact figure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from pipelines.report.page import esc, money, money_short, month

BLUE, ORANGE, GREEN, RED, GREY = "#2f6db5", "#e07b39", "#3a9d5d", "#c0392b", "#8a8a8a"

# Partial months are drawn hatched and pale, so a short bar reads as "not a whole month" rather than a dip.
# Defined once per page (an id must be unique), before the first chart that uses it.
HATCH_DEFS = (
    '<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs>'
    '<pattern id="hatch" width="4" height="4" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
    f'<rect width="4" height="4" fill="#dbe6f4"/><line x1="0" y1="0" x2="0" y2="4" stroke="{BLUE}" '
    'stroke-width="1.5"/></pattern></defs></svg>'
)


@dataclass(frozen=True)
class MonthBar:
    month: date
    value: float
    partial_note: str | None = None  # e.g. "data from 20 Nov 2024"; None for a complete month


def nice_top(value: float) -> tuple[float, float]:
    """Return (axis top, tick step): a round step of 1, 2 or 5 × 10^n giving 2 to 5 ticks above zero."""
    if value <= 0:
        return 1.0, 1.0
    raw = value / 4
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    return step * math.ceil(value / step), step


def month_panel(bars: list[MonthBar], top: float, step: float, width: int = 360, height: int = 150) -> str:
    """One store's monthly spend as bars on a shared y scale (`top`), with a $ axis and month labels."""
    left, right, upper, bottom = 46, width - 6, 8, height - 22
    slot = (right - left) / max(len(bars), 1)
    parts = [f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" class="months">']
    tick = 0.0
    while tick <= top + 1e-9:
        y = bottom - (bottom - upper) * tick / top
        parts.append(
            f'<line x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e6e6e6"/>'
            f'<text x="{left - 4}" y="{y + 3.5:.1f}" font-size="10" text-anchor="end" fill="#666">'
            f"{money_short(tick)}</text>"
        )
        tick += step
    for i, bar in enumerate(bars):
        h = (bottom - upper) * max(bar.value, 0.0) / top
        x = left + i * slot + slot * 0.12
        label = f"{month(bar.month)}: {money(bar.value, cents=False)}"
        if bar.partial_note:
            label = f"{month(bar.month)} (partial month, {bar.partial_note}): {money(bar.value, cents=False)}"
            fill = 'fill="url(#hatch)" stroke="#2f6db5" stroke-dasharray="2 1.5" class="bar partial"'
        else:
            fill = f'fill="{BLUE}" class="bar"'
        parts.append(
            f'<rect x="{x:.1f}" y="{bottom - h:.1f}" width="{slot * 0.76:.1f}" height="{h:.1f}" {fill}>'
            f"<title>{esc(label)}</title></rect>"
        )
        if bar.partial_note:
            parts.append(
                f'<text x="{x + slot * 0.38:.1f}" y="{bottom - h - 3:.1f}" font-size="9" '
                f'text-anchor="middle" fill="{BLUE}" class="partial-mark">p</text>'
            )
        last = len(bars) - 1
        if bar.month.month == 1 and i > 0:  # a year boundary: a tick, and the year where there is room
            at = left + i * slot
            parts.append(f'<line x1="{at:.1f}" x2="{at:.1f}" y1="{bottom}" y2="{bottom + 5}" stroke="#999"/>')
        if i in (0, last) or (bar.month.month == 1 and 3 <= i <= last - 4):
            text = month(bar.month) if i in (0, last) else str(bar.month.year)
            anchor = "start" if i == 0 else "end" if i == last else "start"
            tx = x if i == 0 else x + slot * 0.76 if i == last else left + i * slot + 2
            parts.append(
                f'<text x="{tx:.1f}" y="{bottom + 14}" font-size="10" text-anchor="{anchor}" fill="#666">'
                f"{esc(text)}</text>"
            )
    parts.append(f'<line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}" stroke="#999"/></svg>')
    return "".join(parts)


def swatch(kind: str) -> str:
    """A legend key: 'complete', 'partial' (hatched bar) or 'reorder' (the reorder-point tick)."""
    if kind == "reorder":
        body = '<line x1="7" x2="7" y1="0" y2="14" stroke="#222" stroke-width="2"/>'
    elif kind == "partial":
        body = f'<rect x="1" y="1" width="12" height="12" fill="url(#hatch)" stroke="{BLUE}"/>'
    else:
        color = {"complete": BLUE, "low": RED, "enough": GREEN}[kind]
        body = f'<rect x="1" y="1" width="12" height="12" fill="{color}"/>'
    return f'<svg width="14" height="14" viewBox="0 0 14 14" aria-hidden="true">{body}</svg>'


def cover_bar(days: float, reorder_at: float, scale: float, low: bool, width: int = 300) -> str:
    """Days of cover as a bar (red when below the reorder point), the reorder point as a black tick.

    A 0-day bar is drawn as a 3-pixel red stub so an empty shelf is visible rather than blank.
    """
    x = width * min(days, scale) / scale
    tick = width * min(reorder_at, scale) / scale
    color = RED if low else GREEN
    title = f"{days:,.1f} days of cover; reorder point {reorder_at:,.0f} days"
    return (
        f'<svg viewBox="0 0 {width + 4} 18" width="100%" height="18" role="img" class="cover">'
        f"<title>{esc(title)}</title>"
        f'<rect x="0" y="3" width="{max(x, 3.0):.1f}" height="12" fill="{color}" class="cover-bar"/>'
        f'<line x1="{tick + 1:.1f}" x2="{tick + 1:.1f}" y1="0" y2="18" stroke="#222" stroke-width="2" '
        f'class="reorder-point"/></svg>'
    )


def cover_axis(scale: float, step: float, width: int = 300) -> str:
    """The day scale above the cover bars: ticks and labels in days."""
    parts = [f'<svg viewBox="0 -2 {width + 4} 16" width="100%" height="16" aria-hidden="true">']
    tick = 0.0
    while tick <= scale + 1e-9:
        x = width * tick / scale
        anchor = "start" if tick == 0 else "end" if tick + step > scale + 1e-9 else "middle"
        parts.append(
            f'<text x="{x:.1f}" y="11" font-size="10" text-anchor="{anchor}" fill="#666">{tick:,.0f} d</text>'
        )
        tick += step
    parts.append("</svg>")
    return "".join(parts)


def data_bar(value: float, top: float, color: str = GREEN, width: int = 160) -> str:
    """A small horizontal bar for a table cell, `value` against the column's `top`."""
    w = width * max(value, 0.0) / (top or 1.0)
    return (
        f'<svg viewBox="0 0 {width} 12" width="{width}" height="12" aria-hidden="true">'
        f'<rect x="0" y="1" width="{max(w, 1.0):.1f}" height="10" fill="{color}" rx="1"/></svg>'
    )
