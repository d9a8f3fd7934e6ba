"""Run folders and their provenance.

A run is written into a hidden temporary folder beside its destination and renamed into
place only when everything is written, so a failed or interrupted run leaves nothing
half-written in `results/`.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import importlib.metadata
import json
import os
import platform
import shlex
import shutil
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from netlm_bayes import paths
from netlm_bayes.errors import InputError, option

TRACKED_PACKAGES = (
    "netlm-bayes", "pymc", "pytensor", "nutpie", "arviz", "arviz-base", "arviz-stats",
    "arviz-plots", "numpy", "scipy", "pandas", "xarray", "h5netcdf", "lifelines",
    "statsmodels", "pydantic",
)  # fmt: skip


MANIFEST = "manifest.json"  # in every folder a command writes: what made it


def timestamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


def default_run_dir(model_name: str) -> Path:
    return paths.RESULTS_DIR / f"{model_name}-{timestamp()}"


@contextlib.contextmanager
def run_folder(destination: Path, overwrite: bool | None = None) -> Iterator[Path]:
    """Yield a temporary folder; on success it becomes `destination`, on failure it goes.

    A destination that exists and is not empty is refused, or, with `overwrite` True and
    if it is a folder this tool wrote (it has a manifest), replaced whole once the new one
    is complete. `overwrite` None: the command has no such option (the message names none).
    """
    destination = Path(destination)
    replace = check_destination(destination, overwrite)
    parent = destination.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.partial-", dir=parent))
    except OSError as exc:
        blocking = next(
            (p for p in [parent, *parent.parents] if p.exists() and not p.is_dir()), None
        )
        reason = f"{blocking} is a file, not a folder" if blocking else exc.strerror
        raise InputError(f"{parent}: cannot write the run folder here ({reason})") from exc
    try:
        yield staging
        if replace:
            old = Path(tempfile.mkdtemp(prefix=f".{destination.name}.old-", dir=parent))
            destination.rename(old / destination.name)
            staging.rename(destination)
            shutil.rmtree(old, ignore_errors=True)
            return
        if destination.exists():
            destination.rmdir()
        staging.rename(destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def check_destination(destination: Path, overwrite: bool | None) -> bool:
    """Whether an existing run folder is to be replaced; refuse anything else in the way."""
    if not destination.exists() or (destination.is_dir() and not any(destination.iterdir())):
        return False
    if not destination.is_dir():
        raise InputError(f"{destination}: a file is in the way of the output folder")
    if overwrite is None:
        raise InputError(
            f"{destination}: output folder exists and is not empty; choose another {option('out')}"
        )
    if not overwrite:
        raise InputError(
            f"{destination}: output folder exists and is not empty; choose another "
            f"{option('out')}, or give {option('overwrite', True)} to replace it"
        )
    if not (destination / MANIFEST).is_file():
        raise InputError(
            f"{destination}: not a folder netlm-bayes wrote (no {MANIFEST}), so "
            f"{option('overwrite', True)} will not delete it; choose another {option('out')}"
        )
    return True


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[name] = importlib.metadata.version(name)
    return versions


# Set by the CLI for the command being run, so a manifest records the command as the user
# gave it even when the CLI is invoked in-process (tests, notebooks) and sys.argv is not it.
_COMMAND: contextvars.ContextVar[str | None] = contextvars.ContextVar("command", default=None)


def set_command(command: str) -> None:
    _COMMAND.set(command)


def command_line() -> str:
    return _COMMAND.get() or shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]])


def write_manifest(folder: Path, inputs: list[Path], **fields) -> dict:
    """manifest.json: inputs with their sha256, versions, command, and anything else given."""
    return write_provenance(folder / MANIFEST, inputs, **fields)


def write_provenance(path: Path, inputs: list[Path], **fields) -> dict:
    """A manifest at `path`: inputs with their sha256, versions, command, and the fields."""
    manifest = {
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command_line(),
        "inputs": {str(_display_path(p)): sha256(p) for p in inputs},
        "versions": package_versions(),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        **fields,
    }
    Path(path).write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    return manifest


def read_manifest(folder: Path) -> dict | None:
    """A run folder's manifest.json, or None when there is none or it is not JSON."""
    try:
        return json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None


def _display_path(path: Path) -> Path:
    with contextlib.suppress(ValueError):
        return Path(path).resolve().relative_to(Path.cwd())
    return Path(path)
