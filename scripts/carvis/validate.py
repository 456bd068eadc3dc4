"""``carvis validate``: every check the workflow makes before alignment, without running it.

The config, the sample sheet, the vector files and the tools on PATH (as at every workflow start), the
genome (and a given bwa index of it), the annotation and the gene lists (as rule ``preflight``), and every
record of every FASTQ (as the screening pass or rule ``check_reads``: gzip integrity, whole records, mates
in step). ``--no-reads`` skips the reads, which take one decompression pass.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from carvis.inputs.checks import DEFAULT_SCHEMAS, validate_run
from carvis.inputs.tools import check_tools
from carvis.reads.capture import capture_regions
from carvis.reads.screen import check_reads, compile_kmer_screen
from carvis.reference.preflight import check_reference, check_vectors


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--configfile", type=Path, required=True, help="the run's YAML config")
    parser.add_argument(
        "--schemas",
        type=Path,
        default=DEFAULT_SCHEMAS,
        help="folder with config/samples schemas (default: %(default)s)",
    )
    parser.add_argument(
        "--no-reads",
        action="store_true",
        help="do not read every FASTQ record (the run still does, before aligning)",
    )


def run(args: argparse.Namespace) -> int:
    config, samples = validate_run(args.configfile, args.schemas)
    check_vectors(config["vectors"])
    tools = check_tools(config, [s.assay for s in samples], str(args.configfile))
    report, _ = check_reference(config["reference"], config["gene_lists"])
    controls, flanks = capture_regions(config, any(s.assay == "capture" for s in samples))
    print(f"config OK: {args.configfile}")
    vectors = ", ".join(f"{name} ({v['kind']})" for name, v in config["vectors"].items())
    print(f"vectors ({len(config['vectors'])}): {vectors}")
    print(f"tools on PATH: {', '.join(tools)}")
    print(
        f"genome: {report.genome_contigs} contigs, {report.genome_length:,} bp; "
        f"{report.annotated_share:.1%} of it on annotated contigs; {report.genes} genes"
    )
    print(
        f"gene lists: {report.gene_list_known} of {report.gene_list_symbols} symbols known to the annotation"
    )
    if controls:
        print(f"capture: {len(controls)} control region(s), {len(flanks)} baited flank region(s)")
    print(f"samples ({len(samples)}) from {config['samples']}:")
    with tempfile.TemporaryDirectory(prefix="carvis-validate-") as tmp:
        binary = None
        for s in samples:
            reads = (
                f"BAM/CRAM {s.bam}"
                if s.bam
                else f"{'paired' if s.paired else 'single-end'}, {len(s.fastq_1)} lane(s)"
            )
            if s.bam is None and not args.no_reads:
                binary = binary or compile_kmer_screen(Path(tmp) / "kmer_screen")
                counts = check_reads(binary, s.fastq_1, s.fastq_2)
                reads += f", {counts.reads:,} reads, every record read"
            purity = "unknown" if s.purity is None else f"{s.purity:g}"
            print(f"  {s.sample}\t{reads}\tvector {s.vector}\tpurity {purity}\t{s.assay}")
    print(f"warnings ({len(report.warnings)}):" if report.warnings else "warnings: none")
    for warning in report.warnings:
        print(f"  {warning}")
    return 0
