"""A killed run resumes with no extra flags and byte-identical tables (carvis.core.runlock,
profiles/default)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import ROOT, require_tools, snakemake, without_scontrol

from carvis.core.runlock import OrphanJobs, claim, processes_in

TABLES = (
    "demo_tumour/integration_sites.tsv",
    "demo_tumour/transgene.tsv",
    "demo_tumour/vector_coverage.tsv",
    "evidence/demo_tumour.evidence.tsv",
    "calls/demo_tumour.sites.tsv",
    "calls/demo_tumour.sites_qc.tsv",
    "summary.tsv",
    "cohort_sites.tsv",
)

HOLD = (
    "import sys, time; from carvis.core.runlock import claim; "
    "print(claim(sys.argv[1]).held, flush=True); time.sleep(60)"
)


def _stale_locks(folder: Path) -> None:
    locks = folder / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    (locks / "0.input.lock").write_text("x\n")
    (locks / "0.output.lock").write_text("y\n")


def test_a_fresh_folder_is_claimed(tmp_path: Path) -> None:
    result = claim(tmp_path)
    assert result.held and result.removed == ()


def test_a_killed_runs_locks_are_removed(tmp_path: Path) -> None:
    _stale_locks(tmp_path)
    result = claim(tmp_path)
    assert result.held
    assert sorted(p.name for p in result.removed) == ["0.input.lock", "0.output.lock"]
    assert not list((tmp_path / ".snakemake" / "locks").iterdir())


def test_a_live_run_keeps_its_locks(tmp_path: Path) -> None:
    """Another process holding the carvis lock: nothing is removed, snakemake's own lock decides."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "scripts")}
    command = [sys.executable, "-c", HOLD, str(tmp_path)]
    holder = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "True"
        _stale_locks(tmp_path)
        assert claim(tmp_path).held is False
        assert len(list((tmp_path / ".snakemake" / "locks").iterdir())) == 2
    finally:
        holder.kill()
        holder.wait()


def test_jobs_left_running_by_a_killed_run_are_named(tmp_path: Path) -> None:
    _stale_locks(tmp_path)
    job = subprocess.Popen(["sleep", "30"], cwd=tmp_path)
    try:
        assert job.pid in processes_in(tmp_path)
        with pytest.raises(OrphanJobs, match=rf"(?s)still running \(process .*{job.pid}.*fix: wait"):
            claim(tmp_path)
        assert len(list((tmp_path / ".snakemake" / "locks").iterdir())) == 2
    finally:
        job.kill()
        job.wait()


def _start_demo(workdir: Path) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile")]
    cmd += ["--directory", str(workdir), "--cores", "2"]
    return subprocess.Popen(
        cmd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=without_scontrol(),
        start_new_session=True,
    )


def _kill_during_alignment(workdir: Path, *, whole_group: bool) -> None:
    """Start the demo and SIGKILL it (or its whole process group) once the alignment has started."""
    run = _start_demo(workdir)
    align_log = workdir / "results" / "logs" / "align_reads" / "demo_tumour.log"
    incomplete = workdir / ".snakemake" / "incomplete"

    def aligning() -> bool:  # the job's shell has started and Snakemake has marked its outputs
        return align_log.exists() and incomplete.is_dir() and any(incomplete.iterdir())

    deadline = time.monotonic() + 300
    while not aligning() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert run.poll() is None, "the demo ended before its alignment started"
    if whole_group:
        os.killpg(run.pid, signal.SIGKILL)
    else:
        run.send_signal(signal.SIGKILL)
    run.wait()
    assert list((workdir / ".snakemake" / "locks").iterdir()), "a killed run leaves snakemake's locks"
    assert list((workdir / ".snakemake" / "incomplete").iterdir()), "and incomplete outputs"


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_tools("minimap2", "samtools", "cc")
    workdir = tmp_path_factory.mktemp("clean")
    result = snakemake(workdir, "--cores", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir / "results"


@pytest.mark.e2e
@pytest.mark.parametrize("whole_group", [True, False], ids=["process-group", "snakemake-alone"])
def test_rerun_after_sigkill_resumes_with_identical_tables(
    clean_run: Path, tmp_path: Path, whole_group: bool
) -> None:
    _kill_during_alignment(tmp_path, whole_group=whole_group)
    rerun = snakemake(tmp_path, "--cores", "2")
    if rerun.returncode and "still running" in rerun.stderr:
        # Killing snakemake alone leaves its jobs running: the rerun names them; once they end it resumes.
        assert "fix: wait for them to finish" in rerun.stderr and "Traceback" not in rerun.stderr
        deadline = time.monotonic() + 120
        while processes_in(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.1)
        rerun = snakemake(tmp_path, "--cores", "2")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "removed its locks and resuming" in rerun.stderr
    for table in TABLES:
        assert (tmp_path / "results" / table).read_bytes() == (clean_run / table).read_bytes(), table
