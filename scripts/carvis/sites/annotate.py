"""Annotate integration sites: genes, gene region, orientation, TSS and cancer-gene proximity.

Coordinates are 1-based inclusive, as in GTF files and in the sites table. A site is the single
base ``position`` (the first target-site-duplication base). Conventions of the output columns:

- ``gene``: the gene(s) whose body contains the site, ';'-joined; for an intergenic site, the
  nearest gene(s) instead (``distance_to_gene`` > 0 tells them apart).
- ``region``: ``exon`` (exon outside the UTRs of its transcript, i.e. coding or non-coding exon)
  beats ``utr`` (in a UTR of any transcript) beats ``intron`` (in a gene body) beats ``intergenic``.
  A site on a contig without any gene in the GTF reads ``no_annotation``, with empty gene fields
  and ``proximity_tier`` ``unknown``: nothing is known there, so it is never called intergenic.
- ``gene_orientation``: provirus orientation versus the strand of each hit gene (``same`` /
  ``opposite``), ';'-joined like ``gene``; ``NA`` for intergenic sites.
- ``distance_to_tss``: signed, in the direction of transcription of ``nearest_tss_gene``:
  negative upstream of the TSS (promoter side), positive downstream (inside the transcript).
- ``listed_gene_category``: the categories of each nearest listed gene, ','-joined, with ';'
  between genes when several are equally near.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from carvis.core.errors import InputError
from carvis.core.io import read_tsv, write_tsv
from carvis.core.tables import ANNOTATION, SITES
from carvis.reference.genes import GeneIndex, GeneLists, GenomeAnnotation, load_annotation, load_gene_lists

#: Proximity tiers: label and the largest distance (bp) to a listed gene body it covers.
TIERS: tuple[tuple[str, int], ...] = (("inside", 0), ("10kb", 10_000), ("50kb", 50_000), ("100kb", 100_000))


def _tier(distance: int | None) -> str:
    if distance is None:
        return "none"
    return next((label for label, limit in TIERS if distance <= limit), "none")


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


class Annotator:
    """Annotates sites against one genome annotation and a set of gene lists."""

    def __init__(self, annotation: GenomeAnnotation, gene_lists: GeneLists) -> None:
        self.annotation = annotation
        self.gene_lists = gene_lists
        self._listed = {
            chrom: GeneIndex(g for g in index.genes if gene_lists.categories(g.name))
            for chrom, index in annotation.genes.items()
        }

    def annotate(self, chrom: str, position: int | None, orientation: str) -> dict[str, object]:
        """The ANNOTATION columns for one site (``None`` = NA)."""
        out: dict[str, object] = dict.fromkeys(ANNOTATION)
        out["gene_list"] = self.gene_lists.label
        contig = self.annotation.contig(chrom)
        if position is None:
            return out
        if contig is None:  # nothing is known here: never "intergenic"
            out["region"], out["proximity_tier"] = "no_annotation", "unknown"
            return out
        out["region"], out["proximity_tier"] = "intergenic", "none"
        near = self.annotation.genes[contig].nearest(position)
        if near is not None:
            distance, genes = near
            pairs = _unique(f"{g.name}\t{g.strand}" for g in genes)
            out["gene"] = ";".join(p.split("\t")[0] for p in pairs)
            out["gene_strand"] = ";".join(p.split("\t")[1] for p in pairs)
            out["distance_to_gene"] = distance
            if distance == 0:
                out["region"] = self._region(contig, position)
                if orientation in {"+", "-"}:
                    out["gene_orientation"] = ";".join(
                        "same" if p.split("\t")[1] == orientation else "opposite" for p in pairs
                    )
        tss_index = self.annotation.tss.get(contig)
        if tss_index is not None and (tss := tss_index.nearest(position)) is not None:
            out["nearest_tss_gene"], out["distance_to_tss"] = tss
        listed = self._listed[contig].nearest(position)
        if listed is not None:
            distance, genes = listed
            names = _unique(g.name for g in genes)
            out["nearest_listed_gene"] = ";".join(names)
            out["distance_to_listed_gene"] = distance
            out["listed_gene_category"] = ";".join(",".join(self.gene_lists.categories(n)) for n in names)
            out["proximity_tier"] = _tier(distance)
        return out

    def _region(self, contig: str, position: int) -> str:
        pos0 = position - 1
        exonic, utr = self.annotation.exonic.get(contig), self.annotation.utr.get(contig)
        if exonic is not None and exonic.covers(pos0):
            return "exon"
        if utr is not None and utr.covers(pos0):
            return "utr"
        return "intron"


def _read_sites(path: Path) -> list[dict[str, str]]:
    return read_tsv(path, SITES, "give the sites table written by the sites stage")


def _position(path: Path, number: int, value: str) -> int | None:
    if value in {"", "NA"}:
        return None
    try:
        return int(value)
    except ValueError:
        raise InputError(
            path, f"position {value!r} is not an integer", "give 1-based integer positions", number
        ) from None


def annotate_sites(
    sites_tsv: str | Path,
    annotation: str | Path,
    gene_list_paths: Sequence[str | Path] | str | Path,
    out_tsv: str | Path,
) -> None:
    """Write the sites table with the ANNOTATION columns appended (SITES + ANNOTATION); ``annotation`` is
    the GTF or its cache (:func:`carvis.reference.genes.load_annotation`)."""
    sites_tsv = Path(sites_tsv)
    rows = _read_sites(sites_tsv)
    annotator = Annotator(load_annotation(annotation), load_gene_lists(gene_list_paths))
    out = []
    for number, row in enumerate(rows, start=2):
        position = _position(sites_tsv, number, row["position"])
        out.append(
            {**{c: row[c] for c in SITES}, **annotator.annotate(row["chrom"], position, row["orientation"])}
        )
    write_tsv(out_tsv, (*SITES, *ANNOTATION), out)
