"""Throughput benchmark (prints figures; not a test): screening vs decompression, screened vs full alignment.

    python tests/benchmark/throughput.py [--pairs 5000000] [--genome-mb 0] [--workdir /tmp/carvis-throughput]

It simulates a tumour (the demo design: two clonal sites, bystanders, purity 0.8) on the demo genome,
or with ``--genome-mb N`` on the demo genome plus random filler contigs (GC 41%, 10% Alu-like copies
at 5-15% divergence) up to N Mb, so that aligning every read costs what it costs on a larger genome.
Then it times, each in one run:

1. plain decompression of the FASTQs (``gzip -dc``, and ``igzip -dc`` when installed: the faster);
2. the screening pass alone (the screen_reads rule's code);
3. the whole workflow with screening, from FASTQ to report, cold (reference build and index included)
   and warm (the reference is cached per genome + vectors, as for every later sample: screening on);
4. ``minimap2 -ax sr`` of all reads against the prebuilt combined index (alignment alone, to /dev/null);
5. the whole workflow without screening (reference cached), to compare the calls.

Peak memory is the largest resident set of any process in a step (GNU time's %M).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests"))

from helpers import without_scontrol  # noqa: E402

from carvis.core.io import read_tsv  # noqa: E402
from carvis.sim.insertions import read_genome  # noqa: E402

DEMO = ROOT / "resources" / "demo"
SITE_COLUMNS = ("chrom", "position", "orientation", "left_junction", "right_junction", "tsd")


def timed(command: str, cwd: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of a bash command, scontrol hidden (see helpers); fails loudly."""
    start = time.monotonic()
    result = subprocess.run(
        ["/usr/bin/time", "-f", "%M", "bash", "-o", "pipefail", "-c", command],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env=without_scontrol(),
    )
    seconds = time.monotonic() - start
    if result.returncode:
        raise SystemExit(f"failed: {command}\n{result.stderr[-3000:]}")
    return seconds, int(result.stderr.strip().splitlines()[-1]) / 1024


def filler_genome(path: Path, total_mb: float, seed: int = 5) -> Path:
    """The demo genome plus 10 Mb random filler contigs (GC 41%, ~10% Alu-like copies) up to ``total_mb``."""
    genome = read_genome(DEMO / "genome.fa")
    need = round(total_mb * 1e6) - sum(len(s) for s in genome.values())
    rng = np.random.default_rng(seed)
    alphabet = np.frombuffer(b"ACGT", dtype=np.uint8)
    at_gc = [0.295, 0.205, 0.205, 0.295]
    alu = rng.choice(alphabet, 300, p=at_gc)
    with path.open("w") as out:
        for name, seq in genome.items():
            out.write(f">{name}\n{seq}\n")
        for number, start in enumerate(range(0, max(0, need), 10_000_000), 1):
            seq = rng.choice(alphabet, min(10_000_000, need - start), p=at_gc)
            for pos in rng.integers(0, len(seq) - 300, len(seq) // 3000):
                copy = alu.copy()
                changed = rng.random(300) < rng.uniform(0.05, 0.15)
                copy[changed] = rng.choice(alphabet, int(changed.sum()))
                seq[pos : pos + 300] = copy
            out.write(f">filler{number}\n{seq.tobytes().decode()}\n")
    return path


def simulate(work: Path, genome: Path, pairs: int) -> tuple[Path, Path]:
    genome_bp = sum(len(s) for s in read_genome(genome).values())
    coverage = pairs * 300 / genome_bp
    prefix = work / "bench"
    if not Path(f"{prefix}_R2.fastq.gz").exists():
        subprocess.run(
            [
                *(
                    "carvis",
                    "simulate",
                    "--genome",
                    str(genome),
                    "--vector",
                    str(DEMO / "vector.gb"),
                ),
                *("--vector-name", "demo_car", "--design", str(DEMO / "design.tsv"), "--bystanders", "20"),
                *("--purity", "0.8", "--coverage", f"{coverage:.1f}", "--seed", "21", "--sample", "bench"),
                *("--out-prefix", str(prefix)),
            ],
            check=True,
        )
    return Path(f"{prefix}_R1.fastq.gz"), Path(f"{prefix}_R2.fastq.gz")


def write_config(work: Path, name: str, genome: Path, screen: bool, fraction: float) -> Path:
    config = {
        "samples": str(work / "samples.tsv"),
        "outdir": "out",
        "reference": {"genome": str(genome), "annotation": str(DEMO / "annotation.gtf")},
        "vectors": {"demo_car": {"sequence": str(DEMO / "vector.gb"), "kind": "lentiviral"}},
        "screen": {"enabled": screen, "depth_sample_fraction": fraction},
        "threads": {"align": 2, "screen": 2},
    }
    path = work / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def workflow(work: Path, name: str, genome: Path, screen: bool, fraction: float) -> tuple[float, float]:
    """Time the workflow into ``out/``, starting from the sample (the reference stays cached in ``out/``)."""
    config = write_config(work, name, genome, screen, fraction)
    for done in (work / "out").glob("*"):
        if done.name not in {"reference", "bin"}:
            shutil.rmtree(done) if done.is_dir() else done.unlink()
    snakefile = ROOT / "Snakefile"
    return timed(f"snakemake -s {snakefile} --cores 2 --configfile {config} -q >{name}.out 2>&1", work)


def calls(work: Path) -> tuple[set[tuple[str, ...]], str]:
    sites = read_tsv(work / "out" / "bench" / "integration_sites.tsv")
    vcn = read_tsv(work / "out" / "bench" / "transgene.tsv")[0]["vcn"]
    return {tuple(r[c] for c in SITE_COLUMNS) for r in sites}, vcn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5_000_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/carvis-throughput"))
    parser.add_argument("--genome-mb", type=float, default=0, help="grow the demo genome to this size")
    parser.add_argument("--fraction", type=float, default=0.01, help="screen.depth_sample_fraction")
    args = parser.parse_args()
    work = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    genome = DEMO / "genome.fa"
    if args.genome_mb:
        genome = work / "genome.fa"
        if not genome.exists():
            filler_genome(genome, args.genome_mb)
    genome_mb = sum(len(s) for s in read_genome(genome).values()) / 1e6
    r1, r2 = simulate(work, genome, args.pairs)
    (work / "samples.tsv").write_text(
        f"sample\tfastq_1\tfastq_2\tvector\tpurity\nbench\t{r1}\t{r2}\tdemo_car\t0.8\n"
    )
    rows: list[tuple[str, float, float]] = []
    decompress = {
        tool: timed(f"{tool} -dc {r1} {r2} >/dev/null", work)
        for tool in ("gzip", "igzip")
        if shutil.which(tool)
    }
    best = min(decompress, key=lambda t: decompress[t][0])
    rows += [(f"decompress ({tool} -dc R1 R2)", *decompress[tool]) for tool in decompress]

    shutil.rmtree(work / "out", ignore_errors=True)
    cold = workflow(work, "screened_cold", genome, True, args.fraction)
    rows.append(("workflow, screened, cold (reference build + FASTQ -> report)", *cold))
    screened = workflow(work, "screened", genome, True, args.fraction)
    sites_s, vcn_s = calls(work)
    ref = next((work / "out" / "reference").iterdir())
    stats = read_tsv(work / "out" / "screen" / "bench.screen.tsv")[0]
    screen_cmd = (
        f'{sys.executable} -c \'import sys; sys.path.insert(0, "{ROOT / "scripts"}");'
        f" from carvis.reads.screen import ScreenFiles, ScreenSettings, run_screen;"
        f' files = ScreenFiles("{work}/out/bin/kmer_screen", "{ref}/screen/vector_pieces.fa",'
        f' "{ref}/screen/vector_ends.fa", ["{r1}"], ["{r2}"],'
        f' "{work}/screen_only/bench", "{work}/screen_only/stats.tsv");'
        f' run_screen("bench", files, ScreenSettings({args.fraction}))\''
    )
    screen = timed(screen_cmd, work)
    rows.insert(len(decompress), ("screening pass (screen_reads)", *screen))
    rows.append(("workflow, screened, warm (FASTQ -> report)", *screened))
    full_align = timed(f"minimap2 -ax sr -t 2 {ref}/combined.mmi {r1} {r2} >/dev/null 2>/dev/null", work)
    rows.append(("minimap2 -ax sr of all reads (alignment only, prebuilt index)", *full_align))
    full = workflow(work, "full", genome, False, args.fraction)
    rows.append(("workflow, full alignment, warm (FASTQ -> report)", *full))
    sites_f, vcn_f = calls(work)

    print(
        f"\n{args.pairs:,} simulated pairs, {genome_mb:.1f} Mb genome, FASTQ.gz "
        f"{(r1.stat().st_size + r2.stat().st_size) / 1e6:.0f} MB"
    )
    print(
        f"kept {int(stats['kept_reads']):,} of {int(stats['reads']):,} reads; "
        f"depth sample scale {stats['depth_scale']}"
    )
    print("\n| step | seconds | peak RSS (MB) |\n|---|---:|---:|")
    for label, seconds, mb in rows:
        print(f"| {label} | {seconds:.1f} | {mb:.0f} |")
    print(f"\nscreening / decompression ({best}): {screen[0] / decompress[best][0]:.2f}x (target <= 2)")
    print(f"full minimap2 alignment / screened workflow: {full_align[0] / screened[0]:.1f}x (target >= 20)")
    print(f"  (against the cold screened workflow: {full_align[0] / cold[0]:.1f}x)")
    print(f"full workflow / screened workflow: {full[0] / screened[0]:.1f}x")
    same = (
        "yes"
        if sites_s == sites_f
        else f"no: only screened {sites_s - sites_f}, only full {sites_f - sites_s}"
    )
    print(f"same sites and junctions: {same} ({len(sites_s)} sites); VCN screened {vcn_s}, full {vcn_f}")


if __name__ == "__main__":
    main()
