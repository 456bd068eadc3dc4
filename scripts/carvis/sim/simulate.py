"""Simulate paired-end tumour reads with chosen vector integrations, plus a truth table.

The genome is diploid at ``coverage`` read depth. Each insertion replaces a fraction g = cell_fraction / 2
of the reference alleles at its target site by the modified allele (:mod:`carvis.sim.insertions`); plasmid
contamination adds fragments of the circular plasmid, 2-LTR circles fragments of the provirus closed end to
end, and PCR duplicates second copies of fragments (named ``dup_<name>``). Fragments start at every base
with the same probability (:mod:`carvis.sim.fragments`), so the provirus of an insertion is read at exactly
coverage x cell_fraction / 2 (the depth the VCN benchmark compares with). Reads are named ``sample:N``, or
by their origin, ``<origin>_<N>`` (``origin_names``): the contig of a reference fragment, the insertion's
name (``site<i>`` if none), ``plasmid`` or ``circle``.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from carvis.core.errors import InputError
from carvis.core.io import write_tsv
from carvis.core.seqs import read_single_record
from carvis.core.tables import TRUTH
from carvis.reference.vectors import KINDS, VectorModel, build_vector
from carvis.sim.fragments import (
    MAX_N_FRACTION,
    Genome,
    Special,
    Template,
    add_errors,
    as_array,
    fastq_gz,
    fastq_records,
    fragment_lengths,
    insert_template,
    n_below,
    place,
    reads_from,
    template_fragments,
)
from carvis.sim.insertions import (
    TRUTH_TRANSGENE,
    Insertion,
    SiteDraw,
    check_insertions,
    left_junction,
    random_insertions,
    read_design,
    read_genome,
    transgene_truth,
    truth_rows,
)

#: Reference fragments per streamed chunk.
CHUNK = 100_000


@dataclass(frozen=True)
class TumourModel:
    """The library and the tumour besides its insertions: depth, read and fragment lengths, sequencing
    errors, purity, plasmid contamination and 2-LTR circles (copies per diploid genome), the fraction of
    fragments sequenced twice (PCR duplicates), read names, seed and sample name."""

    sample: str = "tumour"
    coverage: float = 30.0
    read_length: int = 150
    insert_mean: float = 350
    insert_sd: float = 50
    error_rate: float = 0.001
    purity: float | None = None
    contamination: float = 0.0
    circles: float = 0.0
    duplicates: float = 0.0
    origin_names: bool = False
    seed: int = 1

    def check(self) -> None:
        """Raise InputError on the first invalid parameter."""
        checks = [
            (self.coverage > 0, f"coverage {self.coverage} must be > 0"),
            (self.read_length > 0, f"read length {self.read_length} must be > 0"),
            (
                self.insert_mean >= self.read_length,
                f"insert mean {self.insert_mean} is shorter than the read length",
            ),
            (self.insert_sd >= 0, f"insert sd {self.insert_sd} must be >= 0"),
            (0 <= self.error_rate < 0.5, f"error rate {self.error_rate} must be in [0, 0.5)"),
            (self.purity is None or 0 < self.purity <= 1, f"purity {self.purity} must be in (0, 1]"),
            (self.contamination >= 0, f"contamination {self.contamination} must be >= 0"),
            (self.circles >= 0, f"circles {self.circles} must be >= 0"),
            (0 <= self.duplicates < 1, f"duplicates {self.duplicates} must be in [0, 1)"),
        ]
        for ok, problem in checks:
            if not ok:
                raise InputError(None, problem, "fix the simulation parameter")

    def max_fragment(self, mean: float | None = None) -> int:
        """The longest fragment drawn at this (or the library's) mean length."""
        return max(self.read_length, math.ceil((mean or self.insert_mean) + 4 * self.insert_sd))


@dataclass
class SimulationResult:
    """Paths written by :func:`simulate_tumour` and what was simulated."""

    r1: Path
    r2: Path
    truth: Path
    truth_transgene: Path
    pairs: int
    contamination_pairs: int
    truth_rows: list[dict[str, object]]


@dataclass
class _Run:
    """What every chunk of one simulation draws from."""

    model: TumourModel
    rng: np.random.Generator
    ref: Genome
    vector: VectorModel
    insertions: Sequence[Insertion]

    def lengths(self, n: int, mean: float | None = None) -> np.ndarray:
        m = self.model
        high = m.max_fragment(mean)
        return fragment_lengths(self.rng, n, mean or m.insert_mean, m.insert_sd, m.read_length, high)


def simulate_tumour(
    genome_fasta: str | Path,
    vector: VectorModel,
    insertions: Sequence[Insertion],
    out_prefix: str | Path,
    model: TumourModel = TumourModel(),
) -> SimulationResult:
    """Write ``{out_prefix}_R1/_R2.fastq.gz``, ``.truth.tsv`` and ``.truth_transgene.tsv``."""
    model.check()
    genome = read_genome(genome_fasta)
    check_insertions(genome, vector, insertions)
    rng = np.random.default_rng(model.seed)
    read_length = model.read_length
    run = _Run(model, rng, Genome(genome, model.max_fragment()), vector, insertions)

    templates: list[Template] = []
    labels: list[str] = []
    draws: list[tuple[np.ndarray, np.ndarray]] = []
    crossing, readable, placeable = [], [], []
    for i, ins in enumerate(insertions):
        flank = max(model.max_fragment(), model.max_fragment(ins.fragment_mean))
        template = insert_template(genome, vector, ins, flank)
        start, length, n_cross, n_readable, n_placeable = template_fragments(
            rng,
            template,
            model.coverage * ins.cell_fraction / 2,
            read_length,
            functools.partial(run.lengths, mean=ins.fragment_mean),
            ins.discordant_only,
        )
        readable.append(n_readable)
        placeable.append(n_placeable)
        templates.append(template)
        labels.append(ins.name or f"site{i + 1}")
        draws.append((start, length))
        crossing.append(n_cross)
    contamination_pairs = 0
    if model.contamination > 0:
        plasmid = str(read_single_record(vector.source).seq).upper()
        contamination_pairs = _circular_draws(run, plasmid, model.contamination, templates, draws)
        labels.append("plasmid")
    if model.circles > 0:  # 2-LTR circles: the provirus closed end to end
        _circular_draws(run, vector.provirus, model.circles, templates, draws)
        labels.append("circle")

    n_reference = round(model.coverage * run.ref.size / (2 * read_length))
    n_chunks = max(1, math.ceil(n_reference / CHUNK))
    special = Special.assign(draws, rng, n_chunks)
    origins = [*run.ref.names, *labels]

    prefix = str(out_prefix)
    paths = [Path(f"{prefix}_R1.fastq.gz"), Path(f"{prefix}_R2.fastq.gz")]
    pairs = numbered = 0
    with fastq_gz(paths[0]) as out1, fastq_gz(paths[1]) as out2:
        for chunk in range(n_chunks):
            r1, r2, origin = _chunk_reads(run, min(CHUNK, n_reference - chunk * CHUNK))
            sel = special.chunk == chunk
            for i in np.unique(special.template[sel]):
                pick = sel & (special.template == i)
                s1, s2 = reads_from(templates[i].seq, special.start[pick], special.length[pick], read_length)
                r1, r2 = np.concatenate([r1, s1]), np.concatenate([r2, s2])
                origin = np.concatenate([origin, np.full(len(s1), len(run.ref.names) + i)])
            order = rng.permutation(len(r1))
            r1, r2, origin = r1[order], r2[order], origin[order]
            flip = rng.random(len(r1)) < 0.5  # fragment read from the other strand
            r1[flip], r2[flip] = r2[flip], r1[flip].copy()
            names = _names(model, origins, origin, numbered + 1)
            numbered += len(r1)
            if model.duplicates > 0:
                twice = np.flatnonzero(rng.random(len(r1)) < model.duplicates)
                r1, r2 = np.concatenate([r1, r1[twice]]), np.concatenate([r2, r2[twice]])
                names += [b"dup_" + names[k] for k in twice]
            add_errors(rng, r1, model.error_rate)
            add_errors(rng, r2, model.error_rate)
            out1.write(fastq_records(names, r1, read_length))
            out2.write(fastq_records(names, r2, read_length))
            pairs += len(r1)

    sample, purity = model.sample, model.purity
    rows = truth_rows(genome, vector, insertions, sample=sample, purity=purity, fragments=crossing)
    sites = [(n, m) for n, m, i in zip(readable, placeable, insertions, strict=True) if i.is_site]
    for row, (n, m) in zip(rows, sites, strict=True):
        row["readable_fragments"], row["placeable_fragments"] = n, m
    truth = Path(f"{prefix}.truth.tsv")
    write_tsv(truth, TRUTH, rows)
    transgene = Path(f"{prefix}.truth_transgene.tsv")
    row = transgene_truth(vector, insertions, sample=sample, purity=purity, contamination=model.contamination)
    write_tsv(transgene, TRUTH_TRANSGENE, [row])
    return SimulationResult(paths[0], paths[1], truth, transgene, pairs, contamination_pairs, rows)


def _circular_draws(
    run: _Run,
    source: str,
    copies: float,
    templates: list[Template],
    draws: list[tuple[np.ndarray, np.ndarray]],
) -> int:
    """Add the fragments of a circular molecule at ``copies`` per diploid genome; how many."""
    m, longest = run.model, run.model.max_fragment()
    circular = as_array(source + (source * (longest // len(source) + 1))[:longest])
    n = int(run.rng.poisson(m.coverage * copies / 2 / (2 * m.read_length) * len(source)))
    templates.append(Template(circular, 0, len(circular)))
    draws.append((run.rng.integers(0, len(source), n), run.lengths(n)))
    return n


def _names(model: TumourModel, origins: Sequence[str], origin: np.ndarray, first: int) -> list[bytes]:
    """``sample:N``, or ``<origin>_<N>`` with ``origin_names``, from pair number ``first`` on."""
    if model.origin_names:
        return [b"%s_%d" % (origins[o].encode(), first + k) for k, o in enumerate(origin)]
    sample = model.sample.encode()
    return [b"%s:%d" % (sample, first + k) for k in range(len(origin))]


def _chunk_reads(run: _Run, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reads of ``size`` reference fragments, minus N-rich ones, those running off the contig's end
    and those lost to insertions, with the contig index of each."""
    rng, ref = run.rng, run.ref
    contig = rng.choice(len(ref.names), size=size, p=ref.weights)
    length = run.lengths(size)
    r1s, r2s, origins = [], [], []
    for c in range(len(ref.names)):
        pick = contig == c
        n_len = length[pick]
        seq = ref.seqs[c]
        start, keep = place(rng, len(seq), n_len)
        keep &= (n_below(ref.runs[c], start + n_len) - n_below(ref.runs[c], start)) <= MAX_N_FRACTION * n_len
        end = start + n_len  # 1-based end of the fragment
        for ins in run.insertions:
            if ins.chrom != ref.names[c]:
                continue
            a, lj = ins.position, left_junction(ins, run.vector)
            spans = (start + 1 <= min(a - 1, lj)) & (end >= max(a, lj + 1))
            keep &= ~(spans & (rng.random(len(start)) < ins.cell_fraction / 2))
        r1, r2 = reads_from(seq, start[keep], n_len[keep], run.model.read_length)
        r1s.append(r1)
        r2s.append(r2)
        origins.append(np.full(len(r1), c))
    return np.concatenate(r1s), np.concatenate(r2s), np.concatenate(origins)


# ---------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--genome", required=True, help="reference FASTA")
    parser.add_argument("--vector", required=True, help="plasmid FASTA or GenBank")
    parser.add_argument("--vector-name", help="vector name (default: the file stem)")
    parser.add_argument("--kind", default="lentiviral", choices=list(KINDS))
    parser.add_argument("--provirus", nargs=2, type=int, metavar=("START", "END"))
    parser.add_argument(
        "--design",
        help="TSV: chrom, position, orientation, cell_fraction[, tsd_length][, class][, host_deletion]",
    )
    parser.add_argument("--bystanders", type=int, default=0, help="random low-fraction sites to add")
    parser.add_argument(
        "--bystander-fraction", nargs=2, type=float, default=[0.001, 0.004], metavar=("LOW", "HIGH")
    )
    parser.add_argument("--coverage", type=float, default=30.0)
    parser.add_argument("--read-length", type=int, default=150)
    parser.add_argument("--insert-mean", type=float, default=350)
    parser.add_argument("--insert-sd", type=float, default=50)
    parser.add_argument("--purity", type=float)
    parser.add_argument("--contamination", type=float, default=0.0, help="plasmid copies per diploid genome")
    parser.add_argument("--circles", type=float, default=0.0, help="2-LTR circle copies per diploid genome")
    parser.add_argument("--duplicates", type=float, default=0.0, help="fraction of fragments read twice")
    parser.add_argument("--origin-names", action="store_true", help="name reads <origin>_<N>, not sample:N")
    parser.add_argument("--error-rate", type=float, default=0.001)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sample", default="tumour")
    parser.add_argument("--out-prefix", required=True)


def run(args: argparse.Namespace) -> int:
    name = args.vector_name or Path(args.vector).stem
    vector = build_vector(name, args.vector, args.kind, args.provirus)
    insertions = read_design(args.design) if args.design else []
    if args.bystanders:
        genome = read_genome(args.genome)
        rng = np.random.default_rng([args.seed, 1])
        insertions += random_insertions(
            genome, rng, SiteDraw(args.bystanders, tuple(args.bystander_fraction))
        )
    fields = {f.name for f in dataclasses.fields(TumourModel)}
    model = TumourModel(**{k: v for k, v in vars(args).items() if k in fields})
    result = simulate_tumour(args.genome, vector, insertions, args.out_prefix, model)
    print(f"carvis simulate: {result.pairs} pairs, {len(insertions)} insertions -> {result.r1.parent}")
    return 0
