"""The paper's printed effects as posteriors, under one or more named prior sets.

spec and evidence -> model -> sampler -> diagnostics -> comparison with the paper. The run
folder is written by `study.fit_reported`; `reread_paper` is also the Python API's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from netlm_bayes import paths, tomlfiles
from netlm_bayes.errors import InputError, option
from netlm_bayes.evidence import paper as published
from netlm_bayes.families import reported_effects, specs
from netlm_bayes.fitting import magnitude
from netlm_bayes.fitting import summaries as compare
from netlm_bayes.sampling import gate
from netlm_bayes.sampling.sampler import Profile, Sampler, SamplerName, load_profile

# The names of the two readings in a study's comparison table.
ANALYSIS_NAME = "reported effects"
SELECTED_ANALYSIS_NAME = "reported effects, selection-adjusted"
# The assumption (data/assumptions.toml) that names the default significance filter.
SIGNIFICANCE_FILTER_ASSUMPTION = "significance_filter"


@dataclass
class ReanalysisResult:
    run_dir: Path | None  # where it was written; None while it is only in memory
    comparison: pd.DataFrame
    diagnostics: dict[str, gate.Diagnostics]
    exceedance: pd.DataFrame  # P(beyond each threshold), per quantity and prior set
    priors: pd.DataFrame
    # Each prior set's posterior (ArviZ DataTree), and what produced them.
    posteriors: dict = field(default_factory=dict, repr=False)
    spec: specs.ReportedEffectsSpec | None = field(default=None, repr=False)
    paper: published.Paper | None = field(default=None, repr=False)
    paper_file: Path | None = None
    profile: Profile | None = field(default=None, repr=False)
    sampler: str | None = None
    # The two-sided P the effects are taken to have been selected by; None: plain reading.
    significance_filter: float | None = None
    thresholds: magnitude.Thresholds | None = field(default=None, repr=False)

    @property
    def analysis(self) -> str:
        return ANALYSIS_NAME if self.significance_filter is None else SELECTED_ANALYSIS_NAME

    @property
    def passed(self) -> bool:
        return all(d.passed for d in self.diagnostics.values())


def resolve_prior_sets(requested: str, prior_sets: specs.PriorSets) -> list[str]:
    """`all`, one name, or a comma-separated list of names."""
    if requested == "all":
        return prior_sets.names
    names = [name.strip() for name in requested.split(",") if name.strip()]
    for name in names:
        prior_sets.get(name)
    if not names:
        raise InputError(
            f"{option('prior_set')} is empty; choose 'all' or some of {prior_sets.names}"
        )
    return names


def default_significance_filter() -> float:
    """The two-sided P the paper's effects are assumed to have been selected by."""
    entry = tomlfiles.read_toml(paths.ASSUMPTIONS_FILE)[SIGNIFICANCE_FILTER_ASSUMPTION]
    return float(entry["value"])


def _check_filter(paper: published.Paper, effects: list[str], level: float) -> None:
    """Each effect's printed P must lie wholly below the filter's level: an effect that was
    not significant at that level cannot have been reported because it was."""
    if not 0 < level < 1:
        raise InputError(f"significance filter {level}: a P value must lie in (0, 1)")
    above = [f"{n} (P={paper.effect(n).p_printed})" for n in effects
             if paper.effect(n).exact.p_interval[1] > level]  # fmt: skip
    if above:
        raise InputError(
            f"significance filter P < {level:g}: {', '.join(above)} not significant at that "
            "level, so not reported because of it; choose a larger level"
        )


def _exceedance(traces: dict, spec, paper, thresholds: magnitude.Thresholds) -> pd.DataFrame:
    """P(beyond each threshold) per prior set: ratios in the paper's direction, rates above
    their sourced benchmarks."""
    rows = []
    for prior_set, trace in traces.items():
        draws = trace["posterior"]["reported"]
        for quantity in reported_effects.quantity_names(spec):
            values = draws.sel(quantity=quantity).values
            if reported_effects.is_ratio(quantity):
                estimate = paper.effect(quantity).estimate
                found = magnitude.exceedance_rows(values, quantity, estimate, thresholds)
            else:
                found = magnitude.benchmark_rows(values, quantity, thresholds)
            rows += [{**row, "prior_set": prior_set} for row in found]
    columns = ["quantity", "prior_set", "kind", "threshold", "direction", "event",
               "probability", "source"]  # fmt: skip
    return pd.DataFrame(rows).reindex(columns=columns)


def _prior_table(spec, paper, prior_sets: specs.PriorSets, chosen: list[str]) -> pd.DataFrame:
    """Each prior set's prior for each quantity, printed, with the set's rationale."""
    rows = []
    for name in chosen:
        prior_set = prior_sets.get(name)
        for effect in spec.effects:
            covariate = paper.effect(effect).covariate
            prior = prior_set.effect_prior(prior_sets.hypothesis(covariate))
            rows.append({"prior_set": name, "target": f"log {effect}", "prior": str(prior)})
        response = prior_set.response_prior(spec.response_categories)
        rows.append({"prior_set": name, "target": "response rates", "prior": str(response)})
    frame = pd.DataFrame(rows)
    frame["rationale"] = frame["prior_set"].map(lambda n: prior_sets.get(n).rationale)
    return frame


def reread_paper(
    model: str = "reported_effects",
    prior_set: str = "all",
    profile: str = "default",
    sampler: SamplerName | None = None,
    seed: int = 20260101,
    paper_path: Path | str | None = None,
    on_prior_set: Callable[[str], None] | None = None,
    significance_filter: float | bool | None = None,
    thresholds: Sequence[float] | None = None,
    benchmarks: Mapping[str, float] | None = None,
) -> ReanalysisResult:
    """The reported-effects model under each chosen prior set (`all`, a name, or A,B,...):
    one compilation, one gated sampling per set, each summary beside the paper's number.

    `significance_filter`: True (the level in data/assumptions.toml) or a two-sided P, for
    the selection-adjusted reading. `thresholds` replace data/thresholds.toml's ratio
    thresholds; `benchmarks` add rate benchmarks, e.g. {"orr": 0.6}."""
    spec = specs.load_spec(model)
    paper_file = Path(paper_path) if paper_path else spec.evidence_path
    paper = published.load_paper(paper_file)
    prior_sets = specs.load_prior_sets(spec.prior_sets_path)
    chosen = resolve_prior_sets(prior_set, prior_sets)
    settings = load_profile(profile)
    gate_thresholds = gate.load_thresholds()
    for name in spec.effects:
        paper.effect(name)  # a spec naming an effect the paper lacks fails here, before sampling
    if significance_filter is True:
        significance_filter = default_significance_filter()
    significance_filter = significance_filter or None
    if significance_filter is not None:
        _check_filter(paper, spec.effects, significance_filter)
    cutoffs = magnitude.load_thresholds()
    if thresholds is not None:
        cutoffs = cutoffs.with_values(thresholds)
    if benchmarks:
        cutoffs = cutoffs.with_benchmarks(benchmarks)
    _check_benchmarks(cutoffs, reported_effects.quantity_names(spec))

    built = reported_effects.build_model(spec, paper, prior_sets, chosen[0], significance_filter)
    runner = Sampler(built, settings, sampler)
    ratios = [q for q in reported_effects.quantity_names(spec) if reported_effects.is_ratio(q)]
    traces, summaries, diagnostics = {}, {}, {}
    for name in chosen:
        if on_prior_set:
            on_prior_set(name)
        values = reported_effects.prior_data(spec, paper, prior_sets, name)
        traces[name], diagnostics[name] = gate.sample_gated(runner, values, seed, gate_thresholds)
        summaries[name] = compare.summarise(traces[name], "reported", "quantity", ratios)
    comparison = compare.comparison_table(summaries, published.paper_references(paper))
    exceedance = _exceedance(traces, spec, paper, cutoffs)
    comparison = comparison.merge(
        magnitude.wide_columns(exceedance), on=["quantity", "prior_set"], how="left"
    )
    if significance_filter is not None:  # the filter adjusts the ratios; the rates are as plain
        comparison = comparison[comparison["quantity"].map(reported_effects.is_ratio)]
        comparison = comparison.reset_index(drop=True)
        exceedance = exceedance[exceedance["quantity"].map(reported_effects.is_ratio)]
    priors = _prior_table(spec, paper, prior_sets, chosen)
    return ReanalysisResult(
        None, comparison, diagnostics, exceedance, priors, traces, spec, paper, paper_file,
        settings, runner.sampler, significance_filter, cutoffs,
    )  # fmt: skip


def _check_benchmarks(cutoffs: magnitude.Thresholds, quantities: list[str]) -> None:
    rates = [q for q in quantities if not reported_effects.is_ratio(q)]
    unknown = [b.quantity for b in cutoffs.rate if b.quantity not in rates]
    if unknown:
        raise InputError(f"benchmark for {', '.join(unknown)}: not a rate; choose from {rates}")
