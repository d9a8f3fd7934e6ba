"""Fit a model under one or more named prior sets and write the run folder.

The data flow is one way: spec and evidence -> model -> sampler -> diagnostics ->
comparison with the paper -> report files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from netlm_bayes import runs
from netlm_bayes.errors import InputError
from netlm_bayes.evidence import paper as evidence
from netlm_bayes.families import reported_effects, specs
from netlm_bayes.fitting import summaries as compare
from netlm_bayes.report import reanalysis as report
from netlm_bayes.sampling import gate as checks
from netlm_bayes.sampling import sampler as inference

# A prior-set sweep reports P(HR > 2) too: "does the effect at least double the hazard?"
HR_THRESHOLD = 2.0


@dataclass
class ReanalysisResult:
    run_dir: Path
    comparison: pd.DataFrame
    diagnostics: dict[str, checks.Diagnostics]
    prob_hr_above: pd.DataFrame
    priors: pd.DataFrame

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


def fit_reported_effects(
    model: str = "reported_effects",
    prior_set: str = "all",
    profile: str = "default",
    sampler: inference.SamplerName | None = None,
    seed: int = 20260101,
    out: Path | None = None,
    paper_path: Path | None = None,
    on_prior_set: Callable[[str], None] | None = None,
) -> ReanalysisResult:
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
    inputs = [spec.path, paper_file, spec.prior_sets_path]
    provenance = {
        "model_file": str(spec.path),
        "evidence_sha256": runs.sha256(paper_file),
        "model_sha256": runs.sha256(spec.path),
        "prior_sets_sha256": runs.sha256(spec.prior_sets_path),
        "seed": seed,
        "versions": runs.package_versions(),
    }

    run_dir = Path(out) if out else runs.default_run_dir(spec.family)
    with runs.run_folder(run_dir) as staging:
        traces, summaries, diagnostics = {}, {}, {}
        for name in chosen:
            if on_prior_set:
                on_prior_set(name)
            values = reported_effects.prior_data(spec, paper, prior_sets, name)
            trace, diagnostics[name] = checks.sample_gated(runner, values, seed, thresholds)
            traces[name] = trace
            summaries[name] = compare.summarise(trace, "reported", "quantity", ratios)
            inference.save_posterior(
                trace, staging / f"posterior-{name}.nc", {**provenance, "prior_set": name}
            )
        comparison = compare.comparison_table(summaries, evidence.paper_references(paper))
        prob_hr = _prob_ratio_above(traces, [q for q in ratios if q.startswith("hr_")])
        priors = _prior_table(spec, paper, prior_sets, chosen)
        result = ReanalysisResult(run_dir, comparison, diagnostics, prob_hr, priors)
        report.write_reanalysis(staging, result, paper)
        runs.write_manifest(
            staging,
            inputs,
            model=spec.family,
            prior_sets=chosen,
            profile=settings.model_dump(),
            sampler=runner.sampler,
            seed=seed,
            diagnostics_passed={name: d.passed for name, d in diagnostics.items()},
            retries={name: d.retry for name, d in diagnostics.items() if d.retry},
        )
    return result


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
