"""BAM/CRAM input benchmark (prints figures; not a test): extraction against the decompression floor.

    python tests/benchmark/bam_input.py [--pairs 1000000] [--workdir /tmp/carvis-bam-input]

A sample already aligned to the human genome is read by rule extract_reads (carvis.reads.bam_input: one
``samtools view`` pass into kmer_screen's SAM mode, writing both mates of the selected pairs and the depth
sample). Its floor is decoding the same file once: ``samtools view -@2 FILE >/dev/null`` (issue 15: at most
1.5x). This script builds the demo reference with the workflow (``--until`` the screening reference and
the kmer_screen binary), simulates ``--pairs`` pairs on the demo genome with ``carvis simulate``, aligns them
(minimap2 -ax sr, sorted BAM, and a CRAM of it), then times the floor and the extraction command the rule
runs, ``--runs`` times each (interleaved), for BAM and CRAM, and the depth step: ``samtools coverage`` of the
whole file (what genome_coverage ran before) against that of the depth sample. Wall seconds of every run
and the CPU seconds (user + system) of the best are printed. Decoding and the k-mer screen cost per read,
not per genome base, so the ratio on the 1.2 Mb demo genome is the ratio on GRCh38 (the per-read rate
extrapolates to 30x). The machine may be shared: the 1-minute load average is printed with each line.
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests"))

from helpers import without_scontrol  # noqa: E402

from carvis.reads.bam_input import Extraction, depth_subsample, extract_command  # noqa: E402

DEMO = ROOT / "resources" / "demo"
WGS_READS = 1_200_000_000


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: str, cwd: Path) -> float:
    start = time.monotonic()
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=without_scontrol(),
    )
    if result.returncode:
        raise SystemExit(f"failed: {command}\n{result.stderr[-3000:]}")
    return time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/carvis-bam-input"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--binned-qualities",
        action="store_true",
        help="NovaSeq-like binned qualities instead of the simulator's constant I (use a new workdir)",
    )
    args = parser.parse_args()
    work = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    targets = "write_screen_reference build_kmer_screen combine_reference"
    timed(f"snakemake -s {ROOT / 'Snakefile'} --cores 2 --quiet --until {targets}", work)
    refs = [p for p in (work / "results" / "reference").iterdir() if (p / "combined.fa.fai").exists()]
    ref = max(refs, key=lambda p: p.stat().st_mtime)  # this checkout's (the key holds the paths)
    prefix = work / "bench"
    if not (work / "bench.bam").exists():
        coverage = args.pairs * 300 / 1_200_000
        timed(
            f"PYTHONPATH={ROOT / 'scripts'} {sys.executable} -m carvis.cli simulate"
            f" --genome {DEMO / 'genome.fa'} --vector {DEMO / 'vector.gb'}"
            f" --vector-name demo_car --design {DEMO / 'design.tsv'} --bystanders 20 --purity 0.8"
            f" --coverage {coverage:.2f} --seed 21 --sample bench --out-prefix {prefix}",
            work,
        )
        if args.binned_qualities:
            for mate in ("R1", "R2"):
                bin_qualities(Path(f"{prefix}_{mate}.fastq.gz"))
        timed(
            f"minimap2 -ax sr -t 2 {ref}/combined.mmi {prefix}_R1.fastq.gz {prefix}_R2.fastq.gz 2>/dev/null"
            f" | samtools sort -@ 2 -o {work}/bench.tmp.bam - && mv {work}/bench.tmp.bam {work}/bench.bam"
            f" && samtools index {work}/bench.bam",
            work,
        )
    cram = work / "bench.cram"
    if not cram.exists() or cram.stat().st_size == 0:
        timed(f"samtools view -@ 2 -C -T {ref}/combined.fa -o {work}/bench.cram {work}/bench.bam", work)
    reads = int(
        subprocess.run(
            ["samtools", "view", "-c", "-F", "0x900", str(work / "bench.bam")],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    screen = (
        work / "results" / "bin" / "kmer_screen",
        ref / "screen" / "vector_pieces.fa",
        ref / "screen" / "vector_ends.fa",
    )
    print(f"{reads:,} primary reads on the demo genome; 2 threads; {args.runs} runs each, interleaved\n")
    print("| input | step | wall s, each run | best s | CPU s of the best | ratio to the floor | load |")
    print("|---|---|---|---:|---:|---:|---|")
    for kind in ("bam", "cram"):
        path = work / f"bench.{kind}"
        out = work / f"extract_{kind}"
        subsample = depth_subsample(path, 0.05, 1_000_000, 7)
        extraction = Extraction(path, ref / "combined.fa", screen, out, f"{out}.counts", 2, subsample)
        steps = {
            "floor": f"samtools view -@ 2 -T {ref}/combined.fa {path} >/dev/null",
            "extract_reads": extract_command(extraction),
        }
        best = run_steps(steps, args.runs, work)
        floor = best["floor"][0]
        print_rows(kind, best, floor)
        extract_wall, extract_cpu = best["extract_reads"][:2]
        hours, core_hours = (x / reads * WGS_READS / 3600 for x in (extract_wall, extract_cpu))
        wgs = f"30x (1.2G reads) extraction: {hours:.2f} h wall, {core_hours:.2f} core-h"
        print(f"| {kind.upper()} | {wgs} ||||||")
        whole = f"samtools coverage --reference {ref}/combined.fa {path} >/dev/null"
        coverage = {
            "coverage, whole file (before)": whole,
            "coverage, depth sample": f"samtools coverage {out}.depth.sam >/dev/null",
        }
        print_rows(kind, run_steps(coverage, args.runs, work), floor)
    print("\ntarget: extraction at most 1.5x the floor; 30x from BAM at most 1 core-hour")


def bin_qualities(fastq: Path, seed: int = 3) -> None:
    """Rewrite a FASTQ's qualities as NovaSeq's four bins (F 37, : 25, , 11, # 2), a Markov chain that keeps
    its bin with probability 0.8, so that the file decodes at the cost of real qualities, not a constant."""
    rng = random.Random(seed)
    bins, weights = "F:,#", (0.85, 0.1, 0.04, 0.01)
    tmp = fastq.with_suffix(".tmp.gz")
    with gzip.open(fastq, "rt") as src, gzip.open(tmp, "wt", compresslevel=1) as out:
        for number, line in enumerate(src):
            if number % 4 == 3:
                quality, current = [], "F"
                for _ in range(len(line) - 1):
                    if rng.random() > 0.8:
                        current = rng.choices(bins, weights)[0]
                    quality.append(current)
                line = "".join(quality) + "\n"
            out.write(line)
    tmp.replace(fastq)


def print_rows(kind: str, best: dict[str, tuple[float, float, str, str]], floor: float) -> None:
    for step, (seconds, cpu, runs, load) in best.items():
        ratio = seconds / floor
        print(f"| {kind.upper()} | {step} | {runs} | {seconds:.2f} | {cpu:.2f} | {ratio:.2f} | {load} |")


def run_steps(steps: dict[str, str], runs: int, work: Path) -> dict[str, tuple[float, float, str, str]]:
    """Each step's best wall seconds, the CPU seconds of that run, every run's wall seconds and the
    1-minute load averages before the runs."""
    walls: dict[str, list[tuple[float, float]]] = {step: [] for step in steps}
    loads: dict[str, list[str]] = {step: [] for step in steps}
    for _ in range(runs):
        for step, command in steps.items():
            loads[step].append(f"{os.getloadavg()[0]:.1f}")
            cpu = cpu_seconds()
            wall = timed(command, work)
            walls[step].append((wall, cpu_seconds() - cpu))
    return {
        step: (*min(w), " / ".join(f"{x:.2f}" for x, _ in w), " / ".join(loads[step]))
        for step, w in walls.items()
    }


if __name__ == "__main__":
    main()
