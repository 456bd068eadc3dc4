"""IGV for the reviewer: a session file for desktop IGV and the data of the report's per-site igv.js views.

The session (:func:`write_session`) opens the combined genome with the evidence BAM
(:mod:`carvis.report.evidence_bam`), the sites' VCF and BED and the annotation, at the top site. Paths in
the output folder are written relative to the session file, so the folder can be moved or copied whole.

A site view (:func:`site_view`) is what igv.js needs to draw one site with nothing fetched: a FASTA of the
host locus (``VIEW_FLANK`` bases each side of the target site) and of the provirus end(s) facing it, in
the ``chrom:start-end @len=`` form igv.js reads as a slice of the full contig; the evidence BAM's reads
there as a small BAM (data URI); the genes of the annotation over the locus; the TSD as a region of
interest. :mod:`carvis.report.igv_page` turns the views into the report's HTML.
"""

from __future__ import annotations

import base64
import os
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pysam

from carvis.core.io import atomic_write
from carvis.reference.genes import GenomeAnnotation

#: Host bases shown on each side of the target site.
VIEW_FLANK = 500
#: Provirus bases shown from each end (an LTR and a read length).
END_SPAN = 600
#: Proximity tiers that make a site a listed-gene site (near a listed cancer gene).
LISTED_TIERS = ("inside", "10kb", "50kb", "100kb")

Row = Mapping[str, str]


@dataclass(frozen=True)
class Locus:
    """A 1-based inclusive stretch of a contig of length ``length``."""

    chrom: str
    start: int
    end: int
    length: int

    def __str__(self) -> str:
        return f"{self.chrom}:{self.start}-{self.end}"


def _path(path: str | Path, here: Path, root: Path | None) -> str:
    """``path`` relative to ``here`` when it lies inside ``root`` (the output folder), else absolute."""
    full = Path(path).resolve()
    if root is not None and full.is_relative_to(root.resolve()):
        return os.path.relpath(full, here.resolve())
    return str(full)


def write_session(
    out_xml: str | Path,
    genome: str | Path,
    tracks: Sequence[str | Path],
    locus: str | None = None,
    root: str | Path | None = None,
) -> None:
    """Write an IGV desktop session: the genome FASTA (indexed) and the tracks (BAM with .bai, VCF, BED,
    GTF), opened at ``locus`` (e.g. the top site). Paths inside ``root`` (the output folder) are written
    relative to the session file, so the folder can be moved whole; others are absolute."""
    here, base = Path(out_xml).parent, None if root is None else Path(root)
    resources = "".join(f"        <Resource path={quoteattr(_path(t, here, base))}/>\n" for t in tracks)
    where = f" locus={quoteattr(locus)}" if locus else ""
    with atomic_write(out_xml) as out:
        out.write(
            '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
            f'<Session genome={quoteattr(_path(genome, here, base))}{where} version="8">\n'
            f"    <Resources>\n{resources}    </Resources>\n</Session>\n"
        )


def site_name(site: Row) -> str:
    return f"{site['chrom']}:{site['position']}"


def listed(site: Row) -> bool:
    return site.get("proximity_tier") in LISTED_TIERS


def select_sites(sites: Sequence[Row], max_views: int) -> list[Row]:
    """The sites that get a view: all of them when there are at most ``max_views``; else the clonal
    sites, then the listed-gene sites by proximity tier (in the sites table's order), at most
    ``max_views``. The others are listed with a pointer to the evidence BAM."""
    if len(sites) <= max_views:
        return list(sites)
    rank = {tier: i for i, tier in enumerate(LISTED_TIERS)}
    chosen = [s for s in sites if s.get("clonal") == "yes"]
    chosen += sorted(
        (s for s in sites if listed(s) and s.get("clonal") != "yes"),
        key=lambda s: rank[s["proximity_tier"]],
    )
    return chosen[:max_views]


def _int(value: str | None) -> int | None:
    return None if value in (None, "", "NA") else int(value)


def host_locus(site: Row, length: int) -> Locus:
    """The target site (the TSD, or the position) with VIEW_FLANK host bases each side."""
    position = int(site["position"])
    last = position + max(0, (_int(site.get("tsd_length")) or 1) - 1)
    return Locus(site["chrom"], max(1, position - VIEW_FLANK), min(length, last + VIEW_FLANK), length)


def facing_ends(site: Row) -> list[str]:
    """The provirus ends at the site's seen junctions (both when the orientation is unknown)."""
    orientation = site.get("orientation")
    if orientation not in ("+", "-"):
        return ["5p", "3p"]
    ends = []
    if _int(site.get("left_junction")) is not None:
        ends.append("5p" if orientation == "+" else "3p")
    if _int(site.get("right_junction")) is not None:
        ends.append("3p" if orientation == "+" else "5p")
    return sorted(ends, key=["5p", "3p"].index) or ["5p", "3p"]


def vector_loci(site: Row, lengths: Mapping[str, int], bam: pysam.AlignmentFile | None = None) -> list[Locus]:
    """The provirus ends the site's junctions face, and the other end too when ``bam`` holds reads of the
    site there (the two LTRs are identical, so the aligner puts a junction read's vector part in either)."""
    contig = f"{site['vector']}__provirus"
    if contig not in lengths:
        return []
    n = lengths[contig]
    spans = {"5p": (1, min(n, END_SPAN)), "3p": (max(1, n - END_SPAN + 1), n)}
    loci = {end: Locus(contig, *span, n) for end, span in spans.items()}
    facing = facing_ends(site)

    def holds_reads(locus: Locus) -> bool:
        return bam is not None and any(
            _supports(r, site_name(site)) for r in bam.fetch(contig, locus.start - 1, locus.end)
        )

    return [loci[end] for end in ("5p", "3p") if end in facing or holds_reads(loci[end])]


def _data_uri(data: bytes, kind: str) -> str:
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"


def fasta_slices(fasta: pysam.FastaFile, loci: Sequence[Locus]) -> str:
    """FASTA of the loci with headers igv.js places on the full contig (``chrom:start-end @len=n``)."""
    return "".join(
        f">{locus} @len={locus.length}\n{fasta.fetch(locus.chrom, locus.start - 1, locus.end)}\n"
        for locus in loci
    )


def _supports(read: pysam.AlignedSegment, site: str) -> bool:
    return read.has_tag("ZS") and site in str(read.get_tag("ZS")).split(",")


def bam_slice(bam: pysam.AlignmentFile, loci: Sequence[Locus], site: str) -> tuple[bytes, Counter[str]]:
    """The evidence reads over the host locus (``loci[0]``) and those of ``site`` over the provirus loci,
    as a sorted BAM whose header names only the contigs they use, and the alignments per evidence kind
    (``ZK``) and rejected by QC (``ZQ``)."""
    reads: dict[tuple[str | None, int, int], pysam.AlignedSegment] = {}
    for i, locus in enumerate(loci):
        for read in bam.fetch(locus.chrom, locus.start - 1, locus.end):
            if i == 0 or _supports(read, site):
                reads.setdefault((read.query_name, read.flag, read.reference_start), read)
    used = {r.reference_name for r in reads.values()} | {
        r.next_reference_name for r in reads.values() if r.next_reference_name
    }
    order = [c for c in bam.references if c in used]
    header = pysam.AlignmentHeader.from_dict(
        {
            "HD": {"VN": "1.6", "SO": "unsorted"},
            "SQ": [{"SN": c, "LN": bam.get_reference_length(c)} for c in order],
        }
    )
    counts: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as tmp:
        raw, ready = Path(tmp) / "raw.bam", Path(tmp) / "slice.bam"
        with pysam.AlignmentFile(str(raw), "wb", header=header) as out:
            for read in reads.values():
                out.write(pysam.AlignedSegment.from_dict(read.to_dict(), header))
                counts.update(str(read.get_tag("ZK")).split(",") if read.has_tag("ZK") else ["other"])
                counts["rejected"] += read.has_tag("ZQ")
        pysam.sort("--no-PG", "-o", str(ready), str(raw))
        return ready.read_bytes(), counts


def gene_features(annotation: GenomeAnnotation | None, locus: Locus) -> list[dict[str, object]]:
    """igv.js features (0-based, half-open) of the genes over the locus, with their exons."""
    chrom = annotation.contig(locus.chrom) if annotation else None
    if annotation is None or chrom is None:
        return []
    exons = annotation.exonic.get(chrom)
    features: list[dict[str, object]] = []
    for gene in annotation.genes[chrom].genes:
        if gene.end < locus.start or gene.start > locus.end:
            continue
        parts = (
            [] if exons is None else [(s, e) for s, e in exons.intervals if s < gene.end and e >= gene.start]
        )
        features.append(
            {
                "chr": locus.chrom,
                "start": gene.start - 1,
                "end": gene.end,
                "name": gene.name,
                "strand": gene.strand,
                "exons": [{"start": max(s, gene.start - 1), "end": min(e, gene.end)} for s, e in parts],
            }
        )
    return features


def view_title(site: Row) -> str:
    """The site, its orientation, its gene (region) and whether it is clonal, for the view's heading."""
    parts = [f"{site_name(site)} ({site.get('orientation', '.')})"]
    if site.get("gene") not in (None, "", "NA"):
        parts.append(f"{site['gene']} ({site.get('region', 'NA')})")
    if site.get("clonal") == "yes":
        parts.append("clonal")
    return " · ".join(parts)


def site_view(
    site: Row, bam: pysam.AlignmentFile, fasta: pysam.FastaFile, annotation: GenomeAnnotation | None
) -> dict[str, object]:
    """Everything igv.js needs for one site's view (JSON-ready), plus ``counts`` for its caption."""
    lengths = dict(zip(fasta.references, fasta.lengths, strict=True))
    host = host_locus(site, lengths[site["chrom"]])
    loci = [host, *vector_loci(site, lengths, bam)]
    data, counts = bam_slice(bam, loci, site_name(site))
    position, tsd = int(site["position"]), _int(site.get("tsd_length"))
    label = f"TSD {site['tsd']}" if tsd else "target site"
    target = {"chr": site["chrom"], "start": position - 1, "end": position - 1 + (tsd or 1), "name": label}
    return {
        "id": "view-" + site_name(site).replace(":", "-"),
        "site": site_name(site),
        "title": view_title(site),
        "loci": [str(locus) for locus in loci],
        "fasta": _data_uri(fasta_slices(fasta, loci).encode(), "text/plain"),
        "bam": _data_uri(data, "application/octet-stream"),
        "genes": gene_features(annotation, host),
        "target": {**target, "strand": site.get("orientation", ".")},
        "counts": dict(counts),
    }


def session_locus(sites: Sequence[Row]) -> str | None:
    """The locus a session opens at: the first site (the sites table puts the most fragments first)."""
    if not sites:
        return None
    site = sites[0]
    position = int(site["position"])
    return f"{site['chrom']}:{max(1, position - VIEW_FLANK)}-{position + VIEW_FLANK}"
