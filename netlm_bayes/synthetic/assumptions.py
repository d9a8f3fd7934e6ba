"""What the abstract does not report and a pseudo-cohort must assume (prevalences, accrual,
follow-up, the survival shape): `data/synth_assumptions.toml`, read and validated."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from netlm_bayes import paths, tomlfiles
from netlm_bayes.errors import InputError
from netlm_bayes.evidence.cohort import COVARIATES


class Assumptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    marker: str
    n_patients: int
    prevalence: dict[str, dict]
    accrual: dict[str, str]
    follow_up: dict[str, str]
    survival: dict[str, float | str]
    response: dict[str, float | str]

    def prevalence_of(self, covariate: str) -> float:
        return float(self.prevalence[covariate]["value"])


def load_assumptions(path: Path = paths.SYNTH_ASSUMPTIONS_FILE) -> Assumptions:
    assumptions = tomlfiles.load(Assumptions, path)
    missing = [c for c in COVARIATES if c not in assumptions.prevalence]
    if missing:
        raise InputError(f"{path}: [prevalence] lacks {missing}")
    return assumptions
