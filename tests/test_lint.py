"""The project's own checks: ruff, snakefmt, mypy and snakemake --lint stay clean."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import snakemake

ROOT = Path(__file__).resolve().parents[1]
SNAKEFILES = [ROOT / "Snakefile", *sorted((ROOT / "workflow" / "rules").glob("*.smk"))]


def run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is installed by scripts/setup.sh")
def test_ruff_is_clean() -> None:
    result = run("ruff", "check", "scripts", "tests")
    assert result.returncode == 0, result.stdout
    result = run("ruff", "format", "--check", "scripts", "tests")
    assert result.returncode == 0, result.stdout


def test_snakefmt_is_clean() -> None:
    result = run(sys.executable, "-m", "snakefmt", "--check", *map(str, SNAKEFILES))
    assert result.returncode == 0, result.stderr


def test_snakemake_lint_is_clean(tmp_path: Path) -> None:
    result = run(sys.executable, "-m", "snakemake", "--lint", "--directory", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Lints for" not in result.stdout, result.stdout


@pytest.mark.skipif(shutil.which("mypy") is None, reason="mypy is installed by scripts/setup.sh")
def test_mypy_is_clean() -> None:
    result = run("mypy", "--cache-dir", "/dev/null")  # files and settings: [tool.mypy] in pyproject.toml
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout, result.stdout


def test_profile_sizes_only_rules_the_workflow_has(tmp_path: Path) -> None:
    """A renamed rule must not silently lose its SLURM sizes (the profile would size nothing)."""
    profile = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    result = snakemake(tmp_path, "--list-rules")
    assert result.returncode == 0, result.stderr
    rules = set(result.stdout.split())
    named = set(profile["set-threads"]) | set(profile["set-resources"])
    assert named - rules == set()
    assert {"index_genome_minimap2", "align_reads", "align_tiles"} <= set(profile["set-resources"])
