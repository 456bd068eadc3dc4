"""Benchmark (a script, not a test): LM-PCR site recall/precision and abundance against the truth.

    python tests/benchmark/lmpcr.py [--cells 10000] [--clones 100] [--exponent 1.0] [--seeds 1]
        [--genome-mb 3] [--threads 2] [--workdir DIR]

A random genome (``--genome-mb``, three contigs) and the bundled demo CAR vector; ``--clones`` clones of
power-law sizes (rank^-exponent) make up ``--cells`` cells. For each preset (INSPIIRED: UMI; nrLAM:
shear points only) the 3' LTR and 5' LTR runs of the specimen are simulated (:mod:`carvis.sim.lmpcr`:
half of the cells' copies ligated, PCR duplicates, 5% mispriming, 2% linker-only and 2% internal
products, 0.2% sequencing errors), trimmed, aligned with the workflow's command, and called
(:mod:`carvis.sites.lmpcr`) per run and for the paired specimen. Printed per case: recall of the clones
at >= 1% abundance (exact base and orientation), precision of the calls at >= 1% estimated abundance and
of all calls, the Spearman correlation of estimated against true abundance over all clones (missed = 0)
and the share of paired sites (both junctions, TSD).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from carvis.core.io import read_tsv, write_fasta  # noqa: E402
from carvis.reads.align import Aligner, align_command, bam_command  # noqa: E402
from carvis.reads.lmpcr import PRESETS, end_oligos, trim_run  # noqa: E402
from carvis.reference.vectors import build_vector  # noqa: E402
from carvis.sim.lmpcr import Clone, RunModel, power_law_clones, simulate_run  # noqa: E402
from carvis.sites.lmpcr import call_lmpcr_sites, write_junctions  # noqa: E402


def spearman(x: list[float], y: list[float]) -> float:
    """Spearman's rho (average ranks for ties)."""

    def ranks(values: list[float]) -> np.ndarray:
        order = np.argsort(values, kind="stable")
        r = np.empty(len(values))
        r[order] = np.arange(len(values), dtype=float)
        arr = np.asarray(values)
        for v in set(values):
            tied = arr == v
            r[tied] = r[tied].mean()
        return r

    return float(np.corrcoef(ranks(x), ranks(y))[0, 1])


def random_genome(mb: float, seed: int) -> dict[str, str]:
    rng = np.random.default_rng(seed)
    sizes = [int(mb * 1e6 * share) for share in (0.5, 0.3, 0.2)]
    return {f"chr{i + 1}": "".join(rng.choice(list("ACGT"), size)) for i, size in enumerate(sizes)}


def run_one(work: Path, reference: Path, args: tuple[object, ...], end: str, threads: int) -> Path:
    genome, vector, layout, clones, seed = args
    prefix = work / f"{layout.name}_{end}"  # type: ignore[attr-defined]
    simulate_run(genome, vector, layout, clones, prefix, RunModel(ltr_end=end, seed=seed))  # type: ignore[arg-type]
    trimmed = (f"{prefix}.t_R1.fastq.gz", f"{prefix}.t_R2.fastq.gz", f"{prefix}.trim.tsv")
    raw = (f"{prefix}_R1.fastq.gz", f"{prefix}_R2.fastq.gz")
    counts = trim_run(layout, end_oligos(layout, vector, end), raw, trimmed)  # type: ignore[arg-type]
    align = align_command(Aligner("minimap2", reference, threads), [trimmed[0]], [trimmed[1]], prefix.name)
    bam = f"{prefix}.bam"
    subprocess.run(
        ["bash", "-o", "pipefail", "-c", bam_command(align, bam, threads)], check=True, capture_output=True
    )
    junctions = Path(f"{prefix}.junctions.tsv")
    write_junctions(bam, end, junctions, {"min_mapq": 20, "max_clip": 2, "wobble": 2})
    dropped = {k: v for k, v in counts.items() if k not in ("reads", "kept")}
    print(f"  {prefix.name}: {counts['reads']:,} read pairs, {counts['kept']:,} kept, dropped {dropped}")
    return junctions


def score(sites: list[dict[str, object]], clones: list[Clone], label: str) -> None:
    total = sum(c.cells for c in clones)
    truth = {(c.chrom, c.position, c.orientation): c.cells / total for c in clones}
    called = {(str(s["chrom"]), int(str(s["position"])), str(s["orientation"])): s for s in sites}
    big = [k for k, v in truth.items() if v >= 0.01]
    recall = sum(k in called for k in big) / len(big)
    big_calls = [k for k, s in called.items() if float(str(s["relative_abundance"])) >= 0.01]
    precision_big = sum(k in truth for k in big_calls) / max(1, len(big_calls))
    precision_all = sum(k in truth for k in called) / max(1, len(called))
    estimated = [float(str(called[k]["relative_abundance"])) if k in called else 0.0 for k in truth]
    rho = spearman(estimated, list(truth.values()))
    rho_big = spearman([estimated[list(truth).index(k)] for k in big], [truth[k] for k in big])
    paired = sum(1 for s in sites if s.get("tsd")) / max(1, len(sites))
    print(
        f"{label}: clones >=1%: {len(big)}, recall {recall:.3f}; precision (calls >=1%) {precision_big:.3f} "
        f"({len(big_calls)} calls), all calls {precision_all:.3f} ({len(called)} calls, "
        f"{len(truth)} clones); "
        f"Spearman all clones {rho:.3f}, clones >=1% {rho_big:.3f}; paired {paired:.2f}"
    )


def coverage(prefix: Path, tsd_length: int, label: str) -> None:
    """How often the 3' run's 95% interval of estimated cells holds the copies it ligated (truth)."""
    truth = {(t["chrom"], int(t["junction"])): int(t["molecules"]) for t in read_tsv(f"{prefix}.truth.tsv")}
    rows = read_tsv(f"{prefix}.junctions.tsv")
    held = [
        float(r["estimated_cells_low"])
        <= truth[(r["chrom"], int(r["junction"]))]
        <= float(r["estimated_cells_high"])
        for r in rows
        if (r["chrom"], int(r["junction"])) in truth
    ]
    errors = [
        abs(float(r["estimated_cells"]) / truth[(r["chrom"], int(r["junction"]))] - 1)
        for r in rows
        if truth.get((r["chrom"], int(r["junction"])))
    ]
    print(
        f"  {label} 3' LTR run: interval holds the ligated copies for {sum(held)}/{len(held)} sites; "
        f"median |error| of estimated cells {100 * float(np.median(errors)):.1f}%"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cells", type=int, default=10_000)
    parser.add_argument("--clones", type=int, default=100)
    parser.add_argument("--exponent", type=float, default=1.0)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--genome-mb", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="carvis_lmpcr_"))
    work.mkdir(parents=True, exist_ok=True)
    vector = build_vector("demo_car", ROOT / "resources" / "demo" / "vector.gb", "lentiviral")
    for seed in range(1, args.seeds + 1):
        genome = random_genome(args.genome_mb, seed)
        reference = work / f"combined_{seed}.fa"
        write_fasta(reference, [*genome.items(), *vector.contigs().items()])
        clones = power_law_clones(genome, args.cells, args.clones, args.exponent, seed)
        print(f"seed {seed}: {sum(c.cells for c in clones):,} cells, largest clone {clones[0].cells:,} cells")
        for layout in (PRESETS["inspiired"], PRESETS["nrlam"]):
            start = time.time()
            runs = {
                end: run_one(
                    work, reference, (genome, vector, layout, clones, seed * 10 + i), end, args.threads
                )
                for i, end in enumerate(("3p", "5p"))
            }
            for label, tables in (
                ("3' LTR run", [runs["3p"]]),
                ("specimen (3' + 5' runs)", list(runs.values())),
            ):
                out = (work / f"{layout.name}.sites.tsv", work / f"{layout.name}.abundance.tsv")
                sites = call_lmpcr_sites(tables, reference, "B", ("demo_car", vector.tsd_length), out, {})
                score(sites, clones, f"  {layout.name} {label}")
            coverage(work / f"{layout.name}_3p", vector.tsd_length, layout.name)
            print(f"  {layout.name}: {time.time() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
