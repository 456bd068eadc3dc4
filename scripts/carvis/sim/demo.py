"""Rebuild the bundled demo: a synthetic genome with repeats and genes, a lentiviral CAR plasmid
whose EF1a promoter and CAR cDNA pieces are copies of the demo genes, a tumour design and its truth.

Everything is drawn from one seed, so ``carvis make-demo --seed 7`` reproduces the committed files.
"""

from __future__ import annotations

import argparse
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from Bio.Seq import Seq
from Bio.SeqFeature import FeatureLocation, SeqFeature
from Bio.SeqIO import write as write_seqio
from Bio.SeqRecord import SeqRecord

from carvis.core.io import atomic_write, format_value, write_tsv
from carvis.core.seqs import revcomp
from carvis.core.tables import TRUTH
from carvis.reference.vectors import KINDS, build_vector
from carvis.sim.simulate import Insertion, random_insertions, truth_rows

SEED = 7
CONTIGS = (("chr1", 550_000), ("chr2", 400_000), ("chrX", 250_000))
GENES = {
    "chr1": ("DEMO1", "EGFR", "LMO2", "SSU72", "MECOM", "CCND2", "CD8A", "HMGA2", "PRDM16", "DEMO2"),
    "chr2": ("TET2", "EEF1A1", "CBL", "BACH2", "PBX2", "ZGPAT", "DEMO3", "KPNA4", "IKZF1"),
    "chrX": ("DEMO4", "CD28", "TNFRSF9", "DEMO5", "CD247", "DEMO6"),
}
GC = 0.405
DEMO_SAMPLE = "demo_tumour"
DEMO_VECTOR = "demo_car"
DEMO_PURITY = 0.8
READS_SEED = 11
READS_COVERAGE = 30
#: Where the workflow writes the demo reads, relative to the demo folder.
READS_PREFIX = "reads/demo_tumour"
CLONAL_FRACTION = 0.8
BYSTANDERS = 20
BYSTANDER_FRACTION = (0.002, 0.01)
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
_FORBIDDEN = (_LENTI.five_prime_end, _LENTI.three_prime_end)

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


@dataclass
class Demo:
    """Everything make-demo writes, in memory."""

    genome: dict[str, str]
    genes: list[Gene]
    repeats: dict[str, list[tuple[int, int, str]]]  # 0-based half-open, family
    parts: list[tuple[str, str, str, int]]  # (label, feature type, sequence, strand); label "" = spacer
    design: list[Insertion] = field(default_factory=list)


# ---------------------------------------------------------------- sequence helpers


def _random_dna(rng: np.random.Generator, n: int, gc: float = 0.5) -> str:
    """Random DNA without the lentiviral end motifs on either strand."""
    p = [(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]
    while True:
        seq = rng.choice(np.frombuffer(b"ACGT", dtype=np.uint8), size=n, p=p).tobytes().decode()
        if not any(m in seq or revcomp(m) in seq for m in _FORBIDDEN):
            return seq


def _mutate(rng: np.random.Generator, seq: str, divergence: float) -> str:
    """Substitutions (90%) and 1-3 bp indels (10%) at the given per-base divergence."""
    arr = bytearray(seq.encode())
    n_sub = int(rng.binomial(len(arr), divergence * 0.9))
    for pos in rng.integers(0, len(arr), n_sub):
        arr[pos] = b"ACGT"[(b"ACGT".index(arr[pos]) + int(rng.integers(1, 4))) % 4]
    n_indel = int(rng.binomial(len(arr), divergence * 0.1))
    for pos in sorted(rng.integers(0, len(arr) - 3, n_indel), reverse=True):
        size = int(rng.integers(1, 4))
        if rng.random() < 0.5:
            del arr[pos : pos + size]
        else:
            arr[pos:pos] = _random_dna(rng, size).encode()
    return arr.decode()


def _scrub(seq: bytearray) -> None:
    """Break every lentiviral end motif (either strand) by changing its middle base."""
    motifs = [m.encode() for m in _FORBIDDEN] + [revcomp(m).encode() for m in _FORBIDDEN]
    changed = True
    while changed:
        changed = False
        for motif in motifs:
            pos = seq.find(motif)
            while pos >= 0:
                mid = pos + len(motif) // 2
                seq[mid] = b"ACGT"[(b"ACGT".index(seq[mid]) + 1) % 4]
                changed = True
                pos = seq.find(motif, pos + 1)


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


def _layout_genes(rng: np.random.Generator) -> list[Gene]:
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


def _gene(genes: Sequence[Gene], name: str) -> Gene:
    return next(g for g in genes if g.name == name)


def _clonal_sites(genes: Sequence[Gene]) -> list[Insertion]:
    """A + site in SSU72's longest intron and a - site 20 kb beyond LMO2 in its wide gap."""
    ssu72 = _gene(genes, "SSU72")
    ordered = sorted(ssu72.exons, key=lambda e: e.start)
    intron = max(itertools.pairwise(ordered), key=lambda p: p[1].start - p[0].end)
    ssu72_site = (intron[0].end + intron[1].start) // 2
    lmo2 = _gene(genes, "LMO2")
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
    eef = _gene(genes, "EEF1A1")
    out[eef.chrom].append((eef.start - 1200, eef.exons[1].end + 200))
    for site in sites:
        out[site.chrom].append((site.position - 1 - SITE_CLEARANCE, site.position + SITE_CLEARANCE))
    return out


def _families(rng: np.random.Generator) -> list[tuple[str, int, Callable[[], str]]]:
    """(family, copies, copy maker) of the interspersed and tandem repeats."""
    alu = _random_dna(rng, 282, 0.52) + "A" * 18
    line = _random_dna(rng, 6000, 0.40)

    def alu_copy() -> str:
        seq = alu if rng.random() < 0.8 else alu[int(rng.integers(20, 200)) :]
        return _mutate(rng, seq, rng.uniform(0.05, 0.15))

    def line_copy() -> str:
        size = 6000 if rng.random() < 0.1 else int(rng.integers(300, 3000))
        return _mutate(rng, line[-size:], rng.uniform(0.05, 0.15))

    def microsatellite() -> str:
        unit = _random_dna(rng, int(rng.integers(1, 7)), 0.4)
        return (unit * 200)[: int(rng.integers(20, 100))]

    def tandem() -> str:
        unit = _random_dna(rng, int(rng.integers(20, 180)), 0.45)
        return "".join(_mutate(rng, unit, 0.02) for _ in range(int(rng.integers(5, 25))))

    return [("Alu_like", 320, alu_copy), ("LINE_like", 40, line_copy), ("microsat", 250, microsatellite),
            ("tandem", 8, tandem)]  # fmt: skip


def _build_genome(
    rng: np.random.Generator, genes: Sequence[Gene], sites: Sequence[Insertion]
) -> tuple[dict[str, str], dict[str, list[tuple[int, int, str]]]]:
    """Background sequence, repeats outside protected spans, start/stop codons, motif scrub."""
    seqs = {c: bytearray(_random_dna(rng, n, GC).encode()) for c, n in CONTIGS}
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
        _scrub(contig_seq)
    return {c: s.decode() for c, s in seqs.items()}, {c: sorted(r) for c, r in repeats.items()}


# ---------------------------------------------------------------- vector


def _vector_parts(
    rng: np.random.Generator, genome: dict[str, str], genes: Sequence[Gene]
) -> list[tuple[str, str, str, int]]:
    """The plasmid, piece by piece: (label, feature type, sequence, strand); label '' = spacer."""
    cd8a, bb, cd3z = _gene(genes, "CD8A"), _gene(genes, "TNFRSF9"), _gene(genes, "CD247")
    bb_coding = [i for i, _ in bb.cds_parts()]
    z_coding = [i for i, _ in cd3z.cds_parts()]

    def rnd(n: int) -> str:
        return _random_dna(rng, n)

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
        ("EF1a promoter", "promoter", ef1a_region(genome, _gene(genes, "EEF1A1")), 1),
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


def _feature_table(parts: Sequence[tuple[str, str, str, int]]) -> list[tuple[str, str, int, int, int]]:
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
    table = {label: (start, end) for label, _, start, end, _ in _feature_table(parts)}
    return table["5' LTR"][0], table["3' LTR"][1]


def _check_plasmid(plasmid: str) -> None:
    tail = LTR_R_U5[-20:]
    counts = (
        plasmid.count(_LENTI.five_prime_end),
        plasmid.count(tail),
        plasmid.count(_LENTI.three_prime_end),
    )
    if counts != (1, 2, 2):
        raise RuntimeError(f"demo plasmid motif counts (5' motif, LTR tail, 3' motif) are {counts}")


# ---------------------------------------------------------------- build and write


def build_demo(seed: int = SEED) -> Demo:
    """Draw the whole demo from ``seed``."""
    rng = np.random.default_rng(seed)
    genes = _layout_genes(rng)
    clonal = _clonal_sites(genes)
    genome, repeats = _build_genome(rng, genes, clonal)
    parts = _vector_parts(rng, genome, genes)
    _check_plasmid(plasmid_sequence(parts))
    demo = Demo(genome, genes, repeats, parts)
    demo.design = clonal + _bystanders(rng, demo, clonal)
    return demo


def _bystanders(rng: np.random.Generator, demo: Demo, clonal: Sequence[Insertion]) -> list[Insertion]:
    """Low-fraction sites at least 500 bp from repeats and 10 kb from each other and the contig ends."""
    out: list[Insertion] = []
    while len(out) < BYSTANDERS:
        site = random_insertions(demo.genome, 1, rng, BYSTANDER_FRACTION, flank=10_000)[0]
        near_repeat = any(a - 500 < site.position <= b + 500 for a, b, _ in demo.repeats[site.chrom])
        near_site = any(
            c.chrom == site.chrom and abs(c.position - site.position) < 10_000 for c in [*clonal, *out]
        )
        if not near_repeat and not near_site:
            out.append(site)
    return out


def _write_fasta(path: Path, records: Sequence[tuple[str, str]]) -> None:
    with atomic_write(path) as out:
        for name, seq in records:
            out.write(f">{name}\n")
            out.writelines(seq[i : i + 60] + "\n" for i in range(0, len(seq), 60))


def _gtf_line(gene: Gene, feature: str, start: int, end: int, extra: str = "", frame: str = ".") -> str:
    attrs = f'gene_id "{gene.gene_id}"; gene_version "1";'
    if feature != "gene":
        attrs += f' transcript_id "{gene.transcript_id}"; transcript_version "1";'
    attrs += f' gene_name "{gene.name}"; gene_source "carvis_demo"; gene_biotype "protein_coding";'
    if feature != "gene":
        attrs += f' transcript_name "{gene.name}-201"; transcript_biotype "protein_coding";'
    fields = [gene.chrom, "carvis_demo", feature, str(start), str(end), ".", gene.strand, frame]
    return "\t".join(fields) + "\t" + attrs + extra + "\n"


def _gtf_gene(gene: Gene) -> list[str]:
    lines = [
        _gtf_line(gene, "gene", gene.start, gene.end),
        _gtf_line(gene, "transcript", gene.start, gene.end),
    ]
    cds = dict(gene.cds_parts())
    done = 0
    for i, exon in enumerate(gene.exons):
        extra = f' exon_number "{i + 1}"; exon_id "{gene.transcript_id}.E{i + 1}";'
        lines.append(_gtf_line(gene, "exon", exon.start, exon.end, extra))
        if i in cds:
            a, b = cds[i]
            lines.append(_gtf_line(gene, "CDS", a, b, f' exon_number "{i + 1}";', str((3 - done % 3) % 3)))
            done += b - a + 1
    lo, hi = gene.utr5, gene.tx_length - gene.utr3
    for exon in gene.exons:
        e0, e1 = exon.tx_start, exon.tx_start + exon.length
        for kind, a, b in (("five_prime_utr", e0, min(e1, lo)), ("three_prime_utr", max(e0, hi), e1)):
            if a < b:
                lines.append(_gtf_line(gene, kind, *gene.genomic(exon, a, b)))
    return lines


def _write_gtf(path: Path, genes: Sequence[Gene]) -> None:
    order = {c: i for i, (c, _) in enumerate(CONTIGS)}
    with atomic_write(path) as out:
        out.write("#!genome-build carvis-demo-1\n#!genome-version carvis-demo\n")
        for gene in sorted(genes, key=lambda g: (order[g.chrom], g.start)):
            out.writelines(_gtf_gene(gene))


def _write_genbank(path: Path, parts: Sequence[tuple[str, str, str, int]]) -> None:
    record = SeqRecord(
        Seq(plasmid_sequence(parts)),
        id=DEMO_VECTOR,
        name=DEMO_VECTOR,
        description="synthetic lentiviral CAR transfer plasmid (carvis demo)",
        annotations={"molecule_type": "DNA", "topology": "circular", "date": "01-JAN-2024"},
    )
    for label, ftype, start, end, strand in _feature_table(parts):
        location = FeatureLocation(start - 1, end, strand=strand)
        record.features.append(SeqFeature(location, type=ftype, qualifiers={"label": [label]}))
    with atomic_write(path) as out:
        write_seqio(record, out, "genbank")


def simulate_args(demo_dir: str | Path, out_prefix: str | Path) -> list[str]:
    """The exact ``carvis simulate`` arguments that make the demo reads."""
    d = Path(demo_dir)
    return [
        "--genome", str(d / "genome.fa"),
        "--vector", str(d / "vector.gb"),
        "--vector-name", DEMO_VECTOR,
        "--kind", "lentiviral",
        "--design", str(d / "design.tsv"),
        "--coverage", str(READS_COVERAGE),
        "--purity", str(DEMO_PURITY),
        "--seed", str(READS_SEED),
        "--sample", DEMO_SAMPLE,
        "--out-prefix", str(out_prefix),
    ]  # fmt: skip


def write_demo(out_dir: str | Path, seed: int = SEED) -> list[Path]:
    """Write every demo file into ``out_dir``; returns the paths."""
    out = Path(out_dir)
    demo = build_demo(seed)
    paths = {n: out / n for n in ("genome.fa", "annotation.gtf", "vector.gb", "vector.fa", "design.tsv")}
    _write_fasta(paths["genome.fa"], list(demo.genome.items()))
    _write_gtf(paths["annotation.gtf"], demo.genes)
    _write_genbank(paths["vector.gb"], demo.parts)
    _write_fasta(paths["vector.fa"], [(DEMO_VECTOR, plasmid_sequence(demo.parts))])
    design_cols = ("chrom", "position", "orientation", "cell_fraction", "class")
    write_tsv(paths["design.tsv"], design_cols, [_design_row(i) for i in demo.design])
    vector = build_vector(DEMO_VECTOR, paths["vector.gb"], "lentiviral")
    rows = truth_rows(demo.genome, vector, demo.design, sample=DEMO_SAMPLE, purity=DEMO_PURITY)
    paths["truth.tsv"] = out / "truth.tsv"
    write_tsv(paths["truth.tsv"], TRUTH, rows)
    paths["samples.tsv"] = out / "samples.tsv"
    sheet = {
        "sample": DEMO_SAMPLE,
        "fastq_1": f"{READS_PREFIX}_R1.fastq.gz",
        "fastq_2": f"{READS_PREFIX}_R2.fastq.gz",
        "vector": DEMO_VECTOR,
        "purity": DEMO_PURITY,
        "assay": "wgs",
    }
    write_tsv(paths["samples.tsv"], tuple(sheet), [sheet])
    paths["README.md"] = out / "README.md"
    with atomic_write(paths["README.md"]) as handle:
        handle.write(_readme(demo, seed, len(vector.provirus)))
    return list(paths.values())


def _design_row(ins: Insertion) -> dict[str, object]:
    return {
        "chrom": ins.chrom,
        "position": ins.position,
        "orientation": ins.orientation,
        "cell_fraction": ins.cell_fraction,
        "class": ins.label,
    }


def _readme(demo: Demo, seed: int, provirus_length: int) -> str:
    start, end = provirus_range(demo.parts)
    plasmid = plasmid_sequence(demo.parts)
    features = "\n".join(
        f"| {label} | {ftype} | {a} | {b} | {'+' if s > 0 else '-'} |"
        for label, ftype, a, b, s in _feature_table(demo.parts)
    )
    genome_size = sum(len(s) for s in demo.genome.values())
    n_repeats = {f: sum(r[2] == f for rs in demo.repeats.values() for r in rs) for f in _REPEAT_NAMES}
    clonal = [i for i in demo.design if i.label == "clonal"]
    sites = "\n".join(f"| {i.chrom} | {i.position} | {i.orientation} | {i.cell_fraction} |" for i in clonal)
    ssu72, lmo2 = _gene(demo.genes, "SSU72"), _gene(demo.genes, "LMO2")
    files = "\n".join(f"| `{name}` | {text} |" for name, text in _FILES)
    return _README.replace("{files}", files).format(
        seed=seed,
        genome_size=genome_size,
        contigs=", ".join(f"{c} ({len(s):,} bp)" for c, s in demo.genome.items()),
        repeats=", ".join(f"{n_repeats[f]} {f}" for f in _REPEAT_NAMES),
        n_genes=len(demo.genes),
        plasmid_length=len(plasmid),
        start=start,
        end=end,
        provirus_length=provirus_length,
        features=features,
        sites=sites,
        ssu72=f"{ssu72.chrom}:{ssu72.start}-{ssu72.end} ({ssu72.strand})",
        lmo2=f"{lmo2.chrom}:{lmo2.start}-{lmo2.end} ({lmo2.strand})",
        n_bystanders=len(demo.design) - len(clonal),
        low=format_value(BYSTANDER_FRACTION[0]),
        high=format_value(BYSTANDER_FRACTION[1]),
        purity=DEMO_PURITY,
        simulate=" ".join(simulate_args("resources/demo", f"resources/demo/{READS_PREFIX}")),
    )


_REPEAT_NAMES = ("Alu_like", "LINE_like", "microsat", "tandem")
_FILES = (
    ("genome.fa", "{genome_size:,} bp genome: {contigs}. GC about 41%, with {repeats} copies "
     "(Alu-like 300 bp and LINE-like 6 kb families at 5-15% divergence, random strand; "
     "microsatellites; tandem arrays)."),
    ("annotation.gtf", "Ensembl-style GTF of {n_genes} single-transcript protein-coding genes "
     "(gene, transcript, exon, CDS, UTR lines)."),
    ("vector.gb`, `vector.fa", "`demo_car`: a {plasmid_length:,} bp lentiviral CAR transfer plasmid "
     "(GenBank with labelled features; the same sequence as FASTA)."),
    ("design.tsv", "the demo tumour's integrations: chrom, position (first TSD base), orientation, "
     "cell_fraction, class."),
    ("truth.tsv", "the expected sites (carvis truth columns; `fragments` is NA because it depends "
     "on the reads)."),
    ("samples.tsv", "the sample sheet: one WGS sample `demo_tumour`, purity {purity}; its reads are "
     "simulated by the workflow into `reads/` (git-ignored)."),
)  # fmt: skip

_README = """# carvis demo data (synthetic)

Everything in this folder is synthetic and made by `carvis make-demo --out resources/demo --seed {seed}`
(`scripts/carvis/demo.py`); rerunning it reproduces these files byte for byte. No file here is real
human or vector sequence, except that the LTR R-U5 and SIN dU3 follow the HIV-1 motifs.

| file | what it is |
|---|---|
{files}

## Vector

The provirus is plasmid bases **{start}-{end}** (5' LTR start to 3' LTR end). `build_vector("demo_car",
"resources/demo/vector.gb", "lentiviral")` finds the same range from the two `LTR` features, and
`provirus: [{start}, {end}]` gives the identical {provirus_length:,} bp provirus: the 234 bp SIN 3' LTR
(dU3-R-U5, starts `TGGAAGGGCT`, ends `AAAATCTCTAGCA`) copied to both ends around the internal region
(PBS to PPT). The 5' LTR in the plasmid is RSV promoter + R-U5. Pieces homologous to the demo genome:
the EF1a promoter is the demo EEF1A1 promoter (1 kb upstream of its TSS) + exon 1 + intron 1; the CD8A
leader, the CD8A hinge/TM (exons 2-3 as cDNA), 4-1BB (last two coding exons of TNFRSF9) and CD3z (last
three coding exons of CD247) are copies of the demo genes' coding sequence. Everything else is random.

| feature | type | start | end | strand |
|---|---|---|---|---|
{features}

## Tumour design

Purity {purity}. Two clonal sites carried by every tumour cell (cell fraction 0.8 = clonal fraction 1.0),
both in unique sequence (at least 1.5 kb from any repeat copy):

| chrom | position | orientation | cell_fraction |
|---|---|---|---|
{sites}

The first is in an intron of SSU72 {ssu72}; the second is intergenic, 20 kb from LMO2 {lmo2}.
Plus {n_bystanders} bystander sites at cell fractions {low}-{high} (class `bystander`).

The workflow simulates the reads with

    carvis simulate {simulate}
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="resources/demo", help="output folder")
    parser.add_argument("--seed", type=int, default=SEED)


def run(args: argparse.Namespace) -> int:
    paths = write_demo(args.out, args.seed)
    print(f"carvis make-demo: wrote {len(paths)} files to {args.out}")
    return 0
