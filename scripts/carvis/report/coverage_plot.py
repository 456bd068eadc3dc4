"""The vector coverage figure of the report: depth along the provirus over its features."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from html import escape

import numpy as np

from carvis.core.intervals import merge
from carvis.reference.mask import MaskRow
from carvis.reference.vectors import VectorModel
from carvis.report.plots import FIGURE_WIDTH, svg_tag
from carvis.transgene.vector_coverage import features


def coverage_svg(
    model: VectorModel,
    depth: np.ndarray,
    mask_rows: Iterable[MaskRow],
    *,
    width: int = FIGURE_WIDTH,
    bins: int = 380,
) -> str:
    """An inline SVG: depth along the provirus (binned means), masked regions shaded grey, LTRs
    hatched, and the features as labelled boxes below the axis."""
    n = depth.size
    plot_h, track_y, left, row_h = 120, 150, 40, 18
    scale = (width - left - 10) / max(n, 1)
    edges = np.linspace(0, n, min(bins, max(n, 1)) + 1).astype(int)
    means = [float(depth[a:b].mean()) if b > a else 0.0 for a, b in itertools.pairwise(edges)]
    top = max(max(means, default=0.0), 1.0)
    rows = feature_rows([(left + (f.start - 1) * scale, f.name) for f in features(model)])
    height = track_y + row_h * (max(rows, default=0) + 1) + 6
    parts = [svg_tag("coverage", f"read depth along the {model.name} provirus", width, height)]
    masked = merge((s, e) for c, s, e, _ in mask_rows if c == model.provirus_contig)
    for start, end in masked:
        parts.append(_box(left + start * scale, 10, (end - start) * scale, plot_h, "#ddd", "masked"))
    for start, end in model.ltr_ranges():
        parts.append(
            _box(left + (start - 1) * scale, 10, (end - start + 1) * scale, plot_h, "#f3e3c3", "LTR")
        )
    points = " ".join(
        f"{left + a * scale:.1f},{10 + plot_h * (1 - m / top):.1f} {left + b * scale:.1f},"
        f"{10 + plot_h * (1 - m / top):.1f}"
        for a, b, m in zip(edges[:-1], edges[1:], means, strict=True)
    )
    parts.append(f'<polyline points="{points}" fill="none" stroke="#1f5fa8" stroke-width="1.2"/>')
    parts.append(
        f'<line x1="{left}" y1="{10 + plot_h}" x2="{left + n * scale:.1f}" y2="{10 + plot_h}" stroke="#000"/>'
    )
    parts.append(f'<text x="2" y="18">{top:.0f}x</text><text x="2" y="{10 + plot_h}">0</text>')
    parts.append(f'<text x="{left}" y="{10 + plot_h + 14}">1</text>')
    parts.append(f'<text x="{left + n * scale:.1f}" y="{10 + plot_h + 14}" text-anchor="end">{n:,} bp</text>')
    for row, feat in zip(rows, features(model), strict=True):
        y = track_y + row * row_h
        x, w = left + (feat.start - 1) * scale, (feat.end - feat.start + 1) * scale
        parts.append(_box(x, y, w, 5, "#8fb98f", f"{feat.name} {feat.start}-{feat.end}"))
        parts.append(f'<text x="{x:.1f}" y="{y + 16}">{escape(feat.name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def feature_rows(labels: Iterable[tuple[float, str]], char_px: float = 7.0) -> list[int]:
    """Row of each (x, label) so that no two labels in a row overlap (first row with room)."""
    ends: list[float] = []
    out = []
    for x, label in labels:
        row = next((r for r, end in enumerate(ends) if end < x), len(ends))
        if row == len(ends):
            ends.append(0.0)
        ends[row] = x + char_px * len(label) + 6
        out.append(row)
    return out


def _box(x: float, y: float, w: float, h: float, fill: str, title: str) -> str:
    return (
        f'<rect x="{x:.1f}" y="{y}" width="{max(w, 0.5):.1f}" height="{h}" fill="{fill}">'
        f"<title>{escape(title)}</title></rect>"
    )
