"""The demo world: gene models laid out on three contigs, a genome of random sequence with interspersed and
tandem repeats around them, and a lentiviral CAR plasmid whose EF1a promoter and CAR cDNA pieces are
copies of the demo genes. :mod:`carvis.sim.demo` draws and writes it."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from carvis.core.seqs import revcomp
from carvis.reference.vectors import KINDS
from carvis.sim.insertions import Insertion
from carvis.sim.sequences import mutate, random_dna, scrub

CONTIGS = (("chr1", 550_000), ("chr2", 400_000), ("chrX", 250_000))
GENES = {
    "chr1": ("DEMO1", "EGFR", "LMO2", "SSU72", "MECOM", "CCND2", "CD8A", "HMGA2", "PRDM16", "DEMO2"),
    "chr2": ("TET2", "EEF1A1", "CBL", "BACH2", "PBX2", "ZGPAT", "DEMO3", "KPNA4", "IKZF1"),
    "chrX": ("DEMO4", "CD28", "TNFRSF9", "DEMO5", "CD247", "DEMO6"),
}
GC = 0.405
CLONAL_FRACTION = 0.8
#: Repeat-free distance around the clonal sites.
SITE_CLEARANCE = 1500
#: Bases of the LMO2 site from the LMO2 gene body (in an intergenic gap of at least LMO2_GAP).
LMO2_DISTANCE = 20_000
LMO2_GAP = 60_000

LTR_R_U5 = (
    "GGGTCTCTCTGGTTAGACCAGATCTGAGCCTGGGAGCTCTCTGGCTAACTAGGGAACCCACTGCTTAAGCCTCAATAAAGCTTGCCTTGAGTGCTTCA"
    "AGTAGTGTGTGCCCGTCTGTTGTGTGACTCTGGTAACTAGAGATCCCTCAGACCCTTTTAGTCAGTGTGGAAAATCTCTAGCA"
)
SIN_DU3 = "TGGAAGGGCTAATTCACTCCCAACGAAGACAAGATCTGCTTTTTGCTTGTACT"
PPT = "AAAAGAAAAGGGGGGA"
_LENTI = KINDS["lentiviral"]

#: Fixed gene models (transcript order): exon lengths, intron lengths (None = random), 5'/3' UTR, strand.
_FIXED: dict[str, tuple[list[int], list[int] | None, int, int, str | None]] = {
    "EEF1A1": ([40, 180, 150, 210, 170, 240, 520], [940, 1300, 700, 2200, 600, 1400], 65, 420, "+"),
    "CD8A": ([150, 120, 81, 110, 450], None, 60, 400, "-"),
    "TNFRSF9": ([150, 140, 120, 110, 60, 420], None, 100, 354, None),
    "CD247": ([130, 95, 111, 108, 620], None, 90, 503, None),
    "SSU72": ([180, 120, 100, 130, 600], [1200, 9000, 2000, 800], 80, 450, None),
}


@dataclass
class Exon:
    """One exon: transcript offset (0-based) and genomic span (1-based inclusive)."""

    tx_start: int
    length: int
    start: int
    end: int


@dataclass
class Gene:
    """A single-transcript gene model."""

    name: str
    gene_id: str
    transcript_id: str
    chrom: str
    strand: str
    exons: list[Exon]  # transcript order
    utr5: int
    utr3: int

    @property
    def start(self) -> int:
        return min(e.start for e in self.exons)

    @property
    def end(self) -> int:
        return max(e.end for e in self.exons)

    @property
    def tx_length(self) -> int:
        return sum(e.length for e in self.exons)

    @property
    def tss(self) -> int:
        return self.start if self.strand == "+" else self.end

    def genomic(self, exon: Exon, tx_from: int, tx_to: int) -> tuple[int, int]:
        """Genomic span (1-based inclusive) of transcript offsets [tx_from, tx_to) inside ``exon``."""
        a, b = tx_from - exon.tx_start, tx_to - exon.tx_start
        if self.strand == "+":
            return exon.start + a, exon.start + b - 1
        return exon.end - b + 1, exon.end - a

    def cds_parts(self) -> list[tuple[int, tuple[int, int]]]:
        """(exon index, genomic span) of the coding part of each coding exon, transcript order."""
        lo, hi = self.utr5, self.tx_length - self.utr3
        out = []
        for i, exon in enumerate(self.exons):
            a, b = max(lo, exon.tx_start), min(hi, exon.tx_start + exon.length)
            if a < b:
                out.append((i, self.genomic(exon, a, b)))
        return out


# ---------------------------------------------------------------- genes


def _gene_shape(rng: np.random.Generator, name: str) -> tuple[list[int], list[int], int, int, str]:
    """Exon lengths, intron lengths, UTR lengths and strand of one gene."""
    strand = "+" if rng.random() < 0.5 else "-"
    if name in _FIXED:
        exons, introns, utr5, utr3, fixed_strand = _FIXED[name]
        introns = introns or [int(math.exp(rng.uniform(math.log(500), math.log(6000)))) for _ in exons[1:]]
        return list(exons), list(introns), utr5, utr3, fixed_strand or strand
    n = int(rng.integers(3, 11))
    utr5, utr3 = int(rng.integers(50, 200)), int(rng.integers(300, 1200))
    exons = [int(rng.integers(60, 250)) for _ in range(n)]
    exons[0] += utr5
    exons[-1] += utr3
    introns = [int(math.exp(rng.uniform(math.log(500), math.log(15000)))) for _ in range(n - 1)]
    return exons, introns, utr5, utr3, strand


def _place_gene(
    name: str, index: int, chrom: str, start: int, shape: tuple[list[int], list[int], int, int, str]
) -> Gene:
    exon_lengths, intron_lengths, utr5, utr3, strand = shape
    span = sum(exon_lengths) + sum(intron_lengths)
    exons, tx, pos = [], 0, start
    for i, length in enumerate(exon_lengths):
        if strand == "+":
            exons.append(Exon(tx, length, pos, pos + length - 1))
        else:
            exons.append(
                Exon(tx, length, start + span - (pos - start) - length, start + span - (pos - start) - 1)
            )
        tx += length
        pos += length + (intron_lengths[i] if i < len(intron_lengths) else 0)
    return Gene(name, f"DEMOG{index:05d}", f"DEMOT{index:05d}", chrom, strand, exons, utr5, utr3)


def layout_genes(rng: np.random.Generator) -> list[Gene]:
    """Gene models placed along each contig with random intergenic gaps (a wide one after LMO2)."""
    genes: list[Gene] = []
    index = 1
    for chrom, length in CONTIGS:
        names = GENES[chrom]
        shapes = [_gene_shape(rng, n) for n in names]
        spans = [sum(s[0]) + sum(s[1]) for s in shapes]
        minimum = [20_000] + [LMO2_GAP if names[i - 1] == "LMO2" else 5_000 for i in range(1, len(names))]
        free = length - sum(spans) - sum(minimum) - 20_000
        if free < 0:
            raise RuntimeError(f"demo genes do not fit on {chrom}")
        weights = rng.uniform(0.5, 1.5, len(names))
        pos = 1
        for name, shape, span, low, w in zip(names, shapes, spans, minimum, weights, strict=True):
            pos += low + int(free * w / weights.sum())
            genes.append(_place_gene(name, index, chrom, pos, shape))
            index += 1
            pos += span
    return genes


def gene_named(genes: Sequence[Gene], name: str) -> Gene:
    return next(g for g in genes if g.name == name)


def clonal_sites(genes: Sequence[Gene]) -> list[Insertion]:
    """A + site in SSU72's longest intron and a - site 20 kb beyond LMO2 in its wide gap."""
    ssu72 = gene_named(genes, "SSU72")
    ordered = sorted(ssu72.exons, key=lambda e: e.start)
    intron = max(itertools.pairwise(ordered), key=lambda p: p[1].start - p[0].end)
    ssu72_site = (intron[0].end + intron[1].start) // 2
    lmo2 = gene_named(genes, "LMO2")
    return [
        Insertion(ssu72.chrom, ssu72_site, "+", CLONAL_FRACTION, None, "clonal"),
        Insertion(lmo2.chrom, lmo2.end + LMO2_DISTANCE, "-", CLONAL_FRACTION, None, "clonal"),
    ]


def _sense(genome: dict[str, str], chrom: str, start: int, end: int, strand: str) -> str:
    seq = genome[chrom][start - 1 : end]
    return seq if strand == "+" else revcomp(seq)


def cds_of_exons(genome: dict[str, str], gene: Gene, exon_indices: Sequence[int]) -> str:
    """The coding (sense) sequence of the given exons (0-based, transcript order), concatenated."""
    return "".join(
        _sense(genome, gene.chrom, *span, gene.strand) for i, span in gene.cds_parts() if i in exon_indices
    )


def ef1a_region(genome: dict[str, str], gene: Gene, upstream: int = 1000) -> str:
    """Promoter (``upstream`` bp before the TSS) + exon 1 + intron 1, sense strand."""
    second = gene.exons[1]
    if gene.strand == "+":
        return _sense(genome, gene.chrom, gene.tss - upstream, second.start - 1, "+")
    return _sense(genome, gene.chrom, second.end + 1, gene.tss + upstream, "-")


# ---------------------------------------------------------------- genome


def _protected(genes: Sequence[Gene], sites: Sequence[Insertion]) -> dict[str, list[tuple[int, int]]]:
    """0-based half-open spans repeats must avoid: exons, the EF1a donor region, the clonal sites."""
    out: dict[str, list[tuple[int, int]]] = {c: [] for c, _ in CONTIGS}
    for gene in genes:
        out[gene.chrom] += [(e.start - 201, e.end + 200) for e in gene.exons]
    eef = gene_named(genes, "EEF1A1")
    out[eef.chrom].append((eef.start - 1200, eef.exons[1].end + 200))
    for site in sites:
        out[site.chrom].append((site.position - 1 - SITE_CLEARANCE, site.position + SITE_CLEARANCE))
    return out


def _families(rng: np.random.Generator) -> list[tuple[str, int, Callable[[], str]]]:
    """(family, copies, copy maker) of the interspersed and tandem repeats."""
    alu = random_dna(rng, 282, 0.52) + "A" * 18
    line = random_dna(rng, 6000, 0.40)

    def alu_copy() -> str:
        seq = alu if rng.random() < 0.8 else alu[int(rng.integers(20, 200)) :]
        return mutate(rng, seq, rng.uniform(0.05, 0.15))

    def line_copy() -> str:
        size = 6000 if rng.random() < 0.1 else int(rng.integers(300, 3000))
        return mutate(rng, line[-size:], rng.uniform(0.05, 0.15))

    def microsatellite() -> str:
        unit = random_dna(rng, int(rng.integers(1, 7)), 0.4)
        return (unit * 200)[: int(rng.integers(20, 100))]

    def tandem() -> str:
        unit = random_dna(rng, int(rng.integers(20, 180)), 0.45)
        return "".join(mutate(rng, unit, 0.02) for _ in range(int(rng.integers(5, 25))))

    return [("Alu_like", 320, alu_copy), ("LINE_like", 40, line_copy), ("microsat", 250, microsatellite),
            ("tandem", 8, tandem)]  # fmt: skip


def build_genome(
    rng: np.random.Generator, genes: Sequence[Gene], sites: Sequence[Insertion]
) -> tuple[dict[str, str], dict[str, list[tuple[int, int, str]]]]:
    """Background sequence, repeats outside protected spans, start/stop codons, motif scrub."""
    seqs = {c: bytearray(random_dna(rng, n, GC).encode()) for c, n in CONTIGS}
    busy = {c: np.zeros(n, dtype=bool) for c, n in CONTIGS}
    for chrom, spans in _protected(genes, sites).items():
        for a, b in spans:
            busy[chrom][max(0, a) : b] = True
    names = [c for c, _ in CONTIGS]
    weights = np.array([n for _, n in CONTIGS], dtype=float)
    repeats: dict[str, list[tuple[int, int, str]]] = {c: [] for c in names}
    for family, copies, make in _families(rng):
        placed = 0
        while placed < copies:
            seq = make()
            if rng.random() < 0.5:
                seq = revcomp(seq)
            chrom = names[int(rng.choice(len(names), p=weights / weights.sum()))]
            pos = int(rng.integers(0, len(seqs[chrom]) - len(seq)))
            if busy[chrom][pos : pos + len(seq)].any():
                continue
            seqs[chrom][pos : pos + len(seq)] = seq.encode()
            busy[chrom][pos : pos + len(seq)] = True
            repeats[chrom].append((pos, pos + len(seq), family))
            placed += 1
    for gene in genes:
        parts = gene.cds_parts()
        first, last = parts[0][1], parts[-1][1]
        start = (first[0], first[0] + 2) if gene.strand == "+" else (first[1] - 2, first[1])
        stop = (last[1] - 2, last[1]) if gene.strand == "+" else (last[0], last[0] + 2)
        for (a, b), codon in ((start, "ATG"), (stop, "TAA")):
            seqs[gene.chrom][a - 1 : b] = (codon if gene.strand == "+" else revcomp(codon)).encode()
    for contig_seq in seqs.values():
        scrub(contig_seq)
    return {c: s.decode() for c, s in seqs.items()}, {c: sorted(r) for c, r in repeats.items()}


# ---------------------------------------------------------------- vector


def vector_parts(
    rng: np.random.Generator, genome: dict[str, str], genes: Sequence[Gene]
) -> list[tuple[str, str, str, int]]:
    """The plasmid, piece by piece: (label, feature type, sequence, strand); label '' = spacer."""
    cd8a, bb, cd3z = gene_named(genes, "CD8A"), gene_named(genes, "TNFRSF9"), gene_named(genes, "CD247")
    bb_coding = [i for i, _ in bb.cds_parts()]
    z_coding = [i for i, _ in cd3z.cds_parts()]

    def rnd(n: int) -> str:
        return random_dna(rng, n)

    return [
        ("", "", rnd(80), 1),
        ("AmpR promoter", "promoter", rnd(105), -1),
        ("AmpR", "CDS", rnd(861), -1),
        ("", "", rnd(100), 1),
        ("ori", "rep_origin", rnd(589), 1),
        ("", "", rnd(60), 1),
        ("RSV promoter", "promoter", rnd(229), 1),
        ("5' LTR", "LTR", LTR_R_U5, 1),
        ("", "", rnd(25), 1),
        ("PBS", "primer_bind", rnd(18), 1),
        ("", "", rnd(30), 1),
        ("HIV-1 Psi", "misc_feature", rnd(126), 1),
        ("", "", rnd(200), 1),
        ("RRE", "misc_feature", rnd(234), 1),
        ("", "", rnd(300), 1),
        ("cPPT/CTS", "misc_feature", rnd(118), 1),
        ("", "", rnd(20), 1),
        ("EF1a promoter", "promoter", ef1a_region(genome, gene_named(genes, "EEF1A1")), 1),
        ("", "", rnd(20), 1),
        ("CD8A leader", "CDS", cds_of_exons(genome, cd8a, [0])[:63], 1),
        ("scFv", "CDS", rnd(720), 1),
        ("CD8A hinge/TM", "CDS", cds_of_exons(genome, cd8a, [1, 2]), 1),
        ("4-1BB", "CDS", cds_of_exons(genome, bb, bb_coding[-2:]), 1),
        ("CD3z", "CDS", cds_of_exons(genome, cd3z, z_coding[-3:]), 1),
        ("", "", rnd(20), 1),
        ("WPRE", "misc_feature", rnd(589), 1),
        ("", "", rnd(100), 1),
        ("PPT", "misc_feature", PPT, 1),
        ("3' LTR", "LTR", SIN_DU3 + LTR_R_U5, 1),
        ("", "", rnd(100), 1),
        ("f1 ori", "rep_origin", rnd(456), 1),
        ("", "", rnd(150), 1),
    ]


def feature_table(parts: Sequence[tuple[str, str, str, int]]) -> list[tuple[str, str, int, int, int]]:
    """(label, type, start, end, strand) with 1-based inclusive plasmid coordinates."""
    out, pos = [], 1
    for label, ftype, seq, strand in parts:
        if label:
            out.append((label, ftype, pos, pos + len(seq) - 1, strand))
        pos += len(seq)
    return out


def plasmid_sequence(parts: Sequence[tuple[str, str, str, int]]) -> str:
    return "".join(p[2] for p in parts)


def provirus_range(parts: Sequence[tuple[str, str, str, int]]) -> tuple[int, int]:
    """1-based plasmid range from the 5' LTR start to the 3' LTR end."""
    table = {label: (start, end) for label, _, start, end, _ in feature_table(parts)}
    return table["5' LTR"][0], table["3' LTR"][1]


def check_plasmid(plasmid: str) -> None:
    tail = LTR_R_U5[-20:]
    counts = (
        plasmid.count(_LENTI.five_prime_end),
        plasmid.count(tail),
        plasmid.count(_LENTI.three_prime_end),
    )
    if counts != (1, 2, 2):
        raise RuntimeError(f"demo plasmid motif counts (5' motif, LTR tail, 3' motif) are {counts}")
