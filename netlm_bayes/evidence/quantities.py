"""The quantities a MAP prior can be for: the bundled paper's (named as in
`data/paper.toml`), and any a studies file declares in `[quantities.<name>]`, with its
scale and, for a ratio, its covariate's coding, so that the prior it gives means in a
patient-level model what it meant in the studies.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from netlm_bayes.evidence import paper as published


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Kind = Literal["ratio", "median", "rate"]


@dataclass(frozen=True)
class Quantity:
    """One quantity a study can report, and what it is in the patient-level models."""

    name: str
    kind: Kind
    label: str
    units: str  # what its unit information counts: events or patients
    family: str | None  # the patient-level model it is a prior for (weibull, logistic)
    parameter: str | None  # that model's parameter (a covariate, or a baseline)
    # +1, or -1 where the model codes the opposite outcome: the logistic model's outcome is
    # non-response, so its intercept is -logit(ORR).
    sign: float = 1.0
    coding: str = ""
    # Declared in a studies file, not the paper's: how its covariate is coded ("0/1" or
    # "continuous", with the studies' range), and the patient-level columns it is about.
    declared: bool = False
    values: str = "0/1"
    covariate_range: tuple[float, float] | None = None
    outcome_column: str | None = None  # a logistic model's 0/1 outcome
    time_column: str | None = None  # a survival model's time and event columns
    event_column: str | None = None


@functools.cache
def known_quantities() -> dict[str, Quantity]:
    """The bundled paper's quantities (read once per process)."""
    return quantities(published.load_paper())


def quantities(paper: published.Paper) -> dict[str, Quantity]:
    """Every quantity the paper reports, named as in `data/paper.toml`."""
    out = {}
    for effect in paper.effects:
        survival = effect.measure == "HR"
        out[effect.name] = Quantity(
            effect.name, "ratio",
            f"{'hazard' if survival else 'odds'} ratio, {effect.covariate}",
            "events" if survival else "patients",
            "weibull" if survival else "logistic", effect.covariate, coding=effect.coding,
        )  # fmt: skip
    out["median_hpfs"] = Quantity(
        "median_hpfs", "median", "median hepatic progression-free survival", "events",
        "weibull", "log_median_at_pattern", coding=paper.hpfs.coding,
    )  # fmt: skip
    out["orr"] = Quantity(
        "orr", "rate", "objective response rate", "patients", "logistic",
        "intercept_at_pattern", sign=-1.0, coding=paper.response.coding,
    )  # fmt: skip
    for category in ("SD", "PD"):
        name = f"{category.lower()}_rate"
        out[name] = Quantity(name, "rate", f"{category} rate", "patients", None, None)
    return out


class _Declared(_Strict):
    """A quantity of the user's own: what it measures and, for a ratio, what its covariate
    is (its name in the patient-level model, its unit, its coding)."""

    measure: Literal["HR", "OR", "median", "rate"]
    label: str | None = Field(None, min_length=3)
    covariate: str | None = Field(None, min_length=1)
    per: str | None = Field(None, min_length=1)
    values: Literal["0/1", "continuous"] | None = None
    range: tuple[float, float] | None = None
    outcome: str | None = Field(None, min_length=1)
    time: str | None = Field(None, min_length=1)
    event: str | None = Field(None, min_length=1)


MEASURES = {  # measure: (name prefix, what one unit of information is, family, kind)
    "HR": ("hr_", "events", "weibull", "ratio"),
    "OR": ("or_", "patients", "logistic", "ratio"),
    "median": ("", "events", "weibull", "median"),
    "rate": ("", "patients", "logistic", "rate"),
}


def declared_quantities(raw: dict[str, dict], problems: list[str]) -> dict[str, Quantity]:
    """A studies file's own quantities, each checked; problems are added to `problems`."""
    paper = known_quantities()
    found = {}
    for name, entry in raw.items():
        where = f"[quantities.{name}]"
        if name in paper:
            problems.append(f"{where}: {name} is the paper's own quantity; remove the declaration")
            continue
        try:
            declared = _Declared.model_validate(entry)
        except ValidationError as exc:
            problems += [f"{where}: {'.'.join(map(str, e['loc'])) or '(entry)'}: {e['msg']}"
                         for e in exc.errors()]  # fmt: skip
            continue
        try:
            found[name] = _declared(name, declared)
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
    return found


def _declared(name: str, d: _Declared) -> Quantity:
    prefix, units, family, kind = MEASURES[d.measure]
    common = dict(name=name, kind=kind, units=units, declared=True)
    if kind == "ratio":
        if not name.startswith(prefix):
            raise ValueError(f"an {d.measure} is named {prefix}<covariate>, e.g. {prefix}age")
        covariate = d.covariate or name.removeprefix(prefix)
        if d.values is None or d.per is None:
            raise ValueError(
                'say how its covariate is coded: values = "0/1" or "continuous", and per = '
                'what one unit is (e.g. per = "1 year of age")'
            )
        if d.values == "continuous" and d.range is None:
            raise ValueError("a continuous covariate needs range = [low, high] in the studies")
        if d.measure == "OR" and d.outcome is None:
            raise ValueError("an OR needs outcome = the 0/1 outcome column it is for")
        what = "hazard" if d.measure == "HR" else "odds"
        return Quantity(
            **common, label=d.label or f"{what} ratio, {covariate} (per {d.per})",
            family=family, parameter=covariate, coding=f"per {d.per}", values=d.values,
            covariate_range=d.range, outcome_column=d.outcome, time_column=d.time,
            event_column=d.event,
        )  # fmt: skip
    stray = [k for k in ("covariate", "per", "values", "range") if getattr(d, k) is not None]
    if stray:
        raise ValueError(f"a {d.measure} has no covariate: remove {', '.join(stray)}")
    if kind == "median":
        return Quantity(**common, label=d.label or f"median, {name}", family=family,
                        parameter="log_median_at_pattern", time_column=d.time,
                        event_column=d.event)  # fmt: skip
    # a rate is a logistic model's baseline only when its 0/1 outcome column is named
    return Quantity(
        **common, label=d.label or f"rate, {name}", family=family if d.outcome else None,
        parameter="intercept_at_pattern" if d.outcome else None, outcome_column=d.outcome,
    )  # fmt: skip
