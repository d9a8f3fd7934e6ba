"""The paper's printed effects as posteriors, under one or more named prior sets.

spec and evidence -> model -> sampler -> diagnostics -> comparison with the paper. The run
folder is written by `study.fit_reported`; `reread_paper` is also the Python API's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from netlm_bayes.errors import InputError
from netlm_bayes.evidence import paper as evidence
from netlm_bayes.families import reported_effects, specs
from netlm_bayes.fitting import summaries as compare
from netlm_bayes.sampling import gate as checks
from netlm_bayes.sampling import sampler as inference

# The name of this analysis in a study's comparison table.
ANALYSIS_NAME = "reported effects"
# A prior-set sweep reports P(HR > 2) too: "does the effect at least double the hazard?"
HR_THRESHOLD = 2.0


@dataclass
class ReanalysisResult:
    run_dir: Path | None  # where it was written; None while it is only in memory
    comparison: pd.DataFrame
    diagnostics: dict[str, checks.Diagnostics]
    prob_hr_above: pd.DataFrame
    priors: pd.DataFrame
    # Each prior set's posterior (ArviZ DataTree), and what produced them.
    posteriors: dict = field(default_factory=dict, repr=False)
    spec: specs.ReportedEffectsSpec | None = field(default=None, repr=False)
    paper: evidence.Paper | None = field(default=None, repr=False)
    paper_file: Path | None = None
    profile: inference.Profile | None = field(default=None, repr=False)
    sampler: str | None = None

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
        raise InputError(f"--prior-set is empty; choose 'all' or some of {prior_sets.names}")
    return names


def _prob_ratio_above(traces: dict, hazard_ratios: list[str]) -> pd.DataFrame:
    rows = []
    for prior_set, trace in traces.items():
        draws = trace["posterior"]["reported"]
        for quantity in hazard_ratios:
            values = draws.sel(quantity=quantity).values
            rows.append(
                {
                    "quantity": quantity,
                    "prior_set": prior_set,
                    "threshold": HR_THRESHOLD,
                    "prob_above": float(np.mean(values > HR_THRESHOLD)),
                }
            )
    return pd.DataFrame(rows)


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
    sampler: inference.SamplerName | None = None,
    seed: int = 20260101,
    paper_path: Path | str | None = None,
    on_prior_set: Callable[[str], None] | None = None,
) -> ReanalysisResult:
    """The reported-effects model under each chosen prior set (`all`, a name, or A,B,...):
    one compilation, one gated sampling per set, each summary beside the paper's number."""
    spec = specs.load_spec(model)
    paper_file = Path(paper_path) if paper_path else spec.evidence_path
    paper = evidence.load_paper(paper_file)
    prior_sets = specs.load_prior_sets(spec.prior_sets_path)
    chosen = resolve_prior_sets(prior_set, prior_sets)
    settings = inference.load_profile(profile)
    thresholds = checks.load_thresholds()
    for name in spec.effects:
        paper.effect(name)  # a spec naming an effect the paper lacks fails here, before sampling

    built = reported_effects.build_model(spec, paper, prior_sets, chosen[0])
    runner = inference.Sampler(built, settings, sampler)
    ratios = [q for q in reported_effects.quantity_names(spec) if reported_effects.is_ratio(q)]
    traces, summaries, diagnostics = {}, {}, {}
    for name in chosen:
        if on_prior_set:
            on_prior_set(name)
        values = reported_effects.prior_data(spec, paper, prior_sets, name)
        traces[name], diagnostics[name] = checks.sample_gated(runner, values, seed, thresholds)
        summaries[name] = compare.summarise(traces[name], "reported", "quantity", ratios)
    comparison = compare.comparison_table(summaries, evidence.paper_references(paper))
    prob_hr = _prob_ratio_above(traces, [q for q in ratios if q.startswith("hr_")])
    priors = _prior_table(spec, paper, prior_sets, chosen)
    return ReanalysisResult(
        None, comparison, diagnostics, prob_hr, priors, traces, spec, paper, paper_file,
        settings, runner.sampler,
    )  # fmt: skip
