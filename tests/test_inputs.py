"""Config and sample-sheet validation: every failure names the file, the line and the fix."""

from __future__ import annotations

import copy
import gzip
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from carvis import cli
from carvis.core.errors import InputError
from carvis.inputs.checks import load_config, load_samples, read_yaml, validate_run
from carvis.reference.vectors import KINDS

SCHEMAS = Path(__file__).resolve().parents[1] / "workflow" / "schemas"
CONFIG_SCHEMA = SCHEMAS / "config.schema.yaml"
SAMPLES_SCHEMA = SCHEMAS / "samples.schema.yaml"
GENE_LIST = "resources/cancer_genes/cancer_genes.tsv"
HEADER = "sample\tfastq_1\tfastq_2\tvector\tpurity\tassay"


def write_fastq(path: Path, name: str, gz: bool = True) -> Path:
    """A two-read FASTQ whose first read is called ``name``."""
    text = f"@{name}\nACGTACGT\n+\nIIIIIIII\n@other\nGGGG\n+\nIIII\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def write_sheet(path: Path, *rows: str, header: str = HEADER) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


@pytest.fixture
def project(tmp_path: Path) -> dict[str, Any]:
    """Reference, vector and gene-list files under tmp_path, and a raw config naming them relatively."""
    demo = Path(__file__).resolve().parents[1] / "resources"
    sources = {
        "sheets/samples.tsv": None,
        "ref/genes.gtf": demo / "demo" / "annotation.gtf",
        "vectors/car.gb": demo / "demo" / "vector.gb",
        GENE_LIST: demo / "cancer_genes" / "cancer_genes.tsv",
    }
    for rel, source in sources.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(source.read_text() if source else "x\n")
    (tmp_path / "ref" / "genome.fa.gz").write_bytes(
        gzip.compress((demo / "demo" / "genome.fa").read_bytes(), 1)
    )
    return {
        "samples": "sheets/samples.tsv",
        "reference": {"genome": "ref/genome.fa.gz", "annotation": "ref/genes.gtf"},
        "vectors": {"demo_car": {"sequence": "vectors/car.gb", "kind": "lentiviral"}},
    }


@pytest.fixture
def sheet_dir(tmp_path: Path) -> Path:
    """A sheet folder with paired FASTQs for two lanes (reads named as Illumina does)."""
    folder = tmp_path / "sheets"
    for lane in ("L1", "L2"):
        write_fastq(folder / "fq" / f"{lane}_R1.fastq.gz", f"{lane}:read1/1")
        write_fastq(folder / "fq" / f"{lane}_R2.fastq.gz", f"{lane}:read1/2")
    write_fastq(folder / "fq" / "se.fastq", "single 1:N:0", gz=False)
    return folder


def load(sheet: Path, producible: tuple[Path, ...] = ()) -> list:
    return load_samples(sheet, ["demo_car", "other_car"], SAMPLES_SCHEMA, producible)


def raised(func: Any, *args: Any) -> InputError:
    with pytest.raises(InputError) as info:
        func(*args)
    return info.value


# --------------------------------------------------------------------------- schemas


def test_schemas_are_valid_and_kinds_match_the_vector_model() -> None:
    config_schema = yaml.safe_load(CONFIG_SCHEMA.read_text())
    Draft202012Validator.check_schema(config_schema)
    Draft202012Validator.check_schema(yaml.safe_load(SAMPLES_SCHEMA.read_text()))
    kind = config_schema["properties"]["vectors"]["additionalProperties"]["properties"]["kind"]
    assert kind["enum"] == list(KINDS)


# --------------------------------------------------------------------------- config


def test_a_bwa_index_prefix_needs_its_five_files(project: dict[str, Any], tmp_path: Path) -> None:
    raw = copy.deepcopy(project)
    raw["reference"]["bwa_index"] = "idx/genome.fa"
    (tmp_path / "idx").mkdir()
    for suffix in (".amb", ".ann", ".bwt", ".pac"):  # no .sa
        (tmp_path / "idx" / f"genome.fa{suffix}").write_text("x")
    err = raised(load_config, raw, tmp_path, CONFIG_SCHEMA)
    assert f"no bwa index at {tmp_path / 'idx' / 'genome.fa'}" in err.problem
    assert err.problem.endswith("genome.fa.sa not found") and "the prefix bwa index wrote" in err.fix
    (tmp_path / "idx" / "genome.fa.sa").write_text("x")
    assert load_config(raw, tmp_path, CONFIG_SCHEMA)["reference"]["bwa_index"] == str(
        tmp_path / "idx" / "genome.fa"
    )


def test_config_defaults_filled_and_paths_resolved(project: dict[str, Any], tmp_path: Path) -> None:
    raw = copy.deepcopy(project)
    config = load_config(raw, tmp_path, CONFIG_SCHEMA)
    assert raw == project  # the input is not modified
    assert config["outdir"] == "results"
    assert config["aligner"] == "minimap2"
    assert config["align_extra"] == ""
    # other stages may add keys; these defaults must hold
    assert (
        config["sites"].items()
        >= {
            "min_mapq": 20,
            "min_fragments": 2,
            "anchor_slop": 2,
            "dominant_fraction": 0.2,
            "discordant_window": 1000,
        }.items()
    )
    assert (
        config["transgene"].items()
        >= {"min_vcn": 0.02, "background_rate": 0.0005, "min_footprint_covered": 0.2}.items()
    )
    assert config["screen"] == {
        "enabled": True,
        "depth_sample_fraction": 0.01,
        "depth_sample_max_pairs": 1_000_000,
        "depth_sample_max_bases": 30_000_000,
        "seed": 7,
        "count_spanning": False,
    }
    assert config["threads"]["align"] == 4
    assert config["mem_mb"]["align"] == 8000
    assert config["samples"] == str(tmp_path / "sheets" / "samples.tsv")
    assert config["reference"]["genome"] == str(tmp_path / "ref" / "genome.fa.gz")
    assert config["vectors"]["demo_car"]["sequence"] == str(tmp_path / "vectors" / "car.gb")
    assert config["gene_lists"] == [str(tmp_path / GENE_LIST)]
    errors = list(Draft202012Validator(yaml.safe_load(CONFIG_SCHEMA.read_text())).iter_errors(config))
    assert errors == []


def test_config_keeps_given_values_and_makes_whole_floats_integers(
    project: dict[str, Any], tmp_path: Path
) -> None:
    project["sites"] = {"min_mapq": 30.0}
    project["vectors"]["demo_car"]["provirus"] = [10, 900]
    config = load_config(project, tmp_path, CONFIG_SCHEMA)
    assert config["sites"]["min_mapq"] == 30 and isinstance(config["sites"]["min_mapq"], int)
    assert config["sites"]["min_fragments"] == 2
    assert config["vectors"]["demo_car"]["provirus"] == [10, 900]


def test_bad_kind_names_key_value_allowed_values(project: dict[str, Any], tmp_path: Path) -> None:
    project["vectors"]["demo_car"]["kind"] = "lentivral"
    err = raised(load_config, project, tmp_path, CONFIG_SCHEMA, "my.yaml")
    text = str(err)
    assert err.path == "my.yaml"
    assert "vectors.demo_car.kind" in text and "'lentivral'" in text
    assert all(kind in err.fix for kind in KINDS)
    assert "did you mean 'lentiviral'" in err.fix


def test_misspelt_key_gets_did_you_mean(project: dict[str, Any], tmp_path: Path) -> None:
    project["sites"] = {"min_mapk": 30}
    err = raised(load_config, project, tmp_path, CONFIG_SCHEMA)
    assert "sites.min_mapk" in err.problem
    assert "did you mean 'min_mapq'" in err.fix


def test_key_in_the_wrong_section_points_to_its_section(project: dict[str, Any], tmp_path: Path) -> None:
    project["min_vcn"] = 0.1
    err = raised(load_config, project, tmp_path, CONFIG_SCHEMA)
    assert "'min_vcn'" in err.problem
    assert "transgene.min_vcn" in err.fix


@pytest.mark.parametrize(
    ("change", "key", "fix_part"),
    [
        (
            lambda c: c["vectors"]["demo_car"].update(provirus=[700, 10]),
            "vectors.demo_car.provirus",
            "start < end",
        ),
        (
            lambda c: c["vectors"]["demo_car"].update(provirus=[0, 10]),
            "vectors.demo_car.provirus[0]",
            "at least 1",
        ),
        (
            lambda c: c["vectors"]["demo_car"].update(tsd_length=25),
            "vectors.demo_car.tsd_length",
            "at most 20",
        ),
        (
            lambda c: c["vectors"]["demo_car"].update(five_prime_end="TGGN"),
            "five_prime_end",
            "A, C, G, T only",
        ),
        (lambda c: c["vectors"].update({"a__b": c["vectors"]["demo_car"]}), "a__b", "without '__'"),
        (lambda c: c["reference"].pop("annotation"), "reference.annotation", "add annotation:"),
    ],
)
def test_config_value_errors(
    project: dict[str, Any], tmp_path: Path, change: Any, key: str, fix_part: str
) -> None:
    change(project)
    err = raised(load_config, project, tmp_path, CONFIG_SCHEMA)
    assert key in err.problem
    assert fix_part in err.fix


def test_config_text_values_are_read_as_the_schema_types(project: dict[str, Any], tmp_path: Path) -> None:
    """``--config screen='{enabled: false}'`` and YAML 1.1 (5e-3) give booleans and numbers as text."""
    text = {
        "enabled": "false",
        "depth_sample_fraction": "0.2",
        "depth_sample_max_pairs": "5000",
        "depth_sample_max_bases": "2000000",
        "seed": "3",
        "count_spanning": "true",
    }
    project.update(screen=text, transgene={"min_vcn": "5e-3"})
    config = load_config(project, tmp_path, CONFIG_SCHEMA)
    assert config["screen"] == {
        "enabled": False,
        "depth_sample_fraction": 0.2,
        "depth_sample_max_pairs": 5000,
        "depth_sample_max_bases": 2_000_000,
        "seed": 3,
        "count_spanning": True,
    }
    assert config["transgene"]["min_vcn"] == 0.005
    project.update(screen={"enabled": "nope"})
    assert "expected true or false but found 'nope'" in str(
        raised(load_config, project, tmp_path, CONFIG_SCHEMA)
    )


def test_missing_genome_file_names_key_and_path(project: dict[str, Any], tmp_path: Path) -> None:
    project["reference"]["genome"] = "ref/hg38.fa"
    err = raised(load_config, project, tmp_path, CONFIG_SCHEMA, "cfg.yaml")
    assert err.path == "cfg.yaml"
    assert "reference.genome" in err.problem
    assert str(tmp_path / "ref" / "hg38.fa") in err.problem
    assert "correct the path in reference.genome" in err.fix and str(tmp_path) in err.fix


def test_missing_default_gene_list_is_reported(project: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / GENE_LIST).unlink()
    err = raised(load_config, project, tmp_path, CONFIG_SCHEMA)
    assert "gene_lists[0]" in err.problem


# --------------------------------------------------------------------------- sample sheet


def test_samples_happy_path(sheet_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_sheet(
        sheet_dir / "samples.tsv",
        "# tumour biopsies",
        "",
        "T1\tfq/L1_R1.fastq.gz, fq/L2_R1.fastq.gz\tfq/L1_R2.fastq.gz,fq/L2_R2.fastq.gz\tdemo_car\t0.6\t",
        "T2\tfq/se.fastq\t\tother_car\t\tWGS",
    )
    monkeypatch.chdir(tmp_path)  # paths must resolve against the sheet's folder, not the working folder
    t1, t2 = load(Path("sheets/samples.tsv"))
    fq = sheet_dir / "fq"
    assert t1.sample == "T1" and t1.vector == "demo_car" and t1.purity == 0.6 and t1.assay == "wgs"
    assert t1.fastq_1 == [fq / "L1_R1.fastq.gz", fq / "L2_R1.fastq.gz"]
    assert t1.fastq_2 == [fq / "L1_R2.fastq.gz", fq / "L2_R2.fastq.gz"]
    assert t1.paired
    assert t2.fastq_1 == [fq / "se.fastq"] and t2.fastq_2 == [] and not t2.paired
    assert t2.purity is None and t2.assay == "wgs" and t2.vector == "other_car"


def test_producible_fastqs_need_not_exist(sheet_dir: Path) -> None:
    sheet = write_sheet(sheet_dir / "samples.tsv", "S1\tsim/S1_R1.fq.gz\tsim/S1_R2.fq.gz\tdemo_car\t\t")
    with pytest.raises(InputError, match="not found"):
        load(sheet)
    (s1,) = load(sheet, (sheet_dir / "sim" / "S1_R1.fq.gz", sheet_dir / "sim" / "S1_R2.fq.gz"))
    assert s1.fastq_2 == [sheet_dir / "sim" / "S1_R2.fq.gz"]


def test_missing_fastq(sheet_dir: Path) -> None:
    sheet = write_sheet(sheet_dir / "samples.tsv", "S1\tfq/L1_R1.fastq.gz\tfq/nope_R2.fastq.gz\tdemo_car\t\t")
    err = raised(load, sheet)
    assert err.path == str(sheet) and err.line == 2
    assert str(sheet_dir / "fq" / "nope_R2.fastq.gz") in err.problem and "fastq_2" in err.problem
    assert "relative paths are read from the sheet's folder" in err.fix


def test_duplicate_sample_names_both_lines(sheet_dir: Path) -> None:
    sheet = write_sheet(
        sheet_dir / "samples.tsv",
        "S1\tfq/L1_R1.fastq.gz\tfq/L1_R2.fastq.gz\tdemo_car\t\t",
        "# second lane",
        "S1\tfq/L2_R1.fastq.gz\tfq/L2_R2.fastq.gz\tdemo_car\t\t",
    )
    err = raised(load, sheet)
    assert err.line == 4 and "line 4" in str(err)
    assert "lines 2 and 4" in err.problem
    assert "separated by commas" in err.fix


def test_unknown_vector_lists_configured_ones(sheet_dir: Path) -> None:
    sheet = write_sheet(sheet_dir / "samples.tsv", "S1\tfq/se.fastq\t\tdemo_cart\t\t")
    err = raised(load, sheet)
    assert err.line == 2 and "'demo_cart'" in err.problem
    assert "demo_car, other_car" in err.fix and "did you mean 'demo_car'" in err.fix


def test_mismatched_file_counts(sheet_dir: Path) -> None:
    sheet = write_sheet(
        sheet_dir / "samples.tsv", "S1\tfq/L1_R1.fastq.gz,fq/L2_R1.fastq.gz\tfq/L1_R2.fastq.gz\tdemo_car\t\t"
    )
    err = raised(load, sheet)
    assert err.line == 2 and "2 file(s)" in err.problem and "lists 1" in err.problem
    assert "one read-2 file per read-1 file" in err.fix


def test_same_file_as_read_1_and_read_2(sheet_dir: Path) -> None:
    sheet = write_sheet(sheet_dir / "samples.tsv", "S1\tfq/L1_R1.fastq.gz\tfq/L1_R1.fastq.gz\tdemo_car\t\t")
    err = raised(load, sheet)
    assert err.line == 2 and "read 1 and read 2" in err.problem and "fastq_2" in err.fix


def test_read_names_of_r1_and_r2_differ(sheet_dir: Path) -> None:
    sheet = write_sheet(
        sheet_dir / "samples.tsv",
        "S1\tfq/L1_R1.fastq.gz,fq/L2_R1.fastq.gz\tfq/L2_R2.fastq.gz,fq/L1_R2.fastq.gz\tdemo_car\t\t",
    )
    err = raised(load, sheet)
    assert err.line == 2
    assert "'L1:read1'" in err.problem and "'L2:read1'" in err.problem
    assert str(sheet_dir / "fq" / "L1_R1.fastq.gz") in err.problem
    assert "same lane" in err.fix


def test_fastq_listed_by_two_samples(sheet_dir: Path) -> None:
    sheet = write_sheet(
        sheet_dir / "samples.tsv", "S1\tfq/se.fastq\t\tdemo_car\t\t", "S2\tfq/se.fastq\t\tdemo_car\t\t"
    )
    err = raised(load, sheet)
    assert err.line == 3 and "lines 2 and 3" in err.problem


@pytest.mark.parametrize(
    ("value", "problem"), [("1.5", "at most 1"), ("abc", "not a number"), ("0", "above 0")]
)
def test_bad_purity(sheet_dir: Path, value: str, problem: str) -> None:
    sheet = write_sheet(sheet_dir / "samples.tsv", f"S1\tfq/se.fastq\t\tdemo_car\t{value}\t")
    err = raised(load, sheet)
    assert err.path == str(sheet) and err.line == 2
    assert repr(value) in err.problem and problem in err.problem
    assert "write purity as a fraction, e.g. 0.6 for 60%" in err.fix


def test_bad_sample_name(sheet_dir: Path) -> None:
    sheet = write_sheet(sheet_dir / "samples.tsv", "patient 7\tfq/se.fastq\t\tdemo_car\t\t")
    err = raised(load, sheet)
    assert err.line == 2 and "'patient 7'" in err.problem and "no spaces" in err.fix


def test_bad_assay(sheet_dir: Path) -> None:
    sheet = write_sheet(sheet_dir / "samples.tsv", "S1\tfq/se.fastq\t\tdemo_car\t\tpanel")
    err = raised(load, sheet)
    assert err.line == 2 and "'panel'" in err.problem and "wgs, capture" in err.fix


def test_capture_assay_is_read(sheet_dir: Path) -> None:
    sheet = write_sheet(sheet_dir / "samples.tsv", "S1\tfq/se.fastq\t\tdemo_car\t\tcapture")
    (sample,) = load(sheet)
    assert sample.assay == "capture"


def test_lmpcr_runs_and_specimens(sheet_dir: Path) -> None:
    head = "sample\tfastq_1\tfastq_2\tvector\tassay\tspecimen\tltr_end\n"
    pair = "fq/L1_R1.fastq.gz\tfq/L1_R2.fastq.gz"
    good = sheet_dir / "good.tsv"
    good.write_text(head + f"U5\t{pair}\tdemo_car\tlmpcr\tP1\t3p\n")
    (sample,) = load(good)
    assert (sample.assay, sample.specimen, sample.ltr_end) == ("lmpcr", "P1", "3p")
    single = sheet_dir / "single.tsv"
    single.write_text(head + "U5\tfq/se.fastq\t\tdemo_car\tlmpcr\tP1\t3p\n")
    err = raised(load, single)
    assert err.line == 2 and "paired FASTQs" in err.problem
    twice = sheet_dir / "twice.tsv"
    twice.write_text(
        head
        + f"U5\t{pair}\tdemo_car\tlmpcr\tP1\t3p\n"
        + "U5b\tfq/L2_R1.fastq.gz\tfq/L2_R2.fastq.gz\tdemo_car\tlmpcr\tP1\t3p\n"
    )
    err = raised(load, twice)
    assert err.line == 3 and "same LTR end" in err.problem
    wgs = sheet_dir / "wgs.tsv"
    wgs.write_text(head + f"W1\t{pair}\tdemo_car\twgs\tP1\t\n")
    err = raised(load, wgs)
    assert err.line == 2 and "specimen 'P1' is given for a wgs sample" in err.problem


def test_unknown_column_lists_allowed(sheet_dir: Path) -> None:
    header = "sample\tfastq1\tfastq_2\tvector"
    sheet = write_sheet(sheet_dir / "samples.tsv", "S1\tfq/se.fastq\t\tdemo_car", header=header)
    err = raised(load, sheet)
    assert err.line == 1 and "'fastq1'" in err.problem
    assert (
        "did you mean 'fastq_1'" in err.fix
        and "sample, fastq_1, fastq_2, bam, vector, purity, assay" in err.fix
    )


@pytest.mark.parametrize("text", ["", "# only a comment\n\n", HEADER + "\n"])
def test_empty_sheet(sheet_dir: Path, text: str) -> None:
    sheet = sheet_dir / "samples.tsv"
    sheet.write_text(text)
    err = raised(load, sheet)
    assert err.path == str(sheet) and "one line per sample" in err.fix


def test_wrong_field_count(sheet_dir: Path) -> None:
    sheet = write_sheet(sheet_dir / "samples.tsv", "S1 fq/se.fastq demo_car")
    err = raised(load, sheet)
    assert err.line == 2 and "tabs" in err.fix


# --------------------------------------------------------------------------- FASTQ content


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("r1\nACGT\n+\nIIII\n", 1, "should start with '@'"),
        ("@r1\nACGT\n-\nIIII\n", 3, "should start with '+'"),
        ("@r1\nACGT\n+\nIII\n", 4, "has 3 characters but the sequence (line 2) has 4"),
        ("@r1\nACGT\n", 3, "incomplete"),
    ],
)
def test_malformed_fastq(sheet_dir: Path, text: str, line: int, problem: str) -> None:
    fastq = sheet_dir / "fq" / "bad.fastq.gz"
    fastq.write_bytes(gzip.compress(text.encode()))
    sheet = write_sheet(sheet_dir / "samples.tsv", "S1\tfq/bad.fastq.gz\t\tdemo_car\t\t")
    err = raised(load, sheet)
    assert err.path == str(fastq) and err.line == line and f"line {line}" in str(err)
    assert problem in err.problem and f"{sheet}, line 2" in err.problem
    assert "@name, sequence, +, quality" in err.fix


def test_gzip_name_that_is_not_gzip(sheet_dir: Path) -> None:
    fastq = sheet_dir / "fq" / "junk_R1.fastq.gz"
    fastq.write_bytes(b"PK\x03\x04 this is a zip archive\x00\x01")
    sheet = write_sheet(sheet_dir / "samples.tsv", "S1\tfq/junk_R1.fastq.gz\t\tdemo_car\t\t")
    err = raised(load, sheet)
    assert err.path == str(fastq) and err.line == 1
    assert "not gzip-compressed" in err.problem and "copy the original .fastq.gz again" in err.fix


def test_plain_fastq_named_gz_is_accepted(sheet_dir: Path) -> None:
    write_fastq(sheet_dir / "fq" / "plain.fastq.gz", "p1", gz=False)
    sheet = write_sheet(sheet_dir / "samples.tsv", "S1\tfq/plain.fastq.gz\t\tdemo_car\t\t")
    assert load(sheet)[0].fastq_1 == [sheet_dir / "fq" / "plain.fastq.gz"]


def test_truncated_gzip(sheet_dir: Path) -> None:
    whole = gzip.compress(b"@r1\nACGT\n+\nIIII\n" * 50)
    fastq = sheet_dir / "fq" / "cut.fastq.gz"
    fastq.write_bytes(whole[:15])
    sheet = write_sheet(sheet_dir / "samples.tsv", "S1\tfq/cut.fastq.gz\t\tdemo_car\t\t")
    err = raised(load, sheet)
    assert err.path == str(fastq) and "truncated or damaged" in err.problem and "gzip -t" in err.fix


def test_empty_fastq(sheet_dir: Path) -> None:
    (sheet_dir / "fq" / "empty.fastq.gz").write_bytes(gzip.compress(b""))
    sheet = write_sheet(sheet_dir / "samples.tsv", "S1\tfq/empty.fastq.gz\t\tdemo_car\t\t")
    assert "empty" in raised(load, sheet).problem


# --------------------------------------------------------------------------- run + CLI


def write_config(tmp_path: Path, project: dict[str, Any], sheet_dir: Path) -> Path:
    write_sheet(sheet_dir / "samples.tsv", "T1\tfq/L1_R1.fastq.gz\tfq/L1_R2.fastq.gz\tdemo_car\t0.5\t")
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(project, sort_keys=False))
    return path


def test_validate_run_reads_yaml_and_reports_lines(
    project: dict[str, Any], sheet_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(tmp_path, project, sheet_dir)
    monkeypatch.chdir(tmp_path)
    config, samples = validate_run(path, SCHEMAS)
    assert [s.sample for s in samples] == ["T1"] and samples[0].purity == 0.5
    assert config["samples"] == str(sheet_dir / "samples.tsv")

    text = path.read_text()
    kind_line = text.splitlines().index("    kind: lentiviral") + 1
    path.write_text(text.replace("kind: lentiviral", "kind: lenti"))
    err = raised(validate_run, path, SCHEMAS)
    assert err.path == str(path) and err.line == kind_line and "vectors.demo_car.kind" in err.problem

    # the same error from a value given with snakemake --config names --config, not the file's line
    raw, lines = read_yaml(path)
    err = raised(
        load_config, raw, tmp_path, CONFIG_SCHEMA, path, lines, {"vectors": {"demo_car": {"kind": "x"}}}
    )
    assert err.path == "--config" and err.line is None and "vectors.demo_car.kind" in err.problem
    err = raised(load_config, raw, tmp_path, CONFIG_SCHEMA, path, lines, {"screen": {"enabled": False}})
    assert err.path == str(path) and err.line == kind_line

    path.write_text("reference:\n  genome: [a, b\n")
    err = raised(validate_run, path, SCHEMAS)
    assert err.path == str(path) and err.line is not None and "not valid YAML" in err.problem


def test_cli_validate_exit_codes(
    project: dict[str, Any],
    sheet_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write_config(tmp_path, project, sheet_dir)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["validate", "--configfile", str(path), "--schemas", str(SCHEMAS)]) == 0
    out = capsys.readouterr().out
    assert "T1" in out and "demo_car (lentiviral)" in out
    assert "genome: 3 contigs, 1,200,000 bp; 100.0% of it on annotated contigs; 25 genes" in out
    assert "gene lists: 15 of 205 symbols known to the annotation" in out and "warnings (1):" in out

    (sheet_dir / "fq" / "L1_R2.fastq.gz").unlink()
    assert cli.main(["validate", "--configfile", str(path)]) == 2
    err = capsys.readouterr().err
    assert "L1_R2.fastq.gz" in err and "line 2" in err and "fix:" in err


def test_required_tools_follow_the_config_and_assays() -> None:
    from carvis.inputs.tools import check_tools, required_tools

    config = {"aligner": "minimap2", "sites": {"place_clips": True}}
    assert set(required_tools(config, ["wgs"])) == {"minimap2", "samtools", "bwa"}
    # host clips are placed for short-read samples only; LM-PCR and long reads make no host clips
    assert "bwa" not in required_tools(config, ["ont", "lmpcr"])
    assert "bwa" not in required_tools({**config, "sites": {"place_clips": False}}, ["wgs"])
    assert "aligner is bwa" in required_tools({**config, "aligner": "bwa"}, ["lmpcr"])["bwa"]
    check_tools(config, ["wgs"], "c.yaml", which=lambda name: f"/usr/bin/{name}")  # all there: no error
    with pytest.raises(InputError) as caught:
        check_tools(config, ["wgs"], "c.yaml", which=lambda name: None if name != "samtools" else "/x")
    message = str(caught.value)
    assert "PATH: missing: minimap2 (aligns" in message and "; bwa (places short host clips" in message
    assert "samtools" not in message.split("fix:")[0]
    assert "set sites.place_clips: false in c.yaml" in message
