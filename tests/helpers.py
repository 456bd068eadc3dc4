"""Shared test helpers: random genomes, small test vectors, simulated samples, alignment.

Reads come from the project's simulator (:mod:`carvis.sim`); named by origin (``<label>_<n>``), they let
tests compare results with the truth.
"""

from __future__ import annotations

import gzip
import itertools
import os
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pysam
import pytest

from carvis.cli import main as carvis
from carvis.core import io
from carvis.core.errors import InputError
from carvis.core.seqs import revcomp
from carvis.reads.align import Aligner, align_command, bam_command
from carvis.reference.vectors import KINDS, VectorKind, VectorModel, build_vector
from carvis.sim.insertions import Insertion, SiteDraw, left_junction, random_insertions, tsd_length
from carvis.sim.sequences import mutate, random_dna
from carvis.sim.simulate import SimulationResult, TumourModel, simulate_tumour

LENTI = KINDS["lentiviral"]
ROOT = Path(__file__).resolve().parents[1]


def random_seq(rng: random.Random, length: int, avoid: Sequence[str] = ()) -> str:
    """Random DNA free of the ``avoid`` motifs on either strand (:func:`carvis.sim.sequences.random_dna`,
    seeded from ``rng``)."""
    return random_dna(np.random.default_rng(rng.getrandbits(64)), length, avoid=avoid)


def random_genome(rng: random.Random, sizes: Mapping[str, int]) -> dict[str, str]:
    """Contig name -> random sequence (free of the lentiviral end motifs)."""
    avoid = (LENTI.five_prime_end, LENTI.three_prime_end)
    return {name: random_seq(rng, size, avoid) for name, size in sizes.items()}


def write_fasta(path: str | Path, seqs: Mapping[str, str]) -> Path:
    """Write sequences as FASTA with :func:`carvis.core.io.write_fasta`; return the path."""
    io.write_fasta(path, seqs.items())
    return Path(path)


def lentiviral_plasmid(
    rng: random.Random, internal: str, ltr_length: int = 400, ru5_length: int = 180, kind: VectorKind = LENTI
) -> tuple[str, tuple[int, int]]:
    """A transfer plasmid: backbone + promoter-R-U5 (5' LTR) + internal + full 3' LTR + backbone.

    Returns the plasmid and the 1-based provirus range (5' LTR start to 3' LTR end). ``kind`` gives
    the LTR end motifs (a gammaretroviral plasmid has the same layout).
    """
    avoid = (kind.five_prime_end, kind.three_prime_end)
    body = ltr_length - len(kind.five_prime_end) - len(kind.three_prime_end)
    ltr = kind.five_prime_end + random_seq(rng, body, avoid) + kind.three_prime_end
    five_ltr = random_seq(rng, 250, avoid) + ltr[-ru5_length:]
    left, right = random_seq(rng, 1000, avoid), random_seq(rng, 1500, avoid)
    plasmid = left + five_ltr + internal + ltr + right
    return plasmid, (len(left) + 1, len(plasmid) - len(right))


def build_test_vector(path: str | Path, name: str, internal: str, rng: random.Random) -> VectorModel:
    """Write a lentiviral test plasmid to ``path`` (FASTA) and derive its VectorModel."""
    plasmid, span = lentiviral_plasmid(rng, internal)
    write_fasta(path, {name: plasmid})
    return build_vector(name, path, "lentiviral", provirus=span)


def write_combined_reference(
    path: str | Path, genome: Mapping[str, str], models: Iterable[VectorModel]
) -> Path:
    """Genome contigs followed by every vector's provirus and backbone contigs."""
    seqs = dict(genome)
    for model in models:
        seqs.update(model.contigs())
    return write_fasta(path, seqs)


def simulate_reads(
    prefix: str | Path,
    seqs: Mapping[str, str],
    vector: VectorModel,
    depth: float,
    seed: int,
    insertions: Sequence[Insertion] = (),
) -> SimulationResult:
    """Error-free pairs (350 +- 40 bp fragments) of ``seqs`` at ``depth``, named ``<contig>_<n>``:
    the simulator (:func:`carvis.sim.simulate.simulate_tumour`) on them as a genome, with ``insertions``.
    """
    genome = write_fasta(f"{prefix}.genome.fa", seqs)
    model = TumourModel(coverage=depth, insert_sd=40, error_rate=0.0, origin_names=True, seed=seed)
    return simulate_tumour(genome, vector, insertions, prefix, model)


def fastq_names(path: str | Path) -> list[str]:
    """The read names of a (gzipped) FASTQ, in order, without ``/1`` or ``/2``."""
    with gzip.open(path, "rt") as handle:
        return [line[1:].split()[0].split("/")[0] for line in itertools.islice(handle, 0, None, 4)]


def write_fastq_pairs(r1: str | Path, r2: str | Path, pairs: Iterable[tuple[str, str, str]]) -> None:
    """Write pairs as gzipped FASTQ (constant high quality)."""
    with gzip.open(r1, "wt", compresslevel=1) as out1, gzip.open(r2, "wt", compresslevel=1) as out2:
        for name, seq1, seq2 in pairs:
            out1.write(f"@{name}/1\n{seq1}\n+\n{'I' * len(seq1)}\n")
            out2.write(f"@{name}/2\n{seq2}\n+\n{'I' * len(seq2)}\n")


def require_tools(*tools: str) -> None:
    """Skip the calling test when an external tool is not installed."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")


def align_pairs(
    reference: str | Path,
    r1: str | Path,
    r2: str | Path,
    out_bam: str | Path,
    *,
    sample: str = "S",
    threads: int = 2,
    aligner: str = "minimap2",
) -> Path:
    """Align with the workflow's command (:func:`carvis.reads.align.bam_command`)."""
    require_tools(aligner, "samtools")
    if aligner == "bwa":
        subprocess.run(["bwa", "index", str(reference)], check=True, capture_output=True)
    align = align_command(Aligner(aligner, reference, threads), [r1], [r2], sample)
    cmd = bam_command(align, out_bam, threads)
    subprocess.run(["bash", "-o", "pipefail", "-c", cmd], check=True, capture_output=True)
    return Path(out_bam)


@dataclass(frozen=True)
class Site:
    """A simulated insertion as the tests compare with: ``a`` the first TSD base, the TSD length and the left
    junction resolved for the vector (:mod:`carvis.sim.insertions`)."""

    label: str
    chrom: str
    a: int
    orientation: str
    tsd: int
    left_junction: int
    cell_fraction: float

    @classmethod
    def of(cls, ins: Insertion, vector: VectorModel) -> Site:
        tsd, left = tsd_length(ins, vector), left_junction(ins, vector)
        return cls(ins.name, ins.chrom, ins.position, ins.orientation, tsd, left, ins.cell_fraction)


@dataclass
class IntegrationSample:
    """A simulated tumour sample with known integration sites, aligned to the combined reference."""

    genome: dict[str, str]
    model: VectorModel
    genome_fasta: Path
    reference: Path
    mask_bed: Path
    bam: Path
    insertions: dict[str, Site]
    duplicate_pairs: list[tuple[str, str]]  # (original, copy): duplicated fragments of S1-S4's alleles
    homologous_piece: tuple[int, int]  # 0-based half-open on the provirus


def build_integration_sample(workdir: str | Path, seed: int = 7, depth: float = 40.0) -> IntegrationSample:
    """A diploid ~100 kb genome with vector insertions of known truth, plus distractors, simulated by
    :func:`carvis.sim.simulate.simulate_tumour` (no sequencing errors, reads named by origin) and aligned.

    Truth sites: ``S1`` chr1 + clonal, ``S2`` chr2 - clonal with 2 bp microhomology at both junctions,
    ``S3`` chr1 + in 30 % of cells, ``S4`` chr2 - seen by discordant pairs only (700 bp fragments).
    Distractors (never sites): ``H`` the vector's genome-homologous piece joined to chr1, ``B`` backbone
    joined to chr2, 2-LTR circles (1.5 copies per genome) and PCR duplicates of 10 % of the fragments (names
    ``dup_<original>``).
    """
    workdir = Path(workdir)
    rng = random.Random(seed)
    genome = random_genome(rng, {"chr1": 60_000, "chr2": 40_000})
    piece = mutate(np.random.default_rng(seed), genome["chr2"][23_000:23_300], 0.01)
    avoid = (LENTI.five_prime_end, LENTI.three_prime_end)
    internal = random_seq(rng, 1200, avoid) + piece + random_seq(rng, 1000, avoid)
    model = build_test_vector(workdir / "vector.fa", "lv", internal, rng)
    provirus, tsd = model.provirus, model.tsd_length
    # S2 microhomology: the genome bases just beyond each junction repeat the vector's terminal bases.
    rc = revcomp(provirus)
    chr2 = list(genome["chr2"])
    a2 = 8_001
    chr2[a2 + tsd - 1 : a2 + tsd + 1] = rc[:2]
    chr2[a2 - 3 : a2 - 1] = rc[-2:]
    genome["chr2"] = "".join(chr2)
    events = [
        Insertion("chr1", 15_001, "+", 1.0, tsd, name="S1"),
        Insertion("chr2", a2, "-", 1.0, tsd, name="S2"),
        Insertion("chr1", 40_001, "+", 0.3, tsd, name="S3"),
        Insertion("chr2", 30_001, "-", 1.0, tsd, name="S4", discordant_only=True, fragment_mean=700),
        Insertion("chr1", 27_001, "+", 1.0, 0, name="H", insert=piece),
        Insertion("chr2", 16_001, "+", 1.0, 0, name="B", insert=model.backbone[100:1100]),
    ]
    genome_fasta = write_fasta(workdir / "genome.fa", genome)
    library = TumourModel(
        coverage=depth,
        insert_sd=40,
        error_rate=0.0,
        circles=1.5,
        duplicates=0.1,
        origin_names=True,
        seed=seed,
    )
    reads = simulate_tumour(genome_fasta, model, events, workdir / "sim", library)
    sites = {e.name: Site.of(e, model) for e in events if e.is_site}
    copies = [name for name in fastq_names(reads.r1) if name.startswith("dup_")]
    duplicates = [(name[4:], name) for name in copies if name[4:].split("_")[0] in sites]
    reference = write_combined_reference(workdir / "combined.fa", genome, [model])
    start = model.provirus.find(piece)
    mask_bed = workdir / "mask.bed"
    mask_bed.write_text(f"{model.provirus_contig}\t{start}\t{start + len(piece)}\tpiece\n")
    bam = align_pairs(reference, reads.r1, reads.r2, workdir / "sample.bam")
    return IntegrationSample(
        genome, model, genome_fasta, reference, mask_bed, bam, sites, duplicates, (start, start + len(piece))
    )


def transposon_plasmid(
    rng: random.Random, kind: VectorKind, cargo: int = 2000
) -> tuple[str, tuple[int, int]]:
    """backbone + TSD motif + ITR (kind's 5' end) + cargo + ITR (3' end) + TSD motif + backbone, and the
    1-based transposon range."""
    avoid = (kind.five_prime_end, LENTI.five_prime_end, LENTI.three_prime_end)
    element = kind.five_prime_end + random_seq(rng, cargo, avoid) + kind.three_prime_end
    left = random_seq(rng, 1200, avoid) + "TTAA"
    return left + element + "TTAA" + random_seq(rng, 1500, avoid), (len(left) + 1, len(left) + len(element))


@dataclass
class KindSample:
    """A simulated sample of one vector kind with known sites (labels ``K<n>``), aligned."""

    genome: dict[str, str]
    model: VectorModel
    genome_fasta: Path
    bam: Path
    insertions: dict[str, Site]


def target_sites(
    rng: random.Random, genome: dict[str, str], fractions: Sequence[float], motif: str, spacing: int = 6000
) -> list[Insertion]:
    """One site per cell fraction (named ``K<i>``) starting with ``motif``, at least ``spacing`` bp apart and
    from the contig ends: :func:`carvis.sim.insertions.random_insertions`, seeded from ``rng``."""
    draws = np.random.default_rng(rng.getrandbits(64))
    found: list[Insertion] = []
    while len(found) < len(fractions):
        fraction = fractions[len(found)]
        try:
            (site,) = random_insertions(
                genome, draws, SiteDraw(1, (fraction, fraction), "clonal", spacing, motif)
            )
        except InputError:  # no motif among this draw's positions: draw again
            continue
        if all(s.chrom != site.chrom or abs(s.position - site.position) > spacing for s in found):
            found.append(replace(site, name=f"K{len(found)}"))
    return found


def build_kind_sample(
    workdir: str | Path,
    kind: str,
    fractions: list[float],
    *,
    seed: int = 11,
    depth: float = 30.0,
    contamination_depth: float = 0.0,
) -> KindSample:
    """Sites of a piggyBac or gammaretroviral vector (one per cell fraction) in a ~120 kb genome, aligned.

    Reads from :func:`carvis.sim.simulate.simulate_tumour`. piggyBac sites start at TTAA (the duplicated
    target); ``contamination_depth`` adds reads of the whole circular plasmid at that depth.
    """
    workdir = Path(workdir)
    rng = random.Random(seed)
    genome = random_genome(rng, {"chr1": 70_000, "chr2": 50_000})
    vkind = KINDS[kind]
    if vkind.long_terminal_repeats:
        avoid = (vkind.five_prime_end, vkind.three_prime_end)
        plasmid, span = lentiviral_plasmid(rng, random_seq(rng, 1500, avoid), kind=vkind)
    else:
        plasmid, span = transposon_plasmid(rng, vkind)
    write_fasta(workdir / "vector.fa", {kind: plasmid})
    model = build_vector(kind, workdir / "vector.fa", kind, provirus=span)
    motif = "TTAA" if kind == "piggybac" else ""
    events = target_sites(rng, genome, fractions, motif)
    genome_fasta = write_fasta(workdir / "genome.fa", genome)
    # the plasmid at depth coverage x contamination / 2
    library = TumourModel(
        coverage=depth, insert_sd=40, contamination=2 * contamination_depth / depth, seed=seed
    )
    reads = simulate_tumour(genome_fasta, model, events, workdir / "sim", library)
    reference = write_combined_reference(workdir / "combined.fa", genome, [model])
    bam = align_pairs(reference, reads.r1, reads.r2, workdir / "sample.bam")
    return KindSample(genome, model, genome_fasta, bam, {e.name: Site.of(e, model) for e in events})


def without_scontrol() -> dict[str, str]:
    """The environment with a failing ``scontrol`` first on PATH, for local (non-SLURM) snakemake runs.

    snakemake-executor-plugin-slurm runs ``scontrol show config`` whenever snakemake starts (10 s
    timeout): on a machine with SLURM installed but not running, every run would wait those 10 s.
    """
    stub = Path(tempfile.gettempdir()) / "carvis-no-scontrol"
    if not (stub / "scontrol").exists():
        stub.mkdir(exist_ok=True)
        script = stub / f".scontrol.{os.getpid()}"
        script.write_text("#!/bin/sh\nexit 1\n")
        script.chmod(0o755)
        os.replace(script, stub / "scontrol")
    return {**os.environ, "PATH": f"{stub}{os.pathsep}{os.environ.get('PATH', '')}"}


def snakemake(
    workdir: Path, *args: str, snakefile: Path = ROOT / "Snakefile", slurm: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run a workflow (carvis by default) in ``workdir`` with the Python running the tests; never raises.

    Local runs (``slurm`` false) hide ``scontrol`` (:func:`without_scontrol`).
    """
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(snakefile), "--directory", str(workdir)]
    env = None if slurm else without_scontrol()
    return subprocess.run([*cmd, *args], capture_output=True, text=True, check=False, env=env)


def simulate_demo_tumour(prefix: Path, sample: str, seed: int) -> None:
    """``carvis simulate`` of the demo design (demo genome and CAR, 15x, purity 0.8) into ``prefix``."""
    demo = ROOT / "resources" / "demo"
    args = ["simulate", "--genome", str(demo / "genome.fa"), "--vector", str(demo / "vector.gb")]
    args += ["--vector-name", "demo_car", "--design", str(demo / "design.tsv"), "--coverage", "15"]
    args += ["--purity", "0.8", "--seed", str(seed), "--sample", sample, "--out-prefix", str(prefix)]
    assert carvis(args) == 0


#: Baited single-copy control loci of the demo genome, and the baited flanks of its clonal SSU72 site.
CAPTURE_CONTROLS = [("chr1", s, s + 4000) for s in (10_000, 30_000, 75_000, 120_000, 200_000, 400_000)]
CAPTURE_CONTROLS += [("chr2", s, s + 4000) for s in (10_000, 140_000, 250_000, 390_000)]
CAPTURE_FLANK = [("chr1", 248_000, 254_000)]  # the clonal SSU72 site at chr1:251233


def captured_demo(
    wgs: Path, sample: str, off_target: float, seed: int
) -> tuple[dict[str, int], dict[str, object]]:
    """Capture the simulated demo library ``wgs``_R1/_R2.fastq.gz with vector, control and flank baits into
    ``sample``_R1/_R2 beside it; write the sheet and BEDs there. Returns the capture counts and the config."""
    from carvis.sim.capture import capture_pairs
    from carvis.sim.insertions import read_genome

    demo, work = ROOT / "resources" / "demo", wgs.parent
    genome = read_genome(demo / "genome.fa")
    vector = build_vector("demo_car", demo / "vector.gb", "lentiviral")
    regions = CAPTURE_CONTROLS + CAPTURE_FLANK
    baits = {"provirus": vector.provirus} | {f"{c}:{s}": genome[c][s:e] for c, s, e in regions}
    reads = (Path(f"{wgs}_R1.fastq.gz"), Path(f"{wgs}_R2.fastq.gz"))
    counts = capture_pairs(reads, baits, work / sample, off_target, seed)
    sheet = work / "samples.tsv"
    sheet.write_text(
        "sample\tfastq_1\tfastq_2\tvector\tpurity\tassay\n"
        f"{sample}\t{sample}_R1.fastq.gz\t{sample}_R2.fastq.gz\tdemo_car\t0.8\tcapture\n"
    )
    beds = {}
    for key, name, bed in (
        ("control_bed", "controls", CAPTURE_CONTROLS),
        ("flank_bed", "flank", CAPTURE_FLANK),
    ):
        (work / f"{name}.bed").write_text("".join(f"{c}\t{s}\t{e}\n" for c, s, e in bed))
        beds[key] = str(work / f"{name}.bed")
    config: dict[str, object] = {
        "samples": str(sheet),
        "outdir": "out",
        "reference": {"genome": str(demo / "genome.fa"), "annotation": str(demo / "annotation.gtf")},
        "vectors": {"demo_car": {"sequence": str(demo / "vector.gb"), "kind": "lentiviral"}},
        "threads": {"align": 2},
        "capture": beds,
    }
    return counts, config


def indexed_bam(
    path: Path,
    contigs: dict[str, str],
    reads: list[tuple[str, str, int, str, str]],
    edit: Callable[[pysam.AlignedSegment], None] | None = None,
) -> Path:
    """An indexed BAM of reads (name, contig, 0-based start, CIGAR, sequence), MAPQ 60: forward and single-end
    unless ``edit``, called on each record before it is written, pairs them, turns them or adds tags."""
    header = {
        "HD": {"VN": "1.6", "SO": "unsorted"},
        "SQ": [{"SN": c, "LN": len(s)} for c, s in contigs.items()],
    }
    raw = path.with_suffix(".raw.bam")
    with pysam.AlignmentFile(str(raw), "wb", header=header) as out:
        for name, contig, start, cigar, seq in reads:
            rec = pysam.AlignedSegment(out.header)
            rec.query_name, rec.reference_name, rec.reference_start = name, contig, start
            rec.cigarstring, rec.query_sequence, rec.mapping_quality = cigar, seq, 60
            rec.query_qualities = pysam.qualitystring_to_array("I" * len(seq))
            if edit is not None:
                edit(rec)
            out.write(rec)
    pysam.sort("-o", str(path), str(raw))
    pysam.index(str(path))
    return path
