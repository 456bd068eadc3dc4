"""Throughput benchmark (prints figures; not a test): screening vs decompression, screened vs full alignment.

    python tests/benchmark/throughput.py [--pairs 5000000] [--workdir /tmp/carvis-throughput]

On the demo genome at high coverage it simulates a tumour (two clonal sites, bystanders, purity
0.8), then times, each in one run:

1. plain decompression of the FASTQs (``gzip -dc``, and ``igzip -dc`` when installed: the faster);
2. the screening pass alone (the screen_reads rule's code);
3. the whole workflow with screening, from FASTQ to report (reference build included);
4. ``minimap2 -ax sr`` of all reads against the combined reference (alignment alone, to /dev/null);
5. the whole workflow without screening, to compare the calls.

Peak memory is the largest resident set of any process in a step (GNU time's %M).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from carvis.io import read_tsv  # noqa: E402
from carvis.simulate import read_genome  # noqa: E402

DEMO = ROOT / "resources" / "demo"
SITE_COLUMNS = ("chrom", "position", "orientation", "left_junction", "right_junction", "tsd")


def timed(command: str, cwd: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of a bash command; fails loudly."""
    start = time.monotonic()
    result = subprocess.run(
        ["/usr/bin/time", "-f", "%M", "bash", "-o", "pipefail", "-c", command],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - start
    if result.returncode:
        raise SystemExit(f"failed: {command}\n{result.stderr[-3000:]}")
    return seconds, int(result.stderr.strip().splitlines()[-1]) / 1024


def simulate(work: Path, pairs: int) -> tuple[Path, Path]:
    genome_bp = sum(len(s) for s in read_genome(DEMO / "genome.fa").values())
    coverage = pairs * 300 / genome_bp
    prefix = work / "bench"
    if not Path(f"{prefix}_R2.fastq.gz").exists():
        subprocess.run(
            [
                *(
                    "carvis",
                    "simulate",
                    "--genome",
                    str(DEMO / "genome.fa"),
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


def write_config(work: Path, name: str, screen: bool, fraction: float) -> Path:
    config = {
        "samples": str(work / "samples.tsv"),
        "outdir": f"out_{name}",
        "reference": {"genome": str(DEMO / "genome.fa"), "annotation": str(DEMO / "annotation.gtf")},
        "vectors": {"demo_car": {"sequence": str(DEMO / "vector.gb"), "kind": "lentiviral"}},
        "screen": {"enabled": screen, "depth_sample_fraction": fraction},
        "threads": {"align": 2, "screen": 2},
    }
    path = work / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def workflow(work: Path, name: str, screen: bool, fraction: float) -> tuple[float, float]:
    config = write_config(work, name, screen, fraction)
    snakefile = ROOT / "Snakefile"
    return timed(f"snakemake -s {snakefile} --cores 2 --configfile {config} -q >{name}.out 2>&1", work)


def calls(work: Path, name: str) -> tuple[set[tuple[str, ...]], str]:
    sites = read_tsv(work / f"out_{name}" / "bench" / "integration_sites.tsv")
    vcn = read_tsv(work / f"out_{name}" / "bench" / "transgene.tsv")[0]["vcn"]
    return {tuple(r[c] for c in SITE_COLUMNS) for r in sites}, vcn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5_000_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/carvis-throughput"))
    parser.add_argument("--fraction", type=float, default=0.01, help="screen.depth_sample_fraction")
    args = parser.parse_args()
    work = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    r1, r2 = simulate(work, args.pairs)
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

    screened = workflow(work, "screened", True, args.fraction)
    ref = next((work / "out_screened" / "reference").iterdir())
    stats = read_tsv(work / "out_screened" / "screen" / "bench.screen.tsv")[0]
    screen_cmd = (
        f'{sys.executable} -c \'import sys; sys.path.insert(0, "{ROOT / "scripts"}");'
        f" from carvis.screen import run_screen;"
        f' run_screen("bench", "{ref}/screen/vector_pieces.mmi", ["{r1}"], ["{r2}"],'
        f' "{work}/screen_only/bench", "{work}/screen_only/stats.tsv", fraction={args.fraction}, threads=2)\''
    )
    screen = timed(screen_cmd, work)
    rows.append(("screening pass (screen_reads)", *screen))
    rows.append(("workflow, screened (FASTQ -> report)", *screened))
    full_align = timed(f"minimap2 -ax sr -t 2 {ref}/combined.mmi {r1} {r2} >/dev/null 2>/dev/null", work)
    rows.append(("minimap2 -ax sr of all reads (alignment only)", *full_align))
    full = workflow(work, "full", False, args.fraction)
    rows.append(("workflow, full alignment (FASTQ -> report)", *full))

    print(
        f"\n{args.pairs:,} simulated pairs (demo genome), FASTQ.gz "
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
    print(f"full workflow / screened workflow: {full[0] / screened[0]:.1f}x")
    (sites_s, vcn_s), (sites_f, vcn_f) = calls(work, "screened"), calls(work, "full")
    same = (
        "yes"
        if sites_s == sites_f
        else f"no: only screened {sites_s - sites_f}, only full {sites_f - sites_s}"
    )
    print(f"same sites and junctions: {same} ({len(sites_s)} sites); VCN screened {vcn_s}, full {vcn_f}")


if __name__ == "__main__":
    main()
