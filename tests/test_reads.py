"""Every read checked and counted: kmer_screen's reader on damaged FASTQs, the check-only pass, the
InputError a user sees, and the read accounting that refuses an incomplete alignment."""

from __future__ import annotations

import gzip
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, random_seq, require_tools
from test_screen import _screen_world

from carvis.core.errors import InputError
from carvis.core.io import read_tsv
from carvis.reads.accounting import AlignedSample, account_reads, write_checksums
from carvis.reads.screen import ScreenFiles, ScreenSettings, check_reads, run_screen

N = 2000


def fastq_text(
    start: int, n: int, mate: int, rng: random.Random, suffix: bool = True, end: str = "\n"
) -> str:
    """``n`` random 100 bp records named r<start>.. (with /1 or /2 when ``suffix``)."""
    records = []
    for i in range(start, start + n):
        name = f"r{i}/{mate}" if suffix else f"r{i} {mate}:N:0:1"
        seq = random_seq(rng, 100)
        records.append(f"@{name}{end}{seq}{end}+{end}{'I' * 100}{end}")
    return "".join(records)


def write(path: Path, text: str) -> Path:
    """Write FASTQ text, gzipped when the name ends in .gz."""
    if path.suffix == ".gz":
        with gzip.open(path, "wt", compresslevel=1) as out:
            out.write(text)
    else:
        path.write_text(text)
    return path


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    rng = random.Random(1)
    return (
        write(tmp_path / "s_R1.fastq.gz", fastq_text(0, N, 1, rng)),
        write(tmp_path / "s_R2.fastq.gz", fastq_text(0, N, 2, rng)),
    )


def cut(path: Path, keep: float) -> Path:
    """Keep the first ``keep`` of the file's bytes (a copy cut short)."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def test_check_counts_every_record_per_file_over_two_lanes(tmp_path: Path, kmer_screen: Path) -> None:
    rng = random.Random(2)
    lanes = [(0, 700, ".fastq.gz"), (700, 300, ".fastq")]  # one gzipped lane (piped), one plain (zlib)
    r1 = [write(tmp_path / f"L{i}_R1{ext}", fastq_text(s, n, 1, rng)) for i, (s, n, ext) in enumerate(lanes)]
    r2 = [write(tmp_path / f"L{i}_R2{ext}", fastq_text(s, n, 2, rng)) for i, (s, n, ext) in enumerate(lanes)]
    counts = check_reads(kmer_screen, r1, r2)
    assert counts.files == ((str(r1[0]), 700), (str(r1[1]), 300), (str(r2[0]), 700), (str(r2[1]), 300))
    assert counts.pairs == 1000 and counts.reads == 2000


def test_check_accepts_crlf_and_illumina_names_and_writes_nothing(tmp_path: Path, kmer_screen: Path) -> None:
    rng = random.Random(3)
    r1 = write(tmp_path / "a_R1.fastq", fastq_text(0, 50, 1, rng, suffix=False, end="\r\n"))
    r2 = write(tmp_path / "a_R2.fastq.gz", fastq_text(0, 50, 2, rng))  # r0/2 pairs with "r0 1:N:0:1"
    before = set(tmp_path.iterdir())
    assert check_reads(kmer_screen, [r1], [r2]).pairs == 50
    assert set(tmp_path.iterdir()) == before  # check-only: no FASTQ, no k-mer file
    assert check_reads(kmer_screen, [r1], []).files == ((str(r1), 50),)  # single-end


# (damage, file damaged, expected words): each a copy gone wrong or mates out of step
DAMAGE = {
    "gzip cut mid-record": ("R1", "the gzip file is damaged"),
    "plain text cut mid-record": ("R2", "the file ends inside a FASTQ record"),
    "corrupt gzip bytes": ("R1", "the gzip file is damaged"),
    "R2 fewer reads": ("R2", f"holds {N - 10} reads but its mate file"),
    "R2 more reads": ("R1", f"holds {N} reads but its mate file"),
    "names out of step": ("R2", "the mates are out of step"),
    "not a FASTQ": ("R1", "not a FASTQ record"),
}


def damage(case: str, r1: Path, r2: Path, rng: random.Random) -> tuple[Path, Path]:
    if case == "gzip cut mid-record":
        cut(r1, 0.5)
    elif case == "plain text cut mid-record":
        plain = r2.with_suffix("")
        plain.write_bytes(gzip.decompress(r2.read_bytes()))
        r2 = cut(plain, 0.5)
    elif case == "corrupt gzip bytes":
        data = bytearray(r1.read_bytes())
        for i in range(len(data) // 2, len(data) // 2 + 8):
            data[i] ^= 0x5A
        r1.write_bytes(bytes(data))
    elif case == "R2 fewer reads":
        write(r2, fastq_text(0, N - 10, 2, rng))
    elif case == "R2 more reads":
        write(r2, fastq_text(0, N + 1, 2, rng))
    elif case == "names out of step":
        write(r2, fastq_text(0, 5, 2, rng) + fastq_text(6, N - 5, 2, rng))
    elif case == "not a FASTQ":
        write(r1, ">r0\nACGT\n" * 8)
    return r1, r2


@pytest.mark.parametrize("case", DAMAGE)
def test_damaged_fastq_is_refused_naming_the_file(
    case: str, pair: tuple[Path, Path], kmer_screen: Path, tmp_path: Path
) -> None:
    """Both passes (check-only and screening) stop with an InputError naming the real file and the fix."""
    r1, r2 = damage(case, *pair, random.Random(4))
    bad = {"R1": r1, "R2": r2}[DAMAGE[case][0]]
    with pytest.raises(InputError) as checked:
        check_reads(kmer_screen, [r1], [r2])
    _, _, pieces, ends = _screen_world(tmp_path, random.Random(5))
    with pytest.raises(InputError) as screened:
        files = ScreenFiles(kmer_screen, pieces, ends, [r1], [r2], tmp_path / "o" / "s", tmp_path / "s.tsv")
        run_screen("s", files, ScreenSettings(fraction=0.1))
    for error in (checked.value, screened.value):
        assert error.path == str(bad) and "/dev/fd" not in str(error)
        assert DAMAGE[case][1] in error.problem and error.fix
    assert not list((tmp_path / "o").glob("s_R*.fastq"))  # nothing handed on


def test_names_out_of_step_give_the_line_and_both_names(pair: tuple[Path, Path], kmer_screen: Path) -> None:
    r1, r2 = damage("names out of step", *pair, random.Random(4))
    with pytest.raises(InputError) as error:
        check_reads(kmer_screen, [r1], [r2])
    assert error.value.line == 4 * 5 + 1  # record 6: r6 in R2 against r5 in R1
    assert (
        "mate r6 does not match read r5, record 6 of" in error.value.problem
        and str(r1) in error.value.problem
    )


def test_a_bad_fastq_stops_the_stage_with_a_message_not_a_traceback(
    pair: tuple[Path, Path], kmer_screen: Path, tmp_path: Path
) -> None:
    r1, r2 = damage("gzip cut mid-record", *pair, random.Random(4))
    log = tmp_path / "check.log"
    code = (
        "from carvis.core.runlog import log_to\nfrom carvis.reads.screen import check_reads\n"
        f"with log_to({str(log)!r}):\n    check_reads({str(kmer_screen)!r}, [{str(r1)!r}], [{str(r2)!r}])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "scripts")}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, env=env
    )
    assert result.returncode == 1
    assert "carvis: bad input" in result.stderr and str(r1) in result.stderr and "fix:" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout and "/dev/fd" not in result.stderr


def test_accounting_refuses_a_bam_with_fewer_primary_records_than_reads_sent(tmp_path: Path) -> None:
    require_tools("samtools")
    records = [f"r{i}\t{flag}\t*\t0\t0\t*\t*\t0\t0\tACGT\tIIII" for i in range(3) for flag in (77, 141)]
    records.append("r0\t333\t*\t0\t0\t*\t*\t0\t0\tACGT\tIIII")  # secondary: not a read
    records.append("r1\t2125\t*\t0\t0\t*\t*\t0\t0\tACGT\tIIII")  # supplementary: not a read
    sam = tmp_path / "a.sam"
    sam.write_text("\n".join(records) + "\n")
    bam = tmp_path / "a.bam"
    subprocess.run(["samtools", "view", "-b", "-o", str(bam), str(sam)], check=True)
    out = tmp_path / "qc" / "s.read_counts.tsv"
    inputs = [("R1.fq.gz", 3), ("R2.fq.gz", 3)]
    aligned = AlignedSample("s", out, bam, "align.log")
    rows = account_reads(aligned, inputs, sent=6)
    table = read_tsv(out)
    assert [(r["step"], r["file"], r["reads"]) for r in table] == [
        ("input", "R1.fq.gz", "3"),
        ("input", "R2.fq.gz", "3"),
        ("sent_to_aligner", "NA", "6"),
        ("primary_alignments", "NA", "6"),
    ]
    assert len(rows) == 4
    out.unlink()
    with pytest.raises(InputError, match="the aligner wrote 6 primary alignments for 8 reads") as error:
        account_reads(aligned, inputs, sent=8)
    assert "align.log" in error.value.problem and "rerun" in error.value.fix and not out.exists()


def test_checksums_are_sha256sum_s(pair: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "inputs.tsv"
    write_checksums("s", list(pair), out)
    rows = read_tsv(out)
    expected = subprocess.run(["sha256sum", *map(str, pair)], capture_output=True, text=True, check=True)
    assert [(r["file"], r["sha256"]) for r in rows] == [
        tuple(line.split()[::-1]) for line in expected.stdout.splitlines()
    ]
    assert [int(r["bytes"]) for r in rows] == [p.stat().st_size for p in pair]
