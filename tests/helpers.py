"""Shared test helpers: random genomes, a small lentiviral test vector, read simulation, alignment.

Fragment names carry their origin (``<label>_<n>``) so tests can compare results with the truth.
"""

from __future__ import annotations

import gzip
import os
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from carvis.cli import main as carvis
from carvis.core import io
from carvis.core.seqs import revcomp
from carvis.reads.align import Aligner, align_command, bam_command
from carvis.reference.vectors import KINDS, VectorKind, VectorModel, build_vector
from carvis.sim.simulate import Insertion as SimulatedInsertion
from carvis.sim.simulate import simulate_tumour

LENTI = KINDS["lentiviral"]
ROOT = Path(__file__).resolve().parents[1]


def random_seq(rng: random.Random, length: int, avoid: Iterable[str] = ()) -> str:
    """A random DNA string that contains none of the ``avoid`` motifs (or their reverse complements)."""
    motifs = [m for m in avoid for m in (m, revcomp(m))]
    while True:
        seq = "".join(rng.choice("ACGT") for _ in range(length))
        if not any(m in seq for m in motifs):
            return seq


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


def modified_allele(host: str, a: int, tsd: int, insert: str, orientation: str) -> str:
    """host[..a+tsd-1] + insert (or its reverse complement) + host[a..] (1-based ``a``)."""
    piece = insert if orientation == "+" else revcomp(insert)
    return host[: a + tsd - 1] + piece + host[a - 1 :]


def simulate_pairs(
    seq: str,
    depth: float,
    rng: random.Random,
    label: str,
    read_length: int = 150,
    insert_mean: int = 350,
    insert_sd: int = 40,
    keep: Callable[[int, int], bool] | None = None,
) -> list[tuple[str, str, str]]:
    """FR read pairs (name, read1, read2) drawn uniformly from both strands of ``seq`` at ``depth``.

    ``keep(start, size)`` (0-based fragment start on ``seq``) can reject fragments; rejected draws count.
    """
    n = round(depth * len(seq) / (2 * read_length))
    pairs = []
    for i in range(n):
        size = max(read_length, min(len(seq), round(rng.gauss(insert_mean, insert_sd))))
        start = rng.randrange(0, len(seq) - size + 1)
        if keep is not None and not keep(start, size):
            continue
        frag = seq[start : start + size]
        if rng.random() < 0.5:
            frag = revcomp(frag)
        pairs.append((f"{label}_{i}", frag[:read_length], revcomp(frag)[:read_length]))
    return pairs


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
class Insertion:
    """A simulated event on one haplotype: ``insert`` placed before genome base ``a`` (1-based)."""

    label: str
    chrom: str
    a: int
    orientation: str
    insert: str
    tsd: int
    cell_fraction: float = 1.0
    discordant_only: bool = False
    insert_mean: int = 350

    @property
    def left_junction(self) -> int:
        return self.a + self.tsd - 1


@dataclass
class IntegrationSample:
    """A simulated tumour sample with known integration sites, aligned to the combined reference."""

    genome: dict[str, str]
    model: VectorModel
    genome_fasta: Path
    reference: Path
    mask_bed: Path
    bam: Path
    insertions: dict[str, Insertion]
    duplicate_pairs: list[tuple[str, str]]
    homologous_piece: tuple[int, int]  # 0-based half-open on the provirus


def _crosses(start: int, size: int, read_length: int, bounds: tuple[int, int]) -> bool:
    """Does either read of the fragment contain a boundary (a cut between two bases)?"""
    reads = ((start, start + read_length), (start + size - read_length, start + size))
    return any(r0 < b < r1 for b in bounds for r0, r1 in reads)


def _haplotype_windows(
    genome: dict[str, str], events: list[Insertion], depth: float, rng: random.Random, flank: int, hap: str
) -> list[tuple[str, str, str]]:
    """Reads of one haplotype: reference outside event windows; each window mixed by its cell fraction."""
    pairs: list[tuple[str, str, str]] = []
    for chrom, seq in genome.items():
        cuts = sorted((e.a - flank, e.a + flank) for e in events if e.chrom == chrom)
        pos = 0
        for i, (lo, hi) in enumerate([*cuts, (len(seq), len(seq))]):
            pairs += simulate_pairs(seq[pos:lo], depth, rng, f"{hap}_{chrom}_{i}")
            pos = hi
    for e in events:
        host = genome[e.chrom][e.a - flank - 1 : e.a + flank - 1]
        local_a = flank + 1
        mod = modified_allele(host, local_a, e.tsd, e.insert, e.orientation)
        bounds = (local_a + e.tsd - 1, local_a + e.tsd - 1 + len(e.insert))
        keep = None
        if e.discordant_only:

            def keep(start: int, size: int, bounds: tuple[int, int] = bounds) -> bool:
                return not _crosses(start, size, 150, bounds)

        pairs += simulate_pairs(
            mod, depth * e.cell_fraction, rng, f"{e.label}_mod", insert_mean=e.insert_mean, keep=keep
        )
        pairs += simulate_pairs(host, depth * (1 - e.cell_fraction), rng, f"{e.label}_ref")
    return pairs


def _mutate(seq: str, positions: Iterable[int]) -> str:
    bases = list(seq)
    for p in positions:
        bases[p] = {"A": "C", "C": "G", "G": "T", "T": "A"}[bases[p]]
    return "".join(bases)


def build_integration_sample(workdir: str | Path, seed: int = 7, depth: float = 40.0) -> IntegrationSample:
    """A diploid ~100 kb genome with vector insertions of known truth, plus distractors, aligned.

    Truth sites: ``S1`` chr1 + clonal, ``S2`` chr2 - clonal with 2 bp microhomology at both junctions,
    ``S3`` chr1 + in 30 % of cells, ``S4`` chr2 - seen by discordant pairs only. Distractors (never sites):
    ``H`` the vector's genome-homologous piece joined to chr1, ``B`` backbone joined to chr2, 2-LTR circles,
    and duplicated copies of S1 junction fragments (names ``dup_<original>``).
    """
    workdir = Path(workdir)
    rng = random.Random(seed)
    genome = random_genome(rng, {"chr1": 60_000, "chr2": 40_000})
    piece_genome = genome["chr2"][23_000:23_300]
    piece = _mutate(piece_genome, (50, 150, 250))
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
        Insertion("S1", "chr1", 15_001, "+", provirus, tsd),
        Insertion("S2", "chr2", a2, "-", provirus, tsd),
        Insertion("S3", "chr1", 40_001, "+", provirus, tsd, cell_fraction=0.3),
        Insertion("S4", "chr2", 30_001, "-", provirus, tsd, discordant_only=True, insert_mean=700),
        Insertion("H", "chr1", 27_001, "+", piece, 0),
        Insertion("B", "chr2", 16_001, "+", model.backbone[100:1100], 0),
    ]
    half = depth / 2
    pairs = _haplotype_windows(genome, [], half, rng, 0, "hapB")
    pairs += _haplotype_windows(genome, events, half, rng, 2500, "hapA")
    circle = provirus[-400:] + provirus[:400]
    pairs += simulate_pairs(circle, 30, rng, "circle")
    s1 = next(e for e in events if e.label == "S1")
    junction = genome["chr1"][s1.left_junction - 15 : s1.left_junction] + provirus[:15]
    dup_pairs = []
    for name, r1, r2 in [p for p in pairs if p[0].startswith("S1_mod")]:
        if any(junction in s or revcomp(junction) in s for s in (r1, r2)) and len(dup_pairs) < 6:
            dup_pairs.append((name, f"dup_{name}"))
            pairs.append((f"dup_{name}", r1, r2))
    genome_fasta = write_fasta(workdir / "genome.fa", genome)
    reference = write_combined_reference(workdir / "combined.fa", genome, [model])
    start = model.provirus.find(piece)
    mask_bed = workdir / "mask.bed"
    mask_bed.write_text(f"{model.provirus_contig}\t{start}\t{start + len(piece)}\tpiece\n")
    r1, r2 = workdir / "R1.fq.gz", workdir / "R2.fq.gz"
    write_fastq_pairs(r1, r2, pairs)
    bam = align_pairs(reference, r1, r2, workdir / "sample.bam")
    return IntegrationSample(
        genome,
        model,
        genome_fasta,
        reference,
        mask_bed,
        bam,
        {e.label: e for e in events},
        dup_pairs,
        (start, start + len(piece)),
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
    insertions: dict[str, Insertion]


def target_sites(
    rng: random.Random, genome: dict[str, str], n: int, motif: str, spacing: int = 6000
) -> list[tuple[str, int]]:
    """``n`` (chrom, 1-based start) of ``motif`` at least ``spacing`` bp apart and from contig ends."""
    found: list[tuple[str, int]] = []
    while len(found) < n:
        chrom = rng.choice(sorted(genome))
        pos = rng.randrange(spacing, len(genome[chrom]) - spacing)
        at = genome[chrom].find(motif, pos) + 1
        if (
            at
            and at < len(genome[chrom]) - spacing
            and all(c != chrom or abs(p - at) > spacing for c, p in found)
        ):
            found.append((chrom, at))
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
    sites = target_sites(rng, genome, len(fractions), motif)
    events = [
        Insertion(f"K{i}", chrom, a, rng.choice("+-"), model.provirus, model.tsd_length, fraction)
        for i, ((chrom, a), fraction) in enumerate(zip(sites, fractions, strict=True))
    ]
    genome_fasta = write_fasta(workdir / "genome.fa", genome)
    reads = simulate_tumour(
        genome_fasta,
        model,
        [SimulatedInsertion(e.chrom, e.a, e.orientation, e.cell_fraction) for e in events],
        workdir / "sim",
        coverage=depth,
        insert_sd=40,
        contamination=2 * contamination_depth / depth,  # the plasmid at depth coverage x contamination / 2
        seed=seed,
    )
    reference = write_combined_reference(workdir / "combined.fa", genome, [model])
    bam = align_pairs(reference, reads.r1, reads.r2, workdir / "sample.bam")
    return KindSample(genome, model, genome_fasta, bam, {e.label: e for e in events})


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
    from carvis.sim.simulate import read_genome

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
