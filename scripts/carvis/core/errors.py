"""One error type for bad input: it names the file, the line and the fix."""

from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    """A user-facing input problem that a lab technician can act on."""

    def __init__(self, path: str | Path | None, problem: str, fix: str, line: int | None = None) -> None:
        self.path = None if path is None else str(path)
        self.line = line
        self.problem = problem
        self.fix = fix
        where = self.path or "input"
        if line is not None:
            where = f"{where}, line {line}"
        super().__init__(f"{where}: {problem}\n  fix: {fix}")
