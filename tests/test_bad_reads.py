"""Damaged FASTQs through the real workflow, screened and aligned in full: each stops before any alignment
with a message naming the damaged file and the fix, never a traceback or a report from part of the reads."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest
from helpers import snakemake
from test_workflow import DEMO, write_config

from carvis.cli import main as carvis
from carvis.reference.vectors import build_vector
from carvis.sim.simulate import TumourModel, simulate_tumour

PAIRS_DEPTH = 0.6  # ~2,400 pairs of the 1.2 Mb demo genome


def _rewrite(path: Path, keep: int) -> None:
    """Keep the first ``keep`` records of a gzipped FASTQ, as its own gzip member (a clean boundary)."""
    lines = gzip.decompress(path.read_bytes()).decode().splitlines(keepends=True)
    path.write_bytes(gzip.compress("".join(lines[: 4 * keep]).encode()))


def _damage(case: str, r1: Path, r2: Path) -> Path:
    """Damage one file of the pair; return the damaged file."""
    if case == "truncated gzip mid-record":
        data = r1.read_bytes()
        r1.write_bytes(data[: len(data) // 2])
        return r1
    if case == "gzip cut at a member boundary":
        body = gzip.decompress(r1.read_bytes()).decode().splitlines(keepends=True)
        half = 4 * (len(body) // 8)
        r1.write_bytes(gzip.compress("".join(body[:half]).encode()))  # the first of two members only
        return r1
    if case == "corrupt gzip bytes":
        data = bytearray(r2.read_bytes())
        for i in range(len(data) // 3, len(data) // 3 + 16):
            data[i] ^= 0xA5
        r2.write_bytes(bytes(data))
        return r2
    if case == "R2 fewer reads":
        _rewrite(r2, 1000)
        return r2
    if case == "R2 more reads":
        text = gzip.decompress(r2.read_bytes()).decode() + "@extra/2\nACGT\n+\nIIII\n"
        r2.write_bytes(gzip.compress(text.encode()))
        return r2
    if case == "names out of step":
        lines = gzip.decompress(r2.read_bytes()).decode().splitlines(keepends=True)
        lines[40:44], lines[44:48] = lines[44:48], lines[40:44]  # records 11 and 12 swapped
        r2.write_bytes(gzip.compress("".join(lines).encode()))
        return r2
    if case == "not a FASTQ":
        r1.write_bytes(gzip.compress(b">chr1\nACGTACGT\n" * 100))
        return r1
    raise ValueError(case)


CASES = (
    "truncated gzip mid-record",
    "gzip cut at a member boundary",
    "corrupt gzip bytes",
    "R2 fewer reads",
    "R2 more reads",
    "names out of step",
    "not a FASTQ",
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Undamaged reads and the reference and kmer_screen built once (copied into each case's folder)."""
    if any(shutil.which(t) is None for t in ("minimap2", "samtools", "cc")):
        pytest.skip("minimap2, samtools and cc are needed (bash scripts/setup.sh installs them)")
    tmp = tmp_path_factory.mktemp("bad_reads")
    vector = build_vector("demo_car", DEMO / "vector.gb", "lentiviral")
    library = TumourModel(coverage=PAIRS_DEPTH, insert_sd=40, error_rate=0.0, seed=13)
    reads = simulate_tumour(DEMO / "genome.fa", vector, [], tmp / "s", library)
    r1, r2 = reads.r1, reads.r2
    sheet = tmp / "samples.tsv"
    sheet.write_text(f"sample\tfastq_1\tfastq_2\tvector\tpurity\ns\t{r1}\t{r2}\tdemo_car\t0.8\n")
    config = str(write_config(tmp, sheet))
    result = snakemake(tmp, "--cores", "2", "--until", "screen_reads", "--configfile", config)
    assert result.returncode == 0, result.stderr[-3000:]
    return tmp / "out", r1, r2


@pytest.mark.parametrize("screen", [True, False], ids=["screened", "unscreened"])
@pytest.mark.parametrize("case", CASES)
def test_damaged_reads_stop_before_alignment(
    case: str,
    screen: bool,
    built: tuple[Path, Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out, r1, r2 = built
    shutil.copytree(out, tmp_path / "out")
    shutil.rmtree(tmp_path / "out" / "screen")  # the undamaged sample's screen
    r1, r2 = shutil.copy(r1, tmp_path), shutil.copy(r2, tmp_path)
    bad = _damage(case, Path(r1), Path(r2))
    sheet = tmp_path / "samples.tsv"
    sheet.write_text(f"sample\tfastq_1\tfastq_2\tvector\tpurity\ns\t{r1}\t{r2}\tdemo_car\t0.8\n")
    config = write_config(tmp_path, sheet, screen={"enabled": screen, "depth_sample_fraction": 0.05})
    result = snakemake(tmp_path, "--cores", "2", "--configfile", str(config))
    said = result.stdout + result.stderr
    assert result.returncode != 0
    assert str(bad) in result.stderr and "fix:" in result.stderr, result.stderr[-3000:]
    assert "Traceback" not in said
    assert not (tmp_path / "out" / "logs" / "align_reads" / "s.log").exists()
    assert not (tmp_path / "out" / "align" / "s.bam").exists()
    if screen:  # validate reads every record, whatever the config says of screening
        assert carvis(["validate", "--configfile", str(config)]) == 2
        told = capsys.readouterr().err
        assert str(bad) in told and "fix:" in told  # validate agrees with the run
