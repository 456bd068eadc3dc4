"""Clonal fractions with modelled (screened reads) vs counted (full alignment) spanning fragments.

    python tests/benchmark/spanning_model.py [--workdir DIR] [--seeds 11 12] [--cores 2]

For each seed: simulates the demo design (demo genome, vector, purity and coverage) with that read
seed, runs the workflow screened and with full alignment, and prints per true clonal site the clonal
fraction of both runs and the truth, plus the highest cell fraction called for a bystander (truth cell
fraction <= 0.01) and whether any bystander was flagged clonal.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests"))

from helpers import snakemake  # noqa: E402

from carvis.cli import main  # noqa: E402
from carvis.core.io import read_tsv  # noqa: E402
from carvis.sim import demo  # noqa: E402

DEMO = ROOT / "resources" / "demo"


def simulate(workdir: Path, seed: int) -> Path:
    """Demo reads with another seed; returns the sample sheet."""
    args = demo.simulate_args(DEMO, workdir / "t")
    args[args.index("--seed") + 1] = str(seed)
    args[args.index("--sample") + 1] = "t"
    if main(["simulate", *args]) != 0:
        raise SystemExit("carvis simulate failed")
    sheet = workdir / "samples.tsv"
    purity = demo.DEMO_PURITY
    sheet.write_text(
        f"sample\tfastq_1\tfastq_2\tvector\tpurity\nt\tt_R1.fastq.gz\tt_R2.fastq.gz\tdemo_car\t{purity}\n"
    )
    return sheet


def run(workdir: Path, sheet: Path, screened: bool, cores: int) -> list[dict[str, str]]:
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config["samples"] = str(sheet)
    config["outdir"] = "out"
    config["reference"] = {k: str(ROOT / v) for k, v in config["reference"].items()}
    config["vectors"]["demo_car"]["sequence"] = str(ROOT / config["vectors"]["demo_car"]["sequence"])
    config["gene_lists"] = [str(ROOT / g) for g in config["gene_lists"]]
    config["screen"]["enabled"] = screened
    folder = workdir / ("screened" if screened else "full")
    folder.mkdir(exist_ok=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(folder, "--cores", str(cores), "--configfile", str(folder / "config.yaml"), "-q")
    result.check_returncode()
    return read_tsv(folder / "out" / "calls" / "t.sites.tsv")


def report(seed: int, truth: list[dict[str, str]], runs: dict[str, list[dict[str, str]]]) -> None:
    key = {name: {(r["chrom"], r["position"]): r for r in rows} for name, rows in runs.items()}
    for site in truth:
        if site["class"] != "clonal":
            continue
        where = (site["chrom"], site["position"])
        fractions = [key[name].get(where, {}).get("clonal_fraction", "-") for name in ("full", "screened")]
        print(
            f"seed {seed}\t{where[0]}:{where[1]}\ttruth {site['clonal_fraction']}\tfull {fractions[0]}"
            f"\tscreened {fractions[1]}"
        )
    bystanders = {(s["chrom"], s["position"]) for s in truth if float(s["cell_fraction"]) <= 0.01}
    for name, rows in runs.items():
        called = [r for r in rows if (r["chrom"], r["position"]) in bystanders]
        top = max((float(r["clonal_fraction"]) for r in called if r["clonal_fraction"] != "NA"), default=0.0)
        clonal = sum(r["clonal"] == "yes" for r in called)
        print(
            f"seed {seed}\t{name}: {len(called)} bystanders called, highest cell fraction {top:.3f},"
            f" {clonal} clonal"
        )


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("spanning_model_bench"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[11, 12])
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    for seed in args.seeds:
        workdir = (args.workdir / f"seed{seed}").resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        sheet = simulate(workdir, seed)
        runs = {name: run(workdir, sheet, name == "screened", args.cores) for name in ("full", "screened")}
        report(seed, read_tsv(workdir / "t.truth.tsv"), runs)


if __name__ == "__main__":
    cli()
