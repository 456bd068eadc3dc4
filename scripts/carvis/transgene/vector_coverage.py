"""Read depth along each provirus: the per-feature table (the report draws it: carvis.report.coverage_plot).

Features are the vector's GenBank features in provirus coordinates (VectorModel.features); a
vector without features gets its LTRs (or the ITR-to-ITR element) and internal region instead.
Masked bases are those in the homology mask (carvis.reference.mask); counted bases are those of
carvis.transgene.call.counted_intervals (the footprint and the LTRs' counted bases).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from carvis.core.intervals import Interval, merge
from carvis.core.io import write_tsv
from carvis.reads.coverage import read_depth
from carvis.reference.mask import MaskRow, masked_bp
from carvis.reference.vectors import Feature, VectorModel
from carvis.transgene.call import counted_intervals

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
