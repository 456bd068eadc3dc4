"""Snakemake adapter: simulate the demo tumour's reads (fixed seed) beside the demo truth."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from carvis.cli import main
from carvis.core.runlog import log_to
from carvis.sim.demo import simulate_args

with log_to(snakemake.log[0]):
    demo_dir = Path(snakemake.input.design).parent
    if main(["simulate", *simulate_args(demo_dir, snakemake.params.prefix)]) != 0:
        raise SystemExit("carvis simulate failed")
