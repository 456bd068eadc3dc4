"""Simulated LM-PCR runs with known truth: clones of cells, one integrated copy each, sheared, linker
ligated (with a UMI when the layout has one), PCR-amplified and read from one LTR end.

Besides the junction molecules a run holds what real runs hold: PCR duplicates (reads per molecule
drawn from a geometric distribution), mispriming products (the primer annealed in the host genome: primer
then host, no LTR end), linker-only products (primer and LTR straight into the linker) and internal
products (the primer annealed to the other LTR copy, reading into the provirus). The truth table
(:data:`TRUTH`) lists each clone with its cells and the junction the run reads.
"""

from __future__ import annotations

import argparse
import gzip
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from carvis.core.io import write_tsv
from carvis.core.seqs import revcomp
from carvis.reads.lmpcr import PRESETS, Layout, end_oligos
from carvis.reference.vectors import VectorModel, build_vector
from carvis.sim.insertions import read_genome

TRUTH = (
    "chrom",
    "position",
    "orientation",
    "tsd_length",
    "ltr_end",
    "junction",
    "cells",
    "relative_abundance",
    "molecules",
)


@dataclass(frozen=True)
class Clone:
    """Cells sharing one integration: ``position`` is the first TSD base (1-based), as in SITES."""

    chrom: str
    position: int
    orientation: str
    cells: int


@dataclass(frozen=True)
class RunModel:
    """How one run is made."""

    ltr_end: str = "3p"
    capture: float = 0.5  # chance that a cell's copy gives a ligated molecule
    reads_per_molecule: float = 4.0  # mean PCR duplicates + 1 (geometric)
    misprime_share: float = 0.05  # of molecules
    linker_only_share: float = 0.02
    internal_share: float = 0.02
    read_length: int = 150
    error_rate: float = 0.002
    shear_median: float = 180.0  # host bases between the LTR end and the shear point (log-normal)
    shear_sigma: float = 0.55
    seed: int = 1


def power_law_clones(
    genome: Mapping[str, str], cells: int, clones: int, exponent: float = 1.0, seed: int = 1
) -> list[Clone]:
    """``clones`` clones at random positions whose sizes fall as rank^-exponent, ``cells`` in all."""
    rng = np.random.default_rng(seed)
    weights = np.arange(1, clones + 1, dtype=float) ** -exponent
    sizes = np.maximum(1, np.round(weights / weights.sum() * cells)).astype(int)
    names = sorted(genome)
    lengths = np.array([len(genome[n]) for n in names], dtype=float)
    out: list[Clone] = []
    taken: set[tuple[str, int]] = set()
    while len(out) < clones:
        chrom = names[int(rng.choice(len(names), p=lengths / lengths.sum()))]
        position = int(rng.integers(2000, len(genome[chrom]) - 2000))
        if any(c == chrom and abs(p - position) < 1000 for c, p in taken):
            continue
        taken.add((chrom, position))
        out.append(Clone(chrom, position, "+" if rng.random() < 0.5 else "-", int(sizes[len(out)])))
    return out


def host_rightward(ltr_end: str, orientation: str) -> bool:
    """Whether the host part read from this LTR end runs to higher coordinates."""
    return (ltr_end == "3p") == (orientation == "+")


def junction(clone: Clone, ltr_end: str, tsd_length: int) -> int:
    """The host base next to the LTR end that the run reads (right junction, or left junction)."""
    rightward = host_rightward(ltr_end, clone.orientation)
    return clone.position if rightward else clone.position + tsd_length - 1


def _host(genome: Mapping[str, str], clone: Clone, ltr_end: str, tsd_length: int, length: int) -> str:
    seq, at = genome[clone.chrom], junction(clone, ltr_end, tsd_length)
    if host_rightward(ltr_end, clone.orientation):
        return seq[at - 1 : at - 1 + length]
    return revcomp(seq[max(0, at - length) : at])


class _Writer:
    def __init__(
        self, layout: Layout, model: RunModel, rng: np.random.Generator, oligos: tuple[str, str]
    ) -> None:
        self.layout, self.model, self.rng = layout, model, rng
        self.head = oligos[0] + oligos[1]
        self.primer = oligos[0]
        self.records: list[tuple[str, str, str]] = []

    def _linker(self) -> str:
        """The linker with its N filled: the head once per run (sample-specific), the UMI per molecule."""
        if not hasattr(self, "head_fill"):
            self.head_fill = "".join(self.rng.choice(list("ACGT"), len(self.layout.linker)))
        span = self.layout.umi_span or (0, 0)
        umi = "".join(self.rng.choice(list("ACGT"), span[1] - span[0]))
        linker = self.layout.linker[: span[0]] + umi + self.layout.linker[span[1] :]
        return "".join(f if c == "N" else c for c, f in zip(linker, self.head_fill, strict=True))

    def _errors(self, read: str) -> str:
        hits = np.nonzero(self.rng.random(len(read)) < self.model.error_rate)[0]
        if not len(hits):
            return read
        chars = list(read)
        for i in hits:
            chars[i] = (
                "ACGT"[("ACGT".index(chars[i]) + int(self.rng.integers(1, 4))) % 4]
                if chars[i] in "ACGT"
                else "A"
            )
        return "".join(chars)

    def molecule(self, insert: str, label: str) -> None:
        """``insert`` = what follows the primer; the linker is ligated at the far end."""
        molecule = self.primer + insert + revcomp(self._linker())
        copies = 1 + int(self.rng.geometric(1 / self.model.reads_per_molecule)) - 1
        n = self.model.read_length
        for copy in range(copies):
            name = f"{label}.{copy}"
            self.records.append((name, self._errors(molecule[:n]), self._errors(revcomp(molecule)[:n])))


def _shear(model: RunModel, rng: np.random.Generator) -> int:
    return int(np.clip(round(rng.lognormal(np.log(model.shear_median), model.shear_sigma)), 1, 2000))


def simulate_run(
    genome: Mapping[str, str],
    vector: VectorModel,
    layout: Layout,
    clones: Sequence[Clone],
    prefix: str | Path,
    model: RunModel,
) -> list[dict[str, object]]:
    """Write ``<prefix>_R1.fastq.gz``/``_R2.fastq.gz`` (LTR read in the layout's ``ltr_read``) and
    ``<prefix>.truth.tsv``; return the truth rows."""
    rng = np.random.default_rng(model.seed)
    oligos = end_oligos(layout, vector, model.ltr_end)
    writer = _Writer(layout, model, rng, oligos)
    ltr = oligos[1]
    total = sum(c.cells for c in clones)
    truth, molecules = [], 0
    for number, clone in enumerate(clones):
        sampled = int(rng.binomial(clone.cells, model.capture))
        for m in range(sampled):
            writer.molecule(
                ltr + _host(genome, clone, model.ltr_end, vector.tsd_length, _shear(model, rng)),
                f"c{number}m{m}",
            )
        molecules += sampled
        truth.append(
            {
                "chrom": clone.chrom,
                "position": clone.position,
                "orientation": clone.orientation,
                "tsd_length": vector.tsd_length,
                "ltr_end": model.ltr_end,
                "junction": junction(clone, model.ltr_end, vector.tsd_length),
                "cells": clone.cells,
                "relative_abundance": clone.cells / total,
                "molecules": sampled,
            }
        )
    _artefacts(genome, vector, writer, molecules)
    order = rng.permutation(len(writer.records))
    _write(prefix, layout, [writer.records[i] for i in order])
    write_tsv(f"{prefix}.truth.tsv", TRUTH, truth)
    return truth


def _artefacts(genome: Mapping[str, str], vector: VectorModel, writer: _Writer, molecules: int) -> None:
    """Mispriming, linker-only and internal products, as shares of the junction molecules."""
    model, rng = writer.model, writer.rng
    names = sorted(genome)
    for i in range(round(molecules * model.misprime_share)):
        seq = genome[names[int(rng.integers(len(names)))]]
        start = int(rng.integers(0, len(seq) - 2500))
        host = seq[start : start + _shear(model, rng)]
        writer.molecule(host if rng.random() < 0.5 else revcomp(host), f"misprime{i}")
    for i in range(round(molecules * model.linker_only_share)):
        writer.molecule(writer.head[len(writer.primer) :], f"linkeronly{i}")
    inward = vector.provirus if model.ltr_end == "3p" else revcomp(vector.provirus)
    interior = inward[vector.ltr_length :]  # after the other LTR copy's same end
    for i in range(round(molecules * model.internal_share)):
        writer.molecule(writer.head[len(writer.primer) :] + interior[: _shear(model, rng)], f"internal{i}")


def _write(prefix: str | Path, layout: Layout, records: Sequence[tuple[str, str, str]]) -> None:
    ltr_file, linker_file = (1, 2) if layout.ltr_read == 1 else (2, 1)
    with (
        gzip.open(f"{prefix}_R{ltr_file}.fastq.gz", "wt", compresslevel=1) as a,
        gzip.open(f"{prefix}_R{linker_file}.fastq.gz", "wt", compresslevel=1) as b,
    ):
        for name, ltr_read, linker_read in records:
            a.write(f"@{name}/{ltr_file}\n{ltr_read}\n+\n{'I' * len(ltr_read)}\n")
            b.write(f"@{name}/{linker_file}\n{linker_read}\n+\n{'I' * len(linker_read)}\n")


# ---------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--genome", required=True, help="reference FASTA")
    parser.add_argument("--vector", required=True, help="plasmid FASTA or GenBank")
    parser.add_argument("--vector-name", help="vector name (default: the file stem)")
    parser.add_argument("--kind", default="lentiviral", choices=["lentiviral", "gammaretroviral"])
    parser.add_argument("--provirus", nargs=2, type=int, metavar=("START", "END"))
    parser.add_argument("--preset", default="inspiired", choices=list(PRESETS))
    parser.add_argument("--ltr-end", default="3p", choices=["3p", "5p"])
    parser.add_argument("--cells", type=int, default=10_000)
    parser.add_argument("--clones", type=int, default=100)
    parser.add_argument("--exponent", type=float, default=1.0, help="clone sizes fall as rank^-exponent")
    parser.add_argument("--capture", type=float, default=0.5, help="chance a cell's copy is ligated")
    parser.add_argument(
        "--misprime", type=float, default=0.05, help="mispriming products per junction molecule"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out-prefix", required=True)


def run(args: argparse.Namespace) -> int:
    vector = build_vector(args.vector_name or Path(args.vector).stem, args.vector, args.kind, args.provirus)
    genome = read_genome(args.genome)
    clones = power_law_clones(genome, args.cells, args.clones, args.exponent, args.seed)
    model = RunModel(ltr_end=args.ltr_end, capture=args.capture, misprime_share=args.misprime, seed=args.seed)
    truth = simulate_run(genome, vector, PRESETS[args.preset], clones, args.out_prefix, model)
    molecules = sum(int(str(t["molecules"])) for t in truth)
    print(
        f"carvis simulate-lmpcr: {len(clones)} clones, {molecules} ligated copies -> {args.out_prefix}_R1/_R2"
    )
    return 0
