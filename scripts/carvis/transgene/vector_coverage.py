"""Read depth along each provirus: per-feature table and an inline SVG plot for the report.

Features are the vector's GenBank features in provirus coordinates (VectorModel.features); a
vector without features gets its LTRs (or the ITR-to-ITR element) and internal region instead.
Masked bases are those in the homology mask (carvis.reference.mask); counted bases are those of
carvis.transgene.call.counted_intervals (the footprint and the LTRs' counted bases).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from html import escape
from pathlib import Path

import numpy as np

from carvis.core.intervals import Interval, merge
from carvis.core.io import write_tsv
from carvis.reference.mask import MaskRow, masked_bp
from carvis.reference.vectors import Feature, VectorModel
from carvis.report.plots import FIGURE_WIDTH, svg_tag
from carvis.transgene.call import counted_intervals, read_depth

#: Columns of ``<outdir>/<sample>/vector_coverage.tsv``.
VECTOR_COVERAGE = (
    "sample",
    "vector",
    "feature",
    "start",  # 1-based inclusive, provirus coordinates
    "end",
    "mean_depth",
    "covered_fraction",  # bases with depth > 0
    "masked_fraction",  # bases in the homology mask (human-derived or shared with another vector)
    "footprint_fraction",  # bases counted for detection and VCN (footprint and counted LTR bases)
)


def features(model: VectorModel) -> list[Feature]:
    """The provirus features: GenBank ones, else the LTRs and internal region (or the element)."""
    if model.features:
        return sorted(model.features, key=lambda f: (f.start, f.end))
    n = len(model.provirus)
    if not model.ltr_length:
        return [Feature("element (ITR to ITR)", 1, n)]
    return [
        Feature("5' LTR", 1, model.ltr_length),
        Feature("internal region", model.ltr_length + 1, n - model.ltr_length),
        Feature("3' LTR", n - model.ltr_length + 1, n),
    ]


def provirus_depth(model: VectorModel, depth_tsv: str | Path) -> np.ndarray:
    """Per-base depth of the provirus contig from ``samtools depth -a`` output."""
    contig = model.provirus_contig
    return read_depth(depth_tsv, {contig: len(model.provirus)})[contig]


def homology_masking(model: VectorModel, mask_rows: Iterable[MaskRow]) -> tuple[int, int, list[str]]:
    """Masked regions of the provirus (merged), masked bp outside the LTRs, and the provirus features
    they overlap (the human-derived parts, where the vector's GenBank features name them)."""
    rows = list(mask_rows)
    masked = merge((s, e) for c, s, e, _ in rows if c == model.provirus_contig)
    parts = [
        f.name
        for f in sorted(model.features, key=lambda f: (f.start, f.end))
        if "LTR" not in f.name and any(s < f.end and f.start - 1 < e for s, e in masked)
    ]
    return len(masked), masked_bp(model, rows), list(dict.fromkeys(parts))


def _mask(values: Iterable[Interval], length: int) -> np.ndarray:
    flags = np.zeros(length, dtype=bool)
    for start, end in values:
        flags[start:end] = True
    return flags


def feature_coverage(
    sample: str,
    model: VectorModel,
    depth: np.ndarray,
    mask_rows: Iterable[MaskRow],
    footprint: Mapping[str, list[Interval]],
) -> list[dict[str, object]]:
    """One VECTOR_COVERAGE row per feature of the provirus."""
    contig = model.provirus_contig
    mask_rows = list(mask_rows)
    masked = _mask(((s, e) for c, s, e, _ in mask_rows if c == contig), depth.size)
    counted = _mask(counted_intervals(model, footprint, mask_rows), depth.size)
    rows = []
    for feat in features(model):
        part = slice(feat.start - 1, feat.end)
        rows.append(
            {
                "sample": sample,
                "vector": model.name,
                "feature": feat.name,
                "start": feat.start,
                "end": feat.end,
                "mean_depth": float(depth[part].mean()),
                "covered_fraction": float((depth[part] > 0).mean()),
                "masked_fraction": float(masked[part].mean()),
                "footprint_fraction": float(counted[part].mean()),
            }
        )
    return rows


def write_vector_coverage(rows: Iterable[Mapping[str, object]], out_tsv: str | Path) -> None:
    """Write VECTOR_COVERAGE rows (atomically)."""
    write_tsv(out_tsv, VECTOR_COVERAGE, rows)


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
