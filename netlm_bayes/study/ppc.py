"""`netlm-bayes ppc RUN`: posterior predictive checks of a run folder, written into RUN/ppc/
(or another folder; an earlier check is replaced only when asked).

RUN is a patient-level run folder (`fit MODEL --data ...`), or a folder holding several
(a study folder from `make fit`, or a user's runs), each checked and labelled by its
folder's name. The data are re-read from where the run read
them and must have the sha256 the posterior recorded: a check against changed data would
be silently wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from netlm_bayes import labels, runs, tomlfiles
from netlm_bayes.checks import ppc
from netlm_bayes.errors import InputError, option
from netlm_bayes.evidence import paper as published
from netlm_bayes.evidence.paper import PaperReference
from netlm_bayes.families import specs
from netlm_bayes.families.survival.registry import spec_family
from netlm_bayes.fitting.patient_spec import read_data
from netlm_bayes.report import plots
from netlm_bayes.report.format import outcome_words
from netlm_bayes.sampling.sampler import load_posterior

DEFAULT_DRAWS = 500


@dataclass
class PPCRun:
    out_dir: Path
    table: pd.DataFrame
    origin: str  # the data's `data_origin` (labels)


def parts(run_dir: Path) -> list[Path]:
    """The patient-level run folders in RUN: itself, or its subfolders."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: no such run folder")
    candidates = [run_dir, *sorted(p for p in run_dir.iterdir() if p.is_dir())]
    found = [p for p in candidates if (p / "posterior.nc").exists() and _spec_of(p)]
    if not found:
        raise InputError(
            f"{run_dir}: no patient-level run here (a folder with posterior.nc and a manifest "
            "holding its model spec, as `fit hpfs_weibull` or `make fit` writes)"
        )
    return found


def _spec_of(folder: Path) -> dict | None:
    return (runs.read_manifest(folder) or {}).get("spec")


def load_part(folder: Path):
    raw = _spec_of(folder)
    spec = tomlfiles.validate(specs.SPEC_FAMILIES[raw["family"]], raw, folder / "manifest.json")
    if not spec.has_patients:
        raise InputError(
            f"{folder}: fitted to external survivor counts alone; a posterior predictive "
            "check compares replicated patients with observed ones, and there are none"
        )
    trace = load_posterior(folder / "posterior.nc")
    data = read_data(spec)
    recorded = trace.attrs.get("data_sha256")
    if recorded and recorded != data.sha256:
        raise InputError(
            f"{data.source}: the data have changed since {folder} was fitted (sha256 "
            f"{data.sha256[:12]}…, run recorded {recorded[:12]}…); refit before checking"
        )
    return spec, trace, data


def check_part(spec, trace, data, draws: int, rng) -> ppc.Check:
    covariates = data.covariates
    if spec.family == "survival":
        kind = spec_family(spec, data.reference_time)
        times, events, _ = ppc.survival_replicates(trace, kind, data, draws, rng)
        replicated = ppc.survival_statistics(times, events, data.X, covariates)
        observed = {
            k: v[0] for k, v in ppc.survival_statistics(
                data.time[None], data.event[None], data.X, covariates
            ).items()
        }  # fmt: skip
        return ppc.Check(replicated, observed, (times, events))
    if spec.family == "logistic":
        y = ppc.binary_replicates(trace, data, draws, rng)
        replicated = ppc.logistic_statistics(y, data.X, covariates)
        observed = {
            k: v[0] for k, v in ppc.logistic_statistics(data.y[None], data.X, covariates).items()
        }
        if spec.complement_label:
            for values in (replicated, observed):
                values[spec.complement_label] = 1 - values.pop("outcome_rate")
        return ppc.Check(replicated, observed)
    y = ppc.ordinal_replicates(trace, data, draws, rng)
    replicated, observed = {}, {}
    for index, category in enumerate(spec.categories):
        replicated[f"{category.lower()}_count"] = (y == index).sum(axis=1).astype(float)
        observed[f"{category.lower()}_count"] = float((data.y == index).sum())
    responders = [spec.categories.index(c) for c in spec.responders]
    replicated["orr"] = np.isin(y, responders).mean(axis=1)
    observed["orr"] = float(np.isin(data.y, responders).mean())
    return ppc.Check(replicated, observed)


def paper_statistics(paper: published.Paper) -> dict[str, PaperReference]:
    """The paper's values for the PPC's statistics, each with its source sentence."""
    references = dict(published.paper_references(paper))
    references["km_median"] = PaperReference(
        quantity="km_median", estimate=paper.hpfs.median_months, ci95_low=np.nan,
        ci95_high=np.nan, ci_method="not reported", source=f"abstract: “{paper.hpfs.quote}”",
    )  # fmt: skip
    for category, count in paper.response.counts.items():
        references[f"{category.lower()}_count"] = PaperReference(
            quantity=f"{category.lower()}_count", estimate=count, ci95_low=np.nan,
            ci95_high=np.nan, ci_method="count", source=f"abstract: “{paper.response.quote}”",
        )  # fmt: skip
    return references


def run_ppc(
    run_dir: Path,
    draws: int = DEFAULT_DRAWS,
    seed: int = 20260101,
    on_step: Callable[[str], None] = lambda step: None,
    out: Path | None = None,
    overwrite: bool = False,
) -> PPCRun:
    """Check every run in `run_dir`; write into `out` (default RUN/ppc), replacing an
    earlier check there only with `overwrite`."""
    if draws < 20:
        raise InputError(f"{option('draws', draws)}: use at least 20 replicate cohorts")
    folders = parts(run_dir)
    out_dir = Path(out) if out is not None else Path(run_dir) / "ppc"
    runs.check_destination(out_dir, overwrite)
    loaded = [(folder, *load_part(folder)) for folder in folders]  # all checked before work
    references = paper_statistics(published.load_paper())
    rng = np.random.default_rng(seed)
    tables, replicated, origins = [], [], []
    with runs.run_folder(out_dir, overwrite) as staging:
        for folder, spec, trace, data in loaded:
            # a folder of runs: each by its folder's name (two runs may share a model)
            label = spec.name if folder == Path(run_dir) else folder.name
            on_step(f"{label}: {draws} replicate cohorts")
            check = check_part(spec, trace, data, draws, rng)
            table = check.table(references if _paper_coded(spec, data) else {})
            table.insert(0, "model", label)
            table["unit"] = [_unit(statistic, spec) for statistic in table["statistic"]]
            tables.append(table)
            replicated.append(pd.DataFrame(check.replicated).assign(model=label))
            if check.cohorts is not None:
                _km_figure(staging / f"ppc_km-{label}.png", spec, data, check.cohorts)
            origins.append(data.origin)
        origin = labels.combined(origins)
        table = pd.concat(tables, ignore_index=True)
        table["data_origin"] = origin
        table.to_csv(staging / "ppc.csv", index=False)
        pd.concat(replicated, ignore_index=True).to_csv(staging / "ppc_draws.csv", index=False)
        # one array per row of `table`, in its order: each panel is its own run's
        per_row = [frame[t.statistic].to_numpy() for frame, part in zip(replicated, tables,
                   strict=True) for t in part.itertuples()]  # fmt: skip
        # ppc.png: every statistic; ppc_can_fail.png: those the models do not fit directly
        plots.ppc_histograms(per_row, table, staging / "ppc.png", labels.note(origin))
        can_fail = ~table["statistic"].map(ppc.by_construction).to_numpy()
        if can_fail.any():
            shown = [values for values, keep in zip(per_row, can_fail, strict=True) if keep]
            plots.ppc_histograms(shown, table[can_fail], staging / "ppc_can_fail.png",
                                 labels.note(origin))  # fmt: skip
        runs.write_manifest(
            staging,
            [folder / "posterior.nc" for folder in folders],
            command_name="ppc",
            draws=draws,
            seed=seed,
            synthetic=origin == labels.SYNTHETIC,
            data_origin=origin,
        )
    return PPCRun(out_dir, table, origin)


def _km_figure(path: Path, spec, data, cohorts) -> None:
    binary = [c for c in data.covariates if data.covariate_is_binary(c)]
    panels = [c for c in binary if c == "htb_gt25"] or binary[:1]
    plots.ppc_km(
        data, *cohorts, path, labels.note(data.origin), panels, spec.time_unit,
        outcome_words(getattr(spec, "time", None)),
    )  # fmt: skip


def _paper_coded(spec, data) -> bool:
    """The paper's numbers are shown only beside a cohort coded as the paper's: its outcome
    (time and event columns, or response) and its covariates."""
    from netlm_bayes.evidence.cohort import COVARIATES
    from netlm_bayes.report.patient import outcome_is_papers

    return outcome_is_papers(spec) and set(data.covariates) <= set(COVARIATES)


def _unit(statistic: str, spec) -> str:
    """A statistic's unit: the KM median is a time; the rest are ratios, rates or counts."""
    return getattr(spec, "time_unit", "") if statistic == "km_median" else ""
