"""Resume after a killed run with no extra flags.

Snakemake leaves its lock files behind when it is killed (SIGKILL, power loss), and the next run stops
with a LockException until ``--unlock``. carvis holds a kernel lock (``flock``) on
``.snakemake/carvis.lock`` for the life of the main snakemake process; the kernel drops it when the
process dies, however it dies. So a run that gets the kernel lock knows no other carvis run is alive in the
folder: snakemake lock files it finds are stale, and it removes them, unless jobs of the killed run are
still running there (killing snakemake alone leaves its jobs running), which it names instead.
Incomplete outputs are redone through ``rerun-incomplete`` in ``profiles/default``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

#: File that the main snakemake process of a carvis run holds an exclusive flock on.
LOCK_NAME = "carvis.lock"


class OrphanJobs(RuntimeError):
    """Jobs of a killed run are still running in the working folder."""


@dataclass(frozen=True)
class Claim:
    """What claiming a working folder found: whether this process holds it, and stale locks removed."""

    held: bool
    removed: tuple[Path, ...] = ()


def _ancestors() -> set[int]:
    """This process and its ancestors (their cwd is the folder too)."""
    pids, pid = set(), os.getpid()
    while pid > 1 and pid not in pids:
        pids.add(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return pids


def processes_in(folder: Path) -> list[int]:
    """PIDs (other than this process and its ancestors) whose working directory is ``folder`` (Linux)."""
    target = folder.resolve()
    mine = _ancestors()
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        pid = int(entry.name)
        if pid in mine:
            continue
        with contextlib.suppress(OSError):
            if Path(os.readlink(entry / "cwd")) == target:
                found.append(pid)
    return sorted(found)


def claim(folder: str | Path) -> Claim:
    """Take the carvis lock of ``folder`` for this process's lifetime and clear a killed run's locks.

    Returns ``Claim(held=False)`` when another live carvis run holds it (snakemake's own lock then
    decides: a second real run stops, a dry run goes on). Raises :class:`OrphanJobs` when stale
    snakemake locks are found while jobs of the killed run still run in ``folder``.
    """
    folder = Path(folder)
    state = folder / ".snakemake"
    state.mkdir(parents=True, exist_ok=True)
    fd = os.open(state / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return Claim(held=False)
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    _HELD.append(fd)  # kept open (and locked) until the process ends
    stale = sorted((state / "locks").glob("*.lock"))
    if not stale:
        return Claim(held=True)
    orphans = processes_in(folder) if Path("/proc/self").exists() else []
    if orphans:
        raise OrphanJobs(
            f"carvis: an earlier run in {folder.resolve()} was killed, and its jobs are still running "
            f"(process {', '.join(map(str, orphans))}).\n"
            f"  fix: wait for them to finish, or stop them (kill {' '.join(map(str, orphans))}), "
            "then run the same command again; it resumes where the killed run stopped"
        )
    for path in stale:
        path.unlink(missing_ok=True)
    return Claim(held=True, removed=tuple(stale))


_HELD: list[int] = []
