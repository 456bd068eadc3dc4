"""BAM/CRAM input benchmark (prints figures; not a test): extraction against the decompression floor.

    python tests/benchmark/bam_input.py [--pairs 1000000] [--workdir /tmp/carvis-bam-input]

A sample already aligned to the human genome is read by rule extract_reads (carvis.reads.bam_input:
the selected reads' names, every primary read through kmer_screen, then both mates of the kept names as
FASTQ). Its floor is decoding the same file once: ``samtools view -@2 FILE >/dev/null`` (issue 15: at most
1.5x). This script builds the demo reference with the workflow (``--until`` the screening reference and
the kmer_screen binary), simulates ``--pairs`` pairs on the demo genome with ``carvis simulate``, aligns them
(minimap2 -ax sr, sorted BAM, and a CRAM of it), then times the floor and the extraction command the rule
runs, each once, for BAM and CRAM. Decoding and the k-mer screen cost per read, not per genome base, so the
ratio on the 1.2 Mb demo genome is the ratio on GRCh38 (the per-read rate extrapolates to 30x).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests"))

from helpers import without_scontrol  # noqa: E402

from carvis.reads.bam_input import extract_command  # noqa: E402

DEMO = ROOT / "resources" / "demo"
WGS_READS = 1_200_000_000


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
    print(f"{reads:,} primary reads on the demo genome; 2 threads; one run each\n")
    print("| input | floor: samtools view -@2 s | extract_reads s | ratio | 30x (1.2G reads) extraction h |")
    print("|---|---:|---:|---:|---:|")
    for kind in ("bam", "cram"):
        path = work / f"bench.{kind}"
        floor = timed(f"samtools view -@ 2 -T {ref}/combined.fa {path} >/dev/null", work)
        out = work / f"extract_{kind}"
        command = extract_command(
            path,
            ref / "combined.fa",
            f"{out}.names",
            f"{out}_R1.fastq.gz",
            f"{out}_R2.fastq.gz",
            2,
            screen,
            f"{out}.counts",
        )
        seconds = timed(command, work)
        print(
            f"| {kind.upper()} | {floor:.1f} | {seconds:.1f} | {seconds / floor:.2f} "
            f"| {seconds / reads * WGS_READS / 3600:.2f} |"
        )
    print("\ntarget: extraction at most 1.5x the floor; 30x from BAM at most 1 core-hour (times x 2 threads)")


if __name__ == "__main__":
    main()
