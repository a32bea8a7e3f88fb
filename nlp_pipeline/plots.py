"""Trend charts that stand alone: story volume and tone per period, titled and labeled.

PNG needs matplotlib (`pip install 'nlp-pipeline[plot]'`); HTML is a self-contained page with
an inline SVG chart (no scripts, no network), readable offline and easy to attach.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from nlp_pipeline.errors import PipelineError
from nlp_pipeline.store.queries import FREQUENCIES

MAX_SERIES = 6
_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]


def _series(frame: pd.DataFrame, by: str) -> tuple[list[str], pd.DataFrame, pd.DataFrame]:
    """The keys with most stories (at most MAX_SERIES), and stories and tone per period."""
    data = frame.copy()
    data["key"] = data["theme"] if by == "theme" else data["type"] + ":" + data["entity"]
    data["period"] = pd.to_datetime(data["period"])
    keys = data.groupby("key")["stories"].sum().sort_values(ascending=False).index[:MAX_SERIES]
    data = data[data["key"].isin(keys)]
    stories = data.pivot_table(index="period", columns="key", values="stories", fill_value=0)
    tone = data.pivot_table(index="period", columns="key", values="sentiment")
    return list(keys), stories, tone


def _titles(subject: str, freq: str, by: str) -> tuple[str, str]:
    unit = FREQUENCIES[freq.upper()]
    title = (
        f"Narratives around {subject}, by {unit}"
        if by == "theme"
        else f"Who the {subject} narrative is about, by {unit}"
    )
    note = (
        f"Stories: unique news stories (syndicated copies once), dated by their first copy. "
        f"Tone: -1 negative .. +1 positive, averaged per story. Made by nlp-pipeline on "
        f"{datetime.now(UTC):%Y-%m-%d}."
    )
    return title, note


def plot_trends(frame: pd.DataFrame, path: Path, subject: str, freq: str, by: str) -> Path:
    """Draw a `Store.trends` answer to `path` (.png or .html)."""
    if frame.empty:
        raise PipelineError(f"nothing to plot: no stories for {subject}")
    suffix = path.suffix.lower()
    if suffix not in (".png", ".html", ".htm"):
        raise PipelineError(f"cannot plot to {path}: use a .png or .html file name")
    keys, stories, tone = _series(frame, by)
    title, note = _titles(subject, freq, by)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".png":
        _png(path, keys, stories, tone, title, note)
    else:
        path.write_text(_html(keys, stories, tone, title, note), encoding="utf-8")
    return path


def _png(
    path: Path, keys: list[str], stories: pd.DataFrame, tone: pd.DataFrame, title: str, note: str
) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise PipelineError(
            "PNG plots need matplotlib: pip install 'nlp-pipeline[plot]' (or use FILE.html)"
        ) from None
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True)
    for number, key in enumerate(keys):
        color = _COLORS[number % len(_COLORS)]
        top.plot(stories.index, stories[key], marker="o", color=color, label=key)
        bottom.plot(tone.index, tone[key], marker="o", color=color, label=key)
    top.set_ylabel("stories")
    top.set_title(title)
    top.legend(loc="upper left", fontsize=8)
    bottom.set_ylabel("tone (-1..1)")
    bottom.axhline(0, color="grey", linewidth=0.8)
    bottom.set_ylim(-1.05, 1.05)
    bottom.set_xlabel("period start (UTC)")
    fig.text(0.01, 0.01, note, fontsize=7, wrap=True)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _html(keys: list[str], stories: pd.DataFrame, tone: pd.DataFrame, title: str, note: str) -> str:
    width, height, left, pad = 900, 230, 60, 30
    periods = list(stories.index)
    span = max(len(periods) - 1, 1)

    def x(i: int) -> float:
        return left + (width - left - pad) * i / span

    def panel(values: pd.DataFrame, low: float, high: float, label: str, top: int) -> str:
        def y(v: float) -> float:
            return top + height - (height * (v - low) / (high - low or 1))

        parts = [
            f'<text x="12" y="{top + height / 2}" transform="rotate(-90 12 {top + height / 2})" '
            f'font-size="12" text-anchor="middle">{html.escape(label)}</text>',
            f'<line x1="{left}" y1="{top + height}" x2="{width - pad}" y2="{top + height}" '
            'stroke="#888"/>',
            f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + height}" stroke="#888"/>',
        ]
        for tick in (low, (low + high) / 2, high):
            parts.append(
                f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" font-size="10" '
                f'text-anchor="end">{tick:g}</text>'
            )
        for number, key in enumerate(keys):
            color = _COLORS[number % len(_COLORS)]
            points = [
                (x(i), y(float(v)))
                for i, v in enumerate(values[key].reindex(periods))
                if pd.notna(v)
            ]
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>'
            )
            for px, py in points:
                parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{color}"/>')
        return "\n".join(parts)

    most = max(float(stories.to_numpy().max()), 1.0)
    svg_height = 2 * height + 110
    ticks = "\n".join(
        f'<text x="{x(i):.1f}" y="{2 * height + 75}" font-size="10" text-anchor="middle">'
        f"{p:%Y-%m-%d}</text>"
        for i, p in enumerate(periods)
        if len(periods) <= 12 or i % max(len(periods) // 12, 1) == 0
    )
    legend = "\n".join(
        f'<span style="color:{_COLORS[n % len(_COLORS)]}">&#9632; {html.escape(k)}</span>'
        for n, k in enumerate(keys)
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}} .legend span{{margin-right:1.5em}}
 p.note{{font-size:0.8em;color:#555}}</style></head>
<body><h1 style="font-size:1.3em">{html.escape(title)}</h1>
<div class="legend">{legend}</div>
<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{svg_height}" role="img"
 aria-label="{html.escape(title)}">
{panel(stories, 0.0, most, "stories", 20)}
{panel(tone, -1.0, 1.0, "tone (-1..1)", height + 45)}
{ticks}
<text x="{(width + left) / 2}" y="{2 * height + 100}" font-size="11" text-anchor="middle">
period start (UTC)</text>
</svg>
<p class="note">{html.escape(note)}</p>
</body></html>
"""
