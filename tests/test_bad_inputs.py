"""Bad input stops the real workflow before any alignment, with the file, the fix and no traceback.

Each case copies a small valid project (demo genome, GTF and vector, one read pair), damages one
input, runs the workflow and ``carvis validate``, and checks that both name the damaged file.
"""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import snakemake

from carvis.cli import main as carvis
from carvis.core.io import read_tsv

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo"
SHEET = "sample\tfastq_1\tfastq_2\tvector\tpurity\tassay\n"
ROW = "s1\tR1.fq.gz\tR2.fq.gz\tdemo_car\t0.5\twgs\n"

Damage = Callable[[Path, dict[str, Any]], Path]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid project folder: genome, GTF, vector, gene list, one read pair and the sheet."""
    base = tmp_path_factory.mktemp("project")
    for name in ("genome.fa", "annotation.gtf", "vector.fa"):
        shutil.copy(DEMO / name, base / name)
    shutil.copy(ROOT / "resources" / "cancer_genes" / "cancer_genes.tsv", base / "genes.tsv")
    for mate in (1, 2):
        (base / f"R{mate}.fq.gz").write_bytes(
            gzip.compress(f"@r1/{mate}\n{'ACGT' * 25}\n+\n{'I' * 100}\n".encode())
        )
    (base / "samples.tsv").write_text(SHEET + ROW)
    return base


def config_of(folder: Path) -> dict[str, Any]:
    return {
        "samples": str(folder / "samples.tsv"),
        "outdir": "out",
        "reference": {"genome": str(folder / "genome.fa"), "annotation": str(folder / "annotation.gtf")},
        "vectors": {"demo_car": {"sequence": str(folder / "vector.fa"), "kind": "lentiviral"}},
        "gene_lists": [str(folder / "genes.tsv")],
        "screen": {"enabled": False},
    }


def _write(name: str, text: str) -> Damage:
    def damage(d: Path, cfg: dict[str, Any]) -> Path:
        (d / name).write_text(text)
        return d / name

    return damage


def _edit(name: str, change: Callable[[str], str]) -> Damage:
    def damage(d: Path, cfg: dict[str, Any]) -> Path:
        (d / name).write_text(change((d / name).read_text()))
        return d / name

    return damage


def _config(change: Callable[[dict[str, Any]], None]) -> Damage:
    def damage(d: Path, cfg: dict[str, Any]) -> Path:
        change(cfg)
        return d / "config.yaml"

    return damage


def _capture_bed_not_bed(d: Path, cfg: dict[str, Any]) -> Path:
    """A capture sample whose control BED holds no BED line."""
    (d / "samples.tsv").write_text(SHEET + ROW.replace("wgs", "capture"))
    (d / "controls.bed").write_text("chr1 10000 14000\n")  # spaces, not tabs
    _set("capture", "control_bed", value=str(d / "controls.bed"))(cfg)
    return d / "controls.bed"


def _corrupt_genome_gzip(d: Path, cfg: dict[str, Any]) -> Path:
    packed = gzip.compress((d / "genome.fa").read_bytes())
    (d / "genome.fa.gz").write_bytes(packed[: len(packed) // 2])
    cfg["reference"]["genome"] = str(d / "genome.fa.gz")
    return d / "genome.fa.gz"


def _fastq_not_gzip(d: Path, cfg: dict[str, Any]) -> Path:
    (d / "R1.fq.gz").write_text("hello\n")
    return d / "R1.fq.gz"


def _missing_fastq(d: Path, cfg: dict[str, Any]) -> Path:
    (d / "R2.fq.gz").unlink()
    return d / "samples.tsv"


def _set(*keys: str, value: object) -> Callable[[dict[str, Any]], None]:
    def change(cfg: dict[str, Any]) -> None:
        holder = cfg
        for key in keys[:-1]:
            holder = holder.setdefault(key, {})
        holder[keys[-1]] = value

    return change


def _drop_lines(prefix: str) -> Callable[[str], str]:
    return lambda text: "".join(line for line in text.splitlines(True) if not line.startswith(prefix))


CASES: dict[str, Damage] = {
    "empty vector FASTA": _write("vector.fa", ""),
    "header-only vector FASTA": _write("vector.fa", ">demo_car\n"),
    "protein vector FASTA": _write(
        "vector.fa", ">demo_car\nMEEPQSDPSVEPPLSQETFSDLWKLLPENNVLSPLPSQAMDDLMLSPDDIEQWFTEDPGP\n"
    ),
    "duplicate vector record names": _edit("vector.fa", lambda text: text + text),
    "provirus range missing the motifs": lambda d, cfg: (
        _set("vectors", "demo_car", "provirus", value=[2024, 7670])(cfg) or d / "vector.fa"
    ),
    "vector contig name in the genome": _edit(
        "genome.fa", lambda t: t.replace(">chrX", ">demo_car__provirus")
    ),
    "duplicate genome contig names": _edit("genome.fa", lambda t: t.replace(">chrX", ">chr1")),
    "corrupt genome gzip": _corrupt_genome_gzip,
    "genome not FASTA": _write("genome.fa", "chr1 ACGT\n"),
    "GTF for other contigs": _edit("annotation.gtf", lambda t: t.replace("chr", "scaffold_")),
    "GTF covering only some contigs": _edit("annotation.gtf", _drop_lines("chrX")),
    "unparseable GTF line": _edit("annotation.gtf", lambda t: t.replace("\n", "\nchr1\tbroken\n", 5)),
    "gene list without header": _write("genes.tsv", "LMO2\toncogene\nMYC\toncogene\n"),
    "gene list symbols unknown": _write("genes.tsv", "gene\tcategory\nNOPE1\toncogene\nNOPE2\toncogene\n"),
    "missing capture control BED": _config(_set("capture", "control_bed", value="/nowhere/controls.bed")),
    "capture control BED not a BED": _capture_bed_not_bed,
    "bad purity": _write("samples.tsv", SHEET + ROW.replace("0.5", "60")),
    "unknown vector in sheet": _write("samples.tsv", SHEET + ROW.replace("demo_car", "other_car")),
    "missing FASTQ": _missing_fastq,
    "FASTQ not gzip": _fastq_not_gzip,
    "duplicate sample": _write("samples.tsv", SHEET + ROW + ROW),
    "unknown config key": _config(_set("aligner_extra", value="-k 19")),
    "bad value type": _config(_set("sites", "min_mapq", value="high")),
    "unknown vector kind": _config(_set("vectors", "demo_car", "kind", value="lentivirus")),
    "missing gene list": _config(_set("gene_lists", value=["/nowhere/genes.tsv"])),
}


def _setup(project: Path, folder: Path, damage: Damage | None) -> tuple[Path, Path | None]:
    shutil.copytree(project, folder)
    cfg = config_of(folder)
    damaged = damage(folder, cfg) if damage else None
    (folder / "config.yaml").write_text(yaml.safe_dump(cfg))
    return folder / "config.yaml", damaged


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_stops_before_alignment(
    case: str,
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config, damaged = _setup(project, tmp_path / "run", CASES[case])
    result = snakemake(config.parent, "--cores", "1", "--configfile", str(config))
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert str(damaged) in output and "fix:" in output, output
    assert "Traceback" not in output, output
    out = config.parent / "out"
    assert not list(out.glob("align/*.bam")) and not (out / "logs" / "align_reads").exists()
    assert not list(out.glob("reference/*/combined.*")), "a reference or index was built"

    monkeypatch.chdir(config.parent)
    assert carvis(["validate", "--configfile", str(config)]) == 2
    assert str(damaged) in capsys.readouterr().err  # validate agrees with the run


def test_annotation_without_genes_runs_with_a_warning(project: Path, tmp_path: Path) -> None:
    config, _ = _setup(project, tmp_path / "run", _write("annotation.gtf", "#!genome-build toy\n"))
    result = snakemake(
        config.parent, "out/preflight/preflight.tsv", "--cores", "1", "--configfile", str(config)
    )
    assert result.returncode == 0, result.stderr
    assert "carvis: warning:" in result.stderr and "the annotation has no genes" in result.stderr
    rows = read_tsv(config.parent / "out" / "preflight" / "preflight.tsv", ("figure", "value"))
    figures = {r["figure"]: r["value"] for r in rows}
    assert figures["genes"] == "0" and figures["unannotated_contigs"] == "chr1,chr2,chrX"
    assert "no genes" in figures["warning"]
