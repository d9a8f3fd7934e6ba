"""`netlm-bayes reconstruct`: patients rebuilt from a digitised KM figure, written as a
cohort CSV that every survival command reads, with its manifest, accuracy and plot beside it.

Written all at once: into a hidden folder beside the destination, then moved into place, so
a failed run leaves no half-written cohort behind.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from netlm_bayes import labels, paths, runs
from netlm_bayes.errors import InputError, option
from netlm_bayes.evidence import km_figure, km_reconstruction
from netlm_bayes.evidence import paper as published
from netlm_bayes.frequentist import km_accuracy
from netlm_bayes.report import reconstruction as reconstruction_report

NO_UNIT = "unit not given"


@dataclass
class Reconstruction:
    ipd: pd.DataFrame
    figure: dict[str, km_figure.DigitisedCurve]
    groups: dict[str, km_reconstruction.GroupReconstruction]
    accuracy: km_accuracy.Accuracy
    paper_effect: published.ReportedEffect | None
    written: list[Path] = field(default_factory=list)


def sidecars(out: Path) -> dict[str, Path]:
    """The files written beside the cohort CSV, by role."""
    out = Path(out)
    return {
        "manifest": out.with_suffix(".json"),
        "accuracy": out.with_name(f"{out.stem}.accuracy.csv"),
        "hazard_ratios": out.with_name(f"{out.stem}.hazard_ratios.csv"),
        "plot": out.with_suffix(".png"),
    }


def run(
    curve: Path,
    at_risk: Path,
    out: Path,
    events: list[int] | None = None,
    group_col: str | None = None,
    percent: bool = False,
    time_unit: str | None = None,
    overwrite: bool = False,
    paper_file: Path | None = None,
) -> Reconstruction:
    out = Path(out)
    if out.suffix.lower() != ".csv":
        raise InputError(
            f"{option('out', str(out))}: give a .csv file name for the reconstructed cohort"
        )
    targets = [out, *sidecars(out).values()]
    existing = [str(p) for p in targets if p.exists()]
    if existing and not overwrite:
        raise InputError(
            f"{', '.join(existing)}: already exist; choose another {option('out')} or give "
            f"{option('overwrite', True)}"
        )
    figure = km_figure.read_figure(curve, at_risk, group_col, percent)
    _check_events(events, figure)
    column = group_col or "group"
    ipd, groups = km_reconstruction.reconstruct(figure, events, column)
    accuracy = km_accuracy.accuracy(figure, groups)
    effect = paper_effect_for(column, figure, paper_file or paths.PAPER_FILE)
    result = Reconstruction(ipd, figure, groups, accuracy, effect)
    unit = time_unit or NO_UNIT
    with tempfile.TemporaryDirectory(prefix=f".{out.stem}.partial-", dir=_folder(out)) as tmp:
        staged = Path(tmp) / out.name
        _write(result, staged, [Path(curve), Path(at_risk)], unit, events)
        for target in targets:
            source = staged.with_name(target.name)
            if source.exists():
                shutil.move(source, target)
                result.written.append(target)
    return result


def _folder(out: Path) -> Path:
    folder = out.parent if str(out.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{folder}: cannot write here ({exc.strerror})") from exc
    return folder


def _check_events(events: list[int] | None, figure: dict) -> None:
    if events is None:
        return
    if len(events) != len(figure):
        raise InputError(
            f"{option('events')} gives {len(events)} number(s) for {len(figure)} group(s) "
            f"({', '.join(figure)}); give one per group, in that order"
        )
    for total, (name, curve) in zip(events, figure.items(), strict=True):
        if total < 0 or total > curve.n:
            raise InputError(
                f"{option('events')} {total} for group {name!r}: must lie between 0 and the "
                f"{curve.n} patients at risk at time 0"
            )


def paper_effect_for(column: str, figure: dict, paper_file: Path):
    """The paper's HR for this very grouping: a covariate of the paper's coded 0/1, as the
    figure's groups are; otherwise none (the paper's numbers never stand beside another)."""
    if sorted(figure) != ["0", "1"]:
        return None
    paper = published.load_paper(paper_file)
    matches = [e for e in paper.effects if e.measure == "HR" and e.covariate == column]
    return matches[0] if matches else None


def _write(result: Reconstruction, staged: Path, inputs: list[Path], unit: str, events) -> None:
    files = sidecars(staged)
    result.ipd.to_csv(staged, index=False)
    result.accuracy.curves.assign(time_unit=unit, data_origin=labels.RECONSTRUCTED).to_csv(
        files["accuracy"], index=False
    )
    if not result.accuracy.hazard_ratios.empty:
        result.accuracy.hazard_ratios.assign(data_origin=labels.RECONSTRUCTED).to_csv(
            files["hazard_ratios"], index=False
        )
    reconstruction_report.overlay(result.figure, result.groups, files["plot"], unit)
    runs.write_provenance(
        files["manifest"],
        inputs,
        data_origin=labels.RECONSTRUCTED,
        method="Guyot et al. (2012) BMC Med Res Methodol 12:9",
        time_unit=unit,
        events_given=events,
        groups={
            name: {
                "patients_at_time_0": curve.n,
                "digitised_points": curve.raw_points,
                "cleaning": curve.cleaning,
                "notes": result.groups[name].notes,
                "at_risk": result.groups[name].at_risk_fit.to_dict(orient="list"),
            }
            for name, curve in result.figure.items()
        },
        accuracy=result.accuracy.curves.to_dict(orient="records"),
        hazard_ratios=result.accuracy.hazard_ratios.to_dict(orient="records"),
    )
