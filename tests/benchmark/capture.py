"""Benchmark (a script, not a test): hybrid capture with vector baits through the whole workflow.

    python tests/benchmark/capture.py [--seeds 3] [--coverage 30] [--off-target 0.02] [--workdir DIR]

Each seed simulates the demo tumour (demo genome and CAR, purity 0.8, two clonal sites and 20 bystanders,
``carvis simulate``) at ``--coverage``, captures it (:mod:`carvis.sim.capture`: every pair carrying
provirus or control-region sequence, ``--off-target`` of the others; ten 4 kb control regions on chr1 and
chr2, and the flanks of the clonal SSU72 site baited) and runs the workflow with ``assay capture``.
Printed per seed: VCN against the truth with its interval, the sites found (exact base) among the truth
sites, the precision of the calls, and both clonal sites' clonal fraction (SSU72: flanks baited, junction
against reference fragments; LMO2: relative abundance).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

from carvis.core.io import read_tsv  # noqa: E402
from tests.helpers import captured_demo, carvis, snakemake  # noqa: E402

DEMO = ROOT / "resources" / "demo"


def one_seed(work: Path, seed: int, coverage: float, off_target: float) -> None:
    work.mkdir(parents=True, exist_ok=True)
    args = ["simulate", "--genome", str(DEMO / "genome.fa"), "--vector", str(DEMO / "vector.gb")]
    args += ["--vector-name", "demo_car", "--design", str(DEMO / "design.tsv"), "--coverage", str(coverage)]
    args += ["--purity", "0.8", "--seed", str(seed), "--sample", "C", "--out-prefix", str(work / "wgs")]
    assert carvis(args) == 0
    counts, config = captured_demo(work / "wgs", "C", off_target, seed)
    (work / "config.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(work, "--cores", "2", "--configfile", str(work / "config.yaml"))
    if result.returncode:
        print(result.stderr[-2000:])
        raise SystemExit(1)
    row = read_tsv(work / "out" / "C" / "transgene.tsv")[0]
    truth_vcn = float(read_tsv(work / "wgs.truth_transgene.tsv")[0]["vcn"])
    vcn, low, high = (float(row[k]) for k in ("vcn", "vcn_low", "vcn_high"))
    truth = {(t["chrom"], t["position"]): t for t in read_tsv(work / "wgs.truth.tsv")}
    sites = {(s["chrom"], s["position"]): s for s in read_tsv(work / "out" / "C" / "integration_sites.tsv")}
    found = [k for k in truth if k in sites]
    clonal = [k for k, t in truth.items() if t["class"] == "clonal"]
    ssu72, lmo2 = sites.get(("chr1", "251233"), {}), sites.get(("chr1", "189280"), {})
    error = 100 * (vcn / truth_vcn - 1)
    precision = len(found) / max(1, len(sites))
    print(
        f"seed {seed}: {counts['on_target'] + counts['off_target']:,} of {counts['pairs']:,} pairs captured; "
        f"VCN {vcn:.3f} ({low:.3f}-{high:.3f}), truth {truth_vcn:.3f}, error {error:+.1f}%, "
        f"in interval: {low <= truth_vcn <= high}; sites: {len(found)}/{len(truth)} truth sites found "
        f"({sum(k in sites for k in clonal)}/{len(clonal)} clonal), precision {precision:.3f} "
        f"({len(sites)} calls); SSU72 (baited flanks) clonal fraction {ssu72.get('clonal_fraction')} "
        f"({ssu72.get('clonal_fraction_low')}-{ssu72.get('clonal_fraction_high')}), "
        f"clonal {ssu72.get('clonal')}; "
        f"LMO2 (not baited) relative abundance {lmo2.get('clonal_fraction')} [{lmo2.get('flags')}]"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--coverage", type=float, default=30.0)
    parser.add_argument("--off-target", type=float, default=0.02)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="carvis_capture_"))
    for seed in range(1, args.seeds + 1):
        one_seed(work / f"seed{seed}", seed, args.coverage, args.off_target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
