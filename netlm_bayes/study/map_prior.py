"""`netlm-bayes map`'s files: the prior (JSON, with its RBesT files), the table and the
forest plot, written together or not at all."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from netlm_bayes import labels
from netlm_bayes.errors import InputError, option
from netlm_bayes.planning.map_prior import MapResult
from netlm_bayes.planning.rate_prior import write_beta
from netlm_bayes.priors import exported as exportedprior
from netlm_bayes.report.map_plots import map_forest


def check_out(out: Path, overwrite: bool) -> Path:
    """Refuse a bad --out before any sampling."""
    out = Path(out)
    if out.suffix != ".json":
        raise InputError(
            f"{option('out', str(out))}: the MAP prior is JSON; name it <something>.json"
        )
    siblings = (out, out.with_suffix(".csv"), out.with_suffix(".png"),
                out.with_name(f"{out.stem}.beta.json"))  # fmt: skip
    existing = [p for p in siblings if p.exists()]
    if existing and not overwrite:
        raise InputError(
            f"{option('out', str(out))}: {existing[0]} exists; give {option('overwrite', True)} "
            "to replace it"
        )
    return out


def write_map(result: MapResult, out: Path, overwrite: bool = False) -> list[Path]:
    """<stem>.json and <stem>.rbest/ (when the quantity is a model parameter), <stem>.csv
    and <stem>.png, and for a rate <stem>.beta.json (a Beta mixture), beside `out`."""
    out = check_out(out, overwrite)
    table, plot = out.with_suffix(".csv"), out.with_suffix(".png")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.stem}.", dir=out.parent))
    try:
        origin = labels.map_origin(bool(result.illustrative))
        result.table.assign(data_origin=origin).to_csv(staging / table.name, index=False)
        map_forest(result, staging / plot.name)
        staged = [staging / table.name, staging / plot.name]
        if result.beta is not None:
            staged.append(write_beta(result, staging / f"{out.stem}.beta.json"))
        if result.exported is not None:
            staged = [*exportedprior.write(result.exported, staging / out.name), *staged]
        written = []
        for path in staged:
            final = out.parent / path.name
            if final.is_dir():
                shutil.rmtree(final)
            path.replace(final)
            written.append(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written
