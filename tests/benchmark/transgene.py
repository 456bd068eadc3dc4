"""Benchmark (a script, not a test): transgene VCN accuracy, detection limit and false `yes` calls.

    python tests/benchmark/transgene.py [--workdir DIR] [--coverage 30] [--seeds 3]
        [--accuracy-seeds 1] [--noise-seeds 50] [--only accuracy noise low negative] [--keep]
        [--threads 2]

Each case simulates a tumour with ``carvis simulate``, aligns it the way the workflow does
(minimap2 -ax sr -Y | samtools fixmate | sort | markdup), measures ``samtools coverage`` and
``samtools depth`` and calls every configured vector with carvis.transgene.call.call_vectors.
Worlds: the bundled demo genome + demo CAR (the genome carries EEF1A1, CD8A, CD28, TNFRSF9 and
CD247, copied into the vector), and real GRCh38 pieces (chr9:1-1 Mb, chr21:22-23 Mb) from
../shared/data with the real CD19 CAR plasmid vector_CART19.fa (skipped when absent).
Per world: VCN 0.5-10 with ``--accuracy-seeds`` seeds each (accuracy), the same VCNs with
``--noise-seeds`` seeds each on the provirus alone (noise), VCN 0.05 and CAR-negative with ``--seeds``
seeds each; ``--only`` runs some of the four. Every case has its own seed (world and case in it), so no
two cases share random draws. Each accuracy row shows the error, the relative sampling sd expected from
the fragments counted (compound Poisson: sqrt(sum x^2) / sum x, x = a fragment's counted bases), z =
error / expected sd and whether the 95% interval holds the truth; the summary gives the mean signed
error (bias) per VCN level and per world and the sd of z (1 when counting explains the scatter).
The noise part tests that calibration with many seeds cheaply: the genome is cut down to 6 kb around
each insertion site (reads of the provirus and its junctions are simulated exactly as in a full case;
VCN = 2 x counted depth / the simulated coverage, since the autosomal depth of a full case adds < 0.5%).
``--keep`` keeps each accuracy case's BAM.
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pysam

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from carvis.core import io  # noqa: E402
from carvis.core.intervals import read_bed  # noqa: E402
from carvis.reads.coverage import read_depth  # noqa: E402
from carvis.reference.build import build_combined_reference  # noqa: E402
from carvis.reference.mask import MINIMAP2_ARGS, build_mask, masked_bp, read_mask, write_vector_tiles  # noqa: E402
from carvis.reference.vectors import VectorModel, build_vector  # noqa: E402
from carvis.sim.insertions import Insertion, read_genome  # noqa: E402
from carvis.sim.simulate import TumourModel, simulate_tumour  # noqa: E402
from carvis.transgene.call import TransgeneFiles, call_vectors, count_fragments, counted_intervals  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
DEMO = ROOT / "resources" / "demo"
PARTS = ("accuracy", "noise", "low", "negative")
#: Host bases kept on each side of an insertion site in the noise part.
FLANK = 3000
#: minimap2 threads (--threads).
THREADS = [2]


@dataclass
class World:
    name: str
    genome: Path
    vector: Path
    kind: str
    combined: Path
    model: VectorModel
    footprint: dict[str, list[tuple[int, int]]]
    mask: list[tuple[str, int, int, str]]
    sites: list[tuple[str, int]]  # insertion positions, well apart


def sh(command: str) -> None:
    subprocess.run(command, shell=True, check=True, executable="/bin/bash")


def combined_index(genome: Path, model: VectorModel, work: Path) -> Path:
    """The combined reference (genome + vector contigs) and its minimap2 index."""
    work.mkdir(parents=True, exist_ok=True)
    combined = work / "combined.fa"
    build_combined_reference(genome, [model], combined)
    sh(f"minimap2 -x sr -t {THREADS[0]} -d {work}/combined.mmi {combined} 2>/dev/null")
    return combined


def build_world(name: str, genome: Path, vector: Path, kind: str, work: Path) -> World:
    """Combined reference, minimap2 index and homology mask (the workflow's reference stage)."""
    model = build_vector(name, vector, kind)
    combined = combined_index(genome, model, work)
    tiles, sam = work / "tiles.fa", work / "tiles.sam"
    write_vector_tiles([model], tiles)
    sh(f"minimap2 {MINIMAP2_ARGS} -t {THREADS[0]} {work}/combined.mmi {tiles} > {sam} 2>/dev/null")
    build_mask(sam, [model], work / "mask.bed", work / "footprint.bed")
    with pysam.FastxFile(str(genome)) as fasta:
        contigs = [(r.name, len(r.sequence)) for r in fasta if r.name not in {"chrX", "chrY"}]
    sites = [(c, pos) for c, length in contigs for pos in range(60_000, length - 60_000, 70_000)]
    return World(
        name,
        genome,
        vector,
        kind,
        combined,
        model,
        read_bed(work / "footprint.bed"),
        read_mask(work / "mask.bed"),
        sites,
    )


def simulate_and_align(
    genome: Path,
    combined: Path,
    model: VectorModel,
    insertions: list[Insertion],
    coverage: float,
    seed: int,
    work: Path,
) -> Path:
    """``carvis simulate`` the tumour and align it the way the workflow does; the indexed BAM."""
    work.mkdir(parents=True, exist_ok=True)
    prefix = work / "s"
    result = simulate_tumour(genome, model, insertions, prefix, TumourModel("s", coverage, seed=seed))
    bam = work / "s.bam"
    sh(
        f"minimap2 -ax sr -Y -t {THREADS[0]} {combined.parent}/combined.mmi {result.r1} {result.r2} "
        f"2>/dev/null | samtools fixmate -m -u - - | samtools sort -u -o - - 2>/dev/null "
        f"| samtools markdup -s - {bam} 2>/dev/null && samtools index {bam}"
    )
    result.r1.unlink()
    result.r2.unlink()
    return bam


def design(sites: list[tuple[str, int]], fractions: list[float]) -> list[Insertion]:
    """One insertion per cell fraction at the first sites, orientations alternating."""
    return [
        Insertion(c, p, "+-"[i % 2], f) for i, ((c, p), f) in enumerate(zip(sites, fractions, strict=False))
    ]


def vector_depth(model: VectorModel, bam: Path, work: Path) -> Path:
    """``samtools depth -a -Q 0`` over the vector contigs (the workflow's command); the TSV."""
    bed = work / "vector.bed"
    bed.write_text("".join(f"{c}\t0\t{len(s)}\n" for c, s in model.contigs().items()))
    sh(f"samtools depth -a -Q 0 -b {bed} {bam} > {work}/depth.tsv")
    return work / "depth.tsv"


def run_case(
    world: World, fractions: list[float], coverage: float, seed: int, work: Path, keep: bool = False
) -> dict[str, object]:
    """Simulate, align, measure and call; the transgene row of the world's vector (BAM kept if ``keep``)."""
    insertions = design(world.sites, fractions)
    bam = simulate_and_align(world.genome, world.combined, world.model, insertions, coverage, seed, work)
    sh(f"samtools coverage {bam} > {work}/coverage.tsv")
    depth = vector_depth(world.model, bam, work)
    files = TransgeneFiles(work / "coverage.tsv", depth, bam)
    (row,) = call_vectors("s", [world.model], world.footprint, world.mask, files)
    model = world.model
    counted = count_fragments(
        bam, model.provirus_contig, counted_intervals(model, world.footprint, world.mask)
    )
    row["relative_sd"] = counted.relative_sd()
    if not keep:
        bam.unlink()
        Path(f"{bam}.bai").unlink()
    return row


def vcn_cases() -> list[tuple[str, list[float]]]:
    """(label, cell fractions) for VCN accuracy: single clonal copies, several copies, a mixture."""
    return [
        ("0.5 (one copy in 50% of cells)", [0.5]),
        ("1 (one clonal copy)", [1.0]),
        ("2 (two clonal copies)", [1.0, 1.0]),
        ("3.5 (clone 0.8 x 3 + subclones)", [0.8, 0.8, 0.8, 0.6, 0.5]),
        ("5 (five clonal copies)", [1.0] * 5),
        ("10 (ten clonal copies)", [1.0] * 10),
    ]


@dataclass
class Accuracy:
    """One accuracy case: the truth, the call and the sd expected from counting alone."""

    world: str
    label: str
    seed: int
    truth: float
    vcn: float
    low: float
    high: float
    expected_sd: float  # relative, from the fragments counted
    fragments: int

    @property
    def error(self) -> float:
        return self.vcn / self.truth - 1

    @property
    def z(self) -> float:
        """The error in units of the sd expected from counting."""
        return self.error / self.expected_sd

    @property
    def held(self) -> bool:
        return self.low <= self.truth <= self.high


def accuracy(worlds: list[World], coverage: float, seeds: int, work: Path, keep: bool) -> list[Accuracy]:
    """Print the VCN accuracy table (``seeds`` seeds per world and VCN) and return the cases."""
    print(
        "| world | truth VCN | seed | called VCN | 95% interval | error | expected sd | z "
        "| interval holds truth | fragments |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    cases = []
    for w, world in enumerate(worlds):
        for index, (label, fractions) in enumerate(vcn_cases()):
            for rep in range(seeds):
                seed = 10_000 * w + 1000 * rep + 100 + index
                where = work / world.name / f"vcn{index}_{rep}"
                row = run_case(world, fractions, coverage, seed, where, keep)
                case = Accuracy(
                    world.name,
                    label,
                    seed,
                    sum(fractions),
                    float(row["vcn"]),  # type: ignore[arg-type]
                    float(row["vcn_low"]),  # type: ignore[arg-type]
                    float(row["vcn_high"]),  # type: ignore[arg-type]
                    float(row["relative_sd"]),  # type: ignore[arg-type]
                    int(row["fragments"]),  # type: ignore[call-overload]
                )
                cases.append(case)
                print(
                    f"| {world.name} | {label} | {seed} | {case.vcn:.3f} | {case.low:.3f}-{case.high:.3f} | "
                    f"{case.error:+.1%} | {case.expected_sd:.1%} | {case.z:+.2f} | "
                    f"{'yes' if case.held else 'NO'} | {case.fragments} |"
                )
    return cases


def _within(sd: float, tolerance: float = 0.1) -> float:
    """P(|error| <= tolerance) for an unbiased normal error of relative sd ``sd``."""
    return math.erf(tolerance / sd / math.sqrt(2))


def summarize(cases: list[Accuracy]) -> None:
    """Per VCN level and per world: bias (mean signed error), spread against counting, the 10% target."""
    print(
        "\n| group | cases | mean signed error (se) | sd of errors | mean expected sd | sd of z | within 10% "
        "| expected within 10% | interval holds truth | fragments per copy |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    groups = [(f"VCN {c.truth:g}", [x for x in cases if x.truth == c.truth]) for c in cases]
    groups += [(f"world {c.world}", [x for x in cases if x.world == c.world]) for c in cases]
    for name, group in [*dict(groups).items(), ("all", cases)]:
        errors = [c.error for c in group]
        se = _sd(errors) / math.sqrt(len(errors))
        print(
            f"| {name} | {len(group)} | {statistics.mean(errors):+.1%} ({se:.1%}) | {_sd(errors):.1%} "
            f"| {statistics.mean(c.expected_sd for c in group):.1%} "
            f"| {_sd([c.z for c in group]):.2f} "
            f"| {sum(abs(e) <= 0.1 for e in errors)}/{len(group)} "
            f"| {sum(_within(c.expected_sd) for c in group):.1f} "
            f"| {sum(c.held for c in group)}/{len(group)} "
            f"| {statistics.mean(c.fragments / c.truth for c in group):.0f} |"
        )
    worst = max(cases, key=lambda c: abs(c.error))
    print(
        f"\nVCN 0.5-10: {sum(abs(c.error) <= 0.1 for c in cases)}/{len(cases)} within 10% of truth "
        f"(expected from counting alone: {sum(_within(c.expected_sd) for c in cases):.1f}), "
        f"95% interval holds the truth in {sum(c.held for c in cases)}/{len(cases)}, mean signed error "
        f"(bias) {statistics.mean(c.error for c in cases):+.2%}, max |error| {abs(worst.error):.1%} "
        f"({worst.world} VCN {worst.truth:g}), sd of z {_sd([c.z for c in cases]):.2f}"
    )


def _sd(values: list[float]) -> float:
    """Sample sd around the mean (nan for a single value)."""
    return statistics.stdev(values) if len(values) > 1 else float("nan")


def flank_genome(world: World, work: Path) -> tuple[Path, list[tuple[str, int]]]:
    """A genome of FLANK host bases either side of each insertion site of the world; its sites."""
    genome = read_genome(world.genome)
    pieces = {f"{c}_{p}": genome[c][p - 1 - FLANK : p - 1 + FLANK] for c, p in world.sites[:10]}
    work.mkdir(parents=True, exist_ok=True)
    path = work / "flanks.fa"
    io.write_fasta(path, pieces.items())
    return path, [(name, FLANK + 1) for name in pieces]


def noise(worlds: list[World], coverage: float, seeds: int, work: Path) -> list[Accuracy]:
    """VCN error against the counting sd over many seeds, the provirus and its host flanks only."""
    cases = []
    for w, world in enumerate(worlds):
        genome, sites = flank_genome(world, work / world.name / "noise")
        combined = combined_index(genome, world.model, work / world.name / "noise")
        contig = world.model.provirus_contig
        counted = counted_intervals(world.model, world.footprint, world.mask)
        for level, (label, fractions) in enumerate(vcn_cases()):
            for rep in range(seeds):
                seed = 1_000_000 + 100_000 * w + 10 * rep + level
                where = work / world.name / "noise" / "case"
                bam = simulate_and_align(
                    genome, combined, world.model, design(sites, fractions), coverage, seed, where
                )
                depth = read_depth(vector_depth(world.model, bam, where), {contig: len(world.model.provirus)})
                values = np.concatenate([depth[contig][s:e] for s, e in counted])
                fragments = count_fragments(bam, contig, counted)
                vcn = 2 * float(values.mean()) / coverage
                truth = sum(fractions)
                cases.append(  # no interval: the noise part measures the point estimate only
                    Accuracy(
                        world.name,
                        label,
                        seed,
                        truth,
                        vcn,
                        0.0,
                        math.inf,
                        fragments.relative_sd(),
                        fragments.fragments,
                    )
                )
    print(
        f"\nVCN noise: provirus and {FLANK} bp host flanks only, {seeds} seeds per world and VCN\n"
        "\n| world | truth VCN | cases | mean signed error (se) | sd of errors | mean expected sd | sd of z "
        "| within 10% | expected within 10% |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for world in worlds:
        for truth in sorted({c.truth for c in cases}):
            group = [c for c in cases if c.world == world.name and c.truth == truth]
            errors = [c.error for c in group]
            print(
                f"| {world.name} | {truth:g} | {len(group)} | {statistics.mean(errors):+.1%} "
                f"({_sd(errors) / math.sqrt(len(group)):.1%}) | {_sd(errors):.1%} "
                f"| {statistics.mean(c.expected_sd for c in group):.1%} | {_sd([c.z for c in group]):.2f} "
                f"| {sum(abs(e) <= 0.1 for e in errors)}/{len(group)} "
                f"| {sum(_within(c.expected_sd) for c in group):.1f} |"
            )
    return cases


def repeated(
    worlds: list[World], fractions: list[float], seeds: int, coverage: float, work: Path, tag: str
) -> list[str]:
    """Print one row per world and seed of a repeated case; the calls."""
    calls = []
    for w, world in enumerate(worlds):
        for seed in range(seeds):
            case = 10_000 * w + (200 if fractions else 500) + seed
            row = run_case(world, fractions, coverage, case, work / world.name / f"{tag}{seed}")
            calls.append(str(row["detected"]))
            print(
                f"| {world.name} | {case} | {row['detected']} | {float(row['vcn']):.4f} | "
                f"{row['fragments']} | {row['distinct_positions']} | {row['reason']} |"
            )
    return calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--coverage", type=float, default=30.0)
    parser.add_argument("--seeds", type=int, default=3, help="seeds per world for VCN 0.05 and CAR-negative")
    parser.add_argument("--accuracy-seeds", type=int, default=1, help="seeds per world and VCN 0.5-10")
    parser.add_argument("--noise-seeds", type=int, default=50, help="noise part: seeds per world and VCN")
    parser.add_argument("--threads", type=int, default=2, help="minimap2 threads")
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS), help="parts to run")
    parser.add_argument("--keep", action="store_true", help="keep each case's BAM")
    args = parser.parse_args()
    THREADS[0] = args.threads
    work = args.workdir or Path(tempfile.mkdtemp(prefix="carvis_bench_transgene_"))
    began = time.time()
    worlds = [build_world("demo_car", DEMO / "genome.fa", DEMO / "vector.fa", "lentiviral", work / "demo")]
    if SHARED.is_dir():
        genome = work / "grch38_pieces.fa"
        sh(
            f"cat {SHARED}/genome/Homo_sapiens.GRCh38.dna_sm.primary_assembly_chr9_1_1000000.fa "
            f"{SHARED}/genome/hg38_chr21_22000000_23000000.fasta > {genome}"
        )
        worlds.append(
            build_world(
                "CART19", genome, SHARED / "vectors" / "vector_CART19.fa", "lentiviral", work / "grch38"
            )
        )
    print(f"# transgene benchmark at {args.coverage:g}x (work: {work})\n")
    for world in worlds:
        counted = counted_intervals(world.model, world.footprint, world.mask)
        print(
            f"- {world.name}: {sum(e - s for s, e in counted)} bp counted (footprint "
            f"{sum(e - s for s, e in world.footprint.get(world.model.provirus_contig, []))} bp + LTRs), "
            f"masked {masked_bp(world.model, world.mask)} bp"
        )
    print()
    summary = []
    if "accuracy" in args.only:
        cases = accuracy(worlds, args.coverage, args.accuracy_seeds, work, args.keep)
        summarize(cases)
    if "noise" in args.only:
        spread = noise(worlds, args.coverage, args.noise_seeds, work)
        summary.append(
            f"noise: {len(spread)} provirus-only cases, sd of z {_sd([c.z for c in spread]):.2f}, "
            f"mean signed error {statistics.mean(c.error for c in spread):+.2%}"
        )
    header = (
        "| world | seed | detected | VCN | fragments | positions | reason |\n|---|---|---|---|---|---|---|"
    )
    if "low" in args.only:
        print(f"\nVCN 0.05 (one copy in 5% of cells)\n\n{header}")
        low = repeated(worlds, [0.05], args.seeds, args.coverage, work, "low")
        summary.append(f"VCN 0.05: yes in {low.count('yes')}/{len(low)}")
    if "negative" in args.only:
        print(f"\nCAR-negative\n\n{header}")
        negative = repeated(worlds, [], args.seeds, args.coverage, work, "neg")
        summary.append(
            f"CAR-negative: false yes {negative.count('yes')}/{len(negative)} ({', '.join(negative)})"
        )
    print("\n" + "\n".join([*summary, f"elapsed: {time.time() - began:.0f} s"]))


if __name__ == "__main__":
    main()
