"""Genome-scale benchmark (prints figures; not a test): the workflow on a GRCh38-sized synthetic genome.

    python tests/benchmark/genome_scale.py [--scale 1] [--pairs 5000000] [--workdir /tmp/carvis-genome-scale]
        [--cap-min 60] [--steps main naive fit depth bam] [--naive-pairs 500000] [--bwa-index PREFIX]
        [--clean]

1. Writes a synthetic genome of GRCh38's size and shape (``--scale`` shrinks every length, e.g. 0.1 for a
   quick try): chr1-22, X, Y with GRCh38 lengths plus chrM; 10 kb N telomeres, N-gapped alpha-satellite-like
   centromeres (171 bp monomers in 12-monomer higher-order repeats, 1-3% between repeat copies), N p-arms on
   the acrocentrics, chrY's 30 Mb N block and scattered 10-100 kb gaps; isochore-like GC (41% +- 3% per
   block); Alu-like (~300 bp, three subfamilies at 2-8%, 6-12% and 12-20% divergence, poly-A tail, one copy
   per 2.8 kb) and L1-like (6 kb consensus, 5'-truncated copies, 3-25% divergence, one per 6.5 kb) families,
   segmental duplications (~5% of the arms, 1-100 kb at 0.5-5% divergence, within and between
   chromosomes), substitutions only. The demo genome's genes (EEF1A1, CD8A, CD28, TNFRSF9, CD247, whose
   exons and promoter the demo vector carries, and the demo's cancer genes) are copied in at their GRCh38
   loci, and a GTF annotates them plus ~20,000 filler genes (named after the cancer-gene list first).
   Written with numpy in 4.2 Mb blocks straight to disk; seeded.
2. Simulates ``--pairs`` pairs (``carvis simulate`` on the whole genome: two clonal insertions near LMO2 and
   MECOM and 20 bystanders, purity 0.8).
3. Runs each reference stage of the workflow alone (``snakemake --until RULE``) under
   ``/usr/bin/time`` and ``timeout`` (a stage that does not finish within ``--cap-min`` is recorded as
   such), then two samples (the reads and their first fifth), warm, one after the other, with per-rule
   times from Snakemake's metadata records; fits each rule's time as fixed + rate x pairs and extrapolates
   to 30x WGS (600M pairs; the rules after the screen by the depth sample, capped). Then a dry run after a
   vector edit lists what would rerun. These figures go to ``figures.json``, which the other steps read.
4. ``naive``: minimap2 -ax sr on every read of the first ``--naive-pairs`` pairs against the genome's own
   index and on two reads (its load): naive(N) = load + rate x N, against the warm samples (``fit``).
5. ``depth``: the large sample warm with the depth sample a 30x run aligns (the cap), so that the jobs after
   the screen are measured at that size; ``fit`` adds them to the extrapolated screen.
6. ``bam``: the small sample aligned to the genome's own index (sorted, indexed), run warm as a ``bam``
   sample; its extraction against ``samtools view -@ 2`` (best of 3), extrapolated to a 30x BAM.

Wall seconds depend on the machine's load (printed per stage); CPU seconds less so.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests"))

from helpers import without_scontrol  # noqa: E402

from carvis.reads.bam_input import Extraction, depth_subsample, extract_command  # noqa: E402

DEMO = ROOT / "resources" / "demo"
LINE = 60
BLOCK = LINE * 70_000  # 4.2 Mb: a whole number of FASTA lines
ASCII = np.frombuffer(b"ACGTN", dtype=np.uint8)
N = 4

#: GRCh38 primary chromosomes: (length, centromere midpoint Mb, N p-arm Mb on the acrocentrics).
GRCH38 = {
    "chr1": (248_956_422, 123.4, 0),
    "chr2": (242_193_529, 93.9, 0),
    "chr3": (198_295_559, 90.9, 0),
    "chr4": (190_214_555, 50.0, 0),
    "chr5": (181_538_259, 48.8, 0),
    "chr6": (170_805_979, 59.8, 0),
    "chr7": (159_345_973, 60.1, 0),
    "chr8": (145_138_636, 45.2, 0),
    "chr9": (138_394_717, 43.0, 0),
    "chr10": (133_797_422, 39.8, 0),
    "chr11": (135_086_622, 53.4, 0),
    "chr12": (133_275_309, 35.5, 0),
    "chr13": (114_364_328, 17.7, 16.0),
    "chr14": (107_043_718, 17.2, 16.0),
    "chr15": (101_991_189, 19.0, 17.0),
    "chr16": (90_338_345, 36.8, 0),
    "chr17": (83_257_441, 25.1, 0),
    "chr18": (80_373_285, 18.5, 0),
    "chr19": (58_617_616, 26.2, 0),
    "chr20": (64_444_167, 28.1, 0),
    "chr21": (46_709_983, 12.0, 5.0),
    "chr22": (50_818_468, 15.0, 10.5),
    "chrX": (156_040_895, 60.6, 0),
    "chrY": (57_227_415, 10.4, 0),
}
#: GRCh38 locus (chromosome, Mb) of each demo gene; DEMO1-6 go anywhere.
LOCI = {
    "EEF1A1": ("chr6", 73.5),
    "CD8A": ("chr2", 86.8),
    "CD28": ("chr2", 203.7),
    "TNFRSF9": ("chr1", 7.9),
    "CD247": ("chr1", 167.4),
    "LMO2": ("chr11", 33.8),
    "EGFR": ("chr7", 55.0),
    "MECOM": ("chr3", 169.1),
    "CCND2": ("chr12", 4.2),
    "HMGA2": ("chr12", 65.8),
    "PRDM16": ("chr1", 3.0),
    "TET2": ("chr4", 105.1),
    "CBL": ("chr11", 119.1),
    "BACH2": ("chr6", 90.0),
    "PBX2": ("chr6", 32.2),
    "ZGPAT": ("chr20", 63.7),
    "KPNA4": ("chr3", 160.5),
    "IKZF1": ("chr7", 50.3),
    "SSU72": ("chr1", 1.5),
    "DEMO1": ("chr5", 100.0),
    "DEMO2": ("chr8", 100.0),
    "DEMO3": ("chr9", 100.0),
    "DEMO4": ("chr10", 100.0),
    "DEMO5": ("chr14", 80.0),
    "DEMO6": ("chr17", 60.0),
}
GENE_FLANK = 2_000
REFERENCE_RULES = (
    "preflight",
    "prepare_genome",
    "index_fasta",
    "index_genome_minimap2",
    "index_genome_bwa",
    "build_reference",
    "combine_reference",
    "index_vectors_minimap2",
    "index_minimap2",
    "tile_vectors",
    "align_tiles",
    "build_mask",
    "write_screen_reference",
    "build_kmer_screen",
)
WGS_PAIRS = 600_000_000


# --------------------------------------------------------------------------- the genome


@dataclass
class Placed:
    """A demo gene region copied into the synthetic genome."""

    chrom: str
    start: int  # 0-based
    codes: np.ndarray
    gtf: list[str]


def _codes(seq: bytes) -> np.ndarray:
    lookup = np.full(256, N, dtype=np.uint8)
    for code, base in enumerate(b"ACGT"):
        lookup[base] = code
        lookup[base + 32] = code
    return lookup[np.frombuffer(seq, dtype=np.uint8)]


def _mutate(rng: np.random.Generator, codes: np.ndarray, rate: np.ndarray | float) -> np.ndarray:
    """Substitute each base with probability ``rate`` (scalar, or per row of a matrix)."""
    out = codes.copy()
    rate = np.asarray(rate)[..., None] if np.ndim(rate) else rate
    hit = rng.random(out.shape) < rate
    out[hit] = (out[hit] + rng.integers(1, 4, int(hit.sum()), dtype=np.uint8)) % 4
    return out


def _background(rng: np.random.Generator, n: int, gc: float) -> np.ndarray:
    u = rng.random(n, dtype=np.float32)
    at = (1 - gc) / 2
    return ((u > at).astype(np.uint8) + (u > 0.5) + (u > 1 - at)).astype(np.uint8)


class Families:
    """Repeat consensuses and the segmental-duplication pool."""

    def __init__(self, rng: np.random.Generator) -> None:
        master = _background(rng, 282, 0.52)
        self.alu = [_mutate(rng, master, d) for d in (0.0, 0.04, 0.08)]
        self.alu_div = [(0.02, 0.08), (0.06, 0.12), (0.12, 0.20)]
        self.alu_share = [0.2, 0.6, 0.2]
        self.l1 = _background(rng, 6_000, 0.42)
        self.pool: list[np.ndarray] = []


def _paint(block: np.ndarray, at: np.ndarray, copies: list[np.ndarray]) -> None:
    for pos, copy in zip(at, copies, strict=True):
        block[pos : pos + len(copy)] = copy[: len(block) - pos]


def _repeats(rng: np.random.Generator, fam: Families, block: np.ndarray) -> None:
    """Overwrite a block with SD copies, L1-like then Alu-like copies (half reverse-complemented)."""
    n = len(block)
    if fam.pool:
        sd_bp = rng.poisson(0.05 * n)
        copies = []
        while sum(len(c) for c in copies) < sd_bp:
            src = fam.pool[int(rng.integers(len(fam.pool)))]
            length = int(min(len(src), np.clip(rng.lognormal(np.log(15_000), 1.0), 1_000, 100_000)))
            offset = int(rng.integers(0, len(src) - length + 1))
            copies.append(_mutate(rng, src[offset : offset + length], rng.uniform(0.005, 0.05)))
        _paint(block, rng.integers(0, n, len(copies)), copies)
    l1 = []
    for _ in range(rng.poisson(n / 6_500)):
        length = 6_000 if rng.random() < 0.03 else int(min(6_000, 200 + rng.exponential(800)))
        copy = _mutate(rng, fam.l1[-length:], rng.uniform(0.03, 0.25))
        l1.append(copy if rng.random() < 0.5 else (3 - copy)[::-1])
    _paint(block, rng.integers(0, n, len(l1)), l1)
    n_alu = rng.poisson(n / 2_800)
    family = rng.choice(3, n_alu, p=fam.alu_share)
    for f in range(3):
        rows = int((family == f).sum())
        low, high = fam.alu_div[f]
        mats = _mutate(rng, np.tile(fam.alu[f], (rows, 1)), rng.uniform(low, high, rows))
        tail = np.zeros((rows, 20), dtype=np.uint8)  # poly-A
        mats = np.concatenate([mats, tail], axis=1)
        flip = rng.random(rows) < 0.5
        mats[flip] = (3 - mats[flip])[:, ::-1]
        _paint(block, rng.integers(0, n, rows), list(mats))


def _satellite(rng: np.random.Generator, length: int) -> np.ndarray:
    """An alpha-satellite-like array: 12 monomers of 171 bp (~20-35% apart) repeated with 1-3% divergence."""
    monomer = _background(rng, 171, 0.38)
    hor = np.concatenate([_mutate(rng, monomer, rng.uniform(0.2, 0.35)) for _ in range(12)])
    copies = -(-length // len(hor))
    return _mutate(rng, np.tile(hor, (copies, 1)), rng.uniform(0.01, 0.03, copies)).reshape(-1)[:length]


def _layout(
    rng: np.random.Generator, name: str, scale: float
) -> tuple[int, list[tuple[int, int]], tuple[int, int]]:
    """(length, N intervals, centromere satellite interval) of one chromosome."""
    full, cen_mb, acro_mb = GRCH38[name]
    length = round(full * scale)
    tel = min(10_000, length // 100)
    cen_half = round(1.5e6 * scale)
    cen = round(cen_mb * 1e6 * scale)
    gap = round(50_000 * scale) + 1
    gaps = [
        (0, tel),
        (length - tel, length),
        (cen - cen_half - gap, cen - cen_half),
        (cen + cen_half, cen + cen_half + gap),
    ]
    if acro_mb:
        gaps.append((0, round(acro_mb * 1e6 * scale)))
    if name == "chrY":
        gaps.append((round(26_673_214 * scale), round(56_673_214 * scale)))
    for _ in range(3 + length // round(50e6 * scale)):
        start = int(rng.integers(tel, length - 200_000 * scale))
        gaps.append((start, start + max(1_000, round(int(rng.integers(10_000, 100_000)) * scale))))
    return length, gaps, (cen - cen_half, cen + cen_half)


def _attribute(attributes: str, key: str) -> str:
    """One value of a GTF attribute column."""
    found = re.search(f'{key} "([^"]+)"', attributes)
    if not found:
        raise SystemExit(f"no {key} in {attributes!r}")
    return found.group(1)


def _demo_genes(scale: float, lengths: dict[str, int]) -> list[Placed]:
    """Each demo gene (+-2 kb) at its GRCh38 locus, with its GTF lines shifted there."""
    genome: dict[str, bytes] = {}
    name = ""
    for line in (DEMO / "genome.fa").read_bytes().splitlines():
        if line.startswith(b">"):
            name = line[1:].split()[0].decode()
            genome[name] = b""
        else:
            genome[name] += line.strip()
    lines = [
        row.split("\t")
        for row in (DEMO / "annotation.gtf").read_text().splitlines()
        if not row.startswith("#")
    ]
    placed = []
    for row in lines:
        if row[2] != "gene":
            continue
        gene = _attribute(row[8], "gene_name")
        chrom, mb = LOCI[gene]
        lo, hi = max(0, int(row[3]) - 1 - GENE_FLANK), int(row[4]) + GENE_FLANK
        at = min(round(mb * 1e6 * scale), lengths[chrom] - (hi - lo) - 20_000)
        shift = at - lo
        gene_id = _attribute(row[8], "gene_id")
        gtf = [
            "\t".join([chrom, *r[1:3], str(int(r[3]) + shift), str(int(r[4]) + shift), *r[5:]])
            for r in lines
            if f'gene_id "{gene_id}"' in r[8]
        ]
        placed.append(Placed(chrom, at, _codes(genome[row[0]][lo:hi]), gtf))
    return placed


def _filler_gtf(
    rng: np.random.Generator, chrom: str, free: list[tuple[int, int]], count: int, names: Iterator[str]
) -> list[tuple[int, str]]:
    """``count`` one-transcript genes (4-15 exons over 5-100 kb) in the ``free`` intervals; (start, lines)."""
    out = []
    spans = np.array([e - s for s, e in free], dtype=float)
    for _ in range(count):
        s, e = free[int(rng.choice(len(free), p=spans / spans.sum()))]
        span = min(int(rng.integers(5_000, 100_000)), e - s - 2)
        start = int(rng.integers(s + 1, e - span))
        name = next(names)
        gid, tid, strand = f"SYNG{name}", f"SYNT{name}", "+-"[int(rng.integers(2))]
        attrs = f'gene_id "{gid}"; gene_name "{name}"; gene_biotype "protein_coding";'
        rows = [f"{chrom}\tsynthetic\tgene\t{start}\t{start + span}\t.\t{strand}\t.\t{attrs}"]
        rows.append(
            f"{chrom}\tsynthetic\ttranscript\t{start}\t{start + span}\t.\t{strand}\t.\t"
            f'{attrs} transcript_id "{tid}";'
        )
        grid = np.arange(start + 400, start + span - 700, 400)
        cuts = np.sort(rng.choice(grid, min(len(grid), int(rng.integers(2, 14))), replace=False))
        for k, x in enumerate([start, *cuts.tolist(), start + span - 300]):
            rows.append(
                f"{chrom}\tsynthetic\texon\t{x}\t{x + int(rng.integers(50, 300))}\t.\t{strand}\t.\t{attrs} "
                f'transcript_id "{tid}"; exon_number "{k + 1}";'
            )
        out.append((start, "\n".join(rows)))
    return out


def _free(length: int, blocked: list[tuple[int, int]]) -> list[tuple[int, int]]:
    free, at = [], 0
    for s, e in sorted(blocked):
        if s > at + 10_000:
            free.append((at, s))
        at = max(at, e)
    if length > at + 10_000:
        free.append((at, length))
    return free


def write_genome(fasta: Path, gtf: Path, scale: float, seed: int = 38, genes: int = 20_000) -> None:
    """The synthetic genome and its GTF, written block by block (see the module docstring)."""
    rng = np.random.default_rng(seed)
    fam = Families(rng)
    lengths = {c: round(v[0] * scale) for c, v in GRCH38.items()}
    placed = _demo_genes(scale, lengths)
    cancer = [
        r.split("\t")[0]
        for r in (ROOT / "resources/cancer_genes/cancer_genes.tsv").read_text().splitlines()[1:]
        if r and not r.startswith(("#", "gene\t"))
    ]
    taken = {_attribute(p.gtf[0], "gene_name") for p in placed}
    names = iter(
        [*(g for g in dict.fromkeys(cancer) if g not in taken), *(f"SYN{i:05d}" for i in range(10**6))]
    )
    total = sum(lengths.values())
    with fasta.open("wb") as out, gtf.open("w") as ann:
        ann.write("#!genome-build carvis-genome-scale\n")
        for chrom in GRCH38:
            length, gaps, (c0, c1) = _layout(rng, chrom, scale)
            mine = [p for p in placed if p.chrom == chrom]
            free = _free(
                length, [*gaps, (c0, c1), *((p.start - 5_000, p.start + len(p.codes) + 5_000) for p in mine)]
            )
            rows = _filler_gtf(rng, chrom, free, max(1, round(genes * length / total)), names)
            rows += [(p.start, "\n".join(p.gtf)) for p in mine]
            ann.write("".join(r + "\n" for _, r in sorted(rows)))
            sat = _satellite(rng, c1 - c0)
            out.write(f">{chrom}\n".encode())
            for b0 in range(0, length, BLOCK):
                block = _background(
                    rng, min(BLOCK, length - b0), float(np.clip(rng.normal(0.41, 0.03), 0.33, 0.5))
                )
                _repeats(rng, fam, block)
                b1 = b0 + len(block)
                for s, e, src in [(c0, c1, sat), *((p.start, p.start + len(p.codes), p.codes) for p in mine)]:
                    lo, hi = max(s, b0), min(e, b1)
                    if lo < hi:
                        block[lo - b0 : hi - b0] = src[lo - s : hi - s]
                for s, e in gaps:
                    lo, hi = max(s, b0), min(e, b1)
                    if lo < hi:
                        block[lo - b0 : hi - b0] = N
                if rng.random() < 0.5 and len(fam.pool) < 400:
                    take = int(rng.integers(20_000, 200_000))
                    at = int(rng.integers(0, max(1, len(block) - take)))
                    piece = block[at : at + take]
                    if len(piece) == take and not (piece == N).any():
                        fam.pool.append(piece.copy())
                _write_lines(out, ASCII[block])
        mt = _background(rng, 16_569, 0.44)
        out.write(b">chrM\n")
        _write_lines(out, ASCII[mt])
        ann.write(
            "chrM\tsynthetic\tgene\t5904\t7445\t.\t+\t.\t"
            'gene_id "SYNGMTCO1"; gene_name "MT-CO1"; gene_biotype "protein_coding";\n'
        )


def _write_lines(out: BinaryIO, seq: np.ndarray) -> None:
    whole = len(seq) // LINE * LINE
    lines = np.concatenate(
        [seq[:whole].reshape(-1, LINE), np.full((whole // LINE, 1), ord("\n"), np.uint8)], axis=1
    )
    out.write(lines.tobytes())
    if whole < len(seq):
        out.write(seq[whole:].tobytes() + b"\n")


def genome_figures(fasta: Path) -> dict[str, float]:
    """Contigs, total and N bases (from samtools faidx and a streamed count)."""
    subprocess.run(["samtools", "faidx", str(fasta)], check=True)
    rows = [r.split("\t") for r in Path(f"{fasta}.fai").read_text().splitlines()]
    n_bases = int(
        subprocess.run(
            f"grep -v '>' {fasta} | tr -cd N | wc -c", shell=True, capture_output=True, text=True, check=True
        ).stdout
    )
    Path(f"{fasta}.fai").unlink()  # the workflow's own checks must not find a ready index
    return {"contigs": len(rows), "bases": sum(int(r[1]) for r in rows), "n_bases": n_bases}


# --------------------------------------------------------------------------- running and timing


@dataclass
class Timing:
    label: str
    wall: float | None
    cpu: float | None
    rss_mb: float | None
    load: float
    note: str = ""


def run_timed(label: str, command: str, cwd: Path, cap_min: float, log: Path) -> Timing:
    """Wall, CPU (user + sys) and peak RSS of one command, capped at ``cap_min`` minutes."""
    load = os.getloadavg()[0]
    stats = cwd / f".time.{os.getpid()}"
    start = time.monotonic()
    with log.open("w") as handle:
        result = subprocess.run(
            [
                "timeout",
                f"{cap_min * 60:.0f}",
                "/usr/bin/time",
                "-o",
                str(stats),
                "-f",
                "%e %U %S %M",
                "bash",
                "-o",
                "pipefail",
                "-c",
                command,
            ],
            cwd=cwd,
            stdout=handle,
            stderr=subprocess.STDOUT,
            check=False,
            env=without_scontrol(),
        )
    wall = time.monotonic() - start
    if result.returncode == 124:
        return Timing(label, None, None, None, load, f"did not finish in {cap_min:g} min")
    if result.returncode:
        raise SystemExit(f"failed: {command}\nsee {log}")
    _, u, s, m = stats.read_text().split()[-4:]
    stats.unlink()
    cpu, rss = float(u) + float(s), int(m) / 1024
    # as it goes, so that a later stage's failure (a full disk, say) leaves the figures in the output
    print(f"  {label}: {wall:.1f} s wall, {cpu:.1f} CPU-s, {rss:,.0f} MB, load {load:.1f}", flush=True)
    return Timing(label, wall, cpu, rss, load)


#: ``--bwa-index``: a bwa index of the genome the lab already has (config reference.bwa_index), or None.
GIVEN_BWA_INDEX: Path | None = None


def write_config(work: Path, genome: Path, gtf: Path, sheet: Path, vector: Path, fraction: float) -> Path:
    reference = {"genome": str(genome), "annotation": str(gtf)}
    if GIVEN_BWA_INDEX is not None:
        reference["bwa_index"] = str(GIVEN_BWA_INDEX)
    config = {
        "samples": str(sheet),
        "outdir": "out",
        "reference": reference,
        "vectors": {"demo_car": {"sequence": str(vector), "kind": "lentiviral"}},
        "screen": {"enabled": True, "depth_sample_fraction": fraction},
        "threads": {"align": 2, "screen": 2},
        "mem_mb": {"align": 16000, "screen": 4000},
    }
    path = work / f"config_{sheet.stem}_{vector.stem}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def snakemake(config: Path, extra: str = "") -> str:
    return f"snakemake -s {ROOT / 'Snakefile'} --cores 2 --configfile {config} {extra}"


#: Rules that run with CONFIG threads (2 here); the others use one core.
TWO_THREADS = {"screen_reads", "extract_reads", "align_reads", "index_genome_minimap2", "align_tiles"}


def job_times(work: Path, since: float) -> dict[str, float]:
    """Rule -> wall seconds summed over its jobs started after ``since`` (Snakemake's metadata records)."""
    jobs: dict[tuple[str, float], float] = {}
    for path in (work / ".snakemake" / "metadata").iterdir():
        record = json.loads(path.read_text())
        if record.get("starttime") and record["starttime"] >= since:
            job = (record["rule"], record["endtime"])  # one record per output file; a job's share endtime
            jobs[job] = max(jobs.get(job, 0.0), record["endtime"] - record["starttime"])
    times: dict[str, float] = {}
    for (rule, _), seconds in jobs.items():
        times[rule] = times.get(rule, 0.0) + seconds
    return times


def run_sample(work: Path, config: Path, label: str, cap: float) -> tuple[Timing, dict[str, float]]:
    """The workflow from FASTQ to report with the reference cached (earlier sample outputs removed)."""
    for done in (work / "out").glob("*"):
        if done.name not in {"reference", "bin", "preflight"}:
            shutil.rmtree(done) if done.is_dir() else done.unlink()
    log = work / "logs" / f"sample_{label}.log"
    since = time.time()
    timing = run_timed(
        f"sample {label}, warm: whole workflow (FASTQ -> report)", snakemake(config), work, cap, log
    )
    return timing, job_times(work, since) if timing.wall is not None else {}


def subset_reads(prefix: Path, small: Path, pairs: int) -> None:
    """The first ``pairs`` pairs of the sample (the simulator shuffles fragments, so any genome position)."""
    for mate in ("R1", "R2"):
        subprocess.run(
            f"igzip -dc {prefix}_{mate}.fastq.gz | head -n {4 * pairs} | igzip -c >{small}_{mate}.fastq.gz",
            shell=True,
            check=True,
        )


def count_pairs(prefix: Path) -> int:
    command = f"igzip -dc {prefix}_R1.fastq.gz | wc -l"
    return int(subprocess.run(command, shell=True, capture_output=True, text=True, check=True).stdout) // 4


def minimap2_load(index: Path, work: Path, cap: float) -> Timing:
    """minimap2 -ax sr on two read pairs: the cost of loading the index, paid by every alignment job."""
    reads = work / "two_reads.fq"
    reads.write_text("".join(f"@r{i}\n{'ACGT' * 37}AC\n+\n{'I' * 150}\n" for i in range(2)))
    command = f"minimap2 -ax sr -t 2 {index} {reads} >/dev/null"
    log = work / "logs" / f"mm2_load_{index.stem}.log"
    return run_timed(f"minimap2 index load (2 reads, {index.name})", command, work, cap, log)


def simulate(
    work: Path, genome: Path, gtf: Path, prefix: Path, pairs: int, called: int, cap: float
) -> Timing:
    """``carvis simulate`` on the whole genome: clonal sites near LMO2 and MECOM, 20 bystanders."""
    design = work / "design.tsv"
    lmo2, mecom = (_gene_start(gtf, g) for g in ("LMO2", "MECOM"))
    design.write_text(
        "chrom\tposition\torientation\tcell_fraction\tclass\n"
        f"{lmo2[0]}\t{lmo2[1] - 4_000}\t+\t0.8\tclonal\n{mecom[0]}\t{mecom[1] + 9_000}\t-\t0.8\tclonal\n"
    )
    command = (
        f"{sys.executable} -m carvis.cli simulate --genome {genome} --vector {DEMO / 'vector.gb'} "
        f"--vector-name demo_car --design {design} --bystanders 20 --purity 0.8 "
        f"--coverage {pairs * 300 / called:.4f} --seed 21 --sample bench --out-prefix {prefix}"
    )
    return run_timed(
        "carvis simulate (not a workflow stage)", command, work, cap, work / "logs" / "simulate.log"
    )


def _gene_start(gtf: Path, name: str) -> tuple[str, int]:
    for line in gtf.open():
        cells = line.split("\t")
        if len(cells) > 8 and cells[2] == "gene" and f'gene_name "{name}"' in cells[8]:
            return cells[0], int(cells[3])
    raise SystemExit(f"{name} not in {gtf}")


def print_rows(rows: list[Timing]) -> None:
    print("| step | wall s | CPU s | peak RSS MB | load |\n|---|---:|---:|---:|---:|")
    for t in rows:
        if t.wall is None:
            print(f"| {t.label} | {t.note} | | | {t.load:.1f} |")
        else:
            print(f"| {t.label} | {t.wall:.1f} | {t.cpu:.1f} | {t.rss_mb:.0f} | {t.load:.1f} |")


#: Rules that read every read; the others see only the aligned (screened) pairs.
READ_RULES = {"screen_reads", "check_reads", "checksum_inputs", "extract_reads"}


def depth_cap() -> int:
    """``screen.depth_sample_max_pairs`` as the config schema defaults it."""
    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    return int(schema["properties"]["screen"]["properties"]["depth_sample_max_pairs"]["default"])


def extrapolate(
    small: dict[str, float],
    big: dict[str, float],
    n_small: int,
    n_big: int,
    fraction: float,
    show: bool = True,
) -> tuple[float, float]:
    """Per rule, wall = fixed + rate x x(pairs) through the two samples (rate >= 0), at 30x, where x is the
    pairs for the rules that read every read and the depth sample, min(fraction x pairs, cap), for the rules
    after the screen (the vector pairs are ~0.002%); the sums of wall seconds and of core-seconds (wall x
    the rule's threads: an upper bound)."""
    cap = depth_cap()
    if show:
        print(
            f"\n| sample rule | {n_small / 1e6:.1f}M pairs s | {n_big / 1e6:.1f}M pairs s | s per M pairs "
            f"read or aligned | fixed s | 30x ({WGS_PAIRS / 1e6:.0f}M) s |\n|---|---:|---:|---:|---:|---:|"
        )
    wall = cores = 0.0
    for rule in sorted(big, key=lambda r: -big[r]):
        x = (lambda n: n) if rule in READ_RULES else (lambda n: min(fraction * n, cap))
        a, b = small.get(rule, 0.0), big[rule]
        rate = max(0.0, (b - a) / (x(n_big) - x(n_small)))
        fixed = max(0.0, b - rate * x(n_big))
        wgs = fixed + rate * x(WGS_PAIRS)
        wall += wgs
        cores += wgs * (2 if rule in TWO_THREADS else 1)
        if show:
            kind = "read" if rule in READ_RULES else "aligned"
            print(f"| {rule} | {a:.2f} | {b:.2f} | {rate * 1e6:.3f} {kind} | {fixed:.2f} | {wgs:.0f} |")
    if show:
        print(f"| total | {sum(small.values()):.1f} | {sum(big.values()):.1f} | | | {wall:.0f} |")
    return wall, cores


def fit(work: Path, n_small: int, n_big: int, fraction: float) -> None:
    """From figures.json: the 30x extrapolation of the warm samples, against the decompression floor and
    (after the naive step) against minimap2 on every read."""
    data = json.loads((work / "figures.json").read_text())
    rows = {r["label"].split(" (")[0].split(",")[0]: r for r in data["rows"]}
    warm, floor = rows["sample bench"]["wall"], rows["decompress"]["wall"]
    wall, cores = extrapolate(data["small"], data["big"], n_small, n_big, fraction)
    floor_wgs = floor * WGS_PAIRS / n_big
    print(
        f"30x WGS ({WGS_PAIRS / 1e6:.0f}M pairs) from FASTQ: {wall / 3600:.2f} h of jobs run one after "
        f"another, at most {cores / 3600:.2f} core-hours (wall x threads; target <= 2 core-hours)\n"
        f"warm / floor: {warm / floor:.1f}x at {n_big:,} pairs ({warm:.1f} s / {floor:.1f} s); at 30x "
        f"{wall:.0f} s / {floor_wgs:.0f} s (igzip x {WGS_PAIRS / n_big:.0f}) = {wall / floor_wgs:.1f}x "
        "(target <= 3)"
    )
    depth = data.get("depth")
    if depth:  # the jobs after the screen measured with the depth sample a 30x run aligns (--steps depth)
        reads = {rule: t for rule, t in data["big"].items() if rule in READ_RULES}
        read_wall, read_cores = extrapolate(
            {r: data["small"].get(r, 0.0) for r in reads}, reads, n_small, n_big, fraction, show=False
        )
        post = {rule: t for rule, t in depth.items() if rule not in READ_RULES}
        post_cores = sum(t * (2 if rule in TWO_THREADS else 1) for rule, t in post.items())
        wall = read_wall + sum(post.values())
        print(
            f"with the jobs after the screen measured at the 30x depth sample ({sum(post.values()):.0f} s, "
            f"align_reads {post.get('align_reads', 0.0):.1f} s) and the read rules extrapolated "
            f"({read_wall:.0f} s): 30x {wall:.0f} s = {wall / floor_wgs:.1f}x the floor, "
            f"{(read_cores + post_cores) / 3600:.2f} core-hours (the naive ratio below uses this)"
        )
    naive = data.get("naive")
    if naive:
        at_big, at_wgs = (naive["load"] + naive["rate"] * n for n in (n_big, WGS_PAIRS))
        print(
            f"naive (minimap2 on every read) = index load {naive['load']:.1f} s + "
            f"{naive['rate'] * 1e6:.1f} s per M pairs: at {n_big:,} pairs {at_big:.0f} s / warm {warm:.1f} s "
            f"= {at_big / warm:.1f}x "
            f"(target >= 40); at 30x {at_wgs / 3600:.2f} h / {wall / 3600:.2f} h = {at_wgs / wall:.1f}x"
        )


GENOME_RULES = {"prepare_genome", "index_fasta", "index_genome_minimap2", "index_genome_bwa"}


def vector_change(
    work: Path, genome: Path, gtf: Path, sheet: Path, fraction: float, cap: float
) -> tuple[list[str], Timing]:
    """The jobs a dry run lists after the vector file is edited (its DEFINITION line), and the time of the
    reference stages that rebuild (``--until write_screen_reference``)."""
    edited = work / "vector_edited.gb"
    edited.write_text((DEMO / "vector.gb").read_text().replace("DEFINITION", "DEFINITION edited;", 1))
    config = write_config(work, genome, gtf, sheet, edited, fraction)
    result = subprocess.run(
        snakemake(config, "-n"),
        shell=True,
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
        env=without_scontrol(),
    )
    table = result.stdout.split("Job stats:")[1].split("total")[0]
    changed = [line.split()[0] for line in table.splitlines()[3:] if line.strip()]
    command = snakemake(config, "--until write_screen_reference")
    timing = run_timed(
        "new vector: its reference stages", command, work, cap, work / "logs" / "new_vector.log"
    )
    return changed, timing


def genome_index(work: Path) -> Path:
    """The genome's own minimap2 index (``reference/genome-<key>/``, no vectors)."""
    return next((work / "out" / "reference").glob("genome-*/*.mmi"))


def naive(work: Path, prefix: Path, pairs: int, cap: float) -> dict[str, float]:
    """minimap2 -ax sr -t 2 on every read of the first ``pairs`` pairs against the genome's own index
    (alignment only, to /dev/null), and on two reads (the index load): naive(N) = load + rate x N."""
    first = work / "reads" / f"first{pairs}"
    if not Path(f"{first}_R2.fastq.gz").exists():
        subset_reads(prefix, first, pairs)
    index = genome_index(work)
    load = minimap2_load(index, work, cap)
    reads = f"{first}_R1.fastq.gz {first}_R2.fastq.gz"
    full = run_timed(
        f"minimap2 -ax sr -t 2 of {pairs:,} pairs (every read)",
        f"minimap2 -ax sr -t 2 {index} {reads} >/dev/null 2>{work}/logs/naive_mm2.err",
        work,
        cap,
        work / "logs" / "naive.log",
    )
    print_rows([load, full])
    if load.wall is None or full.wall is None or load.cpu is None or full.cpu is None:
        return {}
    rate, cpu_rate = (full.wall - load.wall) / pairs, (full.cpu - load.cpu) / (2 * pairs)
    print(f"{rate * 1e6:.1f} s per M pairs (wall, 2 threads), {cpu_rate * 1e6:.0f} CPU-us per read")
    return {"load": load.wall, "rate": rate, "cpu_per_read": cpu_rate}


def depth_sample(work: Path, config: Path, n_big: int, cap: float) -> None:
    """The large sample warm with ``depth_sample_fraction`` = cap / pairs: align_reads then aligns the depth
    sample a 30x sample aligns (the cap binds there), measured instead of extrapolated."""
    data = yaml.safe_load(config.read_text())
    fraction = data["screen"]["depth_sample_fraction"] = round(depth_cap() / n_big, 6)
    config = work / "config_depth_cap.yaml"
    config.write_text(yaml.safe_dump(data))
    sample, costs = run_sample(work, config, "bench", cap)
    stats = next(csv.DictReader((work / "out" / "screen" / "bench.screen.tsv").open(), delimiter="\t"))
    print_rows([sample])
    print(
        f"depth sample of {int(stats['sampled_reads']) // 2:,} pairs (fraction {fraction}): "
        + ", ".join(f"{rule} {costs[rule]:.1f} s" for rule in sorted(costs, key=lambda r: -costs[r])[:5])
    )
    figures = json.loads((work / "figures.json").read_text())
    (work / "figures.json").write_text(json.dumps({**figures, "depth": costs}, indent=1))


@dataclass
class BamRun:
    """The BAM-input step's sample: the reads it is aligned from and the reference it runs against."""

    genome: Path
    gtf: Path
    reads: Path
    fraction: float
    naive: dict[str, float]


def bam_input(work: Path, run: BamRun, cap: float) -> None:
    """The sample aligned to the genome's own index (sorted, indexed) run warm as a ``bam`` sample:
    extract_reads against ``samtools view -@2`` of the BAM, and the whole sample; extrapolated to 30x."""
    bam = work / "reads" / f"{run.reads.name}.bam"
    rows = []
    if not bam.exists():
        align = (
            f"minimap2 -ax sr -t 2 {genome_index(work)} {run.reads}_R1.fastq.gz {run.reads}_R2.fastq.gz "
            f"2>/dev/null | samtools sort -@ 2 -m 1G -o {bam}.tmp.bam - && mv {bam}.tmp.bam {bam} "
            f"&& samtools index {bam}"
        )
        rows.append(
            run_timed("setup: align to the genome index, sort", align, work, cap, work / "logs" / "bam.log")
        )
    count = f"samtools view -c -F 0x900 {bam}"
    reads = int(subprocess.run(count, shell=True, capture_output=True, text=True, check=True).stdout)
    sheet = work / "samples_clinical.tsv"
    sheet.write_text(f"sample\tbam\tvector\tpurity\nclinical\t{bam}\tdemo_car\t0.8\n")
    config = write_config(work, run.genome, run.gtf, sheet, DEMO / "vector.gb", run.fraction)
    floor = run_timed(
        "floor: samtools view -@ 2 of the BAM", f"samtools view -@ 2 {bam} >/dev/null", work, cap,
        work / "logs" / "bam_floor.log",
    )  # fmt: skip
    sample, costs = run_sample(work, config, "clinical", cap)
    print_rows([*rows, floor, sample])
    if sample.wall is None or floor.wall is None:
        return
    aligned = work / "out" / "align" / "clinical.bam"
    count = f"samtools view -c -F 0x900 {aligned}"
    realigned = int(subprocess.run(count, shell=True, capture_output=True, text=True, check=True).stdout)
    print("\n| BAM sample rule | wall s |\n|---|---:|")
    for rule in sorted(costs, key=lambda r: -costs[r]):
        print(f"| {rule} | {costs[rule]:.2f} |")
    job, extract = costs["extract_reads"], best_extraction(work, bam, run.fraction, cap)
    print(
        f"\n{reads:,} primary reads; extract_reads job {job:.2f} s = {job / floor.wall:.2f}x the floor "
        f"({floor.wall:.2f} s); whole sample {sample.wall:.1f} s; realigned {realigned:,} reads "
        f"({realigned / reads:.3%})"
    )
    wgs_reads = 2 * WGS_PAIRS
    extract_wgs = extract / reads * wgs_reads * 2  # core-seconds: 2 threads
    fixed = sum(v for k, v in costs.items() if k not in {"extract_reads", "align_reads"})
    load, rate = run.naive.get("load", 0.0), run.naive.get("rate", 0.0)
    for share in (realigned / reads, 0.03):
        align_wgs = 2 * (load + rate * share * WGS_PAIRS)
        total = extract_wgs + align_wgs + fixed
        print(
            f"30x from BAM ({wgs_reads / 1e9:.1f}G reads), {share:.3%} of pairs realigned: extraction "
            f"{extract_wgs / 3600:.2f} + realignment {align_wgs / 3600:.2f} (load {load:.0f} s + "
            f"{rate * 1e6:.0f} s per M pairs, x2 threads) + the other rules as measured {fixed / 3600:.2f} = "
            f"{total / 3600:.2f} core-hours (target <= 1)"
        )
    per_percent = 2 * rate * 0.01 * WGS_PAIRS
    print(
        f"  each 1% of pairs realigned costs {per_percent / 3600:.2f} core-hours: 1 core-hour allows "
        f"{(3600 - extract_wgs - fixed - 2 * load) / per_percent:.1f}%"
    )


def best_extraction(work: Path, bam: Path, fraction: float, cap: float) -> float:
    """The extraction command extract_reads runs and ``samtools view -@ 2`` of the BAM (its floor), three
    times each, interleaved; prints both and returns the extraction's best wall seconds."""
    ref = next(p for p in (work / "out" / "reference").iterdir() if (p / "combined.fa.fai").exists())
    screen = (
        work / "out" / "bin" / "kmer_screen",
        ref / "screen" / "vector_pieces.fa",
        ref / "screen" / "vector_ends.fa",
    )
    subsample = depth_subsample(bam, fraction, depth_cap(), 7)
    out = work / "extract_bench"
    extraction = Extraction(bam, ref / "combined.fa", screen, out, f"{out}.counts", 2, subsample)
    steps = {
        "floor (samtools view -@ 2)": f"samtools view -@ 2 {bam} >/dev/null",
        "extraction": extract_command(extraction),
    }
    runs: dict[str, list[Timing]] = {label: [] for label in steps}
    for _ in range(3):
        for label, command in steps.items():
            runs[label].append(run_timed(label, command, work, cap, work / "logs" / "extract_bench.log"))
    best = {label: min(t.wall or 0.0 for t in timings) for label, timings in runs.items()}
    cpu = {label: min(t.cpu or 0.0 for t in timings) for label, timings in runs.items()}
    floor, extract = best["floor (samtools view -@ 2)"], best["extraction"]
    print(
        "extraction command alone, best of 3 interleaved: "
        + ", ".join(f"{label} {' / '.join(f'{t.wall:.2f}' for t in runs[label])} s" for label in steps)
        + f"; best {extract:.2f} / {floor:.2f} s = {extract / floor:.2f}x (target <= 1.5x; CPU "
        f"{cpu['extraction']:.2f} / {cpu['floor (samtools view -@ 2)']:.2f} s)"
    )
    return extract


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every GRCh38 length by this")
    parser.add_argument(
        "--pairs", type=int, default=5_000_000, help="pairs of the large sample (the small: a fifth)"
    )
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/carvis-genome-scale"))
    parser.add_argument("--cap-min", type=float, default=60, help="wall-clock cap of each stage, minutes")
    parser.add_argument("--fraction", type=float, default=0.01, help="screen.depth_sample_fraction")
    parser.add_argument(
        "--steps",
        nargs="+",
        choices=["main", "naive", "fit", "depth", "bam"],
        default=["main", "naive", "depth", "bam"],
        help="main: reference stages, samples, new vector; naive: minimap2 on every read of a subsample "
        "(needs main's figures.json); fit: the 30x extrapolation from figures.json again; "
        "depth: the large sample warm with a depth sample of the 30x size (the cap); "
        "bam: the small sample as an aligned BAM input (after naive)",
    )
    parser.add_argument(
        "--naive-pairs", type=int, default=500_000, help="pairs minimap2 aligns in full (naive step)"
    )
    parser.add_argument(
        "--bwa-index",
        type=Path,
        help="prefix of a bwa index of the genome (config reference.bwa_index): the cold build then "
        "checks it instead of building one",
    )
    parser.add_argument(
        "--clean", action="store_true", help="delete the genome, reads and reference at the end"
    )
    args = parser.parse_args()
    global GIVEN_BWA_INDEX
    GIVEN_BWA_INDEX = args.bwa_index and args.bwa_index.resolve()
    work, cap = args.workdir.resolve(), args.cap_min
    (work / "logs").mkdir(parents=True, exist_ok=True)
    (work / "reads").mkdir(exist_ok=True)
    genome, gtf = work / "genome.fa", work / "genes.gtf"
    rows: list[Timing] = []
    if not genome.exists():
        start = time.monotonic()
        write_genome(work / "genome.tmp.fa", gtf, args.scale)
        (work / "genome.tmp.fa").rename(genome)
        print(f"genome written in {time.monotonic() - start:.0f} s", flush=True)
    figures = genome_figures(genome)
    gb, n_mb = figures["bases"] / 1e9, figures["n_bases"] / 1e6
    shape = f"{figures['contigs']:.0f} contigs, {gb:.3f} Gb, N {n_mb:.1f} Mb"
    print(f"genome: {shape}", flush=True)

    prefix, small = work / "reads" / "bench", work / "reads" / "small"
    if not Path(f"{prefix}_R2.fastq.gz").exists():
        called = int(figures["bases"] - figures["n_bases"])
        rows.append(simulate(work, genome, gtf, prefix, args.pairs, called, cap))
    n_big = count_pairs(prefix)
    if not Path(f"{small}_R2.fastq.gz").exists():
        subset_reads(prefix, small, n_big // 5)
    n_small = count_pairs(small)
    sheets = {}
    for name, reads in (("bench", prefix), ("small", small)):
        sheets[name] = work / f"samples_{name}.tsv"
        sheets[name].write_text(
            f"sample\tfastq_1\tfastq_2\tvector\tpurity\n{name}\t{reads}_R1.fastq.gz\t{reads}_R2.fastq.gz\tdemo_car\t0.8\n"
        )
    config = write_config(work, genome, gtf, sheets["bench"], DEMO / "vector.gb", args.fraction)
    small_config = write_config(work, genome, gtf, sheets["small"], DEMO / "vector.gb", args.fraction)
    if "main" in args.steps:
        rows.append(
            run_timed(
                "snakemake start-up (dry run)",
                snakemake(config, "-n"),
                work,
                cap,
                work / "logs" / "dryrun.log",
            )
        )
        for rule in REFERENCE_RULES:
            if rule == "index_genome_bwa" and GIVEN_BWA_INDEX is not None:
                continue
            log = work / "logs" / f"{rule}.log"
            rows.append(run_timed(f"reference: {rule}", snakemake(config, f"--until {rule}"), work, cap, log))
        ref_rows = [t for t in rows if t.label.startswith("reference:")]
        if any(t.wall is None for t in ref_rows):
            print_rows(rows)
            return
        ref = next(p for p in (work / "out" / "reference").iterdir() if not p.name.startswith("genome-"))
        rows.append(minimap2_load(ref / "combined.mmi", work, cap))
        igzip = f"igzip -dc {prefix}_R1.fastq.gz {prefix}_R2.fastq.gz >/dev/null"
        rows.append(run_timed("decompress (igzip -dc R1 R2)", igzip, work, cap, work / "logs" / "igzip.log"))
        small_run, small_costs = run_sample(work, small_config, "small", cap)
        big_run, big_costs = run_sample(work, config, "bench", cap)
        rows += [small_run, big_run]
        screen = next(csv.DictReader((work / "out" / "screen" / "bench.screen.tsv").open(), delimiter="\t"))
        changed, new_vector = vector_change(work, genome, gtf, sheets["bench"], args.fraction, cap)
        rows.append(new_vector)

        print(
            f"\ngenome: {shape}; samples of {n_small:,} and {n_big:,} pairs; "
            "load = 1-min load average at the start\n"
        )
        print_rows(rows)
        overhead = rows[[t.label for t in rows].index("snakemake start-up (dry run)")].wall or 0.0
        cold = sum(t.wall or 0 for t in ref_rows)
        peak = max(t.rss_mb or 0 for t in ref_rows)
        bwa = sum(t.wall or 0 for t in ref_rows if "index_genome_bwa" in t.label)
        print(
            f"\ncold reference build: {cold / 60:.1f} min wall ({(cold - overhead * len(ref_rows)) / 60:.1f} "
            f"min without the {len(ref_rows)} Snakemake start-ups), peak RSS {peak / 1024:.1f} GB "
            f"(targets <= 45 min, <= 16 GB); {(cold - bwa) / 60:.1f} min without the genome's bwa index "
            "for placing host clips (sites.place_clips: false"
            + (f"; or the given {GIVEN_BWA_INDEX}, checked by preflight)" if GIVEN_BWA_INDEX else ")")
        )
        print(
            f"screening kept {int(screen['kept_reads']):,} of {int(screen['reads']):,} reads; "
            f"depth scale {screen['depth_scale']}"
        )
        by_label = {t.label.split(" (")[0]: t for t in rows}
        floor = by_label["decompress"].wall or 1.0
        load = by_label["minimap2 index load"].wall or 0.0
        print(
            f"warm sample / igzip -dc (floor): {(big_run.wall or 0) / floor:.1f}x (target <= 3); the minimap2"
            f" index load alone is {load:.0f} s ({load / floor:.1f}x the floor)"
        )
        print(f"\nafter a vector edit a dry run reruns: {', '.join(changed)}")
        print(f"  genome stages among them: {', '.join(sorted(GENOME_RULES & set(changed))) or 'none'}")
        print(
            f"  new vector, its reference stages run: {(new_vector.wall or 0) / 60:.1f} min, peak RSS "
            f"{(new_vector.rss_mb or 0) / 1024:.1f} GB (target <= 5 min; the genome's minimap2 index alone "
            f"took {sum(t.wall or 0 for t in ref_rows if 'index_genome_minimap2' in t.label) / 60:.1f} "
            "min above)"
        )
        data = {"rows": [t.__dict__ for t in rows], "small": small_costs, "big": big_costs, "genome": figures}
        (work / "figures.json").write_text(json.dumps(data, indent=1))
    if "naive" in args.steps:
        figures_naive = naive(work, prefix, args.naive_pairs, cap)
        data = json.loads((work / "figures.json").read_text())
        (work / "figures.json").write_text(json.dumps({**data, "naive": figures_naive}, indent=1))
    if "depth" in args.steps:
        depth_sample(
            work, write_config(work, genome, gtf, sheets["bench"], DEMO / "vector.gb", 1.0), n_big, cap
        )
    if {"main", "naive", "depth", "fit"} & set(args.steps):
        fit(work, n_small, n_big, args.fraction)
    if "bam" in args.steps:
        measured = json.loads((work / "figures.json").read_text()).get("naive", {})
        bam_input(work, BamRun(genome, gtf, small, args.fraction, measured), cap)
    if args.clean:
        for path in (genome, Path(f"{genome}.fai"), gtf, work / "reads", work / "out"):
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
