"""Check a run's config and sample sheet before anything runs.

Every problem is reported as an InputError that names the file, the line and the fix.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from carvis.core.errors import InputError
from carvis.inputs.alignment import genome_lengths
from carvis.inputs.assays import LONG_READ_ASSAYS, check_lmpcr_sheet, lmpcr_fields
from carvis.inputs.files import BWA_INDEX_SUFFIXES, absolute, check_bam, check_fastqs
from carvis.inputs.schema import (
    KeyPath,
    coerce_text,
    did_you_mean,
    dotted,
    explain,
    fill_defaults,
    first_error,
    key_index,
    load_schema,
)

#: Where the config and sample-sheet schemas live in a carvis checkout.
DEFAULT_SCHEMAS = Path(__file__).resolve().parents[3] / "workflow" / "schemas"


@dataclass
class Sample:
    """One line of the sample sheet, with paths made absolute: FASTQs, or an aligned BAM/CRAM."""

    sample: str
    fastq_1: list[Path]
    fastq_2: list[Path]
    vector: str
    purity: float | None = None
    assay: str = "wgs"
    bam: Path | None = None
    specimen: str | None = None  # lmpcr: runs of one specimen (5' and 3' LTR) share it
    ltr_end: str = "3p"  # lmpcr: the LTR end the run reads out of

    @property
    def paired(self) -> bool:
        return bool(self.fastq_2) or self.bam is not None


# --------------------------------------------------------------------------- config


@dataclass
class _ConfigSource:
    """Names the config in errors and finds the line of a key when the YAML text is known."""

    name: str
    lines: Mapping[KeyPath, int] = field(default_factory=dict)
    overrides: Mapping[str, Any] = field(default_factory=dict)

    def error(self, key: KeyPath, problem: str, fix: str) -> InputError:
        if _overridden(key, self.overrides):
            return InputError("--config", problem, fix)
        line = next((self.lines[key[:n]] for n in range(len(key), 0, -1) if key[:n] in self.lines), None)
        return InputError(self.name, problem, fix, line)


def _overridden(key: KeyPath, overrides: Any) -> bool:
    """True when ``key`` (or a key above it) was set on the command line (``overrides``: --config's dict)."""
    for part in key:
        if not isinstance(overrides, Mapping):
            return True
        if part not in overrides:
            return False
        overrides = overrides[part]
    return bool(key)


def _config_paths(config: Mapping[str, Any]) -> list[KeyPath]:
    """Key paths of every file the config names."""
    keys: list[KeyPath] = [("samples",), ("reference", "genome"), ("reference", "annotation")]
    keys += [("reference", "bwa_index")] if "bwa_index" in config["reference"] else []
    keys += [("vectors", name, "sequence") for name in config["vectors"]]
    keys += [("gene_lists", i) for i in range(len(config["gene_lists"]))]
    keys += [("capture", k) for k in ("control_bed", "flank_bed") if k in config.get("capture", {})]
    return keys


def _resolve_config_paths(config: dict[str, Any], base_dir: Path, source: _ConfigSource) -> None:
    """Make every configured path absolute (in place) and check that the files exist (for a bwa index
    prefix, its five files)."""
    for key in _config_paths(config):
        holder: Any = config
        for part in key[:-1]:
            holder = holder[part]
        written = holder[key[-1]]
        path = absolute(written, base_dir)
        holder[key[-1]] = str(path)
        if key == ("reference", "bwa_index"):
            _check_bwa_files(path, key, source)
            continue
        if path.is_file():
            continue
        state = "is a folder, not a file" if path.is_dir() else "file not found"
        relative = "" if Path(written).is_absolute() else f" (written as {written!r}; read from {base_dir})"
        raise source.error(
            key,
            f"{dotted(key)}: {state}: {path}{relative}",
            f"correct the path in {dotted(key)}; relative paths are read from the folder the workflow "
            f"is started in ({base_dir}), or give an absolute path",
        )


def _check_bwa_files(prefix: Path, key: KeyPath, source: _ConfigSource) -> None:
    """The five files of the bwa index at ``prefix`` exist (their content is checked by rule preflight)."""
    missing = [
        f"{prefix}{suffix}" for suffix in BWA_INDEX_SUFFIXES if not Path(f"{prefix}{suffix}").is_file()
    ]
    if missing:
        raise source.error(
            key,
            f"{dotted(key)}: no bwa index at {prefix}: {', '.join(missing)} not found",
            f"give {dotted(key)} the prefix bwa index wrote (the FASTA path it was given, whose .bwt, .sa, "
            "... lie beside it), or leave it out and carvis builds the index once per genome",
        )


def _check_vectors(config: Mapping[str, Any], source: _ConfigSource) -> None:
    """Provirus ranges must run from a lower to a higher plasmid coordinate."""
    for name, vector in config["vectors"].items():
        if "provirus" not in vector:
            continue
        start, end = vector["provirus"]
        if start >= end:
            key = ("vectors", name, "provirus")
            raise source.error(
                key,
                f"{dotted(key)}: start {start} is not below end {end}",
                "write provirus as [start, end] with start < end: 1-based plasmid coordinates from the "
                "first base of the 5' LTR (or ITR) to the last base of the 3' LTR (or ITR)",
            )


def load_config(
    raw: Mapping[str, Any],
    base_dir: Path,
    schema_path: Path,
    config_name: str | Path = "config",
    lines: Mapping[KeyPath, int] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Validate a config, fill its defaults and make its paths absolute (against base_dir).

    ``lines`` maps key paths to line numbers of the config file (see :func:`yaml_key_lines`)
    so that errors can name the line; errors in keys that ``overrides`` (snakemake --config) set
    name --config instead.
    """
    source = _ConfigSource(str(config_name), lines or {}, overrides or {})
    if not isinstance(raw, Mapping):
        raise source.error(
            (),
            "the config is empty or not a set of 'key: value' lines",
            "write one 'key: value' setting per line",
        )
    schema = load_schema(schema_path)
    typed = coerce_text(dict(raw), schema)
    error = first_error(Draft202012Validator(schema), typed)
    if error is not None:
        key, problem, fix = explain(error, dotted, key_index(schema))
        raise source.error(key, problem, fix)
    config: dict[str, Any] = fill_defaults(copy.deepcopy(typed), schema)
    _check_vectors(config, source)
    _resolve_config_paths(config, absolute(base_dir, Path.cwd()), source)
    return config


def yaml_key_lines(node: yaml.Node, path: KeyPath = (), source: str | Path = "config") -> dict[KeyPath, int]:
    """Key path -> 1-based line, from a composed YAML node; repeated keys are an error."""
    out: dict[KeyPath, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (*path, key_node.value)
            line = key_node.start_mark.line + 1
            if key in out:
                raise InputError(
                    source,
                    f"{dotted(key)} is given twice (lines {out[key]} and {line})",
                    "keep one of them; YAML would silently use only the last",
                    line,
                )
            out[key] = line
            out.update(yaml_key_lines(value_node, key, source))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[(*path, i)] = item.start_mark.line + 1
            out.update(yaml_key_lines(item, (*path, i), source))
    return out


def read_yaml(path: Path) -> tuple[Any, dict[KeyPath, int]]:
    """Parse a YAML config, with line numbers of its keys."""
    if not path.is_file():
        raise InputError(
            path, "config file not found", "give the path of an existing YAML file with --configfile"
        )
    text = path.read_text()
    try:
        node = yaml.compose(text)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(
            path,
            f"not valid YAML: {problem}",
            "check the indentation (spaces, not tabs), the ':' after each key and matching quotes/brackets",
            None if mark is None else mark.line + 1,
        ) from exc
    return raw, yaml_key_lines(node, (), path) if node is not None else {}


# --------------------------------------------------------------------------- sample sheet


def _read_sheet(path: Path, schema: Mapping[str, Any]) -> list[tuple[int, dict[str, str]]]:
    """(line number, column -> cell) for each sample line; checks the header."""
    if not path.is_file():
        raise InputError(path, "sample sheet not found", "check the samples: path in the config")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            path, "not a text file", "save the sample sheet as tab-separated text (TSV)"
        ) from exc
    allowed = list(schema["properties"])
    required = list(schema["required"])
    layout = f"columns (tab-separated): {', '.join(allowed)}; required: {', '.join(required)}"
    header: list[str] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if header is None and line.startswith("#") and set(required) <= set(line.lstrip("#").split()):
            raise InputError(
                path, "the header line starts with '#', so it is read as a comment", "remove the '#'", number
            )
        if not line.strip() or line.startswith("#"):
            continue
        cells = [cell.strip() for cell in line.split("\t")]
        if header is None:
            header = cells
            _check_header(path, number, header, allowed, required, layout)
        elif len(cells) != len(header):
            raise InputError(
                path,
                f"this line has {len(cells)} tab-separated fields but the header has {len(header)}",
                "separate the columns with single tabs (not spaces) and give every column, even if empty",
                number,
            )
        else:
            rows.append((number, dict(zip(header, cells, strict=True))))
    if header is None:
        raise InputError(
            path, "the sample sheet is empty", f"write a header line and one line per sample; {layout}"
        )
    if not rows:
        raise InputError(
            path, "the sample sheet has a header but no samples", f"add one line per sample; {layout}"
        )
    return rows


def _check_header(
    path: Path, number: int, header: list[str], allowed: list[str], required: list[str], layout: str
) -> None:
    unknown = [c for c in header if c not in allowed]
    if unknown:
        hint = did_you_mean(unknown[0], allowed)
        raise InputError(
            path,
            f"unknown column(s) in the header: {', '.join(map(repr, unknown))}",
            f"{hint}use only these {layout}. The header is the first line that is not blank and does not "
            "start with '#'",
            number,
        )
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise InputError(
            path, f"column(s) given twice: {', '.join(repeated)}", "keep each column once", number
        )
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(
            path, f"missing column(s): {', '.join(missing)}", f"add them to the header; {layout}", number
        )


def _parse_purity(path: Path, number: int, text: str) -> float:
    fix = "write purity as a fraction, e.g. 0.6 for 60%, or leave the cell empty if it is unknown"
    try:
        value = float(text)
    except ValueError:
        raise InputError(path, f"purity {text!r} is not a number", fix, number) from None
    if not (math.isfinite(value) and 0 < value <= 1):
        raise InputError(path, f"purity {text!r} must be a fraction above 0 and at most 1", fix, number)
    return value


@dataclass(frozen=True)
class Sheet:
    """What every line of a sample sheet is checked against: the sheet's path (named in errors), its schema,
    the configured vectors, FASTQs a rule makes (need not exist yet) and the genome's contig lengths (read
    once, when a line gives a bam)."""

    path: Path
    validator: Draft202012Validator
    vectors: list[str]
    made: set[Path]
    genome: Callable[[], Mapping[str, int]]


def _parse_row(sheet: Sheet, number: int, row: dict[str, str]) -> Sample:
    """Check one sample line and turn it into a Sample."""
    optional = {"fastq_1", "fastq_2", "bam", "specimen", "ltr_end"}  # empty cells: not given
    cells: dict[str, Any] = {k: v for k, v in row.items() if v or k not in optional}
    if cells.get("purity", ""):
        cells["purity"] = _parse_purity(sheet.path, number, cells["purity"])
    else:
        cells.pop("purity", None)
    if cells.get("assay", ""):
        cells["assay"] = cells["assay"].lower()
    else:
        cells.pop("assay", None)
    error = first_error(sheet.validator, cells)
    if error is not None:
        _, problem, fix = explain(error, lambda p: f"column {dotted(p)}", {})
        raise InputError(sheet.path, problem, fix, number)
    _check_long_reads(sheet.path, number, cells)
    if cells["vector"] not in sheet.vectors:
        hint = did_you_mean(cells["vector"], sheet.vectors)
        raise InputError(
            sheet.path,
            f"vector {cells['vector']!r} is not configured",
            f"{hint}use one of the vectors in the config ({', '.join(sheet.vectors) or 'none configured'}), "
            "or add this vector under vectors: in the config",
            number,
        )
    if "bam" in cells:
        if "fastq_1" in cells or "fastq_2" in cells:
            raise InputError(
                sheet.path,
                "both FASTQ and bam are given",
                "give either fastq_1 (and fastq_2) or bam for a sample, and leave the other cells empty",
                number,
            )
        bam = check_bam(sheet.path, number, cells["bam"], sheet.genome)
        sample = Sample(
            cells["sample"], [], [], cells["vector"], cells.get("purity"), cells.get("assay", "wgs"), bam
        )
        return lmpcr_fields(sample, cells)
    if "fastq_1" not in cells:
        raise InputError(
            sheet.path,
            "no reads: fastq_1 and bam are both empty or missing",
            "give the read 1 FASTQ in fastq_1 (read 2 in fastq_2), or an aligned BAM/CRAM in bam",
            number,
        )
    r1, r2 = check_fastqs(sheet.path, number, {"fastq_2": "", **row}, sheet.made)
    sample = Sample(cells["sample"], r1, r2, cells["vector"], cells.get("purity"), cells.get("assay", "wgs"))
    return lmpcr_fields(sample, cells)


def _check_long_reads(path: Path, number: int, cells: Mapping[str, Any]) -> None:
    """Long-read samples (assay ont or hifi): single reads, from FASTQ (fastq_1 only) or an aligned BAM/CRAM
    (the workflow takes its reads out again and screens and aligns them as FASTQ)."""
    if cells.get("assay") not in LONG_READ_ASSAYS:
        return
    if cells.get("fastq_2"):
        raise InputError(
            path,
            f"assay {cells['assay']!r} reads are single long reads, but fastq_2 is given",
            "put every long-read FASTQ in fastq_1 (comma-separated) and leave fastq_2 empty",
            number,
        )


def _check_reused(path: Path, number: int, sample: Sample, used: dict[Path, int]) -> None:
    """A FASTQ or BAM may appear once in the whole sheet; records it in ``used``."""
    for fastq in sample.fastq_1 + sample.fastq_2 + ([sample.bam] if sample.bam else []):
        if fastq in used:
            lines = "this line" if used[fastq] == number else f"lines {used[fastq]} and {number}"
            raise InputError(
                path,
                f"the FASTQ file {fastq} is listed twice ({lines})",
                "list each FASTQ file once; each lane's read 1 goes in fastq_1 and its read 2 in fastq_2",
                number,
            )
        used[fastq] = number


def load_samples(
    path: Path,
    vectors: Iterable[str],
    schema_path: Path,
    producible: Iterable[Path] = (),
    genome: Path | None = None,
) -> list[Sample]:
    """Read and check the sample sheet; ``producible`` FASTQs (made by a rule) need not exist yet.

    BAM/CRAM samples are checked against the ``genome`` FASTA's contig lengths (read once, when needed).
    """
    lengths: dict[str, int] = {}

    def genome_contigs() -> Mapping[str, int]:
        if genome is None:
            raise InputError(path, "a sample gives a bam but no genome is configured", "set reference.genome")
        if not lengths:
            lengths.update(genome_lengths(genome))
        return lengths

    path = absolute(path, Path.cwd())
    schema = load_schema(schema_path)
    made = {absolute(p, Path.cwd()) for p in producible}
    sheet = Sheet(path, Draft202012Validator(schema), list(vectors), made, genome_contigs)
    seen: dict[str, int] = {}
    used: dict[Path, int] = {}
    samples = []
    for number, row in _read_sheet(path, schema):
        sample = _parse_row(sheet, number, row)
        if sample.sample in seen:
            raise InputError(
                path,
                f"sample {sample.sample!r} appears twice (lines {seen[sample.sample]} and {number})",
                "give each sample one line (put several lanes in one line, separated by commas) "
                "or rename one of them",
                number,
            )
        seen[sample.sample] = number
        _check_reused(path, number, sample, used)
        samples.append(sample)
    check_lmpcr_sheet(path, samples, seen)
    return samples


# --------------------------------------------------------------------------- run + CLI


def validate_run(configfile: Path, schema_dir: Path = DEFAULT_SCHEMAS) -> tuple[dict[str, Any], list[Sample]]:
    """Check a config file and its sample sheet; paths are read from the current folder.

    The vector files are checked by :func:`carvis.reference.preflight.check_vectors` (a later stage).
    """
    configfile = Path(configfile)
    raw, lines = read_yaml(configfile)
    config = load_config(raw, Path.cwd(), schema_dir / "config.schema.yaml", configfile, lines)
    samples = load_samples(
        Path(config["samples"]),
        config["vectors"],
        schema_dir / "samples.schema.yaml",
        genome=Path(config["reference"]["genome"]),
    )
    return config, samples
