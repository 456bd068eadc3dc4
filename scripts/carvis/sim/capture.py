"""Simulated hybrid capture with vector baits (issue 16): a simulated WGS library, captured.

Baits pull down a fragment when one of its reads carries bait sequence: the provirus (the vector bait
panel) or a control region (baited single-copy loci). :func:`capture_pairs` keeps every such pair and
each other pair with chance ``off_target`` (the background that escapes washing); the truth of the WGS
simulation still holds (the VCN, since vector and control regions are both kept whole).
"""

from __future__ import annotations

import argparse
import gzip
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np

from carvis.core.seqs import revcomp
from carvis.reads.capture import read_regions
from carvis.reference.vectors import build_vector
from carvis.sim.insertions import read_genome

K = 25


def bait_kmers(sequences: Iterable[str], k: int = K) -> set[str]:
    """Every k-mer of the baited sequences, both strands."""
    out: set[str] = set()
    for seq in sequences:
        for s in (seq.upper(), revcomp(seq.upper())):
            out.update(s[i : i + k] for i in range(len(s) - k + 1))
    return out


def _records(path: str | Path) -> Iterator[list[str]]:
    with gzip.open(path, "rt") as handle:
        while True:
            record = [handle.readline() for _ in range(4)]
            if not record[0]:
                return
            yield record


def _baited(read: str, kmers: set[str], step: int = 8) -> bool:
    return any(read[i : i + K] in kmers for i in range(0, max(1, len(read) - K + 1), step))


def capture_pairs(
    wgs: tuple[str | Path, str | Path],
    baits: Mapping[str, str],
    out_prefix: str | Path,
    off_target: float = 0.02,
    seed: int = 1,
) -> dict[str, int]:
    """Write ``<out_prefix>_R1/_R2.fastq.gz`` from the WGS pairs; ``baits``: name -> sequence."""
    kmers = bait_kmers(baits.values())
    rng = np.random.default_rng(seed)
    counts = {"pairs": 0, "on_target": 0, "off_target": 0}
    with (
        gzip.open(f"{out_prefix}_R1.fastq.gz", "wt", compresslevel=1) as out1,
        gzip.open(f"{out_prefix}_R2.fastq.gz", "wt", compresslevel=1) as out2,
    ):
        for a, b in zip(_records(wgs[0]), _records(wgs[1]), strict=True):
            counts["pairs"] += 1
            if _baited(a[1].strip(), kmers) or _baited(b[1].strip(), kmers):
                counts["on_target"] += 1
            elif rng.random() < off_target:
                counts["off_target"] += 1
            else:
                continue
            out1.writelines(a)
            out2.writelines(b)
    return counts


# ---------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--r1", required=True, help="read 1 FASTQ (gzipped) of the simulated library")
    parser.add_argument("--r2", required=True, help="read 2 FASTQ (gzipped)")
    parser.add_argument("--genome", required=True, help="reference FASTA (for the bait regions)")
    parser.add_argument("--vector", required=True, help="plasmid FASTA or GenBank")
    parser.add_argument("--kind", default="lentiviral")
    parser.add_argument("--provirus", nargs=2, type=int, metavar=("START", "END"))
    parser.add_argument(
        "--baits", nargs="*", default=[], help="BED files of baited host regions (controls, flanks)"
    )
    parser.add_argument("--off-target", type=float, default=0.02, help="share of other pairs kept")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out-prefix", required=True)


def run(args: argparse.Namespace) -> int:
    vector = build_vector(Path(args.vector).stem, args.vector, args.kind, args.provirus)
    genome = read_genome(args.genome)
    baits = {"provirus": vector.provirus}
    for bed in args.baits:
        baits |= {f"{c}:{s}": genome[c][s:e] for c, s, e in read_regions(bed)}
    counts = capture_pairs((args.r1, args.r2), baits, args.out_prefix, args.off_target, args.seed)
    print(f"carvis simulate-capture: {counts} -> {args.out_prefix}_R1/_R2")
    return 0
