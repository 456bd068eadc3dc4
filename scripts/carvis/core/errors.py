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


def damaged_gzip(
    path: str | Path,
    exc: BaseException,
    where: str = "",
    copy: str = "the file again from the original source",
) -> InputError:
    """The InputError for a gzip file that is cut short or corrupt (``exc`` is what reading it raised).

    ``where`` is appended to the problem (e.g. which sample row names the file) and ``copy`` says
    what to copy again from where (e.g. ``"the genome again from its source"``).
    """
    return InputError(
        path,
        f"the gzip file is truncated or damaged ({exc}){where}",
        f"copy {copy}; 'gzip -t FILE' confirms a good copy",
    )
