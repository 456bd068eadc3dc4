"""Command-line entry point: ``carvis <command> ...``.

Each command lives in its own module, which provides ``add_arguments(parser)`` and
``run(args) -> int``. ``main(argv)`` returns an exit code instead of exiting, so tests call it.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from carvis import __version__
from carvis.core.errors import InputError

#: command name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "simulate": (
        "carvis.sim.simulate",
        "simulate a tumour's reads with chosen integrations, plus a truth table",
    ),
    "simulate-lmpcr": (
        "carvis.sim.lmpcr",
        "simulate an LM-PCR run (clones of power-law sizes), plus its truth",
    ),
    "simulate-capture": ("carvis.sim.capture", "capture a simulated library with vector and control baits"),
    "simulate-long-reads": (
        "carvis.sim.long_reads",
        "simulate a tumour's long reads (ONT- or HiFi-like) with provirus structures, plus truth tables",
    ),
    "make-demo": ("carvis.sim.demo", "rebuild the bundled demo genome, annotation, vector and truth"),
    "validate": ("carvis.validate", "check config, sheet, reference files and reads; run nothing"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="carvis", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"carvis {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        sub_parser = sub.add_parser(name, help=help_text, description=module.__doc__)
        module.add_arguments(sub_parser)
        sub_parser.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._module.run(args))
    except InputError as exc:
        print(f"carvis: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
