"""Vector regions homologous to the genome or to another vector: never counted, never a junction.

Three steps:

1. :func:`write_vector_tiles` cuts every vector contig into overlapping tiles named
   ``<contig>:<0-based offset>``.
2. The workflow aligns the tiles to the combined reference with :data:`MINIMAP2_ARGS`
   (``minimap2 -ax sr --secondary=yes -N 50 -p 0.2 combined.mmi tiles.fa > tiles.sam``).
   Each tile also hits its own contig, so secondary alignments must be kept; ``-p 0.2`` keeps a
   genome hit covering only a fifth of a tile (one exon of a cDNA, the end of a promoter copy).
3. :func:`build_mask` turns the aligned parts of the tiles into the mask and the footprint.

Mask labels: ``genome:<chrom>:<start>-<end>`` (1-based genome range the piece is copied from),
``vector:<other vector>`` (shared with another configured vector) and ``provirus`` (backbone
bases identical to the same vector's provirus, e.g. the R-U5 of the plasmid's own 5' LTR).
The footprint is what is left of each vector contig after removing the mask and the provirus
LTRs, without pieces shorter than ``min_aligned`` (too short to hold a read of their own).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pysam

from carvis.core.errors import InputError
from carvis.core.intervals import Interval, merge, subtract
from carvis.core.io import atomic_write, write_fasta
from carvis.reference.vectors import VectorModel

#: A homology-mask row (BED): vector contig, 0-based start, end, and the genome locus (or vector) it matches.
MaskRow = tuple[str, int, int, str]

#: Tile length and step (bp): 100-bp tiles every 5 bp locate each homologous piece's ends exactly.
TILE = 100
STEP = 5
#: minimap2 options for aligning the tiles (the index and tile FASTA follow).
MINIMAP2_ARGS = "-ax sr --secondary=yes -N 50 -p 0.2"
#: Genome hits of neighbouring tiles closer than this (bp) describe the same piece.
_JOIN_GAP = 20

_CLIP = {pysam.CSOFT_CLIP, pysam.CHARD_CLIP}
_QUERY = {pysam.CMATCH, pysam.CINS, pysam.CEQUAL, pysam.CDIFF}
_ALIGNED = {pysam.CMATCH, pysam.CINS, pysam.CDEL, pysam.CEQUAL, pysam.CDIFF}


@dataclass(frozen=True)
class Hit:
    """One aligned tile part: the vector interval (0-based half-open) and where it lands."""

    contig: str
    start: int
    end: int
    target: str
    target_start: int
    target_end: int
    strand: str


def write_vector_tiles(
    models: Iterable[VectorModel], out_fasta: str | Path, tile: int = TILE, step: int = STEP
) -> int:
    """Write overlapping tiles of every vector contig (see :func:`write_tiles`); return how many."""
    return write_tiles(
        {c: seq for model in models for c, seq in model.contigs().items()}, out_fasta, tile, step
    )


def write_tiles(
    sequences: Mapping[str, str], out_fasta: str | Path, tile: int = TILE, step: int = STEP
) -> int:
    """Write overlapping tiles named ``<sequence>:<offset>`` (the last tile ends at the sequence end).

    Returns the number of tiles written.
    """
    if tile < 1 or step < 1:
        raise ValueError("tile and step must be positive")
    return write_fasta(
        out_fasta,
        (
            (f"{name}:{offset}", seq[offset : offset + tile])
            for name, seq in sequences.items()
            for offset in _tile_offsets(len(seq), tile, step)
        ),
    )


def _tile_offsets(length: int, tile: int, step: int) -> list[int]:
    last = max(0, length - tile)
    offsets = list(range(0, last + 1, step))
    if offsets[-1] != last:
        offsets.append(last)
    return offsets


def _tile_origin(name: str, path: str | Path) -> tuple[str, int]:
    contig, sep, offset = name.rpartition(":")
    if not sep or not offset.isdigit():
        raise InputError(
            path, f"query {name!r} is not a vector tile name (<contig>:<offset>)", "align the tiles FASTA"
        )
    return contig, int(offset)


def _hit(read: pysam.AlignedSegment, path: str | Path) -> tuple[Hit, float, int]:
    """The tile part a read aligns, in vector contig coordinates, with its identity and length."""
    contig, offset = _tile_origin(read.query_name or "", path)
    cigar = read.cigartuples or []
    left = sum(n for op, n in _leading(cigar) if op in _CLIP)
    right = sum(n for op, n in _leading(cigar[::-1]) if op in _CLIP)
    aligned_query = sum(n for op, n in cigar if op in _QUERY)
    columns = sum(n for op, n in cigar if op in _ALIGNED)
    qstart = right if read.is_reverse else left
    identity = 1.0 - int(read.get_tag("NM")) / columns if columns else 0.0
    hit = Hit(
        contig,
        offset + qstart,
        offset + qstart + aligned_query,
        read.reference_name or "",
        read.reference_start,
        read.reference_end or read.reference_start,
        "-" if read.is_reverse else "+",
    )
    return hit, identity, aligned_query


def _leading(cigar: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    for op, n in cigar:
        if op not in _CLIP:
            break
        out.append((op, n))
    return out


def read_tile_hits(alignments: str | Path, *, min_identity: float = 0.9, min_aligned: int = 30) -> list[Hit]:
    """Aligned tile parts from the tile SAM/BAM, hits to the tile's own contig left out."""
    hits = []
    try:
        with pysam.AlignmentFile(str(alignments), check_sq=False) as sam:
            for read in sam:
                if read.is_unmapped:
                    continue
                hit, identity, length = _hit(read, alignments)
                if hit.target != hit.contig and identity >= min_identity and length >= min_aligned:
                    hits.append(hit)
    except InputError:
        raise
    except (OSError, ValueError) as exc:
        raise InputError(
            alignments, f"cannot read the tile alignments: {exc}", "rerun the tile alignment"
        ) from exc
    return hits


def _label(hit: Hit, owners: Mapping[str, tuple[str, str]]) -> str | None:
    """Mask label of a hit, or None when the hit does not mask anything."""
    own = owners.get(hit.contig)
    target = owners.get(hit.target)
    if own is None:
        return None
    if target is None:
        return "genome"
    if target[0] != own[0]:
        return f"vector:{target[0]}"
    if own[1] == "backbone" and target[1] == "provirus":
        return "provirus"
    return None


@dataclass
class _Piece:
    target: str
    start: int
    end: int
    target_start: int
    target_end: int

    def takes(self, hit: Hit) -> bool:
        """Does the hit continue this piece on both the vector and the target?"""
        return (
            hit.start <= self.end + _JOIN_GAP
            and hit.target_start <= self.target_end + _JOIN_GAP
            and self.target_start <= hit.target_end + _JOIN_GAP
        )

    def add(self, hit: Hit) -> None:
        self.end = max(self.end, hit.end)
        self.target_start = min(self.target_start, hit.target_start)
        self.target_end = max(self.target_end, hit.target_end)


def _genome_pieces(hits: list[Hit]) -> list[tuple[int, int, str]]:
    """Group one contig's genome hits into pieces that overlap on both sides; (start, end, label)."""
    groups: dict[tuple[str, str], list[_Piece]] = defaultdict(list)
    for hit in sorted(hits, key=lambda h: (h.target, h.strand, h.start, -h.end)):
        group = groups[(hit.target, hit.strand)]
        piece = next((p for p in group if p.takes(hit)), None)
        if piece is None:
            group.append(_Piece(hit.target, hit.start, hit.end, hit.target_start, hit.target_end))
        else:
            piece.add(hit)
    return [
        (p.start, p.end, f"genome:{p.target}:{p.target_start + 1}-{p.target_end}")
        for group in groups.values()
        for p in group
    ]


def mask_intervals(hits: Iterable[Hit], models: Iterable[VectorModel]) -> list[MaskRow]:
    """(contig, start, end, label) rows of the mask, sorted; 0-based half-open."""
    owners = {c: (m.name, c.rpartition("__")[2]) for m in models for c in m.contigs()}
    by_label: dict[tuple[str, str], list[Hit]] = defaultdict(list)
    for hit in hits:
        label = _label(hit, owners)
        if label is not None:
            by_label[(hit.contig, label)].append(hit)
    rows: list[MaskRow] = []
    for (contig, label), group in by_label.items():
        if label == "genome":
            rows.extend((contig, s, e, lab) for s, e, lab in _genome_pieces(group))
        else:
            rows.extend((contig, s, e, label) for s, e in merge((h.start, h.end) for h in group))
    return sorted(rows)


def footprint_intervals(
    model: VectorModel, mask: Mapping[str, list[Interval]], min_length: int = 30
) -> dict[str, list[Interval]]:
    """Per vector contig, the bases neither masked nor in a provirus LTR (pieces >= min_length)."""
    out = {}
    for contig, seq in model.contigs().items():
        removed = list(mask.get(contig, []))
        if contig == model.provirus_contig:
            removed += [(s - 1, e) for s, e in model.ltr_ranges()]
        out[contig] = [iv for iv in subtract([(0, len(seq))], removed) if iv[1] - iv[0] >= min_length]
    return out


def build_mask(
    alignments_path: str | Path,
    models: Iterable[VectorModel],
    out_mask_bed: str | Path,
    out_footprint_bed: str | Path,
    *,
    min_identity: float = 0.9,
    min_aligned: int = 30,
) -> None:
    """Write the homology mask (BED4: contig, start, end, label) and the footprint (BED4, name = vector)."""
    models = list(models)
    rows = mask_intervals(
        read_tile_hits(alignments_path, min_identity=min_identity, min_aligned=min_aligned), models
    )
    with atomic_write(out_mask_bed) as out:
        for contig, start, end, label in rows:
            out.write(f"{contig}\t{start}\t{end}\t{label}\n")
    masked: dict[str, list[Interval]] = defaultdict(list)
    for contig, start, end, _ in rows:
        masked[contig].append((start, end))
    with atomic_write(out_footprint_bed) as out:
        for model in models:
            for contig, ivs in footprint_intervals(model, masked, min_aligned).items():
                for start, end in ivs:
                    out.write(f"{contig}\t{start}\t{end}\t{model.name}\n")


def read_mask(path: str | Path) -> list[MaskRow]:
    """(contig, start, end, label) rows of a mask BED written by :func:`build_mask`."""
    rows = []
    with open(path) as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 4 or not (fields[1].isdigit() and fields[2].isdigit()):
                raise InputError(
                    path, "expected contig, start, end, label", "rebuild the mask with carvis", line=number
                )
            rows.append((fields[0], int(fields[1]), int(fields[2]), fields[3]))
    return rows


def masked_bp(model: VectorModel, mask_rows: Iterable[MaskRow]) -> int:
    """Masked bases of the provirus outside its LTRs."""
    ltrs = [(s - 1, e) for s, e in model.ltr_ranges()]
    masked = merge((s, e) for c, s, e, _ in mask_rows if c == model.provirus_contig)
    return sum(e - s for s, e in masked) - _overlap(masked, merge(ltrs))


def _overlap(a: list[Interval], b: list[Interval]) -> int:
    return sum(max(0, min(e1, e2) - max(s1, s2)) for s1, e1 in a for s2, e2 in b)


def mask_report(model: VectorModel, mask_rows: Iterable[MaskRow]) -> list[dict[str, object]]:
    """Report rows for one vector: contig, 1-based start, end, length, label (LTRs as label ``ltr``)."""
    rows = [(c, s, e, label) for c, s, e, label in mask_rows if c in model.contigs()]
    rows += [(model.provirus_contig, s - 1, e, "ltr") for s, e in model.ltr_ranges()]
    return [
        {"vector": model.name, "contig": c, "start": s + 1, "end": e, "length": e - s, "label": label}
        for c, s, e, label in sorted(rows)
    ]
