"""The genome annotation (GTF genes, transcripts, exons, UTRs, TSSs) and the gene lists, loaded once.

Coordinates are 1-based inclusive, as in GTF files.
"""

from __future__ import annotations

import bisect
import gzip
import hashlib
import itertools
import pickle
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from carvis.core.errors import InputError
from carvis.core.intervals import Interval, IntervalSet, merge, subtract
from carvis.core.io import atomic_write

_UTR_FEATURES = frozenset({"five_prime_utr", "three_prime_utr", "UTR"})


_KEPT_FEATURES = frozenset({"gene", "transcript", "exon"}) | _UTR_FEATURES


_ATTRIBUTE = re.compile(r'(\S+)\s+"([^"]*)"')


_GTF_FIX = "give a GTF annotation (Ensembl/GENCODE style, 9 tab-separated columns) of the genome build used"


_LIST_FIX = (
    "start the gene list with a tab-separated header line naming at least the column 'gene' "
    "(e.g. gene<TAB>category)"
)


@dataclass(frozen=True)
class Gene:
    """A gene body (1-based inclusive)."""

    gene_id: str
    name: str
    chrom: str
    start: int
    end: int
    strand: str


@dataclass
class _Transcript:
    strand: str
    gene_key: tuple[str, str]
    start: int | None = None
    end: int | None = None
    exons: list[Interval] = field(default_factory=list)
    utrs: list[Interval] = field(default_factory=list)


class GeneIndex:
    """Genes of one contig sorted by start with the running maximum end: O(log n + hits) queries."""

    def __init__(self, genes: Iterable[Gene]) -> None:
        self.genes = sorted(genes, key=lambda g: (g.start, g.end, g.name))
        self._starts = [g.start for g in self.genes]
        self._max_end = list(itertools.accumulate((g.end for g in self.genes), max))

    def overlapping(self, pos: int) -> list[Gene]:
        """Genes whose body contains ``pos``, by start."""
        hits = []
        i = bisect.bisect_right(self._starts, pos) - 1
        while i >= 0 and self._max_end[i] >= pos:
            if self.genes[i].end >= pos:
                hits.append(self.genes[i])
            i -= 1
        return hits[::-1]

    def nearest(self, pos: int) -> tuple[int, list[Gene]] | None:
        """Distance to the nearest gene body (0 inside) and the gene(s) at that distance."""
        if hits := self.overlapping(pos):
            return 0, hits
        idx = bisect.bisect_right(self._starts, pos)
        candidates: list[tuple[int, Gene]] = []
        if idx > 0:  # no overlap, so the running maximum end is the closest end on the left
            left_end = self._max_end[idx - 1]
            j = idx - 1
            while j >= 0 and self._max_end[j] == left_end:
                if self.genes[j].end == left_end:
                    candidates.append((pos - left_end, self.genes[j]))
                j -= 1
        j = idx
        while j < len(self.genes) and self._starts[j] == self._starts[idx]:
            candidates.append((self._starts[idx] - pos, self.genes[j]))
            j += 1
        if not candidates:
            return None
        best = min(d for d, _ in candidates)
        return best, sorted((g for d, g in candidates if d == best), key=lambda g: (g.start, g.name))


class TssIndex:
    """Transcription start sites of one contig, sorted, for nearest-TSS queries."""

    def __init__(self, sites: Iterable[tuple[int, str, str]]) -> None:
        self._sites = sorted(set(sites))
        self._pos = [p for p, _, _ in self._sites]

    def nearest(self, pos: int) -> tuple[str, int] | None:
        """Gene of the nearest TSS and the signed distance (negative upstream); ties by name."""
        if not self._sites:
            return None
        idx = bisect.bisect_left(self._pos, pos)
        near = {self._pos[i] for i in (idx - 1, idx) if 0 <= i < len(self._pos)}
        best: tuple[int, str, int] | None = None
        for p in near:
            lo = bisect.bisect_left(self._pos, p)
            for tss, name, strand in self._sites[lo : bisect.bisect_right(self._pos, p)]:
                signed = pos - tss if strand != "-" else tss - pos
                key = (abs(signed), name, signed)
                if best is None or key < best:
                    best = key
        assert best is not None
        return best[1], best[2]


@dataclass
class GenomeAnnotation:
    """Per-contig gene, TSS, exon and UTR indexes built from one GTF."""

    source: str
    genes: dict[str, GeneIndex]
    tss: dict[str, TssIndex]
    exonic: dict[str, IntervalSet]
    utr: dict[str, IntervalSet]
    _aliases: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._aliases = {_canonical(c): c for c in self.genes}

    def contig(self, chrom: str) -> str | None:
        """The GTF's name for ``chrom``, accepting ``chr1``/``1`` and ``chrM``/``MT`` differences."""
        if chrom in self.genes:
            return chrom
        return self._aliases.get(_canonical(chrom))


@dataclass
class GeneList:
    """One cancer-gene table: its name, version and gene -> categories (gene symbols upper-cased)."""

    name: str
    version: str
    path: str
    categories: dict[str, tuple[str, ...]]


@dataclass
class GeneLists:
    """All gene tables in use."""

    lists: list[GeneList]

    @property
    def label(self) -> str | None:
        """Name and version of every list, ';'-joined (None without lists)."""
        return ";".join(f"{gl.name} {gl.version}" for gl in self.lists) or None

    def categories(self, gene: str) -> tuple[str, ...]:
        """Categories of ``gene`` across all lists, in list order, without repeats."""
        out: dict[str, None] = {}
        for gl in self.lists:
            out.update(dict.fromkeys(gl.categories.get(gene.upper(), ())))
        return tuple(out)


def _canonical(chrom: str) -> str:
    bare = chrom[3:] if chrom.lower().startswith("chr") else chrom
    return "MT" if bare.upper() in {"M", "MT"} else bare


def _open_text(path: str | Path) -> IO[str]:
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found", "check the path in the config")
    if path.suffix == ".gz":
        return gzip.open(path, "rt")
    return open(path)


def _parse_gtf_line(
    path: Path, number: int, line: str
) -> tuple[str, str, int, int, str, dict[str, str]] | None:
    """(chrom, feature, start, end, strand, attributes), or None for features not indexed."""
    fields = line.rstrip("\n").split("\t")
    if len(fields) != 9:
        raise InputError(path, f"expected 9 tab-separated columns, found {len(fields)}", _GTF_FIX, number)
    try:
        start, end = int(fields[3]), int(fields[4])
    except ValueError:
        raise InputError(
            path, f"start/end {fields[3]!r}/{fields[4]!r} are not integers", _GTF_FIX, number
        ) from None
    if fields[2] not in _KEPT_FEATURES:
        return None
    attrs = dict(_ATTRIBUTE.findall(fields[8]))
    if "gene_id" not in attrs:
        raise InputError(path, f"{fields[2]} line without a gene_id attribute", _GTF_FIX, number)
    return fields[0], fields[2], start, end, fields[6], attrs


def read_gtf(path: str | Path) -> GenomeAnnotation:
    """Build gene, TSS, exon and UTR indexes from an Ensembl/GENCODE-style GTF (optionally .gz)."""
    path = Path(path)
    gene_lines: dict[tuple[str, str], Gene] = {}
    names: dict[tuple[str, str], str] = {}
    transcripts: dict[tuple[str, str], _Transcript] = {}
    with _open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            if line.startswith("#") or not line.strip():
                continue
            parsed = _parse_gtf_line(path, number, line)
            if parsed is None:
                continue
            chrom, feature, start, end, strand, attrs = parsed
            gene_key = (chrom, attrs["gene_id"])
            names.setdefault(gene_key, attrs.get("gene_name") or attrs["gene_id"])
            if feature == "gene":
                gene_lines[gene_key] = Gene(attrs["gene_id"], names[gene_key], chrom, start, end, strand)
                continue
            tx = transcripts.setdefault(
                (chrom, attrs.get("transcript_id", attrs["gene_id"])), _Transcript(strand, gene_key)
            )
            if feature == "transcript":
                tx.start, tx.end = start, end
            elif feature == "exon":
                tx.exons.append((start - 1, end))
            else:
                tx.utrs.append((start - 1, end))
    return _build_annotation(str(path), gene_lines, names, transcripts)


#: The parsed annotation's cache file (written by rule preflight); :func:`load_annotation` reads it or a GTF.
CACHE_SUFFIX = ".annotation.pickle"
#: Bumped whenever the classes the cache pickles change shape.
_CACHE_FORMAT = 1


def write_annotation_cache(annotation: GenomeAnnotation, out: str | Path) -> None:
    """Pickle a parsed annotation to ``out`` (atomically), for :func:`load_annotation`: a GENCODE-sized GTF
    takes ~23 s to parse and its pickle 0.5 s to load, in every sample's annotation and site views."""
    with atomic_write(out, "wb", compress=False) as handle:
        pickle.dump((_CACHE_FORMAT, annotation), handle, protocol=pickle.HIGHEST_PROTOCOL)


def load_annotation(path: str | Path) -> GenomeAnnotation:
    """The annotation from a cache written by :func:`write_annotation_cache` (a name ending in
    :data:`CACHE_SUFFIX`), else parsed from the GTF at ``path``."""
    if not str(path).endswith(CACHE_SUFFIX):
        return read_gtf(path)
    problem = "the annotation cache was written by another carvis version"
    try:
        with open(path, "rb") as handle:
            loaded = pickle.load(handle)
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError) as exc:
        loaded, problem = None, f"the annotation cache is damaged or of another carvis version ({exc})"
    current = isinstance(loaded, tuple) and len(loaded) == 2 and loaded[0] == _CACHE_FORMAT
    if not (current and isinstance(loaded[1], GenomeAnnotation)):
        raise InputError(path, problem, "delete it and rerun: the workflow parses the GTF again")
    return loaded[1]


def _build_annotation(
    source: str,
    gene_lines: dict[tuple[str, str], Gene],
    names: dict[tuple[str, str], str],
    transcripts: dict[tuple[str, str], _Transcript],
) -> GenomeAnnotation:
    genes = dict(gene_lines)
    tss: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
    exonic: dict[str, list[Interval]] = defaultdict(list)
    utr: dict[str, list[Interval]] = defaultdict(list)
    for tx in transcripts.values():
        exons, utrs = merge(tx.exons), merge(tx.utrs)
        parts = exons + utrs
        start = tx.start if tx.start is not None else min(s for s, _ in parts) + 1
        end = tx.end if tx.end is not None else max(e for _, e in parts)
        chrom, gene_id = tx.gene_key
        if tx.gene_key not in gene_lines:  # no gene line: the gene spans its transcripts
            known = genes.get(tx.gene_key)
            lo, hi = (start, end) if known is None else (min(known.start, start), max(known.end, end))
            genes[tx.gene_key] = Gene(gene_id, names[tx.gene_key], chrom, lo, hi, tx.strand)
        tss[chrom].append((start if tx.strand != "-" else end, names[tx.gene_key], tx.strand))
        exonic[chrom].extend(subtract(exons, utrs))
        utr[chrom].extend(utrs)
    by_chrom: dict[str, list[Gene]] = defaultdict(list)
    with_tx = {tx.gene_key for tx in transcripts.values()}
    for key, gene in genes.items():
        by_chrom[gene.chrom].append(gene)
        if key not in with_tx:  # a gene line alone: its own ends give the TSS
            tss[gene.chrom].append((gene.start if gene.strand != "-" else gene.end, gene.name, gene.strand))
    return GenomeAnnotation(
        source=source,
        genes={c: GeneIndex(gs) for c, gs in by_chrom.items()},
        tss={c: TssIndex(ts) for c, ts in tss.items()},
        exonic={c: IntervalSet(ivs) for c, ivs in exonic.items()},
        utr={c: IntervalSet(ivs) for c, ivs in utr.items()},
    )


def _read_gene_list(path: Path) -> GeneList:
    """Parse one gene table: '# name:'/'# version:' comments, a header with 'gene', optional 'category'."""
    with _open_text(path) as handle:
        text = handle.read()
    meta: dict[str, str] = {}
    header: list[str] | None = None
    categories: dict[str, dict[str, None]] = defaultdict(dict)
    name = path.name.split(".")[0]
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("#"):
            key, sep, value = line.lstrip("#").partition(":")
            if sep and header is None:
                meta.setdefault(key.strip().lower(), value.strip())
            continue
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split("\t")]
        if header is None:
            header = [c.lower() for c in cells]
            if "gene" not in header:
                raise InputError(
                    path,
                    f"the header line has no 'gene' column ({line.strip()!r}); required column: gene, "
                    "optional: category",
                    _LIST_FIX,
                    number,
                )
            name = meta.get("name") or name
            continue
        row = dict(zip(header, cells, strict=False))
        gene = row.get("gene", "")
        if not gene:
            raise InputError(
                path, "empty gene cell", "write one gene symbol per line in the 'gene' column", number
            )
        cats = [c.strip() for c in row.get("category", "").split(",") if c.strip() not in {"", "NA"}]
        categories[gene.upper()].update(dict.fromkeys(cats or [name]))
    if header is None:
        raise InputError(path, "no header line and no genes", _LIST_FIX)
    version = meta.get("version") or "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:12]
    return GeneList(name, version, str(path), {g: tuple(c) for g, c in categories.items()})


def load_gene_lists(paths: Iterable[str | Path] | str | Path) -> GeneLists:
    """Read cancer-gene tables (TSV; only the 'gene' column is required).

    Name and version come from ``# name:`` and ``# version:`` header comments, else the file name
    and ``sha256:<first 12 hex digits of the content>``. A missing category is the list's name;
    a category cell may hold several categories separated by commas.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    return GeneLists([_read_gene_list(Path(p)) for p in paths])
