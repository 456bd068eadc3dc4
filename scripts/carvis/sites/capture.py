"""Clonal fractions of capture samples (issue 16).

Vector baits pull down every junction fragment but a site's reference-allele fragments only where its
host flanks are baited too (a control region or a ``flank_bed`` region). There, junction against
reference fragments give the clonal fraction as for WGS. Elsewhere the reference allele is seen only in
the off-target background, which would inflate the fraction: the site's ``clonal_fraction`` is then its
relative abundance among the sample's sites, without interval, never ``clonal``, and flagged
``capture_relative_abundance``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from carvis.core.io import read_tsv, write_tsv
from carvis.core.tables import SITES

Region = tuple[str, int, int]  # chrom, 0-based start, end
FLAG = "capture_relative_abundance"
_PER_SITE_FRACTION = (
    "clonal_fraction_low",
    "clonal_fraction_high",
    "clone_fraction",
    "clone_fraction_low",
    "clone_fraction_high",
    "allele_fraction",
)


def flanks_baited(row: dict[str, str], baited: Sequence[Region], margin: int = 500) -> bool:
    """Whether the site and ``margin`` bases either side lie inside one baited region."""
    position = int(row["position"])
    return any(
        c == row["chrom"] and s <= position - 1 - margin and position + margin <= e for c, s, e in baited
    )


def capture_sites(sites_tsv: str | Path, baited: Sequence[Region], out: str | Path) -> list[dict[str, str]]:
    """Rewrite a capture sample's sites table (same columns) with the clonal fractions it can support."""
    rows = read_tsv(sites_tsv, SITES)
    for row in rows:
        if flanks_baited(row, baited):
            continue
        row["clonal_fraction"] = row["relative_abundance"]
        for key in _PER_SITE_FRACTION:
            row[key] = "NA"
        row["clonal"] = "no"
        flags = [f for f in row["flags"].split(",") if f and f != "NA"]
        row["flags"] = ",".join([*flags, FLAG])
    write_tsv(out, SITES, rows)
    return rows
