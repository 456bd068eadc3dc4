"""LM-PCR runs to the sites table: junctions per run, then sites per specimen, paired by the TSD.

One run reads one LTR end. Its junctions (:func:`write_junctions`) become sites in the SITES contract:
a junction whose host runs to higher coordinates is the site's right junction (``position``), one
whose host runs to lower coordinates its left junction (``position + tsd_length - 1``); the
orientation follows from the LTR end. The 5' and 3' LTR runs of one specimen (sheet column
``specimen``) see the two junctions of one provirus, which share ``position`` when the TSD is the
vector's: they are joined into one site with both junctions and its TSD.

Columns an LM-PCR run cannot measure (reference-allele fragments, allele and clonal fraction,
``clonal``) are ``NA`` in the sites table, flagged ``lmpcr``; the abundance table (:data:`ABUNDANCE`)
says which and why in ``not_measured``.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path

import pysam

from carvis.core.io import read_tsv, write_tsv
from carvis.core.tables import ABUNDANCE, SITES
from carvis.sites.abundance import JunctionReads, ReadQc, estimate, read_junctions

JUNCTIONS = (
    "chrom",
    "strand",
    "junction",
    "ltr_end",
    "reads",
    "shear_points",
    "umis",
    "estimator",
    "estimated_cells",
    "estimated_cells_low",
    "estimated_cells_high",
    "host_mapq",
)
NOT_MEASURED = (
    "clonal_fraction, allele_fraction, spanning_fragments, clonal: LM-PCR amplifies vector-host junctions "
    "only, so reference-allele fragments and the share of all cells are not measured; estimated_cells "
    "and relative_abundance (of the sampled integrated copies) take their place"
)
ORIENTATION = {("3p", "+"): "+", ("3p", "-"): "-", ("5p", "+"): "-", ("5p", "-"): "+"}


def write_junctions(bam: str | Path, ltr_end: str, out: str | Path, settings: Mapping[str, int]) -> ReadQc:
    """One run's junctions with their estimated cells (``settings``: min_mapq, max_clip, wobble)."""
    sites, qc = read_junctions(bam, **settings)
    with_umi = any(umi for s in sites for umi in s.umis)
    rows = []
    for site, est in zip(sites, estimate(sites, with_umi), strict=True):
        rows.append(
            _junction_row(site, ltr_end, with_umi)
            | {
                "estimator": est.estimator,
                "estimated_cells": est.cells,
                "estimated_cells_low": est.low,
                "estimated_cells_high": est.high,
            }
        )
    write_tsv(out, JUNCTIONS, rows)
    return qc


def _junction_row(site: JunctionReads, ltr_end: str, with_umi: bool) -> dict[str, object]:
    return {
        "chrom": site.chrom,
        "strand": site.strand,
        "junction": site.junction,
        "ltr_end": ltr_end,
        "reads": site.reads,
        "shear_points": len(site.lengths),
        "umis": len([u for u in site.umis if u]) if with_umi else None,
        "host_mapq": statistics.median(site.mapq),
    }


def _site_key(row: Mapping[str, str], tsd_length: int) -> tuple[str, str, int]:
    junction = int(row["junction"])
    position = junction if row["strand"] == "+" else junction - tsd_length + 1
    return row["chrom"], ORIENTATION[(row["ltr_end"], row["strand"])], position


def _mean(rows: Sequence[Mapping[str, str]], column: str) -> float:
    return sum(float(r[column]) for r in rows) / len(rows)


def call_lmpcr_sites(
    junction_tables: Sequence[str | Path],
    fasta: str | Path,
    sample: str,
    vector: tuple[str, int],
    out: tuple[str | Path, str | Path],
    settings: Mapping[str, object],
) -> list[dict[str, object]]:
    """Sites of one specimen from its runs' junction tables; writes SITES (``out[0]``) and ABUNDANCE
    (``out[1]``) rows for ``sample``. ``vector`` = (name, TSD length); ``settings``: specimen,
    dominant_fraction, pair_slop (bases two ends' positions may differ and still pair)."""
    name, tsd_length = vector
    runs = [read_tsv(t, JUNCTIONS) for t in junction_tables]
    ends = {r["ltr_end"] for rows in runs for r in rows}
    groups: dict[tuple[str, str, int], list[dict[str, str]]] = {}
    slop = int(str(settings.get("pair_slop", 1)))
    for row in sorted((r for rows in runs for r in rows), key=lambda r: -float(r["estimated_cells"])):
        chrom, orient, position = _site_key(row, tsd_length)
        home = next(
            (
                k
                for k in groups
                if k[:2] == (chrom, orient)
                and abs(k[2] - position) <= slop
                and row["ltr_end"] not in {g["ltr_end"] for g in groups[k]}
            ),
            (chrom, orient, position),
        )
        groups.setdefault(home, []).append(row)
    total = sum(_mean(g, "estimated_cells") for g in groups.values()) or 1.0
    sites, abundance = [], []
    with pysam.FastaFile(str(fasta)) as genome:
        for (chrom, orient, position), rows in sorted(groups.items()):
            cells = _mean(rows, "estimated_cells")
            site = _site(rows, (chrom, orient, position), tsd_length, genome)
            fraction = cells / total
            flags = ["lmpcr"] + (["one_sided"] if len(ends) > 1 and len(rows) == 1 else [])
            site.update(
                sample=sample,
                vector=name,
                relative_abundance=fraction,
                flags=",".join(flags),
                dominant=fraction >= float(str(settings.get("dominant_fraction", 0.2))),
            )
            sites.append(site)
            abundance.append(
                _abundance(rows, site, (cells, fraction), str(settings.get("specimen") or sample))
            )
    write_tsv(out[0], SITES, sites)
    write_tsv(out[1], ABUNDANCE, abundance)
    return sites


def _site(
    rows: Sequence[Mapping[str, str]], key: tuple[str, str, int], tsd_length: int, genome: pysam.FastaFile
) -> dict[str, object]:
    chrom, orient, position = key
    right = [r for r in rows if r["strand"] == "+"]
    left = [r for r in rows if r["strand"] == "-"]
    both = bool(right and left)
    fragments = sum(int(r["umis"]) if r["umis"] not in ("", "NA") else int(r["shear_points"]) for r in rows)
    return {
        "chrom": chrom,
        "position": position,
        "orientation": orient,
        "left_junction": int(left[0]["junction"]) if left else None,
        "right_junction": int(right[0]["junction"]) if right else None,
        "tsd_length": tsd_length if both else None,
        "tsd": genome.fetch(chrom, position - 1, position - 1 + tsd_length).upper() if both else None,
        "fragments": fragments,
        "split_fragments": fragments,
        "discordant_fragments": 0,
        "precise": True,
        "clip_fragments": 0,
        "host_mapq": statistics.median(float(r["host_mapq"]) for r in rows),
        "support": "multiple" if fragments >= 2 else "single",
    }


def _abundance(
    rows: Sequence[Mapping[str, str]], site: Mapping[str, object], cells: tuple[float, float], specimen: str
) -> dict[str, object]:
    umis = [r["umis"] for r in rows if r["umis"] not in ("", "NA")]
    return {
        "sample": site["sample"],
        "specimen": specimen,
        "chrom": site["chrom"],
        "position": site["position"],
        "orientation": site["orientation"],
        "ltr_ends": ",".join(sorted(r["ltr_end"] for r in rows)),
        "reads": sum(int(r["reads"]) for r in rows),
        "shear_points": sum(int(r["shear_points"]) for r in rows),
        "umis": sum(int(u) for u in umis) if umis else None,
        "estimator": rows[0]["estimator"],
        "estimated_cells": cells[0],
        "estimated_cells_low": _mean(rows, "estimated_cells_low"),
        "estimated_cells_high": _mean(rows, "estimated_cells_high"),
        "relative_abundance": cells[1],
        "not_measured": NOT_MEASURED,
    }


def write_read_counts(trim_stats: str | Path, qc: ReadQc, first_file: str | Path, out: str | Path) -> None:
    """The run's read accounting (``sample step file reads``): input pairs, each trimming outcome,
    pairs sent to the aligner, and what became of their LTR-side reads."""
    stats = read_tsv(trim_stats, ("sample", "outcome", "reads"))
    sample = stats[0]["sample"] if stats else Path(out).name.split(".")[0]
    rows: list[dict[str, object]] = []
    for row in stats:
        step = {"reads": "input", "kept": "sent_to_aligner"}.get(row["outcome"], f"lmpcr_{row['outcome']}")
        rows.append(
            {
                "sample": sample,
                "step": step,
                "file": first_file if step == "input" else None,
                "reads": row["reads"],
            }
        )
    for step, value in (
        ("primary_alignments", qc.reads),
        ("lmpcr_unmapped", qc.unmapped),
        ("lmpcr_vector_internal", qc.vector),
        ("lmpcr_low_mapq", qc.low_mapq),
        ("lmpcr_clipped_at_ltr", qc.clipped),
        ("lmpcr_junction_reads", qc.used),
    ):
        rows.append({"sample": sample, "step": step, "file": None, "reads": value})
    write_tsv(out, ("sample", "step", "file", "reads"), rows)
