"""Rebuild the bundled demo: a synthetic genome with repeats and genes, a lentiviral CAR plasmid
whose EF1a promoter and CAR cDNA pieces are copies of the demo genes, a tumour design and its truth.

Everything is drawn from one seed, so ``carvis make-demo --seed 7`` reproduces the committed files.
"""

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from Bio.Seq import Seq
from Bio.SeqFeature import FeatureLocation, SeqFeature
from Bio.SeqIO import write as write_seqio
from Bio.SeqRecord import SeqRecord

from carvis.core.io import atomic_write, format_value, write_tsv
from carvis.core.tables import TRUTH
from carvis.reference.vectors import build_vector
from carvis.sim.demo_genome import (
    CONTIGS,
    Gene,
    build_genome,
    check_plasmid,
    clonal_sites,
    feature_table,
    gene_named,
    layout_genes,
    plasmid_sequence,
    provirus_range,
    vector_parts,
)
from carvis.sim.insertions import Insertion, SiteDraw, random_insertions, truth_rows

SEED = 7
DEMO_SAMPLE = "demo_tumour"
DEMO_VECTOR = "demo_car"
DEMO_PURITY = 0.8
READS_SEED = 11
READS_COVERAGE = 30
#: Where the workflow writes the demo reads, relative to the demo folder.
READS_PREFIX = "reads/demo_tumour"
BYSTANDERS = 20
BYSTANDER_FRACTION = (0.002, 0.01)


@dataclass
class Demo:
    """Everything make-demo writes, in memory."""

    genome: dict[str, str]
    genes: list[Gene]
    repeats: dict[str, list[tuple[int, int, str]]]  # 0-based half-open, family
    parts: list[tuple[str, str, str, int]]  # (label, feature type, sequence, strand); label "" = spacer
    design: list[Insertion] = field(default_factory=list)


# ---------------------------------------------------------------- build and write


def build_demo(seed: int = SEED) -> Demo:
    """Draw the whole demo from ``seed``."""
    rng = np.random.default_rng(seed)
    genes = layout_genes(rng)
    clonal = clonal_sites(genes)
    genome, repeats = build_genome(rng, genes, clonal)
    parts = vector_parts(rng, genome, genes)
    check_plasmid(plasmid_sequence(parts))
    demo = Demo(genome, genes, repeats, parts)
    demo.design = clonal + _bystanders(rng, demo, clonal)
    return demo


def _bystanders(rng: np.random.Generator, demo: Demo, clonal: Sequence[Insertion]) -> list[Insertion]:
    """Low-fraction sites at least 500 bp from repeats and 10 kb from each other and the contig ends."""
    out: list[Insertion] = []
    while len(out) < BYSTANDERS:
        site = random_insertions(demo.genome, rng, SiteDraw(1, BYSTANDER_FRACTION, flank=10_000))[0]
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
    for label, ftype, start, end, strand in feature_table(parts):
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
        for label, ftype, a, b, s in feature_table(demo.parts)
    )
    genome_size = sum(len(s) for s in demo.genome.values())
    n_repeats = {f: sum(r[2] == f for rs in demo.repeats.values() for r in rs) for f in _REPEAT_NAMES}
    clonal = [i for i in demo.design if i.label == "clonal"]
    sites = "\n".join(f"| {i.chrom} | {i.position} | {i.orientation} | {i.cell_fraction} |" for i in clonal)
    ssu72, lmo2 = gene_named(demo.genes, "SSU72"), gene_named(demo.genes, "LMO2")
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
