"""The bundled demo on a real single-node SLURM cluster, through profiles/slurm and the SLURM executor plugin.

Opt-in: set CARVIS_SLURM_TEST=1 (CI does). The test starts the cluster itself with scripts/ci/slurm_cluster.sh
(installs Debian slurm-wlm and munge when missing: needs root or sudo) and stops it afterwards if it started
it.
Without slurmdbd there is no accounting: snakemake runs with --slurm-no-account --slurm-status-command squeue.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import snakemake

from carvis.core.io import read_tsv

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo"
CLUSTER = ROOT / "scripts" / "ci" / "slurm_cluster.sh"
# A job that records the memory SLURM granted it and fails on its first attempt (the profile retries it).
PROBE_SNAKEFILE = """
rule probe:
    output:
        "granted.txt",
    shell:
        \"\"\"
        scontrol show job "$SLURM_JOB_ID" | grep -o 'MinMemoryNode=[0-9]*' | cut -d= -f2 >>attempts.txt
        test "$(wc -l <attempts.txt)" -ge 2 && cp attempts.txt {output}
        \"\"\"
"""

pytestmark = pytest.mark.skipif(
    os.environ.get("CARVIS_SLURM_TEST") != "1",
    reason="opt-in: CARVIS_SLURM_TEST=1 starts a local SLURM cluster (root or sudo; CI runs it)",
)


@pytest.fixture(scope="module")
def slurm_cluster() -> Iterator[None]:
    """A running single-node cluster; stopped afterwards only when this fixture started it."""
    was_up = subprocess.run(["bash", str(CLUSTER), "status"], check=False).returncode == 0
    subprocess.run(["bash", str(CLUSTER), "start"], check=True)
    yield
    if not was_up:
        subprocess.run(["bash", str(CLUSTER), "stop"], check=True)


def snakemake_on_slurm(
    workdir: Path, snakefile: Path = ROOT / "Snakefile"
) -> subprocess.CompletedProcess[str]:
    """snakemake with the SLURM profile, threads capped at this node's CPUs, polling quickly."""
    return snakemake(
        workdir,
        "--profile",
        str(ROOT / "profiles" / "slurm"),
        "--slurm-no-account",
        "--slurm-status-command",
        "squeue",
        "--slurm-init-seconds-before-status-checks",
        "2",
        "--slurm-keep-successful-logs",
        "--max-threads",
        str(os.cpu_count() or 1),
        snakefile=snakefile,
        slurm=True,
    )


@pytest.mark.e2e
def test_demo_runs_on_slurm_and_calls_its_clonal_sites(slurm_cluster: None, tmp_path: Path) -> None:
    result = snakemake_on_slurm(tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    # every rule ran as a SLURM job (the plugin keeps one log per job)
    slurm_logs = tmp_path / ".snakemake" / "slurm_logs"
    for rule in ("build_reference", "align_reads", "extract_evidence", "call_sites", "call_transgene"):
        assert list((slurm_logs / f"rule_{rule}").rglob("*.log")), rule
    calls = {
        (r["chrom"], r["position"]): r
        for r in read_tsv(tmp_path / "results/demo_tumour/integration_sites.tsv")
    }
    clonal = [r for r in read_tsv(DEMO / "truth.tsv") if r["class"] == "clonal"]
    assert clonal
    for site in clonal:
        call = calls[(site["chrom"], site["position"])]
        for column in ("orientation", "left_junction", "right_junction", "tsd"):
            assert call[column] == site[column], column
    assert read_tsv(tmp_path / "results/demo_tumour/transgene.tsv")[0]["detected"] == "yes"


@pytest.mark.e2e
def test_retries_escalate_memory_on_slurm(slurm_cluster: None, tmp_path: Path) -> None:
    snakefile = tmp_path / "Snakefile"
    snakefile.write_text(PROBE_SNAKEFILE)
    result = snakemake_on_slurm(tmp_path, snakefile)
    assert result.returncode == 0, result.stderr[-3000:]
    granted = [int(line) for line in (tmp_path / "granted.txt").read_text().split()]
    # the profile's default memory times the attempt, as SLURM granted it to each attempt
    assert len(granted) == 2
    assert granted[0] > 0 and granted[1] == 2 * granted[0]
