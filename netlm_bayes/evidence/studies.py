"""Several published studies of the same quantities: a studies file, for MAP priors.

A studies file (`data/studies/*.toml`, format in `docs/map.md`) lists studies, each with
an id, a citation, a design stratum and, per quantity, what it reports: an estimate with
its 95% CI, its printed P or its SE (ratios and medians, analysed on the log scale), or
counts r/n (rates). This paper enters by reference (`paper = "../paper.toml"`), so its
numbers have one home. Quantities are named and coded as in the paper file, so that a MAP
prior and a patient-level model agree on what a coefficient means (`quantities`).
Any other quantity (a hospital's own `hr_age`, a median or a rate of its own) is declared
in the file's `[quantities.<name>]` (`evidence.quantities`).

`load_studies` checks everything and reports every problem at once, one per line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from netlm_bayes import tomlfiles
from netlm_bayes.errors import InputError
from netlm_bayes.evidence import paper as published
from netlm_bayes.evidence.quantities import Quantity, declared_quantities, known_quantities


@dataclass(frozen=True)
class Measurement:
    """One study's report of one quantity, ready for the model: a log-scale estimate `y`
    with its standard error `se` (ratios, medians), or counts `r` of `n` (rates)."""

    study: str
    stratum: str
    quantity: str
    citation: str
    quote: str
    illustrative: bool
    estimate: float  # on the natural scale (a rate: r / n)
    y: float | None = None
    se: float | None = None
    r: int | None = None
    n: int | None = None
    units: float | None = None  # the events or patients behind it, where reported
    se_from: str = ""  # how the SE was had
    time_unit: str | None = None


@dataclass(frozen=True)
class Studies:
    path: Path
    title: str
    measurements: tuple[Measurement, ...]
    unavailable: dict[str, str]  # "study, quantity" -> why it cannot enter a MAP
    # every quantity this file can name: the paper's and its own declared ones
    quantities: dict[str, Quantity] = field(default_factory=dict)

    def of(self, quantity: str) -> list[Measurement]:
        return [m for m in self.measurements if m.quantity == quantity]

    @property
    def illustrative(self) -> list[str]:
        return sorted({m.study for m in self.measurements if m.illustrative})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Reported(_Strict):
    estimate: float | None = Field(None, gt=0)
    ci95: tuple[float, float] | None = None
    p: str | None = None
    se: float | None = Field(None, gt=0)
    r: int | None = Field(None, ge=0)
    n: int | None = Field(None, gt=0)
    events: int | None = Field(None, gt=0)
    patients: int | None = Field(None, gt=0)
    time_unit: str | None = None
    quote: str = Field(min_length=10)


class _Study(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    stratum: str = Field("all", min_length=1)
    citation: str | None = Field(None, min_length=5)
    paper: str | None = None
    illustrative: bool = False
    quantities: dict[str, _Reported] = Field(default_factory=dict)


class _File(_Strict):
    title: str = Field(min_length=3)
    quantities: dict[str, dict] = Field(default_factory=dict)
    studies: list[dict] = Field(min_length=1)


def load_studies(path: Path | str) -> Studies:
    path = Path(path)
    top = tomlfiles.load(_File, path)
    problems: list[str] = []
    known = {**known_quantities(), **declared_quantities(top.quantities, problems)}
    measurements: list[Measurement] = []
    unavailable: dict[str, str] = {}
    seen: dict[str, int] = {}
    for i, raw in enumerate(top.studies, start=1):
        where = f"study {raw.get('id', i)!r}" if isinstance(raw, dict) else f"study {i}"
        try:
            study = _Study.model_validate(raw)
        except ValidationError as exc:
            problems += [
                f"{where}: {'.'.join(map(str, e['loc'])) or '(entry)'}: "
                f"{e['msg'].removeprefix('Value error, ')}"
                for e in exc.errors()
            ]
            continue
        if study.id in seen:
            problems.append(f"studies {seen[study.id]} and {i} share the id {study.id!r}")
        seen.setdefault(study.id, i)
        if study.paper is not None:
            if study.quantities or study.citation:
                problems.append(
                    f"{where}: a study given by `paper` takes its citation and numbers from "
                    "that file; remove `citation` and `quantities`"
                )
                continue
            found, missing = _from_paper(study, path.parent / study.paper, problems)
            measurements += found
            unavailable |= missing
            continue
        if not study.citation:
            problems.append(f"{where}: give its `citation` (or `paper = FILE` for a paper file)")
        if not study.quantities:
            problems.append(f"{where}: no [quantities.<name>] reported")
        for name, reported in study.quantities.items():
            if name not in known:
                problems.append(
                    f"{where}: unknown quantity {name!r}; the file can name "
                    f"{', '.join(known)}, or declare its own in [quantities.{name}] "
                    '(docs/map.md, "Quantities of your own")'
                )
                continue
            try:
                measurements.append(_measurement(study, known[name], reported))
            except ValueError as exc:
                problems.append(f"{where}, {name}: {exc}")
    _check_time_units(measurements, problems)
    if problems:
        raise InputError(f"{path}: {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    return Studies(path, top.title, tuple(measurements), unavailable, known)


def _measurement(study: _Study, quantity: Quantity, reported: _Reported) -> Measurement:
    common = dict(
        study=study.id, stratum=study.stratum, quantity=quantity.name,
        citation=study.citation or "", quote=reported.quote, illustrative=study.illustrative,
    )  # fmt: skip
    if quantity.kind == "rate":
        stray = [k for k in ("estimate", "ci95", "p", "se") if getattr(reported, k) is not None]
        if stray:
            raise ValueError(f"a rate is given as counts r and n, not {', '.join(stray)}")
        if reported.r is None or reported.n is None:
            raise ValueError("a rate needs its counts r and n")
        if reported.r > reported.n:
            raise ValueError(f"r = {reported.r} is more than n = {reported.n}")
        return Measurement(
            **common, estimate=reported.r / reported.n, r=reported.r, n=reported.n,
            units=float(reported.n), se_from="r/n",
        )  # fmt: skip
    if reported.r is not None or reported.n is not None:
        raise ValueError(f"a {quantity.kind} takes an estimate, not counts r and n")
    if reported.estimate is None:
        raise ValueError("no estimate")
    given = [k for k in ("ci95", "p", "se") if getattr(reported, k) is not None]
    if len(given) != 1:
        raise ValueError(
            f"give exactly one of ci95, p or se for its uncertainty (got {given or 'none'})"
        )
    y = math.log(reported.estimate)
    se, se_from = _standard_error(reported, y)
    if quantity.kind == "median" and not reported.time_unit:
        raise ValueError('a median needs its time_unit (e.g. "months")')
    units = reported.events if quantity.units == "events" else reported.patients
    return Measurement(
        **common, estimate=reported.estimate, y=y, se=se, se_from=se_from,
        units=None if units is None else float(units), time_unit=reported.time_unit,
    )  # fmt: skip


def _standard_error(reported: _Reported, y: float) -> tuple[float, str]:
    if reported.ci95 is not None:
        low, high = reported.ci95
        if not 0 < low < reported.estimate < high:
            raise ValueError(
                f"the 95% CI [{low:g}, {high:g}] does not contain the estimate "
                f"{reported.estimate:g} (or a limit is not > 0)"
            )
        return (math.log(high) - math.log(low)) / (2 * published.Z95), (
            f"95% CI [{low:g}, {high:g}]"
        )
    if reported.p is not None:
        published.p_rounding_interval(reported.p)  # a probability, with its printed precision
        if y == 0:
            raise ValueError("an estimate of exactly 1 with a P gives no SE; give its CI or SE")
        return published.se_from_p(y, float(reported.p)), f"P={reported.p} (two-sided Wald)"
    return float(reported.se), "SE on the log scale"


def _from_paper(study: _Study, paper_file: Path, problems: list[str]):
    """The paper's own measurements: each effect's SE from its printed P (the rules of
    `evidence.paper`), the response counts; its median, reported without any uncertainty,
    is listed as unavailable with that reason."""
    try:
        paper = published.load_paper(paper_file)
    except InputError as exc:
        problems.append(f"study {study.id!r}: paper = {study.paper!r}: {exc.message}")
        return [], {}
    common = dict(
        study=study.id, stratum=study.stratum, citation=paper.study.citation,
        illustrative=study.illustrative,
    )  # fmt: skip
    out = [
        Measurement(
            **common,
            quantity=e.name,
            quote=e.quote,
            estimate=e.estimate,
            y=e.exact.log_estimate,
            se=e.exact.se,
            se_from=f"P={e.p_printed} (two-sided Wald)",
            # the logistic model's patients are reported; the Cox model's events are not
            units=float(paper.study.n_patients) if e.measure == "OR" else None,
        )
        for e in paper.effects
    ]
    counts, n = paper.response.counts, paper.study.n_patients
    rates = {"orr": ("PR", paper.response.orr_quote), "sd_rate": ("SD", paper.response.quote),
             "pd_rate": ("PD", paper.response.quote)}  # fmt: skip
    for name, (category, quote) in rates.items():
        r = counts[category]
        out.append(
            Measurement(
                **common,
                quantity=name,
                quote=quote,
                estimate=r / n,
                r=r,
                n=n,
                units=float(n),
                se_from="r/n",
            )
        )
    unavailable = {
        f"{study.id}, median_hpfs": (
            f"the paper reports its median HPFS ({paper.hpfs.median_months} months) with no "
            "CI, SE or number of events, so it cannot enter a model with known SEs"
        )
    }
    return out, unavailable


def _check_time_units(measurements: list[Measurement], problems: list[str]) -> None:
    by_quantity: dict[str, set[str]] = {}
    for m in measurements:
        if m.time_unit:
            by_quantity.setdefault(m.quantity, set()).add(m.time_unit)
    for name, units in by_quantity.items():
        if len(units) > 1:
            problems.append(
                f"{name}: the studies give it in {', '.join(sorted(units))}; state every "
                "median in one time unit"
            )
