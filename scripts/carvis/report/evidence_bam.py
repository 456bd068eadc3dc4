"""The evidence BAM: every read behind a sample's evidence table, tagged with its site, kind and QC verdict.

A reviewer opens it in IGV (the session of :mod:`carvis.report.igv`) to see the reads behind each count.
The evidence table names reads by fragment (query name) and read number; the sites table names sites by
their junctions. Here each evidence row is given back to the reported site it supports (the rules of the
sites stage: a precise row at the site's junction base, a discordant host mate at most ``window`` bases
inward of it, with the provirus end the site's orientation implies) and each row is judged by the sites
stage's own :func:`carvis.sites.call.rejection`. Every alignment of those fragments (primary and
supplementary; both reads of a pair) near the rows' host positions or on a vector contig is copied with
the tags below, then sorted and indexed by samtools (through pysam).

Tags (SAM ``Z`` strings; custom tags start with ``Z``):

- ``ZS``: the site(s) the fragment supports, ``chrom:position`` as in the VCF's ``EVENT``;
- ``ZK``: the evidence kind of this read (``split``, ``clip``, ``host_clip``, ``mate_clip``,
  ``aligned_clip``, ``discordant``), or ``mate`` for the other read of a fragment whose evidence is in
  its partner;
- ``ZQ``: why the sites stage did not use this read's row (``duplicate``, ``backbone``, ``homologous``,
  ``off_terminus``, ``low_mapq``, ``unanchored`` or an evidence flag); absent when it was used, as are
  the weak reasons (``low_mapq``, ``unanchored``) of a precise row at a reported site's junction base,
  which the sites stage takes in (:func:`carvis.sites.call.rescue`);
- ``ZF``: the row's evidence flags, when it has any;
- ``YC``: the read's colour in IGV (desktop and igv.js read this tag): :data:`COLOURS` by kind, grey for
  mates, light grey for reads whose rows were rejected.
"""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pysam

from carvis import __version__
from carvis.core.io import read_tsv
from carvis.core.tables import EVIDENCE, EvidenceRow
from carvis.reference.vectors import contig_owner
from carvis.sites.call import WEAK, rejection
from carvis.sites.junctions import DISCORDANT_OVERHANG, SHADOW_WINDOW

#: Host bases fetched on each side of an evidence row's host position: a read and its mate lie within
#: one fragment of it.
HOST_REACH = 1500
#: The provirus end that faces the host on each side of a site, by orientation.
_FACING = {("left", "+"): "5p", ("right", "+"): "3p", ("left", "-"): "3p", ("right", "-"): "5p"}
#: Kinds of the rows that place a read in the evidence BAM (spanning rows are reference alleles).
KINDS = ("split", "clip", "host_clip", "mate_clip", "aligned_clip", "discordant")

#: ``YC`` colours (r,g,b) by evidence kind; ``rejected`` for reads whose rows the sites stage did not use.
COLOURS = {
    "split": "214,39,40",
    "clip": "255,127,14",
    "host_clip": "188,189,34",
    "mate_clip": "148,103,189",
    "aligned_clip": "23,190,207",
    "discordant": "31,119,180",
    "mate": "120,120,120",
    "rejected": "200,200,200",
}

#: The evidence BAM's @PG line (after the aligned BAM's own).
PROGRAM = {"ID": "carvis.evidence_bam", "PN": "carvis", "VN": __version__, "DS": "reads behind the sites"}

Row = Mapping[str, str]


@dataclass
class ReadTags:
    """What the evidence rows of one read (or, read 0, of a whole fragment) say about it."""

    kinds: set[str] = field(default_factory=set)
    reasons: set[str] = field(default_factory=set)
    flags: set[str] = field(default_factory=set)


@dataclass
class Fragment:
    """The evidence of one fragment: the sites it supports and what each read's rows say."""

    sites: set[str] = field(default_factory=set)
    reads: dict[int, ReadTags] = field(default_factory=lambda: defaultdict(ReadTags))


def site_id(site: Row) -> str:
    return f"{site['chrom']}:{site['position']}"


def _junction(site: Row, side: str) -> int | None:
    value = site["left_junction" if side == "left" else "right_junction"]
    return None if value in ("NA", "") else int(value)


def _faces(site: Row, row: Row) -> bool:
    """Whether the row's provirus end is the one the site's orientation puts on the row's side."""
    orientation = site.get("orientation", ".")
    if orientation not in ("+", "-") or row["vector_end"] == "NA":
        return True
    return _FACING[(row["side"], orientation)] == row["vector_end"]


def site_of(row: Row, sites: Sequence[Row], window: int) -> str | None:
    """The id of the reported site an evidence row supports, or None.

    Precise rows belong to the site whose junction on their side is their host base; discordant rows to
    the nearest site whose junction on their side lies at most ``window`` bases outward of the host mate
    (a site without that junction is placed at its position), else to the nearest site at most
    SHADOW_WINDOW away (the sites stage absorbs such shadows into the site)."""
    best: tuple[int, int, str] | None = None
    host = int(row["host_pos"])
    for site in sites:
        if site["chrom"] != row["chrom"] or site["vector"] != row["vector"] or not _faces(site, row):
            continue
        junction = _junction(site, row["side"])
        if row["precise"] == "yes":
            if junction == host:
                return site_id(site)
            continue
        anchor = junction if junction is not None else int(site["position"])
        inward = anchor - host if row["side"] == "left" else host - anchor
        if -DISCORDANT_OVERHANG <= inward <= window:
            key = (0, abs(inward), site_id(site))
        elif abs(inward) <= SHADOW_WINDOW:
            key = (1, abs(inward), site_id(site))
        else:
            continue
        best = key if best is None else min(best, key)
    return None if best is None else best[2]


def fragments(
    evidence: Iterable[Row], sites: Sequence[Row], window: int, min_mapq: int
) -> dict[str, Fragment]:
    """Fragment name -> its sites and per-read kinds, rejection reasons and flags (spanning rows left out)."""
    out: dict[str, Fragment] = defaultdict(Fragment)
    for row in evidence:
        if row["kind"] not in KINDS:
            continue
        fragment = out[row["fragment"]]
        site = site_of(row, sites, window)
        if site is not None:
            fragment.sites.add(site)
        tags = fragment.reads[int(row["read"])]
        tags.kinds.add(row["kind"])
        reason = rejection(EvidenceRow.from_cells(row), min_mapq)
        if reason in WEAK and row["precise"] == "yes" and site is not None:
            reason = None  # at a reported site's junction base: the sites stage rescued it (``rescue``)
        if reason is not None:
            tags.reasons.add(reason)
        if row["flags"] not in ("NA", ""):
            tags.flags.update(row["flags"].split(","))
    return dict(out)


def _read_number(read: pysam.AlignedSegment) -> int:
    if not read.is_paired:
        return 0
    return 1 if read.is_read1 else 2


def tag(read: pysam.AlignedSegment, fragment: Fragment) -> None:
    """Set ZS, ZK, ZQ and ZF on one alignment of an evidence fragment."""
    own = fragment.reads.get(_read_number(read)) or fragment.reads.get(0)
    if fragment.sites:
        read.set_tag("ZS", ",".join(sorted(fragment.sites)), "Z")
    kinds = sorted(own.kinds) if own else ["mate"]
    read.set_tag("ZK", ",".join(kinds), "Z")
    colour = COLOURS[next((k for k in KINDS if k in kinds), "mate")]
    if own and own.reasons:
        read.set_tag("ZQ", ",".join(sorted(own.reasons)), "Z")
        colour = COLOURS["rejected"]
    if own and own.flags:
        read.set_tag("ZF", ",".join(sorted(own.flags)), "Z")
    read.set_tag("YC", colour, "Z")


def regions(evidence: Iterable[Row], contigs: Mapping[str, int]) -> list[tuple[str, int, int]]:
    """Merged 0-based host windows around the rows' host positions, then every vector contig whole."""
    spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for row in evidence:
        if row["kind"] in KINDS and row["chrom"] in contigs:
            host = int(row["host_pos"])
            spans[row["chrom"]].append(
                (max(0, host - HOST_REACH), min(contigs[row["chrom"]], host + HOST_REACH))
            )
    merged: list[tuple[str, int, int]] = []
    for chrom in sorted(spans):
        for start, end in sorted(spans[chrom]):
            if merged and merged[-1][0] == chrom and start <= merged[-1][2]:
                merged[-1] = (chrom, merged[-1][1], max(end, merged[-1][2]))
            else:
                merged.append((chrom, start, end))
    merged += [(c, 0, n) for c, n in contigs.items() if contig_owner(c) is not None]
    return merged


def _evidence_reads(
    bam: pysam.AlignmentFile, spans: Sequence[tuple[str, int, int]], wanted: Mapping[str, Fragment]
) -> Iterator[pysam.AlignedSegment]:
    seen: set[tuple[str, int, int, int]] = set()
    for chrom, start, end in spans:
        for read in bam.fetch(chrom, start, end):
            name = read.query_name
            if name is None or name not in wanted or read.is_secondary:
                continue
            key = (name, read.flag, read.reference_id, read.reference_start)
            if key not in seen:
                seen.add(key)
                tag(read, wanted[name])
                yield read


def write_evidence_bam(
    aligned_bam: str | Path,
    evidence_tsv: str | Path,
    sites_tsv: str | Path,
    out_bam: str | Path,
    *,
    window: int = 1000,
    min_mapq: int = 20,
) -> int:
    """Write the sample's evidence BAM (coordinate-sorted, with its .bai); return the alignments written.

    ``aligned_bam`` is the indexed BAM the evidence table was extracted from; ``window`` and ``min_mapq``
    are the sites stage's ``discordant_window`` and ``min_mapq``."""
    evidence = read_tsv(evidence_tsv, EVIDENCE, "give the evidence table of carvis.evidence.extract")
    sites = read_tsv(sites_tsv)
    wanted = fragments(evidence, sites, window, min_mapq)
    out = Path(out_bam)
    written = 0
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as tmp:
        unsorted, ready = Path(tmp) / "unsorted.bam", Path(tmp) / "sorted.bam"
        with pysam.AlignmentFile(str(aligned_bam), "rb") as bam:
            contigs = dict(zip(bam.references, bam.lengths, strict=True))
            header = bam.header.to_dict()
            previous = header.setdefault("PG", [])
            previous.append({**PROGRAM, **({"PP": previous[-1]["ID"]} if previous else {})})
            with pysam.AlignmentFile(str(unsorted), "wb", header=header) as sink:
                for read in _evidence_reads(bam, regions(evidence, contigs), wanted):
                    sink.write(read)
                    written += 1
        pysam.sort("--no-PG", "-o", str(ready), str(unsorted))  # no temporary paths in the header
        pysam.index(str(ready))
        os.replace(ready, out)
        os.replace(f"{ready}.bai", f"{out}.bai")
    return written
