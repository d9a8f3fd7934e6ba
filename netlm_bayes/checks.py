"""The diagnostics gate: a run counts only when R-hat, ESS, divergences and E-BFMI pass."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import arviz_stats
import numpy as np
import pandas as pd
import xarray as xr
from pydantic import BaseModel, ConfigDict

from netlm_bayes import tomlfiles
from netlm_bayes.inference import INFERENCE_DIR


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rhat_max: float
    ess_bulk_min: float
    ess_tail_min: float
    divergences_max: int
    ebfmi_min: float


def load_thresholds(path: Path = INFERENCE_DIR / "diagnostics.toml") -> Thresholds:
    return tomlfiles.load(Thresholds, path)


@dataclass
class Diagnostics:
    """Per-parameter R-hat and ESS, run-level divergences and E-BFMI, and the verdict."""

    table: pd.DataFrame
    divergences: int
    ebfmi_min: float
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def summary_line(self) -> str:
        worst = self.table
        return (
            f"max R-hat {worst['rhat'].max():.4f}, min bulk ESS {worst['ess_bulk'].min():.0f}, "
            f"min tail ESS {worst['ess_tail'].min():.0f}, divergences {self.divergences}, "
            f"min E-BFMI {self.ebfmi_min:.2f}"
        )


def diagnose(trace: xr.DataTree, thresholds: Thresholds) -> Diagnostics:
    table = (
        arviz_stats.summary(trace, kind="diagnostics", fmt="wide", round_to="none")
        .rename(columns={"r_hat": "rhat"})[["rhat", "ess_bulk", "ess_tail", "mcse_mean"]]
        .rename_axis("parameter")
        .reset_index()
    )
    # Deterministics that are constant across draws have no meaningful R-hat or ESS.
    table = table.dropna(subset=["rhat"])
    divergences = int(trace["sample_stats"]["diverging"].sum())
    ebfmi = np.atleast_1d(
        np.asarray(arviz_stats.bfmi(trace)["energy"] if _has_energy(trace) else np.nan)
    )
    ebfmi_min = float(np.nanmin(ebfmi)) if np.isfinite(ebfmi).any() else float("nan")

    failures = []
    for column, limit, bad in (
        ("rhat", thresholds.rhat_max, table["rhat"] > thresholds.rhat_max),
        ("ess_bulk", thresholds.ess_bulk_min, table["ess_bulk"] < thresholds.ess_bulk_min),
        ("ess_tail", thresholds.ess_tail_min, table["ess_tail"] < thresholds.ess_tail_min),
    ):
        if bad.any():
            names = ", ".join(table.loc[bad, "parameter"].head(4))
            failures.append(f"{column} beyond {limit} for {int(bad.sum())} parameter(s): {names}")
    if divergences > thresholds.divergences_max:
        failures.append(
            f"{divergences} divergent transitions (allowed {thresholds.divergences_max})"
        )
    if np.isfinite(ebfmi_min) and ebfmi_min < thresholds.ebfmi_min:
        failures.append(f"E-BFMI {ebfmi_min:.2f} below {thresholds.ebfmi_min}")
    return Diagnostics(table=table, divergences=divergences, ebfmi_min=ebfmi_min, failures=failures)


def _has_energy(trace: xr.DataTree) -> bool:
    return "energy" in trace["sample_stats"].data_vars
